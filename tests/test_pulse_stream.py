"""libpulse playback streams against a private PulseAudio server: two streams placing a click at the same instants
play them as one, to the sample; a missing sink or server is a clear error; a server that goes away, or a named
sink, ends the stream without an exception; one that does not answer is given up on; and the listener's speaker is a
libpulse stream wherever a server answers."""

from __future__ import annotations

import math
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from pulse import RATE, PulseServer, reachable, read_raw, recorded_frames, stop_process, wait_for_frames

from bench.sync import measure_clicks
from listener.outputs import PulseSpeakerOutput, SpeakerOutput, open_speaker
from rtpwire.audio import L16_STEREO
from sound.devices import DeviceError
from sound.pulse_stream import PlaybackStream, PulseError

pytestmark = pytest.mark.e2e

BLOCK = 441
PERIOD_S = 0.25
AMPLITUDE = 8000


@pytest.fixture
def pulse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PulseServer]:
    with PulseServer(tmp_path_factory.mktemp("pulse")) as server, reachable(server):
        server.add_sink("room")
        server.pactl("set-default-sink", "room")
        yield server


def silence(frames: int, _dac_s: float) -> bytes:
    return bytes(frames * L16_STEREO.bytes_per_frame)


class Clicks:
    """A fill placing a one-sample click at each monotonic instant t0 + k * PERIOD_S, by the time it is told the
    block's first frame plays."""

    def __init__(self, t0_s: float) -> None:
        self.t0_s = t0_s
        self.next_k = 0

    def __call__(self, frames: int, dac_s: float) -> bytes:
        pcm = np.zeros((frames, 2), dtype="<i2")
        k = max(self.next_k, math.ceil((dac_s - self.t0_s) / PERIOD_S))
        while (position := round((self.t0_s + k * PERIOD_S - dac_s) * RATE)) < frames:
            if position >= 0:
                pcm[position] = AMPLITUDE
            k += 1
        self.next_k = k
        return pcm.tobytes()


