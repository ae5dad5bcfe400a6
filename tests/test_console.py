"""Console: the pure parser, execute() on a fake station, the status line and the help text."""

from __future__ import annotations

import pytest
from fake_media import RATE, make_source, pcm

from station.control import StationStatus
from station.capture import CaptureFigures
from station.console import (ALIASES, COMMANDS, About, Command, CommandError, Seek, argument_choices, execute,
                             format_queue, format_status, help_text, parse_command, takes_paths)
from station.queue import QueueError, QueueItem, QueueListing

LINK = About("239.255.0.1:5004 (RTCP 5005) via 127.0.0.1, ttl 1", sdp=lambda title: f"v=0\r\ni={title}\r\n")


def _status(**changes) -> StationStatus:
    fields = dict(paused=False, live=False, title="Blue Monk", position_s=75.9, duration_s=3601.0, packets_sent=1234,
                  octets_sent=2_500_000, slots_skipped=2, send_errors=1, send_error_p50_ms=0.0123,
                  send_error_p99_ms=0.5, send_error_max_ms=1.25, send_error_bin_ms=0.01,
                  send_error_bins={}, volume_percent=100, shuffle=False, repeat="queue",
                  queue_position=2, queue_length=3)
    fields.update(changes)
    return StationStatus(**fields)


class FakeStation:
    """What execute() needs of a Station: play/pause answering whether they changed anything, the source
    switches recording what they were asked for, the volume, and a real FileSource (on a fake loader) for the
    queue commands: 01-tide-pool (25 s), 02-neon-arcade (24 s), 03-lantern-waltz (30 s)."""

    def __init__(self, paused: bool = False, repeat: str = "queue") -> None:
        self.paused = paused
        self.stops: list[str] = []
        self.status_calls = 0
        self.live_specs: list[str | None] = []
        self.files_calls = 0
        self.volume_percent = 100
        self.icecast: list[str] = []  # STATUS's lines about Icecast mounts
        self.files, self.loader, self.reports = make_source(
            {"01-tide-pool.wav": pcm(0, 25 * RATE), "02-neon-arcade.mp3": pcm(0, 24 * RATE),
             "03-lantern-waltz.ogg": pcm(0, 30 * RATE)}, repeat=repeat)
        self.files.start()

    def with_files(self, action):
        return action(self.files)

    def toggle(self) -> bool:
        self.paused = not self.paused
        return self.paused

    def set_volume(self, percent: int) -> int:
        before, self.volume_percent = self.volume_percent, percent
        return before

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

    def icecast_lines(self) -> list[str]:
        return self.icecast


    def listeners_text(self) -> str:
        return "2 listeners\n(the table)"


# parse_command


@pytest.mark.parametrize("line", ["pause", "PAUSE", "PaUsE", "  pause  ", "pause\n", "\tPause\r\n"])
def test_parse_is_case_insensitive_and_ignores_surrounding_space(line):
    assert parse_command(line) == Command("PAUSE")


NEEDS_ARGUMENTS = {"ADD", "REMOVE", "MOVE", "SEEK", "SHUFFLE", "REPEAT", "VOLUME"}


@pytest.mark.parametrize("name", sorted(set(COMMANDS) - NEEDS_ARGUMENTS))
def test_parse_every_command_without_arguments(name):
    assert parse_command(name.lower()) == Command(name, ())


@pytest.mark.parametrize("name", sorted(NEEDS_ARGUMENTS))
def test_commands_needing_arguments_say_what_they_take(name):
    with pytest.raises(CommandError) as info:
        parse_command(name.lower())
    assert str(info.value).startswith(f"{name} takes ")
    assert str(info.value).endswith("got nothing")


@pytest.mark.parametrize("line", ["", "   ", "\n", "\t \r\n"])
def test_blank_line_is_none(line):
    assert parse_command(line) is None


@pytest.mark.parametrize("line, name", [("EXIT", "QUIT"), ("exit", "QUIT"), ("RESUME", "PLAY"),
                                        ("resume", "PLAY"), ("?", "HELP"), ("MICROPHONE", "MIC"),
                                        ("microphone", "MIC"), ("LIVE", "MIC"), ("live", "MIC"),
                                        ("MUSIC", "FILES"), ("music", "FILES"), ("skip", "NEXT"),
                                        ("Previous", "PREV"), ("list", "QUEUE"), ("jump", "PLAY")])
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
    assert str(info.value) == f"unknown command xyzzy; commands: {', '.join(COMMANDS)}"
    assert str(info.value).startswith("unknown command xyzzy; commands: PLAY, PAUSE, TOGGLE, NEXT, PREV, QUEUE, ADD, "
                                      "REMOVE, MOVE, CLEAR, SEEK, SHUFFLE, REPEAT, VOLUME, MIC, FILES, STATUS")
    assert "did you mean" not in str(info.value)


