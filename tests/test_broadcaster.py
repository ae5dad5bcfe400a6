"""Broadcaster: switching between the files and a live source, and the loop falling back when a live one fails.

Most tests never start the loop's thread: the switches, status() and now_playing() are called as the console
would. The loop tests run the real thread briefly against sockets on loopback (unicast, never multicast) and wait
on events, bounded, never on the wall clock.
"""

from __future__ import annotations

import socket
import threading
import time

from pathlib import Path

import numpy as np
import pytest
from fake_media import make_source, pcm

from rtpwire.audio import L16_STEREO
from rtpwire.nowplaying import NowPlaying
from rtpwire.rtcp import (SDES_CNAME, Bye, ReceiverReport, SdesChunk, SenderReport, SourceDescription, compound,
                          parse_compound, unix_from_ntp)
from rtpwire.rtp import RtpPacket
from sound.devices import DeviceError
from station.audience import NO_LISTENERS, Audience
from station.broadcaster import NO_FILES, Broadcaster
from station.capture import CaptureFigures
from station.packetizer import Packetizer
from station.queue import PlayQueue, QueueError
from station.reporter import Reporter
from station.schedule import Schedule

SPP = 220
SSRC = 0x5EED_CAFE
WAIT_S = 5.0  # bound on every wait for the thread; the events normally come within milliseconds


class FakeSource:
    """A source sending a constant value, so packets tell which source they came from; as the files, its queue
    is one track."""

    def __init__(self, title: str, value: int, duration_s: float = 0.0) -> None:
        self.title = title
        self.queue = PlayQueue([Path(f"/music/{title}.wav")])
        self.value = value
        self.duration_s = duration_s
        self.finished = False
        self.failure: str | None = None
        self.reads = 0
        self.read_enough = threading.Event()  # set after `enough` reads
        self.enough = 10
        self.fail_after: int | None = None  # reads after which `failure` is set
        self.closes = 0
        self.closed = threading.Event()
        self.hold: threading.Event | None = None  # if set, close() takes until this event (a slow device)
        self.figures = CaptureFigures(underruns=value, samples_missing=220 * value, samples_discarded=0,
                                      samples_inserted=3, samples_dropped=0, drift_ppm=-12.5)

    def read(self, frames: int) -> np.ndarray | None:
        self.reads += 1
        if self.reads >= self.enough:
            self.read_enough.set()
        if self.fail_after is not None and self.reads >= self.fail_after:
            self.failure = f"capture device {self.title} stopped"
        return np.full((frames, 2), self.value, dtype=np.int16)

    def progress_s(self) -> tuple[float, float]:
        return self.reads * SPP / L16_STEREO.rate, self.duration_s

    def capture_figures(self) -> CaptureFigures:
        return self.figures

    def close(self) -> None:
        if self.hold is not None:
            self.hold.wait(WAIT_S)
        self.closes += 1
        self.closed.set()


class Opener:
    """open_live: a new FakeSource per device spec; specs listed in `missing` raise DeviceError."""

    def __init__(self, missing: tuple[str | None, ...] = ()) -> None:
        self.missing = missing
        self.specs: list[str | None] = []
        self.opened: list[FakeSource] = []

    def __call__(self, spec: str | None) -> FakeSource:
        self.specs.append(spec)
        if spec in self.missing:
            raise DeviceError(f"no capture device {spec!r}; see --list-devices")
        live = FakeSource(f"live: {spec or 'default'}", value=100 + len(self.opened))
        self.opened.append(live)
        return live


@pytest.fixture
def link():
    """Connected UDP sockets on loopback for RTP and RTCP, and the sockets receiving them."""
    socks = []
    pairs = []
    for _ in range(2):
        receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        receiver.bind(("127.0.0.1", 0))
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sender.connect(receiver.getsockname())
        socks += [receiver, sender]
        pairs.append((sender, receiver))
    yield pairs
    for sock in socks:
        sock.close()


