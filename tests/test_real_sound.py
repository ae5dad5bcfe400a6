"""Real sound end to end: station and listeners against a private PulseAudio server whose null sinks stand in for
sound cards. What a listener plays is recorded from its sink's monitor; a monitor also serves as a microphone.

Two things PulseAudio does are designed around, not slept around: a new stream on an idle sink starts late, and
its first tens of milliseconds never reach the monitor (so the listener is started first and plays silence
until the piece comes, and the piece played into a microphone sink starts with silence); and the last few
milliseconds written before a stream stops are cut (so a recording ends only after the sink's own clock ran
a second past the piece: counted in recorded bytes, not waited for).
"""

import json
import math
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, read_wav, wait_until, write_wav
from pulse import RATE, PulseServer, chord_pcm, locate, read_raw, recorded_frames, stop_process, wait_for_frames

from bench.sync import CLICK_PERIOD_S, TRACK_S, click_track, measure_clicks

pytestmark = pytest.mark.e2e

BYTES_PER_SECOND = RATE * 4
GAPS_PER_UNDERFLOW = 6  # `locate`'s 5 ms windows a device underflow silences: the stream's 30 ms buffer, at most


@pytest.fixture
def pulse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PulseServer]:
    server = PulseServer(tmp_path_factory.mktemp("pulse"))
    try:
        yield server
    finally:
        server.stop()


def sink_name(prefix: str) -> str:
    return f"{prefix}{random.randrange(10**6)}"


def recorded_more(path: Path, seconds: float) -> Callable[[], bool]:
    """True once `path` has grown by `seconds` of audio from now: time as the sink's clock counts it."""
    target = path.stat().st_size + seconds * BYTES_PER_SECOND
    return lambda: path.stat().st_size >= target


def test_listener_plays_the_piece_to_its_speaker(pulse, launcher, tmp_path):
    sink = sink_name("speaker")
    pulse.add_sink(sink)
    piece = chord_pcm(4.0, seed=11)
    wav = write_wav(tmp_path / "piece.wav", piece)
    recording_path = tmp_path / "monitor.raw"
    recorder = pulse.record(f"{sink}.monitor", recording_path)
    try:
        listener = launcher.start("listener", "--output", "speaker", "--device", sink,
                                  "--stats-json", str(tmp_path / "listener.json"), env=pulse.env)
        listener.wait_for("output speaker")
        wait_until(recorded_more(recording_path, 0.5), "the speaker stream to reach the sink")
        launcher.start("station", "--once", str(wav))
        listener.wait_for("station left", timeout_s=30)
        wait_until(recorded_more(recording_path, 1.0), "the sink to play out the device's buffer")
        assert listener.stop() == 0
    finally:
        stop_process(recorder)
    match = locate(read_raw(recording_path), piece)
    stats = json.loads((tmp_path / "listener.json").read_text())
    print(f"speaker: correlation {match.correlation:.5f}, gaps {match.gaps}, device latency "
          f"{stats['device_latency_ms']} ms, drift {stats['drift_ppm']} ppm, inserted {stats['samples_inserted']}, "
          f"dropped {stats['samples_dropped']}, resyncs {stats['resyncs']}, underflows {stats['device_underflows']}")
    assert stats["underruns"] == 0 and stats["callback_errors"] == 0  # every sample handed over in time
    if match.gaps == 0:
        assert match.correlation > 0.99
    else:  # the server ran dry (the writer kept from the CPU by a busy machine): silent only as long as it said
        assert match.gaps <= GAPS_PER_UNDERFLOW * stats["device_underflows"]
    assert match.gaps == 0
    assert stats["underruns"] == 0 and stats["packets_lost"] == 0
    assert stats["output_device"] == f"PulseAudio {sink}"
    assert 0 < stats["device_latency_ms"] < 500