def test_command_error_is_a_value_error():
    with pytest.raises(ValueError):
        parse_command("xyzzy")


@pytest.mark.parametrize("line, message", [
    ("PAUSE now", "PAUSE takes no arguments (got 'now')"),
    ("toggle 1", "TOGGLE takes no arguments (got '1')"),
    ("next 2", "NEXT takes no arguments (got '2')"),
    ("queue all", "QUEUE takes no arguments (got 'all')"),
    ("clear 3", "CLEAR takes no arguments (got '3')"),
    ("exit now", "QUIT takes no arguments (got 'now')"),
    ("status please", "STATUS takes no arguments (got 'please')"),
    ("FILES now", "FILES takes no arguments (got 'now')"),
    ("music Blue Monk.flac", "FILES takes no arguments (got 'Blue Monk.flac')"),
])
def test_arguments_rejected(line, message):
    with pytest.raises(CommandError) as info:
        parse_command(line)
    assert str(info.value) == message


def test_help_accepts_a_command_or_an_alias():
    assert parse_command("help pause") == Command("HELP", ("PAUSE",))
    assert parse_command("? skip") == Command("HELP", ("NEXT",))


def test_help_about_an_unknown_command_suggests_one():
    with pytest.raises(CommandError) as info:
        parse_command("help shufle")
    assert str(info.value) == "unknown command shufle — did you mean SHUFFLE?"


def test_help_takes_one_command():
    with pytest.raises(CommandError) as info:
        parse_command("help play pause")
    assert str(info.value) == "HELP takes one command name, got 'play pause'"


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


# parse_command: arguments


@pytest.mark.parametrize("line, command", [
    ("play 3", Command("PLAY", (3,))),
    ("JUMP 1", Command("PLAY", (1,))),
    ("jump 007", Command("PLAY", (7,))),
    ("remove 2", Command("REMOVE", (2,))),
    ("MOVE 3 1", Command("MOVE", (3, 1))),
    ("move  1   12 ", Command("MOVE", (1, 12))),
    ("seek 90", Command("SEEK", (Seek(90.0),))),
    ("seek 1:30", Command("SEEK", (Seek(90.0),))),
    ("seek 0:10", Command("SEEK", (Seek(10.0),))),
    ("seek 12:05", Command("SEEK", (Seek(725.0),))),
    ("seek +10", Command("SEEK", (Seek(10.0, relative=True),))),
    ("seek -5", Command("SEEK", (Seek(-5.0, relative=True),))),
    ("seek -1:00", Command("SEEK", (Seek(-60.0, relative=True),))),
    ("seek 2.5", Command("SEEK", (Seek(2.5),))),
    ("shuffle on", Command("SHUFFLE", ("on",))),
    ("SHUFFLE OFF", Command("SHUFFLE", ("off",))),
    ("repeat off", Command("REPEAT", ("off",))),
    ("repeat Track", Command("REPEAT", ("track",))),
    ("REPEAT queue", Command("REPEAT", ("queue",))),
    ("volume 0", Command("VOLUME", (0,))),
    ("volume 50", Command("VOLUME", (50,))),
    ("vol 100", Command("VOLUME", (100,))),
    ("volume 35%", Command("VOLUME", (35,))),
])
def test_arguments_parsed(line, command):
    assert parse_command(line) == command


def test_seek_relative_and_absolute_targets():
    assert Seek(90.0).target_s(30.0) == 90.0
    assert Seek(10.0, relative=True).target_s(30.0) == 40.0
    assert Seek(-5.0, relative=True).target_s(30.0) == 25.0


