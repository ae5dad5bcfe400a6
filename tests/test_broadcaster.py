"""Broadcaster: the real-time thread, run briefly against sockets on loopback (unicast, never multicast), and the
closing of live sources off that thread. What each slot sends is `station.onair`'s, tested on fake time in
test_onair.py; here the tests wait on events, bounded, never on the wall clock.
"""

from __future__ import annotations

import errno
import socket
import threading
import time

import numpy as np
import pytest
from fake_media import make_source, pcm
from fake_station import FIRST_SEQUENCE, SPP, SSRC, WAIT_S, FakeSource, Opener, on_air

from rtpwire.audio import L16_STEREO
from rtpwire.nowplaying import NowPlaying
from rtpwire.rtcp import Bye, SenderReport, parse_compound, unix_from_ntp
from rtpwire.rtp import RtpPacket
from station.broadcaster import Broadcaster
from station.control import Station


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


def _station(link, files=None, live=None, opener=None, notes=None, rtp_sock=None):
    """The console's station and the broadcaster behind it, its slots starting now."""
    (link_rtp, _), (rtcp_sock, _) = link
    onair = on_air(files, live, start_s=time.monotonic(), wall_offset_s=time.time() - time.monotonic())
    notify = notes.append if notes is not None else lambda _text: None
    broadcaster = Broadcaster(onair, rtp_sock or link_rtp, rtcp_sock, notify)
    return Station(onair, broadcaster, opener or Opener()), broadcaster


def _received(sock: socket.socket) -> list[bytes]:
    sock.settimeout(0)
    datagrams = []
    while True:
        try:
            datagrams.append(sock.recv(65536))
        except BlockingIOError:
            return datagrams


def _run_until(broadcaster: Broadcaster, *events: threading.Event) -> None:
    """Starts the loop, waits (bounded) for each event in turn, stops it and joins it."""
    broadcaster.start()
    try:
        for event in events:
            assert event.wait(WAIT_S)
    finally:
        broadcaster.stop("test over")
        broadcaster.join(WAIT_S)
    assert not broadcaster._thread.is_alive()


# --- the loop ------------------------------------------------------------------------------------------------

def test_a_status_taken_while_packets_go_out_is_whole(link):
    """STATUS and --stats-json read the figures while the loop sends: each packet counted in packets_sent has
    its send error in the bins, wherever between the loop's steps a snapshot falls."""
    files = FakeSource("Blue Monk", 1)
    files.enough = 100  # half a second of packets
    station, broadcaster = _station(link, files=files)
    broadcaster.start()
    snapshots = []
    try:
        while not files.read_enough.is_set() and len(snapshots) < 100_000:
            snapshots.append(station.status())
    finally:
        broadcaster.stop("test over")
        broadcaster.join(WAIT_S)
    assert len({status.packets_sent for status in snapshots}) > 50  # taken across the packets
    assert [status for status in snapshots if sum(status.send_error_bins.values()) != status.packets_sent] == []


def test_failing_live_source_falls_back_to_the_files(link):
    (_, rtp_in), (_, rtcp_in) = link
    files = FakeSource("Blue Monk", 1)
    live = FakeSource("live: USB Audio CODEC (#3)", 7)
    live.fail_after = 5
    notes: list[str] = []
    station, broadcaster = _station(link, files=files, live=live, notes=notes)
    _run_until(broadcaster, live.closed, files.read_enough)
    assert notes == ["capture device live: USB Audio CODEC (#3) stopped: back to the files"]
    assert live.reads == 5  # not read once it failed
    assert live.closes == 1  # closed off the loop's thread
    assert not station.status().live
    assert station.status().title == "Blue Monk"

    packets = [RtpPacket.parse(data) for data in _received(rtp_in)]
    values = [L16_STEREO.decode(p.payload)[0, 0] for p in packets]
    assert values[:5] == [7] * 5  # the live source, then the files, with nothing in between
    assert set(values[5:]) == {1} and len(values) >= 5 + files.enough
    sequences = [p.sequence for p in packets]
    assert sequences == [(FIRST_SEQUENCE + i) % 65536 for i in range(len(packets))]  # one stream, no gap
    timestamps = [p.timestamp for p in packets]
    assert all(b > a and (b - a) % SPP == 0 for a, b in zip(timestamps, timestamps[1:]))  # slots, maybe skipped

    reports = [parse_compound(data) for data in _received(rtcp_in)]
    assert reports[0][0].packet_count == 0  # the clock mapping before the first packet
    assert any(NowPlaying.from_app(r[-1]).title == "Blue Monk" for r in reports[:-1])  # said at once
    assert isinstance(reports[-1][-1], Bye) and reports[-1][-1].reason == "test over"


def test_the_end_of_the_queue_stops_the_loop(link):
    (_, rtp_in), (_, rtcp_in) = link
    files, _, _ = make_source({"a.wav": pcm(0, 3 * SPP)})
    files.start()
    _, broadcaster = _station(link, files=files)
    broadcaster.start()
    broadcaster.join(WAIT_S)
    assert not broadcaster._thread.is_alive() and broadcaster.stopping.is_set()
    assert len(_received(rtp_in)) == 3
    bye = parse_compound(_received(rtcp_in)[-1])[-1]
    assert isinstance(bye, Bye) and bye.reason == "end of queue"


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the thread's traceback
def test_a_failing_loop_says_so_and_goes_off_the_air(link):
    """A bug in a step (here, a source that breaks) must not leave a station whose console answers while
    nothing goes out: the operator is told, and the station stops."""

    class Broken(FakeSource):
        def read(self, frames: int):
            raise RuntimeError("bug")

    notes: list[str] = []
    _, broadcaster = _station(link, files=Broken("Blue Monk", 1), notes=notes)
    broadcaster.start()
    broadcaster.join(WAIT_S)
    assert not broadcaster._thread.is_alive() and broadcaster.stopping.is_set()
    assert notes == ["the broadcast loop failed, going off the air: RuntimeError: bug"]


