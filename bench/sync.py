"""Every room in step: how far apart listeners play the same sample, read to the sample. `python -m bench.sync`.

The station plays a click track: a single-sample impulse every quarter second, silence between. Listeners join it
seconds apart and all play to one PulseAudio null sink, whose monitor is recorded. The sink mixes by addition,
bit-exactly at full volume, so a click that every listener plays at the same instant is one impulse N times as
loud, and any offset splits it into impulses of one, two... clicks' height: the recording itself shows each
click's spread (first to last listener, 22.7 µs a sample) with no recordings to align and no clock to trust.
Each click is judged once every listener has settled (a few seconds after the last one joined).

One condition puts the last listener behind the impairment relay, adding jitter: it must play in step all the
same, its jitter buffer (and the latency target it adapts) absorbing the network.

The same measurement is the end-to-end test `tests/test_sync.py`, which asserts a bound; this prints the figures.
It starts its own PulseAudio daemon (a temporary runtime directory, stopped by its PID at the end), as the tests
do, and reuses their helpers.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from conftest import Launcher, Proc, _random_address, write_wav  # noqa: E402  (the tests' process launcher)
from pulse import (RATE, PulseServer, available, reachable, read_raw, recorded_frames,  # noqa: E402
                   stop_process, wait_for_frames)
from test_relay import start_behind_relay  # noqa: E402  (a listener behind a relay of its own)

CLICK_PERIOD_S = 0.25  # far apart, so that no offset worth measuring merges two clicks
CLICK_AMPLITUDE = 8000  # one listener's impulse; N of them add up without clipping (N * 8000 < 32768)
TRACK_S = 10.0  # the click track, looped by the station: a whole number of periods, so clicks stay evenly spaced
STAGGER_S = 2.0  # between one listener's start and the next one's
SETTLE_S = 2.0  # after the last listener's start, before clicks are judged: the goal is to be in step by then
WAIT_SLACK_S = 30.0  # beyond the sink's own time, for any wait on it: a bound against hanging, never a measure


@dataclass(frozen=True)
class Clicks:
    """What the recording shows of each click."""

    spreads: list[int]  # per click heard from every listener once: samples from the first impulse to the last
    incomplete: int  # clicks that are not exactly one impulse per listener (one missing, an extra, one bent)

    def quantile(self, q: float) -> int:
        """The smallest spread at least a fraction `q` of clicks did not exceed: a spread that was measured (no
        interpolation between two), so that figures are whole samples."""
        return int(np.quantile(self.spreads, q, method="inverted_cdf")) if self.spreads else 0

    def summary(self) -> str:
        figures = ", ".join(f"{name} {samples} samples ({samples / RATE * 1e3:.3f} ms)"
                            for name, samples in (("p50", self.quantile(0.5)), ("p99", self.quantile(0.99)),
                                                  ("max", max(self.spreads, default=0))))
        return f"{len(self.spreads)} clicks, spread {figures}; {self.incomplete} incomplete"


def click_track(seconds: float, period_s: float = CLICK_PERIOD_S, amplitude: int = CLICK_AMPLITUDE) -> np.ndarray:
    """Stereo silence but for one sample of `amplitude` in the middle of each period, in both channels.

    A single sample, not a shaped click: nothing a listener does to silence (repeating or dropping a sample to
    follow clock drift, always at the quietest point) can touch it, and its height tells how many listeners played
    it at that very sample."""
    pcm = np.zeros((round(seconds * RATE), 2), dtype=np.int16)
    period = round(period_s * RATE)
    pcm[period // 2:: period] = amplitude
    return pcm


def measure_clicks(recording: np.ndarray, listeners: int, start: int, end: int,
                   period_s: float = CLICK_PERIOD_S, amplitude: int = CLICK_AMPLITUDE) -> Clicks:
    """The spread of each click whose first impulse lies in frames [start, end) of `recording` (the sink's
    monitor).

    Impulses less than half a period apart are one click. Each sample's height is a whole number of listeners'
    impulses; a click is complete if every sample is (a crossfade or a fade would bend one) and they add up to one
    per listener. A listener missing a click, or playing an extra one, makes it incomplete, never a small spread."""
    signal = recording[:, 0].astype(np.int64)
    loud = np.flatnonzero(np.abs(signal) > amplitude // 2)
    spreads, incomplete = [], 0
    for impulses in np.split(loud, np.flatnonzero(np.diff(loud) > period_s * RATE / 2) + 1):
        if not len(impulses) or not start <= impulses[0] < end:
            continue
        heights = signal[impulses] / amplitude
        whole = np.rint(heights)
        if np.all(np.abs(heights - whole) < 0.05) and whole.sum() == listeners:
            spreads.append(int(impulses[-1] - impulses[0]))
        else:
            incomplete += 1
    return Clicks(spreads, incomplete)


@dataclass(frozen=True)
class SyncRun:
    """A run's clicks, and the listeners' own figures, which say why they spread."""

    clicks: Clicks
    expected_clicks: int  # how many clicks the measured stretch holds: the measure covers all of them
    listeners: list[dict[str, object]]  # each listener's --stats-json, in the order they joined


def run(pulse: PulseServer, launcher: Launcher, tmp_path: Path, seconds: float, listeners: int = 3,
        jitter_ms: float = 0.0, last_args: Sequence[str] = ()) -> SyncRun:
    """A station on the click track; `listeners` speakers on one sink of `pulse`, started `STAGGER_S` apart (the
    last one behind a relay adding `jitter_ms` of jitter, if any, and given `last_args`); the clicks of `seconds`
    once all have settled. Station and listeners run with their defaults (no --latency-ms), as a room of
    listeners would be set up.

    Waits are counted in recorded audio, the sink's own clock; every process is stopped by its PID before this
    returns (the launcher's own cleanup is the backstop)."""
    assert listeners * CLICK_AMPLITUDE < 2**15, "the clicks of all listeners at once would clip"
    sink = f"room{random.randrange(10**6)}"
    pulse.add_sink(sink)
    track = write_wav(tmp_path / "clicks.wav", click_track(TRACK_S))
    recording = tmp_path / "room.raw"
    speaker = ["--output", "speaker", "--device", sink]
    players: list[tuple[Proc, Path]] = []
    relays: list[Proc] = []
    with reachable(pulse):
        station = launcher.start("station", str(track))
        station.wait_for("on the air", stream="stdout")
        recorder = pulse.record(f"{sink}.monitor", recording)
        try:
            wait_for_frames(recording, RATE // 10, WAIT_SLACK_S)  # the monitor runs
            for i in range(listeners):
                joined = recorded_frames(recording)
                args = [*speaker, *last_args] if i == listeners - 1 else speaker
                if i == listeners - 1 and jitter_ms:
                    listener, relay = start_behind_relay(launcher, tmp_path, "jittery",
                                                         ["--jitter-ms", f"{jitter_ms:g}", "--seed", "1"], args)
                    players.append((listener, tmp_path / "jittery-listener.json"))
                    relays.append(relay)
                else:
                    stats = tmp_path / f"listener{i}.json"
                    players.append((launcher.start("listener", *args, "--stats-json", str(stats)), stats))
                if i < listeners - 1:
                    wait_for_frames(recording, joined + round(STAGGER_S * RATE), STAGGER_S + WAIT_SLACK_S)
            start = joined + round(SETTLE_S * RATE)
            end = start + round(seconds * RATE)
            wait_for_frames(recording, end + round(CLICK_PERIOD_S * RATE), SETTLE_S + seconds + WAIT_SLACK_S)
        finally:
            stop_process(recorder)  # first, so that every click recorded was played by every listener
    figures = []
    for listener, stats in players:
        assert listener.stop() == 0, listener.stderr()
        assert "Traceback" not in listener.stderr()
        figures.append(json.loads(stats.read_text()))
    for proc in (*relays, station):
        assert proc.stop() == 0, proc.stderr()
    return SyncRun(measure_clicks(read_raw(recording), listeners, start, end), round(seconds / CLICK_PERIOD_S),
                   figures)


def describe(run_: SyncRun) -> list[str]:
    """The run's spread, and each listener's figures that bear on where it plays: the sound card's lead it
    accounts for, its latency target (adapted to jitter: a listener whose target grew plays that much later than
    the others) and its measured latency (whose difference from the target is the error the drift loop has not
    taken back yet), the corrections it made, and its own view of its playout offset where it has one."""
    lines = [run_.clicks.summary()]
    for i, s in enumerate(run_.listeners):
        offset = (f", playout offset mean {s['playout_offset_ms']} ms p99 {s.get('playout_offset_p99_ms')} ms"
                  if "playout_offset_ms" in s else "")
        lines.append(f"  listener {i}: device latency {s.get('device_latency_ms')} ms, latency target "
                     f"{s.get('latency_target_ms')} ms (+{s.get('latency_samples_added')} "
                     f"-{s.get('latency_samples_removed')} samples), latency mean {s.get('latency_ms')} ms "
                     f"p99 {s.get('latency_p99_ms')} ms, jitter {s.get('jitter_ms')} ms, resyncs {s.get('resyncs')}, "
                     f"drift {s.get('drift_ppm')} ppm (inserted {s.get('samples_inserted')}, dropped "
                     f"{s.get('samples_dropped')}), underruns {s.get('underruns')}, late {s.get('packets_late')}"
                     + offset)
    return lines


CONDITIONS: tuple[tuple[str, float], ...] = (("3 listeners", 0.0), ("3 listeners, one behind 20 ms of jitter", 20.0))


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sync", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0, help="clicks judged per condition (default 30 s)")
    args = parser.parse_args()
    if not available():
        print("bench.sync: needs pulseaudio, pactl, parec and paplay (make install)", file=sys.stderr)
        return 1
    print(f"{args.seconds:g} s of clicks per condition ({CLICK_PERIOD_S * 1e3:g} ms apart), listeners joining "
          f"{STAGGER_S:g} s apart, judged from {SETTLE_S:g} s after the last joined; one sample is "
          f"{1e3 / RATE:.4f} ms:\n")
    for condition, jitter_ms in CONDITIONS:
        print(f"bench.sync: {condition}...", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            tmp_path = Path(tmp)
            (tmp_path / "pulse").mkdir()
            launcher = Launcher(tmp_path, *_random_address(random.Random()), random.Random())
            try:
                with PulseServer(tmp_path / "pulse") as pulse:
                    measured = run(pulse, launcher, tmp_path, args.seconds, jitter_ms=jitter_ms)
            finally:
                launcher.stop_all()
        print(f"{condition}: " + "\n".join(describe(measured)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
