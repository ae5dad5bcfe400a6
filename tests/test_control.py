"""Station, the console's facade: switching between the files and a live source, the queue, pause and volume,
LISTENERS, and the status the figures come from.

The broadcaster's loop is never started: commands are carried out as the console would, between two slots. A
live source switched away from is closed on a thread of its own; the tests wait for it on events, bounded.
"""

from __future__ import annotations

import time

import pytest
from fake_station import SPP, SSRC, WAIT_S, FakeSource, Opener, console_station, queue_station

from rtpwire.audio import L16_STEREO
from rtpwire.nowplaying import NowPlaying
from rtpwire.rtcp import SDES_CNAME, ReceiverReport, SdesChunk, SourceDescription, compound
from station.audience import NO_LISTENERS, Audience
from station.onair import NO_FILES
from station.queue import QueueError


# --- what is on the air first --------------------------------------------------------------------------------

def test_files_on_the_air_without_a_live_source():
    station, _, _ = console_station(files=FakeSource("Blue Monk", 1, duration_s=300.0))
    status = station.status()
    assert not status.live and not status.paused and status.capture is None
    assert status.title == "Blue Monk"
    assert (status.position_s, status.duration_s) == (0.0, 300.0)
    assert station.now_playing() == NowPlaying(paused=False, title="Blue Monk")


def test_live_source_given_is_on_the_air_first():
    live = FakeSource("live: USB Audio CODEC (#3)", 7)
    station, _, _ = console_station(files=FakeSource("Blue Monk", 1), live=live)
    assert station.status().live
    assert station.status().title == "live: USB Audio CODEC (#3)"
    assert station.status().capture == live.figures
    assert station.now_playing().title == "live: USB Audio CODEC (#3)"


def test_nothing_on_the_air():
    station, _, _ = console_station()
    status = station.status()
    assert not status.live
    assert status.title == ""
    assert (status.position_s, status.duration_s) == (0.0, 0.0)
    assert station.now_playing() == NowPlaying(paused=False, title="")


def test_status_counts_start_at_zero():
    status = console_station(files=FakeSource("Blue Monk", 1))[0].status()
    assert (status.packets_sent, status.octets_sent, status.slots_skipped, status.send_errors) == (0, 0, 0, 0)
    assert status.send_error_bins == {} and status.send_error_p99_ms == 0.0


def test_status_counts_what_went_on_the_air():
    station, onair, _ = console_station(files=FakeSource("Blue Monk", 1))
    for _ in range(3):
        onair.step(onair.next_deadline_s)
    onair.step(onair.next_deadline_s + 1.0)  # a stall: skips ahead
    status = station.status()
    assert (status.packets_sent, status.octets_sent) == (4, 4 * SPP * L16_STEREO.bytes_per_frame)
    assert status.slots_skipped == onair.slots_skipped > 0
    assert status.position_s == 4 * SPP / L16_STEREO.rate


def test_now_playing_shows_pause():
    station, _, _ = console_station(files=FakeSource("Blue Monk", 1))
    assert station.pause()
    assert station.now_playing() == NowPlaying(paused=True, title="Blue Monk")
    assert station.status().paused


def test_pause_and_play_answer_whether_they_changed_anything():
    station, _, _ = console_station(files=FakeSource("Blue Monk", 1))
    assert station.pause() and not station.pause()
    assert station.play() and not station.play()
    assert not station.status().paused


def test_toggle():
    station, _, _ = console_station(files=FakeSource("Blue Monk", 1))
    assert station.toggle() is True
    assert station.status().paused and station.now_playing().paused
    assert station.toggle() is False
    assert not station.status().paused


def test_set_volume_answers_the_volume_before():
    station, _, _ = console_station(files=FakeSource("Blue Monk", 1))
    assert station.set_volume(40) == 100
    assert station.set_volume(0) == 40
    assert station.status().volume_percent == 0


def test_stop_stops_the_broadcaster():
    station, _, broadcaster = console_station(files=FakeSource("Blue Monk", 1))
    station.stop("station stopped by the operator")
    assert broadcaster.stopping.is_set()


# --- MIC -----------------------------------------------------------------------------------------------------

def test_use_live_puts_the_device_on_the_air():
    opener = Opener()
    files = FakeSource("Blue Monk", 1)
    station, _, _ = console_station(files=files, opener=opener)
    assert station.use_live("3") == "on the air: live: 3"
    assert opener.specs == ["3"]
    status = station.status()
    assert status.live
    assert status.title == "live: 3"
    assert station.now_playing().title == "live: 3"
    assert files.closes == 0  # the files are left where they were, not closed


def test_use_live_failure_leaves_the_files_on():
    opener = Opener(missing=("nope",))
    station, _, _ = console_station(files=FakeSource("Blue Monk", 1), opener=opener)
    answer = station.use_live("nope")
    assert answer == "error: no capture device 'nope'; see --list-devices"
    assert not station.status().live
    assert station.status().title == "Blue Monk"


def test_use_live_failure_leaves_the_live_source_on():
    opener = Opener(missing=("nope",))
    station, _, _ = console_station(files=FakeSource("Blue Monk", 1), opener=opener)
    station.use_live("3")
    live = opener.opened[0]
    assert station.use_live("nope").startswith("error: ")
    assert station.status().title == "live: 3"
    assert live.closes == 0
    assert not live.closed.wait(0.05)


def test_use_live_without_a_spec_reopens_the_last_one():
    opener = Opener()
    station, _, _ = console_station(files=FakeSource("Blue Monk", 1), opener=opener)
    station.use_live("USB Audio CODEC")
    station.use_files()
    assert station.use_live(None) == "on the air: live: USB Audio CODEC"
    assert opener.specs == ["USB Audio CODEC", "USB Audio CODEC"]


