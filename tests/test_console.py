"""Console: the pure parser, execute() on a fake station, the status line and the help text."""

from __future__ import annotations

import pytest

from station.broadcaster import StationStatus
from station.console import (ALIASES, COMMANDS, Command, CommandError, execute, format_status, help_text,
                             parse_command)

LINK = "239.255.0.1:5004 (RTCP 5005) via 127.0.0.1, ttl 1"


def _status(**changes) -> StationStatus:
    fields = dict(paused=False, live=False, title="Blue Monk", position_s=75.9, duration_s=3601.0, packets_sent=1234,
                  octets_sent=2_500_000, slots_skipped=2, send_errors=1, send_error_p50_ms=0.0123,
                  send_error_p99_ms=0.5, send_error_max_ms=1.25)
    fields.update(changes)
    return StationStatus(**fields)


class FakeStation:
    """What execute() needs of a Broadcaster: play/pause answering whether they changed anything, and the
    source switches recording what they were asked for."""

    def __init__(self, paused: bool = False) -> None:
        self.paused = paused
        self.stops: list[str] = []
        self.status_calls = 0
        self.live_specs: list[str | None] = []
        self.files_calls = 0

    def use_live(self, spec: str | None) -> str:
        self.live_specs.append(spec)
        return f"on the air: live {spec}"

    def use_files(self) -> str:
        self.files_calls += 1
        return "on the air: the files"

    def play(self) -> bool:
        changed = self.paused
        self.paused = False
        return changed

    def pause(self) -> bool:
        changed = not self.paused
        self.paused = True
        return changed

    def stop(self, reason: str = "station stopped") -> None:
        self.stops.append(reason)

    def status(self) -> StationStatus:
        self.status_calls += 1
        return _status(paused=self.paused)


# parse_command


@pytest.mark.parametrize("line", ["pause", "PAUSE", "PaUsE", "  pause  ", "pause\n", "\tPause\r\n"])
def test_parse_is_case_insensitive_and_ignores_surrounding_space(line):
    assert parse_command(line) == Command("PAUSE")


@pytest.mark.parametrize("name", list(COMMANDS))
def test_parse_every_command(name):
    assert parse_command(name.lower()) == Command(name, ())


@pytest.mark.parametrize("line", ["", "   ", "\n", "\t \r\n"])
def test_blank_line_is_none(line):
    assert parse_command(line) is None


@pytest.mark.parametrize("line, name", [("EXIT", "QUIT"), ("exit", "QUIT"), ("RESUME", "PLAY"),
                                        ("resume", "PLAY"), ("?", "HELP"), ("MICROPHONE", "MIC"),
                                        ("microphone", "MIC"), ("LIVE", "MIC"), ("live", "MIC"),
                                        ("MUSIC", "FILES"), ("music", "FILES")])
def test_aliases(line, name):
    assert parse_command(line) == Command(name)


def test_aliases_point_at_commands():
    assert set(ALIASES.values()) <= set(COMMANDS)


def test_parse_is_pure():
    before = (dict(COMMANDS), dict(ALIASES))
    results = [parse_command("PaUsE") for _ in range(3)]
    assert results == [Command("PAUSE")] * 3
    with pytest.raises(CommandError):
        parse_command("PAUS")
    assert parse_command("pause") == Command("PAUSE")
    assert (dict(COMMANDS), dict(ALIASES)) == before


def test_unknown_command_suggests_the_closest():
    with pytest.raises(CommandError) as info:
        parse_command("PAUS")
    assert str(info.value) == "unknown command PAUS — did you mean PAUSE?"


def test_unknown_command_keeps_what_was_typed():
    with pytest.raises(CommandError) as info:
        parse_command("stauts")
    assert str(info.value) == "unknown command stauts — did you mean STATUS?"


def test_far_off_word_lists_commands():
    with pytest.raises(CommandError) as info:
        parse_command("xyzzy")
    assert str(info.value) == "unknown command xyzzy; commands: PLAY, PAUSE, MIC, FILES, STATUS, HELP, QUIT"
    assert "did you mean" not in str(info.value)