def _station(link, files=None, live=None, opener=None, live_spec=None, notes=None, audience=None):
    (rtp_sock, _), (rtcp_sock, _) = link
    packetizer = Packetizer(L16_STEREO, SSRC, first_sequence=65530, first_timestamp=0)
    schedule = Schedule(start_s=time.monotonic(), rate=L16_STEREO.rate, samples_per_packet=SPP)
    reporter = Reporter(packetizer, schedule, cname="test@localhost", name="Test Radio")
    notify = (notes.append if notes is not None else lambda _text: None)
    station = Broadcaster(files, live, opener or Opener(), packetizer, reporter, rtp_sock, rtcp_sock, SPP,
                          notify, live_spec=live_spec, audience=audience)
    return station, schedule


def _received(sock: socket.socket) -> list[bytes]:
    sock.settimeout(0)
    datagrams = []
    while True:
        try:
            datagrams.append(sock.recv(65536))
        except BlockingIOError:
            return datagrams


# --- what is on the air first --------------------------------------------------------------------------------

def test_files_on_the_air_without_a_live_source(link):
    files = FakeSource("Blue Monk", 1, duration_s=300.0)
    station, _ = _station(link, files=files)
    status = station.status()
    assert not status.live and not status.paused and status.capture is None
    assert status.title == "Blue Monk"
    assert (status.position_s, status.duration_s) == (0.0, 300.0)
    assert station.now_playing() == NowPlaying(paused=False, title="Blue Monk")


def test_live_source_given_is_on_the_air_first(link):
    live = FakeSource("live: USB Audio CODEC (#3)", 7)
    station, _ = _station(link, files=FakeSource("Blue Monk", 1), live=live)
    assert station.status().live
    assert station.status().title == "live: USB Audio CODEC (#3)"
    assert station.status().capture == live.figures
    assert station.now_playing().title == "live: USB Audio CODEC (#3)"


def test_nothing_on_the_air(link):
    station, _ = _station(link)
    status = station.status()
    assert not status.live
    assert status.title == ""
    assert (status.position_s, status.duration_s) == (0.0, 0.0)
    assert station.now_playing() == NowPlaying(paused=False, title="")


def test_status_counts_start_at_zero(link):
    status = _station(link, files=FakeSource("Blue Monk", 1))[0].status()
    assert (status.packets_sent, status.octets_sent, status.slots_skipped, status.send_errors) == (0, 0, 0, 0)


def test_a_status_taken_while_packets_go_out_is_whole(link):
    """STATUS and --stats-json read the figures while the loop sends: each packet counted in packets_sent has
    its send error in the bins, wherever between the loop's steps a snapshot falls."""
    files = FakeSource("Blue Monk", 1)
    files.enough = 100  # half a second of packets
    station, schedule = _station(link, files=files)
    station.start(schedule)
    snapshots = []
    try:
        while not files.read_enough.is_set() and len(snapshots) < 100_000:
            snapshots.append(station.status())
    finally:
        station.stop("test over")
        station.join(WAIT_S)
    assert len({status.packets_sent for status in snapshots}) > 50  # taken across the packets
    assert [status for status in snapshots if sum(status.send_error_bins.values()) != status.packets_sent] == []


def test_now_playing_shows_pause(link):
    station, _ = _station(link, files=FakeSource("Blue Monk", 1))
    assert station.pause()
    assert station.now_playing() == NowPlaying(paused=True, title="Blue Monk")
    assert station.status().paused


# --- MIC -----------------------------------------------------------------------------------------------------

def test_use_live_puts_the_device_on_the_air(link):
    opener = Opener()
    files = FakeSource("Blue Monk", 1)
    station, _ = _station(link, files=files, opener=opener)
    assert station.use_live("3") == "on the air: live: 3"
    assert opener.specs == ["3"]
    status = station.status()
    assert status.live
    assert status.title == "live: 3"
    assert station.now_playing().title == "live: 3"
    assert files.closes == 0  # the files are left where they were, not closed


def test_use_live_failure_leaves_the_files_on(link):
    opener = Opener(missing=("nope",))
    station, _ = _station(link, files=FakeSource("Blue Monk", 1), opener=opener)
    answer = station.use_live("nope")
    assert answer == "error: no capture device 'nope'; see --list-devices"
    assert not station.status().live
    assert station.status().title == "Blue Monk"


