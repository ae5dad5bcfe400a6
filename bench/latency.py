"""How low a latency holds: `python -m bench.latency`.

For each output a listener can play to (null, a WAV recording, a speaker), the lowest latency (station clock to
playout, the listener's `--latency-ms`) at which it played a whole track with no underrun, on loopback with real
processes. The latency is what a listener pays for its safety: this says how much of it a quiet network and this
machine actually need, output by output (a speaker adds its sound server's buffer to the listener's own reads).

Each trial is one listener (`--stats-json`) started first, then a station (L16 stereo, 44.1 kHz) playing a noise
track of `--seconds` once (`--once`: it sends BYE and exits at the end), so that the listener's figures cover the
whole track, its start and its end included. Candidates are tried from the highest down, and the descent stops at
an output's first failure: a latency below one that failed is not worth a minute, and the lowest latency held is
reported only with every latency above it held too.

A latency held if the listener received audio and counted 0 underruns (`underruns`) and, for a speaker (libpulse),
its stream never ran dry (`device_underflows`), on the very latency under test. The listener is told its latency
both ways (the station announces it too) and its target cannot adapt above it (`--max-latency-ms` equal to
`--latency-ms`): it must play on that latency or count the underruns, and its figures must show it did
(`latency_target_ms` and `latency_shared_ms` at the latency within a sample, `latency_source` "command line").
A WAV recording is also compared with the track: bit-exact if its audible samples are the track's, sample for
sample, the silence before and after aside (the noise is never silent in channel 0).

Packets: the station's default 5 ms, or a quarter of the latency if that is less (at least 1 ms): 5 ms at 20 ms
and above, 3.75 at 15, 2.5 at 10, 1.25 at 5. A listener reads half its latency ahead of playout at most (10 ms
periods, or half the latency if less), and a live source's packet leaves only once its last sample is in: a packet
of a quarter of the latency leaves the other quarter for the network and the machine's scheduling.

The speaker is a private PulseAudio server (`tests/pulse.py`, as `bench.sync` runs it) with a null sink, stopped by
its PID at the end; without `pulseaudio` that output is skipped with a note. A speaker pulls its samples ahead of
the DAC by the stream's buffer (`device_latency_ms`, about 30 ms for the libpulse stream) and 10 ms at a time: a
latency below their sum asks for samples the station has not sent yet, and cannot hold.

Every process is stopped by its PID before this returns. Progress goes to stderr (each trial as it starts, and its
figures, the station's send error among them: null and WAV outputs read against the kernel's arrival stamps, so
that on loopback a packet is late to them only if the station sent it late), the table to stdout, headed by the
machine's load average (a busy machine delays the station's packets and a libpulse writer, real-time or not).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from conftest import Launcher, _random_address, noise_pcm, read_wav, write_wav  # noqa: E402  (the tests' launcher)
from pulse import PulseServer, available  # noqa: E402  (a private PulseAudio server)

OUTPUTS = ("null", "wav", "speaker")
DEFAULT_LATENCIES_MS = (40.0, 30.0, 20.0, 15.0, 10.0, 5.0)
SINK = "latency"  # the private server's null sink: the speaker under test
START_TIMEOUT_S = 15.0  # the most a listener may take to start listening, or to see the station leave
END_SLACK_S = 30.0  # beyond the track's length, the most a station may take to play it and leave
SAMPLE_MS = 1e3 / 44100  # a latency is whole samples: what the listener reports is within one of what it was told


@dataclass(frozen=True)
class Trial:
    """One listener's run at one latency: its `--stats-json` figures, the station's (how late it sent: a late
    packet on loopback is one sent late), and, for a WAV, whether the recording was bit-exact."""

    output: str
    latency_ms: float
    stats: dict[str, object]
    station: dict[str, object]
    bit_exact: bool | None = None  # None: not a recording


def frame_ms(latency_ms: float) -> float:
    """The station's packets for a latency: 5 ms, or a quarter of the latency if less, at least 1 ms."""
    return max(1.0, min(5.0, latency_ms / 4))