class Unreachable:
    """A socket on a network that went down."""

    def send(self, data: bytes, /) -> int:
        raise OSError(errno.ENETUNREACH, "Network is unreachable")


def test_send_failures_are_counted_and_told_without_stopping_the_loop(link):
    files = FakeSource("Blue Monk", 1)
    notes: list[str] = []
    station, broadcaster = _station(link, files=files, notes=notes, rtp_sock=Unreachable())
    _run_until(broadcaster, files.read_enough)
    status = station.status()
    assert notes == ["send failed (1 so far): Network is unreachable"]  # then every thousandth
    assert status.send_errors == status.packets_sent >= files.enough
    assert sum(status.send_error_bins.values()) == status.packets_sent


def test_queue_edits_while_the_loop_plays_leave_every_packet_whole(link):
    (_, rtp_in), _ = link
    files, _, _ = make_source({"a.wav": pcm(0, 44100), "b.wav": pcm(0, 22050), "c.wav": pcm(0, 22050)},
                              repeat="queue")
    files.start()
    station, broadcaster = _station(link, files=files)
    broadcaster.start()
    try:
        for i in range(200):
            station.with_files(lambda source: source.skip())
            station.with_files(lambda source: source.move(i % 3, (i + 1) % 3))
            station.with_files(lambda source: source.back())
            time.sleep(0.0005)
    finally:
        broadcaster.stop("test over")
        broadcaster.join(WAIT_S)
    packets = [RtpPacket.parse(data) for data in _received(rtp_in)]
    assert packets and all(len(p.payload) == SPP * L16_STEREO.bytes_per_frame for p in packets)
    assert [p.sequence for p in packets] == [(FIRST_SEQUENCE + i) % 65536 for i in range(len(packets))]


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
    station, broadcaster = _station(link, files=files)
    broadcaster.start()
    try:
        for _ in range(3):  # each change of state sends a report at once; PLAY's right after a slow read
            assert files.read_enough.wait(WAIT_S)
            files.read_enough.clear()
            station.pause()
            time.sleep(0.02)
            station.play()
        assert files.read_enough.wait(WAIT_S)
    finally:
        broadcaster.stop("test over")
        broadcaster.join(WAIT_S)
    reports = [p for data in _received(rtcp_in) for p in parse_compound(data) if isinstance(p, SenderReport)]
    assert len(reports) >= 6
    origins = [unix_from_ntp(r.ntp_timestamp) - r.rtp_timestamp / L16_STEREO.rate for r in reports]
    assert max(origins) - min(origins) < 1.5 / L16_STEREO.rate  # RTP timestamps are whole samples


def test_the_first_reason_to_stop_is_the_one_listeners_hear(link):
    _, (_, rtcp_in) = link
    _, broadcaster = _station(link, files=FakeSource("Blue Monk", 1))
    broadcaster.stop("station stopped by the operator")
    broadcaster.stop("station stopped (SIGTERM)")
    broadcaster.start()
    broadcaster.join(WAIT_S)
    first, bye = [parse_compound(data) for data in _received(rtcp_in)]
    assert isinstance(first[0], SenderReport)
    assert bye[-1] == Bye((SSRC,), "station stopped by the operator")


# --- close ---------------------------------------------------------------------------------------------------

def test_close_closes_the_live_source_on_the_air(link):
    live = FakeSource("live: pulse", 7)
    files = FakeSource("Blue Monk", 1)
    _, broadcaster = _station(link, files=files, live=live)
    broadcaster.close()
    assert live.closes == 1
    assert files.closes == 0


def test_close_on_the_files_closes_nothing_more(link):
    opener = Opener()
    files = FakeSource("Blue Monk", 1)
    station, broadcaster = _station(link, files=files, opener=opener)
    station.use_live("3")
    station.use_files()
    assert opener.opened[0].closed.wait(WAIT_S)
    broadcaster.close()
    assert opener.opened[0].closes == 1  # closed once, by the switch
    assert files.closes == 0


def _switched_from_a_slow_device(link):
    """A broadcaster back on the files from a live source whose close() takes until the event returned is set."""
    opener = Opener()
    station, broadcaster = _station(link, files=FakeSource("Blue Monk", 1), opener=opener)
    station.use_live("3")
    (live,) = opener.opened
    live.hold = threading.Event()
    station.use_files()
    return broadcaster, live, live.hold


def test_close_waits_for_a_source_switched_away_from(link):
    """A device still closing when the process exits runs driver code under the interpreter's teardown: close()
    waits until it is closed."""
    broadcaster, live, slow = _switched_from_a_slow_device(link)
    closer = threading.Thread(target=broadcaster.close)
    closer.start()
    closer.join(0.1)
    assert closer.is_alive() and live.closes == 0
    slow.set()
    closer.join(WAIT_S)
    assert not closer.is_alive()
    assert live.closes == 1


def test_close_gives_up_on_a_source_that_never_closes(link):
    broadcaster, live, stuck = _switched_from_a_slow_device(link)
    try:
        broadcaster.close(timeout_s=0.05)
        assert live.closes == 0  # returned while the device was still closing
    finally:
        stuck.set()


def test_close_with_nothing_on_the_air(link):
    _, broadcaster = _station(link)
    broadcaster.close()