def test_command_error_is_a_value_error():
    with pytest.raises(ValueError):
        parse_command("xyzzy")


@pytest.mark.parametrize("line, message", [
    ("PAUSE now", "PAUSE takes no arguments (got 'now')"),
    ("play it again", "PLAY takes no arguments (got 'it again')"),
    ("exit now", "QUIT takes no arguments (got 'now')"),
    ("status please", "STATUS takes no arguments (got 'please')"),
    ("FILES now", "FILES takes no arguments (got 'now')"),
    ("music Blue Monk.flac", "FILES takes no arguments (got 'Blue Monk.flac')"),
])
def test_arguments_rejected(line, message):
    with pytest.raises(CommandError) as info:
        parse_command(line)
    assert str(info.value) == message


def test_help_accepts_an_argument():
    assert parse_command("help pause") == Command("HELP", ("pause",))


def test_mic_without_a_device():
    assert parse_command("mic") == Command("MIC", ())


@pytest.mark.parametrize("line, args", [
    ("MIC 3", ("3",)),
    ("mic pulse", ("pulse",)),
    ("mic alsa_output.pci-0000_00_1f.3.analog-stereo.monitor",
     ("alsa_output.pci-0000_00_1f.3.analog-stereo.monitor",)),
    ("MIC USB Audio CODEC", ("USB", "Audio", "CODEC")),  # a device name keeps its case, word by word
    ("  live   Built-in   Microphone \n", ("Built-in", "Microphone")),
    ("microphone HDA Intel PCH: ALC3246 Analog (hw:0,0)", ("HDA", "Intel", "PCH:", "ALC3246", "Analog", "(hw:0,0)")),
])
def test_mic_keeps_its_device_words_with_their_case(line, args):
    assert parse_command(line) == Command("MIC", args)


def test_mic_alias_name_is_case_insensitive_but_its_argument_is_not():
    assert parse_command("LiVe Default") == Command("MIC", ("Default",))


def test_files_without_arguments():
    assert parse_command("files") == Command("FILES", ())
    assert parse_command(" Music ") == Command("FILES", ())


def test_files_misspelling_suggests_files():
    with pytest.raises(CommandError) as info:
        parse_command("FILS")
    assert str(info.value) == "unknown command FILS — did you mean FILES?"


# execute


def test_pause_then_pause_again():
    station = FakeStation()
    assert execute(Command("PAUSE"), station, LINK) == "paused"
    assert station.paused
    assert execute(Command("PAUSE"), station, LINK) == "already paused"
    assert station.paused


def test_play_then_play_again():
    station = FakeStation(paused=True)
    assert execute(Command("PLAY"), station, LINK) == "playing"
    assert not station.paused
    assert execute(Command("PLAY"), station, LINK) == "already playing"


def test_resume_alias_through_parse_and_execute():
    station = FakeStation(paused=True)
    assert execute(parse_command("resume"), station, LINK) == "playing"
    assert not station.paused


def test_status_formats_the_station_status():
    station = FakeStation(paused=True)
    answer = execute(Command("STATUS"), station, LINK)
    assert station.status_calls == 1
    assert answer == format_status(_status(paused=True), LINK)
    assert answer.startswith("paused  Blue Monk")


def test_mic_without_a_device_asks_for_the_last_one():
    station = FakeStation()
    assert execute(Command("MIC"), station, LINK) == "on the air: live None"
    assert station.live_specs == [None]
    assert station.files_calls == 0


def test_mic_device_words_joined_by_single_spaces():
    station = FakeStation()
    answer = execute(parse_command("mic  USB   Audio CODEC"), station, LINK)
    assert station.live_specs == ["USB Audio CODEC"]
    assert answer == "on the air: live USB Audio CODEC"


@pytest.mark.parametrize("line", ["MIC 3", "microphone 3", "live 3"])
def test_mic_aliases_dispatch_to_use_live(line):
    station = FakeStation()
    execute(parse_command(line), station, LINK)
    assert station.live_specs == ["3"]