def test_use_live_failure_leaves_the_live_source_on(link):
    opener = Opener(missing=("nope",))
    station, _ = _station(link, files=FakeSource("Blue Monk", 1), opener=opener)
    station.use_live("3")
    live = opener.opened[0]
    assert station.use_live("nope").startswith("error: ")
    assert station.status().title == "live: 3"
    assert live.closes == 0
    assert not live.closed.wait(0.05)


def test_use_live_without_a_spec_reopens_the_last_one(link):
    opener = Opener()
    station, _ = _station(link, files=FakeSource("Blue Monk", 1), opener=opener)
    station.use_live("USB Audio CODEC")
    station.use_files()
    assert station.use_live(None) == "on the air: live: USB Audio CODEC"
    assert opener.specs == ["USB Audio CODEC", "USB Audio CODEC"]


def test_use_live_without_a_spec_ever_opens_the_default(link):
    opener = Opener()
    station, _ = _station(link, files=FakeSource("Blue Monk", 1), opener=opener)
    assert station.use_live(None) == "on the air: live: default"
    assert opener.specs == [None]


def test_use_live_without_a_spec_uses_the_one_the_station_started_with(link):
    opener = Opener()
    live = FakeSource("live: pulse", 7)
    station, _ = _station(link, files=FakeSource("Blue Monk", 1), live=live, opener=opener, live_spec="pulse")
    station.use_files()
    station.use_live(None)
    assert opener.specs == ["pulse"]


def test_a_spec_that_failed_is_not_remembered(link):
    opener = Opener(missing=("nope",))
    station, _ = _station(link, files=FakeSource("Blue Monk", 1), opener=opener)
    station.use_live("3")
    station.use_live("nope")
    station.use_files()
    station.use_live(None)
    assert opener.specs == ["3", "nope", "3"]


def test_use_live_again_closes_the_live_source_it_replaces(link):
    opener = Opener()
    station, _ = _station(link, files=FakeSource("Blue Monk", 1), opener=opener)
    station.use_live("3")
    assert station.use_live("pulse") == "on the air: live: pulse"
    first, second = opener.opened
    assert first.closed.wait(WAIT_S)  # closed off the caller's thread
    assert first.closes == 1
    assert second.closes == 0
    assert station.status().title == "live: pulse"


def test_use_live_closes_a_live_source_given_at_start(link):
    live = FakeSource("live: pulse", 7)
    station, _ = _station(link, files=FakeSource("Blue Monk", 1), live=live)
    station.use_live("3")
    assert live.closed.wait(WAIT_S)


def test_use_live_with_no_files(link):
    station, _ = _station(link)
    assert station.use_live("3") == "on the air: live: 3"
    assert station.status().live


# --- FILES ---------------------------------------------------------------------------------------------------

def test_use_files_when_already_on_the_files(link):
    files = FakeSource("Blue Monk", 1)
    station, _ = _station(link, files=files)
    assert station.use_files() == "already playing the files"
    assert station.status().title == "Blue Monk"
    assert files.closes == 0


def test_use_files_from_live_closes_the_live_source(link):
    opener = Opener()
    files = FakeSource("Blue Monk", 1, duration_s=300.0)
    station, _ = _station(link, files=files, opener=opener)
    station.use_live("3")
    assert station.use_files() == "on the air: Blue Monk"
    assert opener.opened[0].closed.wait(WAIT_S)
    status = station.status()
    assert not status.live and status.capture is None
    assert (status.title, status.duration_s) == ("Blue Monk", 300.0)
    assert station.now_playing().title == "Blue Monk"


def test_use_files_without_files_keeps_the_live_source(link):
    live = FakeSource("live: pulse", 7)
    station, _ = _station(link, live=live)
    assert station.use_files() == "error: no playable music files (give some on the command line)"
    assert station.status().live
    assert live.closes == 0


def test_use_files_without_files_or_live_source(link):
    station, _ = _station(link)
    assert station.use_files().startswith("error: no playable music files")


# --- close ---------------------------------------------------------------------------------------------------