@pytest.mark.parametrize("line, message", [
    ("play x", "PLAY takes a queue position (a number from 1, as QUEUE lists them), got 'x'"),
    ("play it again", "PLAY takes a queue position (a number from 1, as QUEUE lists them), got 'it again'"),
    ("jump 0", "PLAY takes a queue position (a number from 1, as QUEUE lists them), got '0'"),
    ("jump -1", "PLAY takes a queue position (a number from 1, as QUEUE lists them), got '-1'"),
    ("jump 1 2", "PLAY takes a queue position (a number from 1, as QUEUE lists them), got '1 2'"),
    ("jump 2.5", "PLAY takes a queue position (a number from 1, as QUEUE lists them), got '2.5'"),
    ("remove", "REMOVE takes a queue position (a number from 1, as QUEUE lists them), got nothing"),
    ("remove last", "REMOVE takes a queue position (a number from 1, as QUEUE lists them), got 'last'"),
    ("remove ²", "REMOVE takes a queue position (a number from 1, as QUEUE lists them), got '²'"),
    ("move 3", "MOVE takes 2 queue positions (a number from 1, as QUEUE lists them), got '3'"),
    ("move 3 up", "MOVE takes 2 queue positions (a number from 1, as QUEUE lists them), got '3 up'"),
    ("move 1 2 3", "MOVE takes 2 queue positions (a number from 1, as QUEUE lists them), got '1 2 3'"),
    ("seek", "SEEK takes seconds (90, or +10 / -5 from here) or MM:SS (1:30), got nothing"),
    ("seek soon", "SEEK takes seconds (90, or +10 / -5 from here) or MM:SS (1:30), got 'soon'"),
    ("seek 1:75", "SEEK takes seconds (90, or +10 / -5 from here) or MM:SS (1:30), got '1:75'"),
    ("seek 1:5", "SEEK takes seconds (90, or +10 / -5 from here) or MM:SS (1:30), got '1:5'"),
    ("seek ++10", "SEEK takes seconds (90, or +10 / -5 from here) or MM:SS (1:30), got '++10'"),
    ("seek 10 20", "SEEK takes seconds (90, or +10 / -5 from here) or MM:SS (1:30), got '10 20'"),
    ("shuffle", "SHUFFLE takes on or off, got nothing"),
    ("shuffle maybe", "SHUFFLE takes on or off, got 'maybe'"),
    ("shuffle on off", "SHUFFLE takes on or off, got 'on off'"),
    ("repeat all", "REPEAT takes off, track or queue, got 'all'"),
    ("repeat", "REPEAT takes off, track or queue, got nothing"),
    ("volume loud", "VOLUME takes a number from 0 to 100, got 'loud'"),
    ("volume 101", "VOLUME takes a number from 0 to 100, got '101'"),
    ("volume -5", "VOLUME takes a number from 0 to 100, got '-5'"),
    ("volume 50.5", "VOLUME takes a number from 0 to 100, got '50.5'"),
    ("volume", "VOLUME takes a number from 0 to 100, got nothing"),
    ("add", "ADD takes one or more files or folders (quote names with spaces), got nothing"),
    ("add   ", "ADD takes one or more files or folders (quote names with spaces), got nothing"),
    ("add 'Blue Monk.flac", "ADD cannot read \"'Blue Monk.flac\": no closing quotation"),
])
def test_bad_arguments_say_what_was_expected(line, message):
    with pytest.raises(CommandError) as info:
        parse_command(line)
    assert str(info.value) == message


@pytest.mark.parametrize("line, paths", [
    ("add media", ("media",)),
    ("ADD media/01-tide-pool.wav media/02-neon-arcade.mp3", ("media/01-tide-pool.wav", "media/02-neon-arcade.mp3")),
    ("add 'My Music/Blue Monk.flac'", ("My Music/Blue Monk.flac",)),
    ('add "a b" c', ("a b", "c")),
    (r"add Blue\ Monk.flac", ("Blue Monk.flac",)),
    ("add ~/Music/Song.MP3", ("~/Music/Song.MP3",)),  # the case of a path is kept
])
def test_add_takes_the_rest_of_the_line_as_paths(line, paths):
    assert parse_command(line) == Command("ADD", paths)


def test_add_misspelt_suggests_add():
    with pytest.raises(CommandError) as info:
        parse_command("ad media")
    assert str(info.value) == "unknown command ad — did you mean ADD?"


@pytest.mark.parametrize("word, suggestion", [("shufle", "SHUFFLE"), ("repaet", "REPEAT"), ("volum", "VOLUME"),
                                              ("skp", "SKIP"), ("queu", "QUEUE"), ("nxt", "NEXT")])