def faults(trial: Trial) -> list[str]:
    """Why the latency did not hold (none: it held)."""
    s = trial.stats
    found = []
    if not s.get("packets_received"):
        found.append("nothing received")
    if s.get("underruns"):
        found.append(f"{s['underruns']} underruns")
    if trial.output == "speaker" and s.get("device_underflows"):
        found.append(f"{s['device_underflows']} device underflows")
    if s.get("latency_source") != "command line" or any(
            abs(float(s.get(key) or 0) - trial.latency_ms) > SAMPLE_MS
            for key in ("latency_target_ms", "latency_shared_ms")):
        found.append(f"played at {s.get('latency_target_ms')} ms ({s.get('latency_source')})")
    return found


def held(trial: Trial) -> bool:
    return not faults(trial)


def lowest_held(trials: list[Trial]) -> Trial | None:
    """The lowest latency that held, of those above the first that did not (tried from the highest down)."""
    best = None
    for trial in sorted(trials, key=lambda t: -t.latency_ms):
        if not held(trial):
            break
        best = trial
    return best


def outcome(trial: Trial) -> str:
    """A trial in a few words: "ok", or why not, with the latest the station sent a packet."""
    if held(trial):
        return "ok"
    return f"{', '.join(faults(trial))} (sent up to {trial.station.get('send_error_max_ms', 0):.1f} ms late)"


def tried(trials: list[Trial]) -> str:
    """Every latency tried, highest first, with its outcome: "40 ok, 30 ok, 20 3 underruns (...)"."""
    return ", ".join(f"{t.latency_ms:g} {outcome(t)}" for t in sorted(trials, key=lambda t: -t.latency_ms))


def figures(trial: Trial) -> str:
    """A trial's figures that bear on its outcome, for the progress lines."""
    s = trial.stats
    line = (f"{s.get('underruns')} underruns, {s.get('packets_late')} late of {s.get('packets_received')} packets, "
            f"target {s.get('latency_target_ms')} ms ({s.get('latency_source')}), latency {s.get('latency_ms')} ms "
            f"(p99 {s.get('latency_p99_ms')})")
    if trial.output == "speaker":
        line += f", {s.get('device_underflows')} device underflows, device latency {s.get('device_latency_ms')} ms"
    line += (f"; station send error p99 {trial.station.get('send_error_p99_ms', 0):.2f} ms, max "
             f"{trial.station.get('send_error_max_ms', 0):.2f} ms")
    return line + ("" if trial.bit_exact is None else f"; bit-exact {'yes' if trial.bit_exact else 'no'}")


def row(output: str, trials: list[Trial]) -> str:
    """An output's line of the table."""
    best = lowest_held(trials)
    if best is None:
        return f"| {output} | none | - | - | - | - | - | - | {tried(trials)} |"
    s = best.stats
    exact = {None: "-", True: "yes", False: "no"}[best.bit_exact]
    return (f"| {output} | {best.latency_ms:g} | {s['underruns']} | {s['packets_late']} | "
            f"{s.get('device_underflows', '-')} | {s['latency_target_ms']:g} | "
            f"{s['latency_ms']:g} / {s['latency_p99_ms']:g} | {exact} | {tried(trials)} |")