def test_close_closes_the_live_source_on_the_air(link):
    live = FakeSource("live: pulse", 7)
    files = FakeSource("Blue Monk", 1)
    station, _ = _station(link, files=files, live=live)
    station.close()
    assert live.closes == 1
    assert files.closes == 0


def test_close_on_the_files_closes_nothing_more(link):
    opener = Opener()
    files = FakeSource("Blue Monk", 1)
    station, _ = _station(link, files=files, opener=opener)
    station.use_live("3")
    station.use_files()
    assert opener.opened[0].closed.wait(WAIT_S)
    station.close()
    assert opener.opened[0].closes == 1  # closed once, by the switch
    assert files.closes == 0


def _switched_from_a_slow_device(link):
    """A station back on the files from a live source whose close() takes until the event returned is set."""
    opener = Opener()
    station, _ = _station(link, files=FakeSource("Blue Monk", 1), opener=opener)
    station.use_live("3")
    (live,) = opener.opened
    live.hold = threading.Event()
    station.use_files()
    return station, live, live.hold


def test_close_waits_for_a_source_switched_away_from(link):
    """A device still closing when the process exits runs driver code under the interpreter's teardown: close()
    waits until it is closed."""
    station, live, slow = _switched_from_a_slow_device(link)
    closer = threading.Thread(target=station.close)
    closer.start()
    closer.join(0.1)
    assert closer.is_alive() and live.closes == 0
    slow.set()
    closer.join(WAIT_S)
    assert not closer.is_alive()
    assert live.closes == 1


def test_close_gives_up_on_a_source_that_never_closes(link):
    station, live, stuck = _switched_from_a_slow_device(link)
    try:
        station.close(timeout_s=0.05)
        assert live.closes == 0  # returned while the device was still closing
    finally:
        stuck.set()


def test_close_with_nothing_on_the_air(link):
    station, _ = _station(link)
    station.close()


# --- the loop ------------------------------------------------------------------------------------------------

def _run_until(station, schedule, *events: threading.Event) -> None:
    """Starts the loop, waits (bounded) for each event in turn, stops it and joins it."""
    station.start(schedule)
    try:
        for event in events:
            assert event.wait(WAIT_S)
    finally:
        station.stop("test over")
        station.join(WAIT_S)
    assert not station._thread.is_alive()


def test_failing_live_source_falls_back_to_the_files(link):
    (_, rtp_in), (_, rtcp_in) = link
    files = FakeSource("Blue Monk", 1)
    live = FakeSource("live: USB Audio CODEC (#3)", 7)
    live.fail_after = 5
    notes: list[str] = []
    station, schedule = _station(link, files=files, live=live, notes=notes)
    _run_until(station, schedule, live.closed, files.read_enough)
    assert notes == ["capture device live: USB Audio CODEC (#3) stopped: back to the files"]
    assert live.reads == 5  # not read once it failed
    assert live.closes == 1
    assert not station.status().live
    assert station.status().title == "Blue Monk"

    packets = [RtpPacket.parse(data) for data in _received(rtp_in)]
    values = [L16_STEREO.decode(p.payload)[0, 0] for p in packets]
    assert values[:5] == [7] * 5  # the live source, then the files, with nothing in between
    assert set(values[5:]) == {1} and len(values) >= 5 + files.enough
    sequences = [p.sequence for p in packets]
    assert sequences == [(65530 + i) % 65536 for i in range(len(packets))]  # one stream, no gap at the switch
    timestamps = [p.timestamp for p in packets]
    assert all(b > a and (b - a) % SPP == 0 for a, b in zip(timestamps, timestamps[1:]))  # slots, maybe skipped

    reports = [parse_compound(data) for data in _received(rtcp_in)]
    assert any(NowPlaying.from_app(r[-1]).title == "Blue Monk" for r in reports[:-1])  # said at once
    assert isinstance(reports[-1][-1], Bye) and reports[-1][-1].reason == "test over"