def test_typos_of_the_queue_commands_suggest_them(word, suggestion):
    with pytest.raises(CommandError) as info:
        parse_command(f"{word} 1")
    assert str(info.value) == f"unknown command {word} — did you mean {suggestion}?"


# completion data


@pytest.mark.parametrize("name, choices", [
    ("SHUFFLE", ("on", "off")), ("shuffle", ("on", "off")), ("REPEAT", ("off", "track", "queue")),
    ("PLAY", ()), ("ADD", ()), ("JUMP", ()), ("nonsense", ()), ("", ()),
])
def test_argument_choices(name, choices):
    assert argument_choices(name) == choices


def test_help_completes_command_names():
    assert argument_choices("HELP") == tuple(COMMANDS)
    assert argument_choices("?") == tuple(COMMANDS)


@pytest.mark.parametrize("name, expected", [("ADD", True), ("add", True), ("MIC", False), ("PLAY", False),
                                            ("nonsense", False)])
def test_takes_paths(name, expected):
    assert takes_paths(name) is expected


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


def test_status_ends_with_the_icecast_mounts():
    station = FakeStation()
    station.icecast = ["icecast h:8000/a.ogg: connected, 2 listeners"]
    answer = execute(Command("STATUS"), station, LINK)
    assert answer == format_status(_status(), LINK) + "\nicecast h:8000/a.ogg: connected, 2 listeners"


@pytest.mark.parametrize("line", ["LISTENERS", "listeners", "who", "WHO"])
def test_listeners_answers_the_stations_table(line):
    assert execute(parse_command(line), FakeStation(), LINK) == "2 listeners\n(the table)"


def test_listeners_takes_no_arguments():
    with pytest.raises(CommandError, match="LISTENERS takes no arguments"):
        parse_command("who is there")


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


# execute: the queue, transport and volume


def run(station: FakeStation, line: str) -> str:
    return execute(parse_command(line), station, LINK)


def test_queue_lists_numbered_tracks_with_durations_and_the_current_one():
    assert run(FakeStation(), "queue") == "\n".join([
        "queue: 3 tracks, repeat queue, shuffle off",
        "▶ 1. 01-tide-pool      0:25",
        "  2. 02-neon-arcade    0:24",  # decoded ahead, so its length is known
        "  3. 03-lantern-waltz  ?:??",
    ])


def test_list_is_queue():
    station = FakeStation()
    assert run(station, "LIST") == run(station, "QUEUE")


def test_next_answers_where_it_went():
    station = FakeStation()
    assert run(station, "next") == "skipped to 2. 02-neon-arcade (0:24)"
    assert run(station, "queue").splitlines()[2:] == ["▶ 2. 02-neon-arcade    0:24", "  3. 03-lantern-waltz  0:30"]
    assert run(station, "skip") == "skipped to 3. 03-lantern-waltz (0:30)"
    assert run(station, "skip") == "skipped to 1. 01-tide-pool (0:25)"  # the queue loops


def test_next_after_the_last_track_without_repeat_is_an_error():
    station = FakeStation(repeat="off")
    run(station, "jump 3")
    assert run(station, "next") == ("error: 3. 03-lantern-waltz is the last track "
                                    "(REPEAT queue would go on with the first)")


def test_prev_early_goes_back_and_later_restarts():
    station = FakeStation()
    run(station, "next")
    assert run(station, "prev") == "back to 1. 01-tide-pool (0:25)"
    run(station, "seek 0:10")
    assert run(station, "previous") == "back to the start of 1. 01-tide-pool (0:25)"
    assert station.files.position_samples == 0


def test_play_n_jumps_and_plays():
    station = FakeStation(paused=True)
    assert run(station, "play 3") == "playing 3. 03-lantern-waltz (0:30)"  # the fake decodes at once
    assert not station.paused
    assert station.files.title == "03-lantern-waltz"


def test_jump_to_a_track_that_does_not_exist_changes_nothing():
    station = FakeStation(paused=True)
    assert run(station, "jump 9") == "error: no track 9: the queue has 3 tracks (1 to 3; QUEUE lists them)"
    assert station.paused
    assert station.files.title == "01-tide-pool"


def test_toggle_flips_pause():
    station = FakeStation()
    assert run(station, "toggle") == "paused"
    assert station.paused
    assert run(station, "TOGGLE") == "playing"
    assert not station.paused


