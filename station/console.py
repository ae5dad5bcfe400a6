"""The operator's commands: a pure parser, and their execution on the station (front-ends: `terminal.py`)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from station.broadcaster import Broadcaster, StationStatus

COMMANDS = {
    "PLAY": "resume the stream at the exact sample where it was paused",
    "PAUSE": "stop sending audio (RTCP goes on, so listeners know the station is alive and paused)",
    "MIC": "broadcast a capture device live: MIC [DEVICE] (a name or index from --list-devices, or a "
           "PulseAudio source such as SINK.monitor; default: the last one, else the system's default)",
    "FILES": "back to the music files, where they were left",
    "STATUS": "show what is playing, where the station sends, and its timing figures",
    "HELP": "list the commands",
    "QUIT": "send BYE to the listeners and stop the station",
}
ALIASES = {"EXIT": "QUIT", "?": "HELP", "RESUME": "PLAY", "MICROPHONE": "MIC", "LIVE": "MIC", "MUSIC": "FILES"}
TAKES_ARGUMENTS = {"HELP", "MIC"}


class CommandError(ValueError):
    """A line that is not a command; the message says what was expected."""


@dataclass(frozen=True)
class Command:
    name: str
    args: tuple[str, ...] = ()


def parse_command(line: str) -> Command | None:
    """The command a line asks for (None for a blank line); CommandError, with a suggestion, otherwise."""
    words = line.split()
    if not words:
        return None
    word = words[0].upper()
    name = ALIASES.get(word, word)
    if name not in COMMANDS:
        close = difflib.get_close_matches(word, list(COMMANDS), n=1, cutoff=0.6)
        hint = f" — did you mean {close[0]}?" if close else f"; commands: {', '.join(COMMANDS)}"
        raise CommandError(f"unknown command {words[0]}{hint}")
    if name not in TAKES_ARGUMENTS and len(words) > 1:
        raise CommandError(f"{name} takes no arguments (got {' '.join(words[1:])!r})")
    return Command(name, tuple(words[1:]))


def help_text() -> str:
    width = max(len(name) for name in COMMANDS)
    return "\n".join(f"  {name:<{width}}  {text}" for name, text in COMMANDS.items())


def format_status(status: StationStatus, link: str) -> str:
    state = "paused" if status.paused else "playing"
    where = f"live, on the air {_clock(status.position_s)}" if status.live \
        else f"{_clock(status.position_s)} / {_clock(status.duration_s)}"
    return "\n".join([
        f"{state}  {status.title or '-'}  {where}",
        f"sending {link}",
        f"sent {status.packets_sent} packets ({status.octets_sent / 1e6:.1f} MB of audio); send error "
        f"p50 {status.send_error_p50_ms:.2f} ms, p99 {status.send_error_p99_ms:.2f} ms, "
        f"max {status.send_error_max_ms:.2f} ms; {status.slots_skipped} slots skipped, "
        f"{status.send_errors} send failures",
    ])


def _clock(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}:{rest:02d}"


def execute(command: Command, station: Broadcaster, link: str) -> str:
    """Carries out a parsed command on the station and returns the answer for the operator."""
    if command.name == "PLAY":
        return "playing" if station.play() else "already playing"
    if command.name == "PAUSE":
        return "paused" if station.pause() else "already paused"
    if command.name == "MIC":
        return station.use_live(" ".join(command.args) or None)
    if command.name == "FILES":
        return station.use_files()
    if command.name == "STATUS":
        return format_status(station.status(), link)
    if command.name == "HELP":
        return help_text()
    if command.name == "QUIT":
        station.stop("station stopped by the operator")
        return "stopping: BYE sent to listeners"
    raise AssertionError(f"command {command.name} has no action")