def test_failing_live_source_without_files_goes_quiet_but_stays_on_the_air(link):
    (_, rtp_in), _ = link
    opener = Opener()
    live = FakeSource("live: pulse", 7)
    live.fail_after = 3
    notes: list[str] = []
    station, schedule = _station(link, live=live, opener=opener, notes=notes)
    station.start(schedule)
    try:
        assert live.closed.wait(WAIT_S)
        deadline = time.monotonic() + WAIT_S  # the note follows the switch, which starts the closing
        while not notes and time.monotonic() < deadline:
            time.sleep(0.01)
        assert notes == ["capture device live: pulse stopped: nothing on the air until MIC or FILES"]
        assert not station.stopping.is_set()  # no end of queue: the operator can bring a source back
        assert station.use_live("3") == "on the air: live: 3"
        assert opener.opened[0].read_enough.wait(WAIT_S)
    finally:
        station.stop("test over")
        station.join(WAIT_S)
    assert not station._thread.is_alive()
    values = [L16_STEREO.decode(RtpPacket.parse(data).payload)[0, 0] for data in _received(rtp_in)]
    assert values[:3] == [7] * 3
    assert set(values[3:]) == {100}


def test_listeners_without_an_audience(link):
    station, _ = _station(link)
    assert station.listeners_text() == NO_LISTENERS
    assert station.listener_count() == 0


def test_listeners_from_the_audience(link):
    audience = Audience(SSRC, L16_STEREO.rate, 184_000.0, wall_offset_s=0.0)
    audience.on_rtcp(compound(ReceiverReport(0xA1), SourceDescription((SdesChunk(0xA1, ((SDES_CNAME, "a@h"),)),))),
                     time.monotonic())
    station, _ = _station(link, audience=audience)
    assert station.listener_count() == 1
    assert station.listeners_text().splitlines()[0] == "1 listener"
    assert "a@h" in station.listeners_text()


# --- the queue commands, TOGGLE and VOLUME ----------------------------------------------------------------------

def _queue_station(link, **kwargs):
    files, _, _ = make_source({"a.wav": pcm(0, 44100), "b.wav": pcm(0, 22050), "c.wav": pcm(0, 22050)},
                              repeat="queue")
    files.start()
    station, schedule = _station(link, files=files, **kwargs)
    return station, schedule, files


def test_with_files_runs_the_action_under_the_loops_lock(link):
    station, _, files = _queue_station(link)

    def action(source):
        assert station._lock.locked()  # the loop reads the source under this lock: no packet is read meanwhile
        return source.skip()

    item = station.with_files(action)
    assert (item.number, item.title) == (2, "b")
    assert station.status().title == "b"
    assert not station._lock.locked()


def test_with_files_releases_the_lock_when_the_action_fails(link):
    station, _, _ = _queue_station(link)
    with pytest.raises(QueueError):
        station.with_files(lambda files: files.jump(7))
    assert not station._lock.locked()


def test_with_files_without_files_is_a_queue_error(link):
    station, _ = _station(link, live=FakeSource("live: pulse", 7))
    with pytest.raises(QueueError) as info:
        station.with_files(lambda files: files.skip())
    assert str(info.value) == NO_FILES


def test_a_new_title_is_reported_to_listeners_at_once_but_a_listing_is_not(link):
    station, _, _ = _queue_station(link)
    station.with_files(lambda files: files.listing())
    assert not station._state_changed
    station.with_files(lambda files: files.skip())
    assert station._state_changed  # the loop sends an RTCP report with the new title at its next packet


def test_status_shows_the_queue(link):
    station, _, _ = _queue_station(link)
    status = station.status()
    assert (status.queue_position, status.queue_length, status.repeat, status.shuffle) == (1, 3, "queue", False)
    assert status.volume_percent == 100
    station.with_files(lambda files: files.jump(2))
    station.with_files(lambda files: files.set_shuffle(True))
    station.with_files(lambda files: files.set_repeat("off"))
    status = station.status()
    assert (status.queue_position, status.queue_length, status.repeat, status.shuffle) == (3, 3, "off", True)


def test_status_without_files_has_no_queue(link):
    station, _ = _station(link, live=FakeSource("live: pulse", 7))
    status = station.status()
    assert (status.queue_position, status.queue_length, status.repeat, status.shuffle) == (0, 0, "", False)


def test_toggle(link):
    station, _ = _station(link, files=FakeSource("Blue Monk", 1))
    assert station.toggle() is True
    assert station.status().paused and station.now_playing().paused
    assert station.toggle() is False
    assert not station.status().paused