@pytest.mark.parametrize("line, answer", [
    ("seek 0:10", "at 0:10 of 1. 01-tide-pool (0:25)"),
    ("seek 12", "at 0:12 of 1. 01-tide-pool (0:25)"),
    ("seek +5", "at 0:05 of 1. 01-tide-pool (0:25)"),
    ("seek -5", "at 0:00 (its start) of 1. 01-tide-pool (0:25)"),
    ("seek 9:00", "at 0:25 (its end) of 1. 01-tide-pool (0:25)"),
])
def test_seek_answers_where_it_went(line, answer):
    assert run(FakeStation(), line) == answer


def test_seek_relative_from_where_the_track_is():
    station = FakeStation()
    run(station, "seek 20")
    assert run(station, "seek -5") == "at 0:15 of 1. 01-tide-pool (0:25)"
    assert run(station, "seek +1:00") == "at 0:25 (its end) of 1. 01-tide-pool (0:25)"


def test_volume_answers_the_old_and_new_volume():
    station = FakeStation()
    assert run(station, "volume 50") == "volume 50% (was 100%)"
    assert run(station, "vol 0") == "volume 0% (was 50%)"
    assert station.volume_percent == 0


def test_add_files_and_a_folder(tmp_path):
    (tmp_path / "more").mkdir()
    for name in ("more/b.mp3", "more/a.flac", "more/notes.txt", "04-solo.wav"):
        (tmp_path / name).write_bytes(b"x")
    station = FakeStation()
    answer = run(station, f"add {tmp_path / '04-solo.wav'} '{tmp_path / 'more'}'")
    assert answer == "added 4. 04-solo (?:??), 5. a (?:??), 6. b (?:??)"
    assert len(station.files.queue.entries) == 6


def test_add_a_path_with_spaces(tmp_path):
    (tmp_path / "Blue Monk.flac").write_bytes(b"x")
    station = FakeStation()
    assert run(station, f"add '{tmp_path}/Blue Monk.flac'") == "added 4. Blue Monk (?:??)"


def test_add_reports_what_is_missing_and_adds_the_rest(tmp_path):
    (tmp_path / "song.wav").write_bytes(b"x")
    station = FakeStation()
    answer = run(station, f"add {tmp_path}/nope.mp3 {tmp_path}/song.wav")
    assert answer.splitlines() == [f"error: {tmp_path}/nope.mp3: no such file or folder", "added 4. song (?:??)"]


def test_add_nothing_playable_adds_nothing(tmp_path):
    station = FakeStation()
    assert run(station, f"add {tmp_path}") == f"error: {tmp_path}: folder holds no audio files"
    assert len(station.files.queue.entries) == 3


def test_add_many_answers_with_numbers(tmp_path):
    for i in range(8):
        (tmp_path / f"{i}.wav").write_bytes(b"x")
    assert run(FakeStation(), f"add {tmp_path}") == "added 8 tracks, 4 to 11 (QUEUE lists them)"


def test_remove_another_track():
    station = FakeStation()
    assert run(station, "remove 2") == "removed 2. 02-neon-arcade"
    assert station.files.title == "01-tide-pool"


def test_remove_the_current_track_says_what_plays_now():
    station = FakeStation()
    assert run(station, "remove 1") == "removed 1. 01-tide-pool; now playing 1. 02-neon-arcade (0:24)"


def test_remove_the_current_last_track_without_repeat_ends_the_queue():
    station = FakeStation(repeat="off")
    run(station, "jump 3")
    assert run(station, "remove 3") == ("removed 3. 03-lantern-waltz; nothing follows it in the queue: the station "
                                        "goes off the air")


def test_remove_errors():
    station = FakeStation()
    assert run(station, "remove 4") == "error: no track 4: the queue has 3 tracks (1 to 3; QUEUE lists them)"
    run(station, "clear")
    assert run(station, "remove 1") == "error: 1. 01-tide-pool is the only track: ADD another before removing it"


def test_move():
    station = FakeStation()
    assert run(station, "move 3 1") == "moved 03-lantern-waltz to 1"
    assert [item.title for item in station.files.listing().items] == ["03-lantern-waltz", "01-tide-pool",
                                                                       "02-neon-arcade"]
    assert run(station, "move 1 5") == "error: no track 5: the queue has 3 tracks (1 to 3; QUEUE lists them)"