def test_station_broadcasts_a_monitor_as_its_microphone(pulse, launcher, tmp_path):
    room = sink_name("room")
    pulse.add_sink(room)
    piece = chord_pcm(4.0, seed=12)
    lead = np.zeros((RATE // 2, 2), dtype=np.int16)  # the monitor loses the start of a new stream
    wav = write_wav(tmp_path / "played.wav", np.concatenate([lead, piece, lead]))
    heard = tmp_path / "heard.wav"
    station = launcher.start("station", "--mic", f"{room}.monitor", "--stats-json", str(tmp_path / "station.json"),
                             stdin=True, env=pulse.env)
    station.wait_for("on the air", stream="stdout")
    listener = launcher.start("listener", "--output", str(heard), "--latency-ms", "100",
                              "--stats-json", str(tmp_path / "listener.json"))
    listener.wait_for("| playing |")
    # a listener joining mid-stream places its play position by the station's next sender report (within a
    # second): let that happen before the piece, as the station's silence plays
    wait_until(recorded_more(heard, 1.2), "a sender report to reach the listener")
    player = pulse.play(room, wav)
    try:
        assert player.wait(30) == 0
    finally:
        stop_process(player)
    wait_until(recorded_more(heard, 1.0), "the piece's tail to reach the listener")
    assert listener.stop() == 0
    station.send("STATUS")
    station.wait_for("capture: ", stream="stdout")  # how the capture kept up, told while it is on the air
    station.send("QUIT")
    assert station.popen.wait(15) == 0
    match = locate(read_wav(heard), piece)
    stats = json.loads((tmp_path / "listener.json").read_text())
    capture = json.loads((tmp_path / "station.json").read_text())["capture"]
    print(f"microphone: correlation {match.correlation:.5f}, gaps {match.gaps}, capture {capture}, "
          f"listener {stats}")
    assert set(capture) == {"underruns", "samples_missing", "samples_discarded", "samples_inserted",
                            "samples_dropped", "drift_ppm"}
    assert match.correlation > 0.99
    assert match.gaps == 0
    assert stats["packets_lost"] == 0


def test_list_devices_shows_pulseaudio_names(pulse, tmp_path):
    sink = sink_name("listed")
    pulse.add_sink(sink)
    env = dict(os.environ, **pulse.env)
    for module, names in (("listener", [sink]), ("station", [f"{sink}.monitor"])):
        result = subprocess.run([sys.executable, "-m", module, "--list-devices"], env=env,
                                capture_output=True, text=True, timeout=30, cwd=ROOT)
        assert result.returncode == 0, result.stderr
        assert "pulse" in result.stdout
        for name in names:
            assert name in result.stdout


def test_a_speaker_of_one_channel_plays_both_averaged_unless_told(pulse, launcher, tmp_path):
    """On a mono sink the default channel choice is mono (the status line says so); --channel still decides."""
    sink = sink_name("mono")
    pulse.add_sink(sink, channels=1)
    launcher.start("station", str(write_wav(tmp_path / "piece.wav", chord_pcm(8.0))))
    default = launcher.start("listener", "--output", "speaker", "--device", sink, "--duration", "3", env=pulse.env)
    told = launcher.start("listener", "--output", "speaker", "--device", sink, "--duration", "3",
                          "--channel", "left", env=pulse.env)
    default.wait_for("| playing |")
    told.wait_for("| playing |")
    assert default.popen.wait(20) == 0 and told.popen.wait(20) == 0
    assert "| mono, volume 100%" in default.stderr() and "| left, volume 100%" in told.stderr()


def test_listener_keeps_receiving_when_its_device_vanishes(pulse, launcher, tmp_path):
    sink = sink_name("doomed")
    pulse.add_sink(sink)
    launcher.start("station", "--once", str(write_wav(tmp_path / "piece.wav", chord_pcm(8.0))))
    listener = launcher.start("listener", "--output", "speaker", "--device", sink, "--duration", "6",
                              "--stats-json", str(tmp_path / "listener.json"), env=pulse.env)
    quiet = launcher.start("listener", "--quiet", "--output", "speaker", "--device", sink, "--duration", "6",
                           env=pulse.env)
    listener.wait_for("| playing |")
    wait_until(lambda: len(pulse.pactl("list", "short", "sink-inputs").splitlines()) == 2,
               "both listeners' streams on the sink (the quiet one says nothing)")
    pulse.stop()  # the audio server, and with it the device, is gone
    listener.wait_for("stopped (device gone?); still receiving")
    assert listener.popen.wait(20) == 0 and quiet.popen.wait(20) == 0
    # --quiet hides the status line, never the lost device: said once, and the attempts to open it again (every
    # 2 s, until the end, the server never back) say nothing
    lines = quiet.stderr().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"listener: audio output PulseAudio {sink} ")
    assert lines[0].endswith("stopped (device gone?); still receiving, not playing; trying it again every 2 s")
    stats = json.loads((tmp_path / "listener.json").read_text())
    assert stats["packets_received"] > 5.5 / 0.005 * 0.9  # all along the six seconds, not only before
    assert stats["packets_lost"] == 0
    assert "Traceback" not in listener.stderr()


BACK_WITHIN_S = 5.0  # the bound: a device back is played on again within this (the sink's clock)
SETTLE_S = 2.0  # from its return until it is judged in step: the goal for a listener joining (`bench.sync`)
IN_STEP_SAMPLES = 44  # 1 ms, as tests/test_sync.py asserts of listeners joining apart


def test_listener_plays_again_in_step_when_its_device_comes_back(pulse, launcher, tmp_path):
    """The device of a playing listener is unloaded from PulseAudio and loaded again: the listener says it lost
    it, then that it is back, plays again within 5 s, and in step. Its device is a remap sink onto a room's sink,
    where a second listener plays all along: the room's monitor records both, and each click of the station's
    click track is one impulse of twice the height while they are in step (`bench.sync`), one of one height while
    the device is away."""
    room, device = sink_name("room"), sink_name("returning")
    pulse.add_sink(room)
    module = pulse.add_remap_sink(device, room)
    launcher.start("station", str(write_wav(tmp_path / "clicks.wav", click_track(TRACK_S))))
    recording = tmp_path / "room.raw"
    recorder = pulse.record(f"{room}.monitor", recording)
    period = round(CLICK_PERIOD_S * RATE)
    try:
        wait_for_frames(recording, RATE // 10, 30)
        steady = launcher.start("listener", "--output", "speaker", "--device", room, env=pulse.env)
        returning = launcher.start("listener", "--quiet", "--output", "speaker", "--device", device,
                                   "--stats-json", str(tmp_path / "returning.json"), env=pulse.env)
        steady.wait_for("| playing |")
        wait_for_frames(recording, recorded_frames(recording) + RATE, 30)  # both play
        pulse.unload(module)
        returning.wait_for(f"audio output PulseAudio {device} stopped (device gone?)")
        away = recorded_frames(recording) + period  # its last click is past
        wait_for_frames(recording, away + RATE, 30)
        pulse.add_remap_sink(device, room)
        loaded, loaded_s = recorded_frames(recording), time.monotonic()
        returning.wait_for(f"audio output PulseAudio {device} is back: playing again", timeout_s=BACK_WITHIN_S)
        said_s = time.monotonic() - loaded_s
        start = recorded_frames(recording) + round(SETTLE_S * RATE)
        end = start + 2 * RATE
        wait_for_frames(recording, end + period, 30)
    finally:
        stop_process(recorder)
    assert returning.stop() == 0 and steady.stop() == 0
    played = read_raw(recording)
    alone = measure_clicks(played, 1, away, loaded)  # the steady listener's clicks only: the device was away
    together = (k for k in range(round(BACK_WITHIN_S * RATE) // period)  # each click period after its return
                if measure_clicks(played, 2, loaded + k * period, loaded + (k + 1) * period).spreads)
    back_s = next(together, math.inf) * CLICK_PERIOD_S  # to its first click played with the other's
    clicks = measure_clicks(played, 2, start, end)
    stats = json.loads((tmp_path / "returning.json").read_text())
    figures = {key: stats[key] for key in ("device_reopens", "device_underflows", "resyncs", "underruns",
                                           "latency_target_ms", "playout_offset_ms", "playout_offset_p99_ms")}
    print(f"\ndevice back: said {said_s:.2f} s after it was loaded, its first click in step {back_s:.2f} s "
          f"after (the sink's clock); then {clicks.summary()}; {figures}")
    assert len(alone.spreads) >= RATE // period - 1 and alone.incomplete == 0
    assert back_s < BACK_WITHIN_S, f"not played again within {BACK_WITHIN_S:g} s of the device's return"
    assert clicks.incomplete == 0 and len(clicks.spreads) >= 2 * RATE // period - 1
    assert max(clicks.spreads) <= IN_STEP_SAMPLES, clicks.summary()
    assert stats["device_reopens"] == 1 and stats["output_device"] == f"PulseAudio {device}"
    assert stats["callback_errors"] == 0 and stats["packets_lost"] == 0
    lines = returning.stderr().splitlines()  # --quiet: the loss and the return, each said once, nothing else
    assert len(lines) == 2 and "stopped (device gone?)" in lines[0] and "is back" in lines[1]


def test_station_falls_back_to_the_files_when_its_microphone_vanishes(pulse, launcher, tmp_path):
    room = sink_name("room")
    pulse.add_sink(room)
    station = launcher.start("station", "--mic", f"{room}.monitor", str(ROOT / "media" / "01-tide-pool.wav"),
                             stdin=True, env=pulse.env)
    station.wait_for("on the air", stream="stdout")
    listener = launcher.start("listener", "--output", "null", "--stats-json", str(tmp_path / "listener.json"))
    listener.wait_for(f"live: PulseAudio {room}.monitor | playing |")
    pulse.stop()
    station.wait_for(f"capture device PulseAudio {room}.monitor stopped: back to the files")
    listener.wait_for("01-tide-pool | playing |")
    assert listener.stop() == 0
    station.send("QUIT")
    assert station.popen.wait(15) == 0
    stats = json.loads((tmp_path / "listener.json").read_text())
    assert stats["packets_lost"] == 0 and stats["source_changes"] == 0  # one stream throughout
    assert "Traceback" not in station.stderr()


@pytest.mark.parametrize("module, args, message", [
    ("station", ["--mic", "no-such-device"], "no audio input device 'no-such-device'"),
    ("listener", ["--device", "no-such-device"], "no audio output device 'no-such-device'"),
])
def test_unknown_device_is_a_clear_error(pulse, launcher, module, args, message):
    proc = launcher.start(module, *args, env=pulse.env)
    assert proc.popen.wait(30) == 4
    errors = proc.stderr()
    assert message in errors and "--list-devices" in errors
    assert "Traceback" not in errors


def test_microphone_without_a_sound_server_is_a_clear_error(launcher):
    proc = launcher.start("station", "--mic", env={"PULSE_SERVER": "unix:/nonexistent/pulse"})
    assert proc.popen.wait(30) == 4
    errors = proc.stderr()
    assert "no audio input device (is a sound server such as PulseAudio running?)" in errors
    assert "Traceback" not in errors


def test_console_switches_between_files_and_microphone_cleanly(pulse, launcher, tmp_path):
    """MIC and FILES change what is sent between two packets: listeners see one unbroken stream."""
    room = sink_name("studio")
    pulse.add_sink(room)
    station = launcher.start("station", str(ROOT / "media" / "01-tide-pool.wav"),
                             "--stats-json", str(tmp_path / "station.json"), stdin=True, env=pulse.env)
    station.wait_for("on the air", stream="stdout")
    listener = launcher.start("listener", "--output", "null", "--stats-json", str(tmp_path / "listener.json"))
    listener.wait_for("01-tide-pool | playing |")
    station.send(f"MIC {room}.monitor")
    station.wait_for(f"on the air: live: PulseAudio {room}.monitor", stream="stdout")
    listener.wait_for(f"live: PulseAudio {room}.monitor | playing |")
    station.send("MIC no-such-device")
    station.wait_for("error: no audio input device 'no-such-device'", stream="stdout")
    station.send("FILES")
    station.wait_for("on the air: 01-tide-pool", stream="stdout")
    station.send("STATUS")
    station.wait_for("playing  01-tide-pool", stream="stdout")
    assert listener.stop() == 0
    station.send("QUIT")
    assert station.popen.wait(15) == 0
    listened = json.loads((tmp_path / "listener.json").read_text())
    sent = json.loads((tmp_path / "station.json").read_text())
    assert listened["underruns"] == 0 and listened["resyncs"] == 0  # no stall
    assert listened["packets_lost"] == 0 and listened["source_changes"] == 0
    assert listened["packets_too_far"] == 0 and listened["packets_late"] == 0  # no burst
    assert sent["slots_skipped"] == 0 and sent["live"] is False and sent["capture"] is None