def test_use_live_without_a_spec_ever_opens_the_default():
    opener = Opener()
    station, _, _ = console_station(files=FakeSource("Blue Monk", 1), opener=opener)
    assert station.use_live(None) == "on the air: live: default"
    assert opener.specs == [None]


def test_use_live_without_a_spec_uses_the_one_the_station_started_with():
    opener = Opener()
    live = FakeSource("live: pulse", 7)
    station, _, _ = console_station(files=FakeSource("Blue Monk", 1), live=live, opener=opener, live_spec="pulse")
    station.use_files()
    station.use_live(None)
    assert opener.specs == ["pulse"]


def test_a_spec_that_failed_is_not_remembered():
    opener = Opener(missing=("nope",))
    station, _, _ = console_station(files=FakeSource("Blue Monk", 1), opener=opener)
    station.use_live("3")
    station.use_live("nope")
    station.use_files()
    station.use_live(None)
    assert opener.specs == ["3", "nope", "3"]


def test_use_live_again_closes_the_live_source_it_replaces():
    opener = Opener()
    station, _, _ = console_station(files=FakeSource("Blue Monk", 1), opener=opener)
    station.use_live("3")
    assert station.use_live("pulse") == "on the air: live: pulse"
    first, second = opener.opened
    assert first.closed.wait(WAIT_S)  # closed off the caller's thread
    assert first.closes == 1
    assert second.closes == 0
    assert station.status().title == "live: pulse"


def test_use_live_closes_a_live_source_given_at_start():
    live = FakeSource("live: pulse", 7)
    station, _, _ = console_station(files=FakeSource("Blue Monk", 1), live=live)
    station.use_live("3")
    assert live.closed.wait(WAIT_S)


def test_use_live_with_no_files():
    station, _, _ = console_station()
    assert station.use_live("3") == "on the air: live: 3"
    assert station.status().live


# --- FILES ---------------------------------------------------------------------------------------------------

def test_use_files_when_already_on_the_files():
    files = FakeSource("Blue Monk", 1)
    station, _, _ = console_station(files=files)
    assert station.use_files() == "already playing the files"
    assert station.status().title == "Blue Monk"
    assert files.closes == 0


def test_use_files_from_live_closes_the_live_source():
    opener = Opener()
    files = FakeSource("Blue Monk", 1, duration_s=300.0)
    station, _, _ = console_station(files=files, opener=opener)
    station.use_live("3")
    assert station.use_files() == "on the air: Blue Monk"
    assert opener.opened[0].closed.wait(WAIT_S)
    status = station.status()
    assert not status.live and status.capture is None
    assert (status.title, status.duration_s) == ("Blue Monk", 300.0)
    assert station.now_playing().title == "Blue Monk"


def test_use_files_without_files_keeps_the_live_source():
    live = FakeSource("live: pulse", 7)
    station, _, _ = console_station(live=live)
    assert station.use_files() == "error: no playable music files (give some on the command line)"
    assert station.status().live
    assert live.closes == 0


def test_use_files_without_files_or_live_source():
    station, _, _ = console_station()
    assert station.use_files().startswith("error: no playable music files")


# --- LISTENERS -----------------------------------------------------------------------------------------------

def test_listeners_without_an_audience():
    station, _, _ = console_station()
    assert station.listeners_text() == NO_LISTENERS
    assert station.listener_count() == 0


def test_listeners_from_the_audience():
    audience = Audience(SSRC, L16_STEREO.rate, 184_000.0, wall_offset_s=0.0)
    audience.on_rtcp(compound(ReceiverReport(0xA1), SourceDescription((SdesChunk(0xA1, ((SDES_CNAME, "a@h"),)),))),
                     time.monotonic())
    station, _, _ = console_station(audience=audience)
    assert station.listener_count() == 1
    assert station.listeners_text().splitlines()[0] == "1 listener"
    assert "a@h" in station.listeners_text()


# --- the queue commands --------------------------------------------------------------------------------------

def test_with_files_runs_the_action_under_the_loops_lock():
    station, _, broadcaster = queue_station()

    def action(source):
        assert broadcaster.lock.locked()  # the loop steps a slot under this lock: no packet is read meanwhile
        return source.skip()

    item = station.with_files(action)
    assert (item.number, item.title) == (2, "b")
    assert station.status().title == "b"
    assert not broadcaster.lock.locked()


def test_with_files_releases_the_lock_when_the_action_fails():
    station, _, broadcaster = queue_station()
    with pytest.raises(QueueError):
        station.with_files(lambda files: files.jump(7))
    assert not broadcaster.lock.locked()


def test_with_files_without_files_is_a_queue_error():
    station, _, broadcaster = console_station(live=FakeSource("live: pulse", 7))
    with pytest.raises(QueueError) as info:
        station.with_files(lambda files: files.skip())
    assert str(info.value) == NO_FILES
    assert not broadcaster.lock.locked()


def test_status_shows_the_queue():
    station, _, _ = queue_station()
    status = station.status()
    assert (status.queue_position, status.queue_length, status.repeat, status.shuffle) == (1, 3, "queue", False)
    assert status.volume_percent == 100
    station.with_files(lambda files: files.jump(2))
    station.with_files(lambda files: files.set_shuffle(True))
    station.with_files(lambda files: files.set_repeat("off"))
    status = station.status()
    assert (status.queue_position, status.queue_length, status.repeat, status.shuffle) == (3, 3, "off", True)


def test_status_without_files_has_no_queue():
    station, _, _ = console_station(live=FakeSource("live: pulse", 7))
    status = station.status()
    assert (status.queue_position, status.queue_length, status.repeat, status.shuffle) == (0, 0, "", False)