def test_clear_keeps_the_current_track():
    station = FakeStation()
    run(station, "next")
    assert run(station, "clear") == "cleared 2 tracks; left: 1. 02-neon-arcade (0:24)"
    assert run(station, "clear") == "cleared 0 tracks; left: 1. 02-neon-arcade (0:24)"


def test_shuffle_and_repeat_answers_and_listing():
    station = FakeStation()
    assert run(station, "shuffle on") == "shuffle on: the rest of the queue in a random order"
    assert run(station, "repeat track") == "repeat track: the current track plays again and again"
    assert run(station, "queue").splitlines()[0] == "queue: 3 tracks, repeat track, shuffle on"
    assert run(station, "shuffle off") == "shuffle off: the queue in order"
    assert run(station, "repeat off") == "repeat off: the station goes off the air after the last track"
    assert run(station, "repeat queue") == "repeat queue: the queue starts over after the last track"
    assert (station.files.queue.shuffle, station.files.queue.repeat) == (False, "queue")


def test_queue_commands_without_music_files_are_errors():
    class Live(FakeStation):
        def with_files(self, action):
            raise QueueError("no playable music files (give some on the command line)")

    for line in ("next", "prev", "queue", "play 1", "seek 10", "remove 1", "move 1 2", "clear", "shuffle on",
                 "repeat off"):
        assert run(Live(), line) == "error: no playable music files (give some on the command line)"


def test_format_queue_aligns_numbers_from_ten_tracks_on():
    items = tuple(QueueItem(n, f"t{n}", 61.0 * n if n % 2 else None, n == 10) for n in range(1, 12))
    lines = format_queue(QueueListing(items, "off", True)).splitlines()
    assert lines[0] == "queue: 11 tracks, repeat off, shuffle on"
    assert lines[1] == "   1. t1   1:01"
    assert lines[10] == "▶ 10. t10  ?:??"
    assert lines[11] == "  11. t11  11:11"


def test_format_queue_of_one_track():
    listing = QueueListing((QueueItem(1, "a", 3.0, True),), "queue", False)
    assert format_queue(listing) == "queue: 1 track, repeat queue, shuffle off\n▶ 1. a  0:03"


# format_status


def test_format_status_playing():
    text = format_status(_status(), LINK)
    lines = text.splitlines()
    assert len(lines) == 7
    assert lines[0] == "playing  Blue Monk  1:15 / 60:01"
    assert lines[1] == "queue: track 2 of 3, repeat queue, shuffle off; volume 100%"
    assert lines[2] == f"sending {LINK.link}"
    assert "sent 1234 packets (2.5 MB of audio)" in lines[3]
    assert "p50 0.01 ms" in lines[3]
    assert "p99 0.50 ms" in lines[3]
    assert "max 1.25 ms" in lines[3]
    assert "2 slots skipped" in lines[3]
    assert "1 send failures" in lines[3]
    assert lines[4] == "SDP (for ffplay, VLC, python -m listener FILE.sdp; --sdp FILE writes it):"
    assert lines[5:] == ["  v=0", "  i=Blue Monk"]  # the stream's description, with what is playing


def test_format_status_counts_fec_repair_packets_when_it_sends_them():
    assert "repair" not in format_status(_status(), LINK).splitlines()[3]
    line = format_status(_status(repair_packets_sent=617), LINK).splitlines()[3]
    assert line.endswith("1 send failures; 617 repair packets (FEC)")


def test_format_status_live_tells_how_the_capture_keeps_up():
    capture = CaptureFigures(underruns=2, samples_missing=441, samples_discarded=0, samples_inserted=17,
                             samples_dropped=1, drift_ppm=-21.4)
    lines = format_status(_status(live=True, capture=capture), LINK).splitlines()
    assert lines[4] == ("capture: 2 underruns (441 samples of silence), 0 samples discarded; drift -21 ppm "
                        "(17 samples repeated, 1 skipped)")
    assert lines[5].startswith("SDP")


def test_format_status_shows_the_queue_settings_and_the_volume():
    text = format_status(_status(shuffle=True, repeat="track", queue_position=1, queue_length=12,
                                 volume_percent=35), LINK)
    assert text.splitlines()[1] == "queue: track 1 of 12, repeat track, shuffle on; volume 35%"