def test_two_streams_play_the_same_instant_as_one(pulse: PulseServer, tmp_path: Path) -> None:
    recording = tmp_path / "room.raw"
    recorder = pulse.record("room.monitor", recording)
    t0_s = time.monotonic()
    streams = []
    try:
        wait_for_frames(recording, RATE // 10, 30)
        streams.append(PlaybackStream(L16_STEREO, "room", Clicks(t0_s), BLOCK, "first"))
        wait_for_frames(recording, recorded_frames(recording) + RATE, 30)
        streams.append(PlaybackStream(L16_STEREO, "room", Clicks(t0_s), BLOCK, "second"))
        start = recorded_frames(recording) + RATE  # a second to settle: the fit has drawn its line by then
        end = start + 4 * RATE
        wait_for_frames(recording, end + RATE // 2, 30)
    finally:
        stop_process(recorder)
        for stream in streams:
            stream.close()
    clicks = measure_clicks(read_raw(recording), 2, start, end, PERIOD_S, AMPLITUDE)
    print(f"\ntwo libpulse streams: {clicks.summary()}; underflows {[s.underflows for s in streams]}")
    assert len(clicks.spreads) >= 14  # of 16: a busy machine may make a stream underflow through one
    assert clicks.quantile(0.5) <= 2
    assert max(clicks.spreads) <= 44  # 1 ms: PortAudio's reports through ALSA alone wander further


def test_the_default_sink_and_a_named_one(pulse: PulseServer) -> None:
    pulse.add_sink("other")
    for sink, expected in ((None, "room"), ("other", "other")):
        stream = PlaybackStream(L16_STEREO, sink, silence, BLOCK, "test")
        try:
            assert stream.sink.describe() == f"PulseAudio {expected}"
            assert stream.is_active()
        finally:
            stream.close()
        assert not stream.is_active()


def test_no_such_sink_is_a_clear_error(pulse: PulseServer) -> None:
    with pytest.raises(PulseError, match="cannot play on PulseAudio sink nowhere: No such entity"):
        PlaybackStream(L16_STEREO, "nowhere", silence, BLOCK, "test")


def test_no_server_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_SERVER", "unix:/nonexistent/pulse")
    with pytest.raises(PulseError, match="cannot connect to the PulseAudio server"):
        PlaybackStream(L16_STEREO, None, silence, BLOCK, "test")


def test_a_fill_that_raises_is_counted_and_the_stream_plays_on(pulse: PulseServer) -> None:
    def broken(_frames: int, _dac_s: float) -> bytes:
        raise RuntimeError("a bug")

    stream = PlaybackStream(L16_STEREO, "room", broken, BLOCK, "test")
    try:
        deadline = time.monotonic() + 10
        while stream.errors < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert stream.errors >= 5 and stream.is_active()
    finally:
        stream.close()


def test_a_server_that_goes_away_ends_the_stream(pulse: PulseServer) -> None:
    stream = PlaybackStream(L16_STEREO, "room", silence, BLOCK, "test")
    try:
        pulse.stop()
        deadline = time.monotonic() + 10
        while stream.is_active() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not stream.is_active()
    finally:
        stream.close()


def test_a_stream_on_a_named_sink_ends_with_it_and_one_on_the_default_follows(pulse: PulseServer) -> None:
    """A sink unloaded (a sound card unplugged): a stream playing on it by name ends, and the listener tries that
    sink again, instead of the server moving the stream to its default sink, another room's speaker maybe; a
    stream on the default sink moves on to the next default."""
    module = pulse.add_sink("doomed")
    pulse.pactl("set-default-sink", "doomed")
    streams: list[PlaybackStream] = []
    try:
        for sink in ("doomed", None):
            streams.append(PlaybackStream(L16_STEREO, sink, silence, BLOCK, "test"))
        named, default = streams
        assert named.sink == default.sink
        pulse.unload(module)
        deadline = time.monotonic() + 10
        while named.is_active() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not named.is_active() and default.is_active()
    finally:
        for stream in streams:
            stream.close()


def test_a_server_that_does_not_answer_is_given_up_on(pulse: PulseServer) -> None:
    """A stopped (or wedged) server: not libpulse's 30 s of waiting, which would hold up the listener's loop."""
    os.kill(pulse.process.pid, signal.SIGSTOP)
    try:
        with pytest.raises(PulseError, match="cannot connect to the PulseAudio server: no answer within 0.5 s"):
            PlaybackStream(L16_STEREO, "room", silence, BLOCK, "test", connect_s=0.5)
    finally:
        os.kill(pulse.process.pid, signal.SIGCONT)


# --- the listener's speaker ---------------------------------------------------------------------------------------


def nothing() -> None:
    pass


def quiet(frames: int, _dac_s: float) -> np.ndarray:
    return L16_STEREO.silence(frames)


def test_the_speaker_is_a_libpulse_stream_where_a_server_answers(pulse: PulseServer) -> None:
    speaker = open_speaker(L16_STEREO, "room", nothing, quiet, BLOCK)
    try:
        assert isinstance(speaker, PulseSpeakerOutput)
        deadline = time.monotonic() + 10
        while speaker.device_latency.count < 10 and time.monotonic() < deadline:
            time.sleep(0.01)
        stats = speaker.stats()
        assert stats["output_device"] == "PulseAudio room" and stats["callback_errors"] == 0
        assert 0 < stats["device_latency_ms"] < 500
        assert not speaker.stalled(time.monotonic())
    finally:
        speaker.close()


def test_a_number_is_a_portaudio_device_never_a_sink(pulse: PulseServer) -> None:
    """PulseAudio would take the number for a sink's index; --device takes it for PortAudio's."""
    index = next(line.split("\t")[0] for line in pulse.pactl("list", "short", "sinks").splitlines()
                 if line.split("\t")[1] == "room")
    try:
        speaker = open_speaker(L16_STEREO, index, nothing, quiet, BLOCK)
    except DeviceError:
        return  # PortAudio has no such device: its error, as it should be
    try:
        assert isinstance(speaker, SpeakerOutput)
    finally:
        speaker.close()


def test_without_a_server_an_unknown_device_is_portaudios_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_SERVER", "unix:/nonexistent/pulse")
    with pytest.raises(DeviceError, match="no audio output device 'nowhere'"):
        open_speaker(L16_STEREO, "nowhere", nothing, quiet, BLOCK)