def test_set_volume_answers_the_volume_before(link):
    station, _ = _station(link, files=FakeSource("Blue Monk", 1))
    assert station.set_volume(40) == 100
    assert station.set_volume(0) == 40
    assert station.status().volume_percent == 0


def _values(rtp_in: socket.socket) -> np.ndarray:
    return np.concatenate([L16_STEREO.decode(RtpPacket.parse(data).payload)[:, 0] for data in _received(rtp_in)])


def test_volume_is_applied_to_the_files_with_a_ramp(link):
    (_, rtp_in), _ = link
    files = FakeSource("Blue Monk", 10000)
    files.enough = 12
    station, schedule = _station(link, files=files)
    station.set_volume(50)
    _run_until(station, schedule, files.read_enough)
    values = _values(rtp_in).astype(int)
    ramp_samples = round(0.02 * L16_STEREO.rate)
    assert len(values) >= 12 * SPP
    assert np.all(np.diff(values[:ramp_samples]) <= 0) and values[0] < 10000
    assert np.all(values[ramp_samples:] == 5000)


def test_volume_applies_to_a_live_source_too(link):
    (_, rtp_in), _ = link
    live = FakeSource("live: pulse", 10000)
    live.enough = 12
    station, schedule = _station(link, files=FakeSource("Blue Monk", 1), live=live)
    station.set_volume(0)
    _run_until(station, schedule, live.read_enough)
    values = _values(rtp_in)
    assert not values[round(0.02 * L16_STEREO.rate):].any()


def test_full_volume_sends_the_source_untouched(link):
    (_, rtp_in), _ = link
    files = FakeSource("Blue Monk", -32768)
    station, schedule = _station(link, files=files)
    station.set_volume(100)
    _run_until(station, schedule, files.read_enough)
    assert np.all(_values(rtp_in) == -32768)


def test_queue_edits_while_the_loop_plays_leave_every_packet_whole(link):
    (_, rtp_in), _ = link
    station, schedule, files = _queue_station(link)
    station.start(schedule)
    try:
        for i in range(200):
            station.with_files(lambda source: source.skip())
            station.with_files(lambda source: source.move(i % 3, (i + 1) % 3))
            station.with_files(lambda source: source.back())
            time.sleep(0.0005)
    finally:
        station.stop("test over")
        station.join(WAIT_S)
    packets = [RtpPacket.parse(data) for data in _received(rtp_in)]
    assert packets and all(len(p.payload) == SPP * L16_STEREO.bytes_per_frame for p in packets)
    assert [p.sequence for p in packets] == [(65530 + i) % 65536 for i in range(len(packets))]


class SlowSource(FakeSource):
    """A source whose reads take a while, as a busy machine's would."""

    def read(self, frames: int) -> np.ndarray | None:
        time.sleep(0.003)
        return super().read(frames)


def test_sender_reports_map_wall_clock_to_rtp_time_exactly_however_slow_the_loop(link):
    """Every SR pairs its RTP timestamp with the wall-clock time of that same instant: a report sent after a
    slow read must not carry a later wall-clock time (listeners would schedule playout milliseconds off)."""
    (_, _), (_, rtcp_in) = link
    files = SlowSource("Blue Monk", 1)
    station, schedule = _station(link, files=files)
    station.start(schedule)
    try:
        for _ in range(3):  # each change of state sends a report at once; PLAY's right after a slow read
            assert files.read_enough.wait(WAIT_S)
            files.read_enough.clear()
            station.pause()
            time.sleep(0.02)
            station.play()
        assert files.read_enough.wait(WAIT_S)
    finally:
        station.stop("test over")
        station.join(WAIT_S)
    reports = [p for data in _received(rtcp_in) for p in parse_compound(data) if isinstance(p, SenderReport)]
    assert len(reports) >= 6
    origins = [unix_from_ntp(r.ntp_timestamp) - r.rtp_timestamp / L16_STEREO.rate for r in reports]
    assert max(origins) - min(origins) < 1.5 / L16_STEREO.rate  # RTP timestamps are whole samples