def test_format_status_without_music_files():
    text = format_status(_status(live=True, repeat="", queue_position=0, queue_length=0, volume_percent=80), LINK)
    assert text.splitlines()[1] == "no music files; volume 80%"


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
    assert lines[1:4] == format_status(_status(), LINK).splitlines()[1:4]  # the figures are the same as for files


def test_format_status_live_paused():
    text = format_status(_status(live=True, paused=True, title="live: pulse (#7)", position_s=3600.0), LINK)
    assert text.splitlines()[0] == "paused  live: pulse (#7)  live, on the air 60:00"


def test_format_status_live_ignores_a_duration():
    text = format_status(_status(live=True, position_s=1.0, duration_s=3601.0), LINK)
    assert "60:01" not in text.splitlines()[0]


# help_text


def test_help_lists_every_command_with_its_usage():
    lines = help_text().splitlines()
    assert len(lines) == len(COMMANDS) + 1
    for line, (name, spec) in zip(lines, COMMANDS.items()):
        assert line.split()[0] == name
        assert line.strip().startswith(spec.usage)
        assert line.endswith(spec.help)


def test_help_ends_with_the_aliases():
    last = help_text().splitlines()[-1]
    assert last.startswith("aliases: EXIT (QUIT), ? (HELP), RESUME (PLAY), JUMP (PLAY), SKIP (NEXT)")
    assert last.endswith("; HELP COMMAND tells more")
    assert all(f"{alias} ({name})" in last for alias, name in ALIASES.items())


def test_help_descriptions_are_aligned():
    lines = help_text().splitlines()
    columns = {line.index(spec.help) for line, spec in zip(lines, COMMANDS.values())}
    assert len(columns) == 1


def test_help_about_one_command():
    assert help_text("SEEK") == ("SEEK [+|-]SECONDS\n  go to a time in the current track: SEEK 90 or SEEK 1:30; "
                                 "SEEK +10 / SEEK -5 from where it is")


def test_help_about_one_command_names_its_aliases():
    assert help_text("PLAY").splitlines() == [
        "PLAY [N]", "  resume where paused; with N, play track N of the queue from its start", "  also: RESUME, JUMP"]


def test_help_command_through_parse_and_execute():
    assert execute(parse_command("help jump"), FakeStation(), LINK) == help_text("PLAY")


def test_every_command_has_usage_starting_with_its_name_and_help():
    for name, spec in COMMANDS.items():
        assert spec.usage.split()[0] == name
        assert spec.help and not spec.help.endswith(".")



# Found by tests/test_fuzz.py: each of these raised a bare ValueError or OverflowError, not a CommandError.

def test_volume_with_4301_digits_is_refused():
    """int() refuses more than 4300 digits with a ValueError of its own."""
    with pytest.raises(CommandError, match=r"^VOLUME takes a number from 0 to 100, got '1111"):
        parse_command("volume " + "1" * 4301)
    assert parse_command("volume " + "0" * 4301) == Command("VOLUME", (0,))  # what fuzzing found: zero, at length


def test_volume_with_leading_zeros_still_reads():
    assert parse_command("volume 0000050") == Command("VOLUME", (50,))
    assert parse_command("volume 000") == Command("VOLUME", (0,))


def test_queue_position_with_4301_digits_is_refused():
    with pytest.raises(CommandError, match=r"^REMOVE takes a queue position \(a number from 1, as QUEUE lists them\)"):
        parse_command("remove " + "1" * 4301)


def test_queue_position_with_leading_zeros_still_reads():
    assert parse_command("move 007 0000000000001") == Command("MOVE", (7, 1))


@pytest.mark.parametrize("target", ["9" * 400, "1" + "0" * 305, "+" + "1" * 4301 + ":00", "1000000001"])
def test_seek_beyond_any_track_is_refused(target):
    """400 digits read as inf, 1e305 s overflow the sample count when the station seeks; 4301 minutes' digits are
    past int()."""
    with pytest.raises(CommandError) as info:
        parse_command(f"seek {target}")
    assert str(info.value).startswith("SEEK goes at most 1000000000 seconds from the start or from here, got ")


def test_seek_to_the_limit_still_reads():
    assert parse_command("seek 1000000000") == Command("SEEK", (Seek(1e9),))
    assert parse_command("seek -16666666:40") == Command("SEEK", (Seek(-1e9, relative=True),))