@pytest.mark.parametrize("line", ["FILES", "music"])
def test_files_dispatches_to_use_files(line):
    station = FakeStation()
    assert execute(parse_command(line), station, LINK) == "on the air: the files"
    assert station.files_calls == 1
    assert station.live_specs == []


def test_mic_and_files_answer_what_the_station_says():
    class Refusing(FakeStation):
        def use_live(self, spec):
            super().use_live(spec)
            return "error: no capture device named 'nope'"

        def use_files(self):
            super().use_files()
            return "already playing the files"

    station = Refusing()
    assert execute(parse_command("mic nope"), station, LINK) == "error: no capture device named 'nope'"
    assert execute(parse_command("files"), station, LINK) == "already playing the files"


def test_help_answers_help_text():
    assert execute(Command("HELP"), FakeStation(), LINK) == help_text()


@pytest.mark.parametrize("line", ["QUIT", "exit"])
def test_quit_stops_the_station(line):
    station = FakeStation()
    answer = execute(parse_command(line), station, LINK)
    assert station.stops == ["station stopped by the operator"]
    assert answer == "stopping: BYE sent to listeners"


def test_other_commands_do_not_stop():
    station = FakeStation()
    for name in ("PLAY", "PAUSE", "MIC", "FILES", "STATUS", "HELP"):
        execute(Command(name), station, LINK)
    assert station.stops == []


def test_unknown_command_object_is_a_programming_error():
    with pytest.raises(AssertionError):
        execute(Command("REWIND"), FakeStation(), LINK)


# format_status


def test_format_status_playing():
    text = format_status(_status(), LINK)
    lines = text.splitlines()
    assert len(lines) == 3
    assert lines[0] == "playing  Blue Monk  1:15 / 60:01"
    assert lines[1] == f"sending {LINK}"
    assert "sent 1234 packets (2.5 MB of audio)" in lines[2]
    assert "p50 0.01 ms" in lines[2]
    assert "p99 0.50 ms" in lines[2]
    assert "max 1.25 ms" in lines[2]
    assert "2 slots skipped" in lines[2]
    assert "1 send failures" in lines[2]


def test_format_status_paused():
    assert format_status(_status(paused=True), LINK).splitlines()[0] == "paused  Blue Monk  1:15 / 60:01"


def test_format_status_without_a_track():
    text = format_status(_status(title="", position_s=0.0, duration_s=0.0), LINK)
    assert text.splitlines()[0] == "playing  -  0:00 / 0:00"


def test_format_status_times_round_down_to_seconds():
    text = format_status(_status(position_s=59.999, duration_s=60.0), LINK)
    assert text.splitlines()[0].endswith("0:59 / 1:00")


def test_format_status_live_shows_time_on_the_air_not_a_duration():
    text = format_status(_status(live=True, title="live: USB Audio CODEC (#3)", position_s=125.7, duration_s=0.0),
                         LINK)
    lines = text.splitlines()
    assert lines[0] == "playing  live: USB Audio CODEC (#3)  live, on the air 2:05"
    assert " / " not in lines[0]
    assert lines[1:] == format_status(_status(), LINK).splitlines()[1:]  # the figures are the same as for files


def test_format_status_live_paused():
    text = format_status(_status(live=True, paused=True, title="live: pulse (#7)", position_s=3600.0), LINK)
    assert text.splitlines()[0] == "paused  live: pulse (#7)  live, on the air 60:00"


def test_format_status_live_ignores_a_duration():
    text = format_status(_status(live=True, position_s=1.0, duration_s=3601.0), LINK)
    assert "60:01" not in text.splitlines()[0]


# help_text


def test_help_lists_every_command():
    lines = help_text().splitlines()
    assert len(lines) == len(COMMANDS)
    for line, (name, description) in zip(lines, COMMANDS.items()):
        assert line.split()[0] == name
        assert line.endswith(description)


def test_help_descriptions_are_aligned():
    lines = help_text().splitlines()
    columns = {line.index(description) for line, description in zip(lines, COMMANDS.values())}
    assert len(columns) == 1
