"""The operator's commands: one table of what each takes and does, a pure parser, and their execution on the
station (front-ends: `terminal.py`).

Help, parsing and the terminal's completion all derive from `COMMANDS`, so a command is described once.
Queue positions are typed as QUEUE numbers them, from 1.
"""

from __future__ import annotations

import difflib
import re
import shlex
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from station.capture import CaptureFigures
from station.control import Station, StationStatus
from station.media import expand_paths
from station.queue import REPEAT_MODES, QueueError, QueueItem, QueueListing
from station.source import FileSource

ADDED_LISTED_AT_MOST = 5  # an ADD of more tracks than this is answered with their numbers only
# A queue position: at most 9 digits, past any queue, so that int() stays within its 4300-digit limit (beyond it,
# it raises a ValueError of its own).
POSITION = re.compile(r"0*[1-9][0-9]{0,8}")
# Past the end of any track (over 30 years); much further, counting the samples to get there overflows a float.
MAX_SEEK_S = 1e9


class CommandError(ValueError):
    """A line that is not a command; the message says what was expected."""


@dataclass(frozen=True)
class Seek:
    """A SEEK target: seconds from the start of the track, or, relative, from where it is."""

    seconds: float
    relative: bool = False

    def target_s(self, position_s: float) -> float:
        return position_s + self.seconds if self.relative else self.seconds


Argument = int | str | Seek


@dataclass(frozen=True)
class Command:
    name: str
    args: tuple[Argument, ...] = ()


def _got(text: str) -> str:
    return repr(text) if text else "nothing"


class Arguments:
    """What a command takes after its name (this base: nothing); `parse` checks the rest of the line and gives
    the arguments, or a CommandError saying what was expected. `choices` and `paths` are what the terminal's
    completion offers."""

    choices: tuple[str, ...] = ()
    paths = False

    def parse(self, name: str, text: str) -> tuple[Argument, ...]:
        if text:
            raise CommandError(f"{name} takes no arguments (got {text!r})")
        return ()


@dataclass(frozen=True)
class Positions(Arguments):
    """Queue positions, from 1; with `optional`, none at all is fine too (PLAY without N resumes)."""

    count: int = 1
    optional: bool = False

    def parse(self, name: str, text: str) -> tuple[Argument, ...]:
        words = text.split()
        if not words and self.optional:
            return ()
        if len(words) != self.count or not all(POSITION.fullmatch(word) for word in words):
            expected = "a queue position" if self.count == 1 else f"{self.count} queue positions"
            raise CommandError(f"{name} takes {expected} (a number from 1, as QUEUE lists them), got {_got(text)}")
        return tuple(int(word) for word in words)


@dataclass(frozen=True)
class Choice(Arguments):
    choices: tuple[str, ...] = ()

    def parse(self, name: str, text: str) -> tuple[Argument, ...]:
        word = text.strip().lower()
        if word not in self.choices:
            listed = ", ".join(self.choices[:-1]) + f" or {self.choices[-1]}"
            raise CommandError(f"{name} takes {listed}, got {_got(text)}")
        return (word,)


@dataclass(frozen=True)
class Percent(Arguments):
    def parse(self, name: str, text: str) -> tuple[Argument, ...]:
        match = re.fullmatch(r"0*([0-9]{1,3})\s*%?", text.strip())  # leading zeros aside, 100 has 3 digits
        if match is None or int(match[1]) > 100:
            raise CommandError(f"{name} takes a number from 0 to 100, got {_got(text)}")
        return (int(match[1]),)


@dataclass(frozen=True)
class SeekTarget(Arguments):
    def parse(self, name: str, text: str) -> tuple[Argument, ...]:
        match = re.fullmatch(r"([+-]?)(?:([0-9]+):([0-5][0-9])|([0-9]+(?:\.[0-9]*)?))", text.strip())
        if match is None:
            raise CommandError(f"{name} takes seconds (90, or +10 / -5 from here) or MM:SS (1:30), got {_got(text)}")
        sign, minutes, seconds, plain = match.groups()
        value = float(plain) if plain is not None else 60.0 * float(minutes) + int(seconds)
        if value > MAX_SEEK_S:  # float() reads 400 digits as inf
            raise CommandError(f"{name} goes at most {MAX_SEEK_S:.0f} seconds from the start or from here, "
                               f"got {_got(text)}")
        return (Seek(-value if sign == "-" else value, relative=bool(sign)),)


@dataclass(frozen=True)
class Paths(Arguments):
    """One or more paths, shell-quoted where they hold spaces."""

    paths = True

    def parse(self, name: str, text: str) -> tuple[Argument, ...]:
        try:
            paths = shlex.split(text)
        except ValueError as e:
            raise CommandError(f"{name} cannot read {text!r}: {str(e).lower()}") from None
        if not paths:
            raise CommandError(f"{name} takes one or more files or folders (quote names with spaces), got nothing")
        return tuple(paths)


