"""Speaking the standards, end to end on loopback: ffmpeg as a peer in both directions (through SDP files), and
stations found by their SAP announcements. ffmpeg is always given `localaddr=127.0.0.1`, so that it joins and
sends on loopback only, as everything here does.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import noise_pcm, read_wav, write_wav
from simulation import aligned_correlation, music_pcm
from test_end_to_end import audible_runs

from rtpwire.net import open_receiver
from rtpwire.sap import SapPacket, sap_address
from rtpwire.sdp import StreamDescription

pytestmark = pytest.mark.e2e

FFMPEG_RECEIVE = ("ffmpeg", "-hide_banner", "-loglevel", "warning", "-nostdin", "-y",
                  "-protocol_whitelist", "file,udp,rtp", "-localaddr", "127.0.0.1")
FFMPEG_SEND = ("ffmpeg", "-hide_banner", "-loglevel", "warning", "-nostdin", "-y", "-re")


class Programs:
    """Other programs (ffmpeg) started by a test, each stopped by its own PID when the test ends."""

    def __init__(self, tmp_path: Path) -> None:
        self._tmp_path = tmp_path
        self._started: list[subprocess.Popen[bytes]] = []

    def start(self, *argv: str) -> subprocess.Popen[bytes]:
        log = (self._tmp_path / f"{argv[0]}-{len(self._started)}.log").open("wb")
        popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        self._started.append(popen)
        return popen

    def stop_all(self) -> None:
        for popen in self._started:
            if popen.poll() is None:
                popen.kill()
            popen.wait(5)


@pytest.fixture
def programs(tmp_path: Path) -> Iterator[Programs]:
    started = Programs(tmp_path)
    try:
        yield started
    finally:
        started.stop_all()


def wait_for_file(path: Path, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not (path.exists() and path.stat().st_size) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert path.exists(), f"{path} not written within {timeout_s} s"


def rtp_url(group: str, port: int) -> str:
    return f"rtp://{group}:{port}?localaddr=127.0.0.1&ttl=1"


def ffmpeg_records(launcher, programs, tmp_path: Path, song: Path, *station_args: str,
                   ffmpeg_args: tuple[str, ...] = ()) -> tuple[np.ndarray, int]:
    """A station playing `song` once, described by its SDP file, which is all ffmpeg is given to record it; what
    ffmpeg recorded, and its exit status. ffmpeg starts once the file exists, so it may miss the first packets."""
    sdp_path = tmp_path / "station.sdp"
    station = launcher.start("station", "--once", "--sdp", str(sdp_path), "--no-sap", *station_args, str(song))
    wait_for_file(sdp_path)
    recording = tmp_path / "ffmpeg.wav"
    ffmpeg = programs.start(*FFMPEG_RECEIVE, *ffmpeg_args, "-i", str(sdp_path), "-map", "0:a", "-c:a", "pcm_s16le",
                            str(recording))
    assert station.popen.wait(30) == 0
    time.sleep(0.5)  # the last packets on their way through ffmpeg
    ffmpeg.send_signal(signal.SIGINT)  # ffmpeg's own way to end a recording: it writes the WAV header's sizes
    status = ffmpeg.wait(10)
    return read_wav(recording), status


def test_ffmpeg_records_our_stream_bit_exact_through_our_sdp(launcher, programs, tmp_path):
    """The station's SDP file is all ffmpeg needs: what it recorded must be the source's end, exactly, and most
    of it."""
    source = noise_pcm(4.0, seed=8)
    recording, status = ffmpeg_records(launcher, programs, tmp_path, write_wav(tmp_path / "song.wav", source))
    assert status == 0  # the station's BYE ended it
    heard, longest_gap = audible_runs(recording)
    assert len(heard) > len(source) / 2, f"ffmpeg recorded {len(heard)} of {len(source)} frames"
    assert np.array_equal(heard, source[len(source) - len(heard):]), "ffmpeg's recording differs from the source"
    assert longest_gap == 0


def test_the_stream_ffmpeg_records_carries_the_clock_in_header_extensions(launcher, programs, tmp_path):
    """The packets ffmpeg plays bit-exact above carry RTP header extensions (the station's clock, RFC 6051), and
    the SDP it reads says so: ffmpeg skips them, as RFC 3550 asks."""
    with open_receiver(launcher.group, launcher.port, "127.0.0.1") as sock:
        sock.settimeout(10)
        launcher.start("station", "--once", "--sdp", str(tmp_path / "station.sdp"), "--no-sap",
                       str(write_wav(tmp_path / "song.wav", noise_pcm(1.0, seed=3))))
        first = sock.recv(2048)
    assert first[0] & 0x10, "the station's first packet carries a header extension"
    assert "a=extmap:1 urn:ietf:params:rtp-hdrext:ntp-64" in (tmp_path / "station.sdp").read_text()


def test_gstreamer_records_our_stream_bit_exact_skipping_its_header_extensions(launcher, programs, tmp_path):
    """GStreamer's own receiving pipeline (udpsrc, rtpjitterbuffer, rtpL16depay) plays our stream, the clock's
    header extensions and all: what it recorded is the source's end, exactly."""
    source = noise_pcm(3.0, seed=5)
    recording = tmp_path / "gst.wav"
    caps = "application/x-rtp,media=audio,clock-rate=44100,encoding-name=L16,encoding-params=2,channels=2,payload=10"
    gst = programs.start("gst-launch-1.0", "-q", "-e", "udpsrc", f"address={launcher.group}", f"port={launcher.port}",
                         "multicast-iface=lo", f"caps={caps}", "!", "rtpjitterbuffer", "latency=100", "!",
                         "rtpL16depay", "!", "audioconvert", "!", "wavenc", "!", "filesink",
                         f"location={recording}")
    time.sleep(1.0)  # the pipeline joins the group
    station = launcher.start("station", "--once", str(write_wav(tmp_path / "song.wav", source)))
    assert station.popen.wait(30) == 0
    time.sleep(0.5)  # the last packets through the jitter buffer
    gst.send_signal(signal.SIGINT)  # -e: end of stream, so that wavenc writes the header's sizes
    assert gst.wait(10) == 0
    heard, longest_gap = audible_runs(read_wav(recording))
    assert len(heard) > len(source) / 2, f"GStreamer recorded {len(heard)} of {len(source)} frames"
    assert np.array_equal(heard, source[len(source) - len(heard):]), "GStreamer's recording differs from the source"
    assert longest_gap == 0


def test_ffmpeg_still_records_an_l16_stream_with_fec_bit_exact(launcher, programs, tmp_path):
    """With --fec the SDP has a second media line, the repair flow: ffmpeg, which knows no such thing, plays the
    audio line as before, bit for bit, and never sees a repair packet."""
    source = noise_pcm(3.0, seed=11)
    recording, status = ffmpeg_records(launcher, programs, tmp_path, write_wav(tmp_path / "song.wav", source),
                                       "--fec", "10,15", ffmpeg_args=("-listen_timeout", "3"))
    assert "m=application" in (tmp_path / "station.sdp").read_text()
    # ffmpeg ends by itself once every stream it reads said BYE; the repair line never does (it has no RTCP), so
    # it is still reading at the interrupt: ffmpeg takes note (its status will be 255), but its input goes on
    # waiting for a packet until it gives up, -listen_timeout seconds after the last one (10 by default), and then
    # it ends, having written the WAV's sizes all the same
    assert status == 255
    heard, longest_gap = audible_runs(recording)
    assert len(heard) > len(source) / 2, f"ffmpeg recorded {len(heard)} of {len(source)} frames"
    assert np.array_equal(heard, source[len(source) - len(heard):]), "ffmpeg's recording differs from the source"
    assert longest_gap == 0


def test_ffmpeg_records_our_opus_stream_through_our_sdp(launcher, programs, tmp_path):
    """RFC 7587 as ffmpeg reads it: our SDP (opus/48000/2, sprop-stereo) is all it needs to decode the stream,
    and what it decodes is the music, lined up past the codec's delay."""
    source = music_pcm(4.0, rate=48000)
    heard, status = ffmpeg_records(launcher, programs, tmp_path, write_wav(tmp_path / "song.wav", source,
                                                                           rate=48000), "--codec", "opus")
    assert status == 0
    assert len(heard) > len(source) / 2, f"ffmpeg recorded {len(heard)} of {len(source)} frames"
    assert aligned_correlation(heard, source) >= 0.99


def test_our_listener_plays_the_opus_ffmpeg_sends(launcher, programs, tmp_path):
    """ffmpeg's libopus (20 ms packets, its own payload type) described by its own SDP: our listener decodes it,
    and what it plays is the music."""
    source = music_pcm(3.0, rate=48000)
    song = write_wav(tmp_path / "song.wav", source, rate=48000)
    group, port = launcher.group, launcher.port
    send = (*FFMPEG_SEND, "-i", str(song), "-c:a", "libopus", "-b:a", "128k", "-f", "rtp", "-rtpflags", "send_bye")
    sdp_path = tmp_path / "ffmpeg.sdp"
    dry_run = programs.start(*send, "-t", "0.02", "-sdp_file", str(sdp_path), rtp_url(group, port))
    assert dry_run.wait(15) == 0
    assert StreamDescription.parse(sdp_path.read_text()).fmt.is_opus
    recording = tmp_path / "heard.wav"
    listener = launcher.start("listener", str(sdp_path), "--output", str(recording), "--duration", "30",
                              "--latency-ms", "200", on_group=False)
    listener.wait_for("listening on")
    ffmpeg = programs.start(*send, rtp_url(group, port))
    assert ffmpeg.wait(20) == 0
    listener.wait_for("station left")
    assert listener.stop() == 0
    assert aligned_correlation(read_wav(recording), source) >= 0.99


@pytest.mark.parametrize(("rate", "channels", "via_sdp"),
                         [(48000, 2, True), (48000, 1, True), (44100, 2, False), (44100, 1, False)],
                         ids=["48k-stereo-dynamic-type-via-sdp", "48k-mono-dynamic-type-via-sdp",
                              "44k-stereo-static-type-10", "44k-mono-static-type-11"])
def test_our_listener_records_what_ffmpeg_sends(launcher, programs, tmp_path, rate, channels, via_sdp):
    """ffmpeg sends a known file as L16. A 48 kHz stream has a dynamic payload type, which only its SDP
    describes: ffmpeg writes one (a first, short run writes it, so that the listener is there before the
    stream starts: a description does not change between runs of one format to one address). A 44.1 kHz mono
    stream is static type 11 (stereo, 10), which the listener plays with no SDP, as stereo."""
    source = noise_pcm(3.0, seed=9, rate=rate)[:, :channels]
    song = write_wav(tmp_path / "song.wav", source, rate=rate)
    group, port = launcher.group, launcher.port
    send = (*FFMPEG_SEND, "-i", str(song), "-c:a", "pcm_s16be", "-f", "rtp", "-rtpflags", "send_bye")
    recording = tmp_path / "heard.wav"
    listen = ("--output", str(recording), "--duration", "30", "--latency-ms", "200")
    if via_sdp:
        sdp_path = tmp_path / "ffmpeg.sdp"
        dry_run = programs.start(*send, "-t", "0.01", "-sdp_file", str(sdp_path), rtp_url(group, port))
        assert dry_run.wait(15) == 0
        assert StreamDescription.parse(sdp_path.read_text()).fmt.payload_type >= 96
        listener = launcher.start("listener", str(sdp_path), *listen, on_group=False)
    else:
        listener = launcher.start("listener", *listen)
    listener.wait_for("listening on")
    ffmpeg = programs.start(*send, rtp_url(group, port))
    assert ffmpeg.wait(20) == 0
    listener.wait_for("station left")
    assert listener.stop() == 0
    heard, longest_gap = audible_runs(read_wav(recording))
    for channel in range(heard.shape[1]):  # a mono stream is played on both channels
        assert np.array_equal(heard[:, channel], source[:, channel % channels]), f"channel {channel} differs"
    assert longest_gap == 0


def test_two_stations_announced_listed_and_joined_by_name(launcher, tmp_path):
    tag = random.randrange(10**6)
    names = [f"Test Alpha {tag}", f"Test Beta {tag}"]
    addresses = [(launcher.group, launcher.port), launcher.another_address()]
    song = str(write_wav(tmp_path / "song.wav", noise_pcm(30.0)))
    stations = [launcher.start("station", "--name", name, "--no-realtime", song, stdin=True, group=group, port=port)
                for name, (group, port) in zip(names, addresses)]
    for station in stations:
        station.wait_for("on the air", stream="stdout")

    listing = launcher.start("listener", "--list", on_group=False)
    assert listing.popen.wait(30) == 0
    rows = {line.split("  ")[0]: line for line in listing.stdout().splitlines()}
    for name, (group, port) in zip(names, addresses):
        assert name in rows, f"{name!r} not listed:\n{listing.stdout()}"
        assert f"  {group}:{port}  " in rows[name]
        assert "L16 44100 Hz stereo (PT 10)" in rows[name]
        assert "song" in rows[name]  # now playing

    joined = launcher.start("listener", "--station", names[1].upper(), "--output", "null", "--duration", "20",
                            on_group=False)
    joined.wait_for(f"listening on {addresses[1][0]}:{addresses[1][1]} via 127.0.0.1")
    joined.wait_for(f"{names[1]} — song | playing")

    with SapWatch(launcher.group) as watch:
        stations[0].send("QUIT")
        assert stations[0].popen.wait(15) == 0
        assert watch.deletion_of(names[0], timeout_s=10.0), "the stopped station did not withdraw its announcement"


class SapWatch:
    """Listens on the announcement group, for deletions."""

    def __init__(self, group: str) -> None:
        self._sock = open_receiver(*sap_address(group), "127.0.0.1")

    def __enter__(self) -> SapWatch:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._sock.close()

    def deletion_of(self, name: str, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                packet = SapPacket.parse(self._sock.recv(65536))
            except BlockingIOError:
                time.sleep(0.05)
                continue
            if packet.deletion and StreamDescription.parse(packet.payload).name == name:
                return True
        return False