def table(results: dict[str, list[Trial] | str]) -> str:
    """The Markdown table: a row per output, from its trials, or the note saying why it was skipped."""
    lines = ["| output | lowest latency held (ms) | underruns | late packets | device underflows | target used (ms) "
             "| latency mean / p99 (ms) | WAV bit-exact | tried (ms) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for output, trials in results.items():
        lines.append(f"| {output} | skipped: {trials} | | | | | | | |" if isinstance(trials, str)
                     else row(output, trials))
    return "\n".join(lines)


def bit_exact(recording: Path, source: np.ndarray) -> bool:
    """The recording's audible samples are the source's, sample for sample (the silence before and after aside)."""
    pcm = read_wav(recording)
    return np.array_equal(pcm[np.any(pcm != 0, axis=1)], source)


def _output_args(output: str, tmp_path: Path) -> list[str]:
    if output == "wav":
        return ["--output", str(tmp_path / "heard.wav")]
    if output == "speaker":
        return ["--output", "speaker", "--device", SINK]
    return ["--output", "null"]


def run_trial(output: str, latency_ms: float, track: Path, seconds: float, pulse: PulseServer | None) -> Trial:
    """A listener on `output` at `latency_ms` hearing a station play `track` (`seconds` long) once; every process
    stopped by its PID before this returns."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        launcher = Launcher(tmp_path, *_random_address(random.Random()), random.Random())
        stats, station_stats = tmp_path / "listener.json", tmp_path / "station.json"
        latency = f"{latency_ms:g}"
        try:
            listener = launcher.start("listener", "--latency-ms", latency, "--max-latency-ms", latency,
                                      *_output_args(output, tmp_path), "--stats-json", str(stats),
                                      env=pulse.env if pulse else None)
            listener.wait_for("listening on", START_TIMEOUT_S)
            station = launcher.start("station", "--once", "--no-sap", "--latency-ms", latency,
                                     "--frame-ms", f"{frame_ms(latency_ms):g}", "--stats-json", str(station_stats),
                                     str(track))
            if station.popen.wait(seconds + END_SLACK_S) != 0:
                raise RuntimeError(f"bench.latency: the station failed:\n{station.stderr()}")
            listener.wait_for("station left", START_TIMEOUT_S)
            if listener.stop() != 0:
                raise RuntimeError(f"bench.latency: the listener failed:\n{listener.stderr()}")
            trial = Trial(output, latency_ms, json.loads(stats.read_text()), json.loads(station_stats.read_text()),
                          bit_exact(tmp_path / "heard.wav", read_wav(track)) if output == "wav" else None)
        finally:
            launcher.stop_all()
    return trial


def descend(output: str, latencies_ms: list[float], track: Path, seconds: float,
            pulse: PulseServer | None) -> list[Trial]:
    """Trials from the highest latency down, to the first that did not hold."""
    trials = []
    for latency_ms in sorted(latencies_ms, reverse=True):
        _progress(f"{output} at {latency_ms:g} ms ({frame_ms(latency_ms):g} ms packets, {seconds:g} s)...")
        started = time.monotonic()
        trials.append(trial := run_trial(output, latency_ms, track, seconds, pulse))
        verdict = "held" if held(trial) else f"failed ({outcome(trial)})"
        _progress(f"  {verdict}: {figures(trial)} [{time.monotonic() - started:.0f} s]")
        if not held(trial):
            break
    return trials


@contextmanager
def speaker_server(tmp_path: Path) -> Iterator[PulseServer]:
    """A private PulseAudio server with the null sink the speaker plays to; stopped by its PID on leaving."""
    runtime = tmp_path / "pulse"
    runtime.mkdir()
    with PulseServer(runtime) as pulse:
        pulse.add_sink(SINK)
        yield pulse


def _progress(message: str) -> None:
    print(f"bench.latency: {message}", file=sys.stderr, flush=True)


def _outputs(text: str) -> list[str]:
    chosen = text.split(",")
    if any(c not in OUTPUTS for c in chosen) or len(set(chosen)) != len(chosen):
        raise argparse.ArgumentTypeError(f"expected some of {','.join(OUTPUTS)}; got {text!r}")
    return chosen


def _latencies(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected milliseconds separated by commas; got {text!r}") from None
    if any(not 1 <= v <= 1000 for v in values):
        raise argparse.ArgumentTypeError(f"latencies are 1 to 1000 ms; got {text!r}")
    return values


def measure(outputs: list[str], latencies_ms: list[float], seconds: float) -> dict[str, list[Trial] | str]:
    """Each output's trials, or why it was skipped."""
    results: dict[str, list[Trial] | str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        track = write_wav(tmp_path / "noise.wav", noise_pcm(seconds))
        for output in outputs:
            if output != "speaker":
                results[output] = descend(output, latencies_ms, track, seconds, None)
            elif not available():
                _progress("speaker skipped: it needs pulseaudio, pactl, parec and paplay (make install)")
                results[output] = "no pulseaudio"
            else:
                with speaker_server(tmp_path) as pulse:
                    results[output] = descend(output, latencies_ms, track, seconds, pulse)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.latency", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--outputs", type=_outputs, default=list(OUTPUTS), metavar="null,wav,speaker",
                        help="the outputs to measure (default: all three)")
    parser.add_argument("--latencies", type=_latencies, default=list(DEFAULT_LATENCIES_MS), metavar="MS,MS,...",
                        help="the latencies to try, from the highest down (default 40,30,20,15,10,5)")
    parser.add_argument("--seconds", type=float, default=60.0, help="the track each trial plays (default 60)")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    results = measure(args.outputs, args.latencies, args.seconds)
    print(f"The lowest latency with 0 underruns over a {args.seconds:g} s track, L16 stereo 44.1 kHz on loopback "
          "(each output tried from the highest latency down, to its first failure; a failure says how late the "
          f"station sent a packet at worst); load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} "
          "after:\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