@dataclass(frozen=True)
class Words(Arguments):
    """Free text, optional, word by word with its case (MIC's device name)."""

    def parse(self, name: str, text: str) -> tuple[Argument, ...]:
        return tuple(text.split())


@dataclass(frozen=True)
class CommandName(Arguments):
    """A command (or alias) to tell about, optional."""

    @property
    def choices(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(COMMANDS)

    def parse(self, name: str, text: str) -> tuple[Argument, ...]:
        words = text.split()
        if len(words) > 1:
            raise CommandError(f"{name} takes one command name, got {text!r}")
        return tuple(_resolve(word) for word in words)


@dataclass(frozen=True)
class CommandSpec:
    usage: str
    help: str
    arguments: Arguments = field(default_factory=Arguments)


COMMANDS = {
    "PLAY": CommandSpec("PLAY [N]", "resume where paused; with N, play track N of the queue from its start",
                        Positions(optional=True)),
    "PAUSE": CommandSpec("PAUSE", "stop sending audio (RTCP goes on, so listeners know the station is alive and "
                                  "paused)"),
    "TOGGLE": CommandSpec("TOGGLE", "pause if playing, play if paused"),
    "NEXT": CommandSpec("NEXT", "skip to the next track"),
    "PREV": CommandSpec("PREV", "back to the previous track within the first 3 s of one, else to its start"),
    "QUEUE": CommandSpec("QUEUE", "list the queue, numbered, with durations (?:?? until decoded); ▶ marks the "
                                  "current track"),
    "ADD": CommandSpec("ADD PATH...", "add files or folders at the end of the queue (quote names with spaces)",
                       Paths()),
    "REMOVE": CommandSpec("REMOVE N", "take track N out of the queue (the current one: skip to the next)",
                          Positions()),
    "MOVE": CommandSpec("MOVE N M", "move track N to place M in the queue", Positions(count=2)),
    "CLEAR": CommandSpec("CLEAR", "empty the queue but for the current track, which plays on"),
    "SEEK": CommandSpec("SEEK [+|-]SECONDS", "go to a time in the current track: SEEK 90 or SEEK 1:30; "
                                             "SEEK +10 / SEEK -5 from where it is", SeekTarget()),
    "SHUFFLE": CommandSpec("SHUFFLE on|off", "play the queue in a random order (the current track plays on), or "
                                             "in order", Choice(("on", "off"))),
    "REPEAT": CommandSpec("REPEAT off|track|queue", "off: go off the air after the last track (as --once); "
                                                    "track: play the current one again and again; queue: loop",
                          Choice(REPEAT_MODES)),
    "VOLUME": CommandSpec("VOLUME 0-100", "the station's volume, files and live: % of the amplitude (100 sends "
                                          "the audio untouched)", Percent()),
    "MIC": CommandSpec("MIC [DEVICE]", "broadcast a capture device live (a name or index from --list-devices, or "
                                       "a PulseAudio source such as SINK.monitor; default: the last one, else the "
                                       "system's default)", Words()),
    "FILES": CommandSpec("FILES", "back to the music files, where they were left"),
    "STATUS": CommandSpec("STATUS", "show what is playing, the queue's settings, where the station sends, and "
                                    "its timing figures"),
    "LISTENERS": CommandSpec("LISTENERS", "the listeners sending receiver reports: name, delay, loss, jitter, round "
                                          "trip and when each last reported (a listener that stops reporting drops "
                                          "off)"),
    "HELP": CommandSpec("HELP [COMMAND]", "list the commands, or tell about one", CommandName()),
    "QUIT": CommandSpec("QUIT", "send BYE to the listeners and stop the station"),
}
ALIASES = {"EXIT": "QUIT", "?": "HELP", "RESUME": "PLAY", "JUMP": "PLAY", "SKIP": "NEXT", "PREVIOUS": "PREV",
           "LIST": "QUEUE", "VOL": "VOLUME", "MICROPHONE": "MIC", "LIVE": "MIC", "MUSIC": "FILES",
           "WHO": "LISTENERS"}


def _canonical(word: str) -> str | None:
    """The command a word names (any case, or an alias), or None."""
    name = ALIASES.get(word.upper(), word.upper())
    return name if name in COMMANDS else None


def _resolve(word: str) -> str:
    name = _canonical(word)
    if name is None:
        close = difflib.get_close_matches(word.upper(), [*COMMANDS, *ALIASES], n=1, cutoff=0.6)
        hint = f" — did you mean {close[0]}?" if close else f"; commands: {', '.join(COMMANDS)}"
        raise CommandError(f"unknown command {word}{hint}")
    return name


def argument_choices(name: str) -> tuple[str, ...]:
    """The fixed words a command's argument can be (SHUFFLE on/off, REPEAT's modes, HELP's commands), for
    completion; () for any other command, or a word that is no command."""
    command = _canonical(name)
    return COMMANDS[command].arguments.choices if command else ()


def takes_paths(name: str) -> bool:
    """Whether a command's arguments are files or folders (ADD), for completion."""
    command = _canonical(name)
    return COMMANDS[command].arguments.paths if command else False


def parse_command(line: str) -> Command | None:
    """The command a line asks for (None for a blank line); CommandError, saying what was expected, otherwise."""
    words = line.strip().split(maxsplit=1)
    if not words:
        return None
    name = _resolve(words[0])
    return Command(name, COMMANDS[name].arguments.parse(name, words[1] if len(words) > 1 else ""))


def help_text(name: str | None = None) -> str:
    """All the commands, one per line; or one command (`name`, canonical), with its aliases."""
    if name is not None:
        spec = COMMANDS[name]
        aliases = [alias for alias, target in ALIASES.items() if target == name]
        return "\n".join([spec.usage, f"  {spec.help}"] + ([f"  also: {', '.join(aliases)}"] if aliases else []))
    width = max(len(spec.usage) for spec in COMMANDS.values())
    lines = [f"  {spec.usage:<{width}}  {spec.help}" for spec in COMMANDS.values()]
    aliases = ", ".join(f"{alias} ({target})" for alias, target in ALIASES.items())
    return "\n".join([*lines, f"aliases: {aliases}; HELP COMMAND tells more"])


@dataclass(frozen=True)
class About:
    """Where the station sends, as STATUS tells it: the link in words, and the stream's SDP for a title."""

    link: str
    sdp: Callable[[str], str]


def format_status(status: StationStatus, about: About) -> str:
    state = "paused" if status.paused else "playing"
    where = f"live, on the air {clock(status.position_s)}" if status.live \
        else f"{clock(status.position_s)} / {clock(status.duration_s)}"
    queue = (f"queue: track {status.queue_position} of {status.queue_length}, repeat {status.repeat}, "
             f"shuffle {'on' if status.shuffle else 'off'}") if status.queue_length else "no music files"
    return "\n".join([
        f"{state}  {status.title or '-'}  {where}",
        f"{queue}; volume {status.volume_percent}%",
        f"sending {about.link}",
        f"sent {status.packets_sent} packets ({status.octets_sent / 1e6:.1f} MB of audio); send error "
        f"p50 {status.send_error_p50_ms:.2f} ms, p99 {status.send_error_p99_ms:.2f} ms, "
        f"max {status.send_error_max_ms:.2f} ms; {status.slots_skipped} slots skipped, "
        f"{status.send_errors} send failures"
        + (f"; {status.repair_packets_sent} repair packets (FEC)" if status.repair_packets_sent else ""),
        *([_capture_line(status.capture)] if status.capture else []),
        "SDP (for ffplay, VLC, python -m listener FILE.sdp; --sdp FILE writes it):",
        *("  " + line for line in about.sdp(status.title).splitlines()),
    ])


def _capture_line(capture: CaptureFigures) -> str:
    return (f"capture: {capture.underruns} underruns ({capture.samples_missing} samples of silence), "
            f"{capture.samples_discarded} samples discarded; drift {capture.drift_ppm:+.0f} ppm "
            f"({capture.samples_inserted} samples repeated, {capture.samples_dropped} skipped)")


def format_queue(listing: QueueListing) -> str:
    """QUEUE's answer: the tracks numbered, with durations, ▶ at the current one."""
    count = len(listing.items)
    number_width = len(str(count))
    title_width = max((len(item.title) for item in listing.items), default=0)
    lines = [f"queue: {count} track{'s' if count != 1 else ''}, repeat {listing.repeat}, "
             f"shuffle {'on' if listing.shuffle else 'off'}"]
    lines += [f"{'▶' if item.current else ' '} {item.number:>{number_width}}. {item.title:<{title_width}}  "
              f"{_duration(item.duration_s)}" for item in listing.items]
    return "\n".join(lines)


def clock(seconds: float) -> str:
    """M:SS, rounded down, as players show times."""
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}:{rest:02d}"


def _duration(seconds: float | None) -> str:
    return "?:??" if seconds is None else clock(seconds)


def _track(item: QueueItem) -> str:
    return f"{item.number}. {item.title} ({_duration(item.duration_s)})"


def _added(items: list[QueueItem]) -> str:
    if len(items) > ADDED_LISTED_AT_MOST:
        return f"added {len(items)} tracks, {items[0].number} to {items[-1].number} (QUEUE lists them)"
    return "added " + ", ".join(_track(item) for item in items)


class Commands:
    """The console's command language for every front-end: the terminal and the HTTP API (`station.web_api`)
    parse lines with the same code and get the same answers. One command runs at a time, so that two operators'
    queue edits never interleave."""

    def __init__(self, station: Station, about: About) -> None:
        self._station = station
        self._about = about
        self._lock = threading.Lock()

    def answer(self, line: str) -> str | None:
        """The answer to a line: the command's, or the error saying what was expected; None for a blank line."""
        try:
            command = parse_command(line)
        except CommandError as e:
            return f"error: {e}"
        if command is None:
            return None
        with self._lock:
            return execute(command, self._station, self._about)


def execute(command: Command, station: Station, about: About) -> str:
    """Carries out a parsed command on the station and returns the answer for the operator."""
    try:
        return _execute(command, station, about)
    except QueueError as e:
        return f"error: {e}"


def _execute(command: Command, station: Station, about: About) -> str:
    name, args = command.name, command.args
    if name == "PLAY" and args:
        index = _index(args[0])
        item = station.with_files(lambda files: files.jump(index))
        station.play()
        return f"playing {_track(item)}"
    if name == "PLAY":
        return "playing" if station.play() else "already playing"
    if name == "PAUSE":
        return "paused" if station.pause() else "already paused"
    if name == "TOGGLE":
        return "paused" if station.toggle() else "playing"
    if name == "NEXT":
        return f"skipped to {_track(station.with_files(lambda files: files.skip()))}"
    if name == "PREV":
        item, went_back = station.with_files(lambda files: files.back())
        return f"back to {_track(item)}" if went_back else f"back to the start of {_track(item)}"
    if name == "QUEUE":
        return format_queue(station.with_files(lambda files: files.listing()))
    if name == "ADD":
        paths, problems = expand_paths([str(path) for path in args])  # off the lock: a folder may be big
        answer = [f"error: {problem}" for problem in problems]
        if paths:
            answer.append(_added(station.with_files(lambda files: files.add(paths))))
        return "\n".join(answer)
    if name == "REMOVE":
        index = _index(args[0])
        removed, now = station.with_files(lambda files: (files.remove(index), files.now()))
        answer = f"removed {removed.number}. {removed.title}"
        if not removed.current:
            return answer
        return f"{answer}; now playing {_track(now)}" if now \
            else f"{answer}; nothing follows it in the queue: the station goes off the air"
    if name == "MOVE":
        index, to_index = _index(args[0]), _index(args[1])
        moved = station.with_files(lambda files: files.move(index, to_index))
        return f"moved {moved.title} to {moved.number}"
    if name == "CLEAR":
        removed, now = station.with_files(lambda files: (files.clear(), files.now()))
        return f"cleared {removed} track{'s' if removed != 1 else ''}" + (f"; left: {_track(now)}" if now else "")
    if name == "SEEK":
        seek = args[0]
        assert isinstance(seek, Seek)
        target_s, position_s, item = station.with_files(lambda files: _seek(files, seek))
        clamped = " (its start)" if target_s < 0 else " (its end)" if position_s < target_s else ""
        return f"at {clock(position_s)}{clamped} of {_track(item)}"
    if name == "SHUFFLE":
        on = args[0] == "on"
        station.with_files(lambda files: files.set_shuffle(on))
        return "shuffle on: the rest of the queue in a random order" if on else "shuffle off: the queue in order"
    if name == "REPEAT":
        mode = args[0]
        station.with_files(lambda files: files.set_repeat(mode))
        return {"off": "repeat off: the station goes off the air after the last track",
                "track": "repeat track: the current track plays again and again",
                "queue": "repeat queue: the queue starts over after the last track"}[mode]
    if name == "VOLUME":
        percent = args[0]
        assert isinstance(percent, int)
        return f"volume {percent}% (was {station.set_volume(percent)}%)"
    if name == "MIC":
        return station.use_live(" ".join(map(str, args)) or None)
    if name == "FILES":
        return station.use_files()
    if name == "STATUS":
        return "\n".join([format_status(station.status(), about), *station.icecast_lines()])
    if name == "LISTENERS":
        return station.listeners_text()
    if name == "HELP":
        return help_text(str(args[0]) if args else None)
    if name == "QUIT":
        station.stop("station stopped by the operator")
        return "stopping: BYE sent to listeners"
    raise AssertionError(f"command {name} has no action")


def _seek(files: FileSource, seek: Seek) -> tuple[float, float, QueueItem]:
    """Where SEEK was asked to go in the current track, where it went (clamped to the track), and the track."""
    target_s = seek.target_s(files.progress_s()[0])
    return (target_s, *files.seek(target_s))


def _index(number: Argument) -> int:
    """A queue position as typed (from 1) to an index (from 0)."""
    assert isinstance(number, int)
    return number - 1
