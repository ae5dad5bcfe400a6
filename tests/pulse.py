"""A private PulseAudio server for tests: a real audio stack on a machine with no sound card.

The daemon runs in a temporary runtime directory with an anonymous socket of its own, so it neither sees nor
disturbs any other server. Null sinks stand in for sound cards: what is played into one can be recorded from
its `.monitor` source, and that monitor serves as a microphone. Every process is bounded by a timeout and
stopped by its own PID.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATE = 44100
CHANNELS = 2


class PulseServer:
    def __init__(self, runtime_dir: Path) -> None:
        self.runtime_dir = runtime_dir
        self.socket = runtime_dir / "native"
        self.env = {"PULSE_SERVER": f"unix:{self.socket}", "PULSE_RUNTIME_PATH": str(runtime_dir),
                    "XDG_RUNTIME_DIR": str(runtime_dir), "HOME": str(runtime_dir)}
        self._log = (runtime_dir / "pulseaudio.log").open("w")
        self.process = subprocess.Popen(
            ["pulseaudio", "--daemonize=no", "--exit-idle-time=-1", "--disallow-exit", "-n",
             "--use-pid-file=no", "--disable-shm", "--enable-memfd=no",
             f"--load=module-native-protocol-unix auth-anonymous=1 socket={self.socket}", "--log-target=stderr"],
            env=dict(os.environ, **self.env), stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"PulseAudio did not start: {(runtime_dir / 'pulseaudio.log').read_text()}")
            time.sleep(0.05)

    def __enter__(self) -> PulseServer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def pactl(self, *args: str) -> str:
        return subprocess.run(["pactl", *args], env=dict(os.environ, **self.env), capture_output=True, text=True,
                              timeout=10, check=True).stdout

    def _answers(self) -> bool:
        try:
            self.pactl("info")
            return True
        except subprocess.SubprocessError:
            return False

    def add_sink(self, name: str, channels: int = CHANNELS) -> int:
        """A null sink of the stream's own format (no resampling), or of `channels`; its module index, to
        unload it."""
        return int(self.pactl("load-module", "module-null-sink", f"sink_name={name}", f"rate={RATE}",
                              f"channels={channels}", "format=s16le").strip())

    def add_remap_sink(self, name: str, master: str) -> int:
        """A sink that plays into `master`, sample for sample and at that very time (a remap sink mapping each
        channel onto itself): what is played into either is recorded from `master`'s monitor, in step to the
        sample; its module index, to unload it."""
        channels = "channel_map=front-left,front-right"
        return int(self.pactl("load-module", "module-remap-sink", f"sink_name={name}", f"master={master}",
                              f"channels={CHANNELS}", channels, f"master_{channels}", "remix=no").strip())

    def unload(self, module: int) -> None:
        """Unloads a sink's module: the streams playing on it end, as if its sound card were unplugged (nothing
        moves them elsewhere: the server runs without module-rescue-streams)."""
        self.pactl("unload-module", str(module))

    def record(self, source: str, path: Path) -> subprocess.Popen[bytes]:
        """Starts recording `source` as raw s16le stereo into `path`; stop it by its PID."""
        return subprocess.Popen(["parec", "-d", source, "--raw", "--format=s16le", f"--rate={RATE}",
                                 f"--channels={CHANNELS}", "--latency-msec=20"],
                                env=dict(os.environ, **self.env), stdout=path.open("wb"),
                                stderr=subprocess.DEVNULL)

    def play(self, sink: str, wav: Path) -> subprocess.Popen[bytes]:
        return subprocess.Popen(["paplay", "-d", sink, str(wav)], env=dict(os.environ, **self.env),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()


def available() -> bool:
    return all(shutil.which(tool) for tool in ("pulseaudio", "pactl", "parec", "paplay"))


@contextlib.contextmanager
def reachable(server: PulseServer) -> Iterator[None]:
    """Every process started meanwhile reaches `server` by default: also those started by helpers that take no
    environment of their own (such as a listener put behind a relay). The environment is restored afterwards."""
    saved = {name: os.environ.get(name) for name in server.env}
    os.environ.update(server.env)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def recorded_frames(path: Path) -> int:
    """How much a recording started by `PulseServer.record` holds: time as the sink's own clock counts it."""
    return path.stat().st_size // (2 * CHANNELS) if path.exists() else 0


def wait_for_frames(path: Path, frames: int, timeout_s: float) -> None:
    """Wait (bounded) until the recording at `path` holds `frames`: a wait measured by the sink's clock, which is
    the clock that matters to what is recorded, not the machine's."""
    deadline = time.monotonic() + timeout_s
    while recorded_frames(path) < frames:
        if time.monotonic() > deadline:
            raise AssertionError(f"{path.name}: {recorded_frames(path)} frames recorded, not {frames}, "
                                 f"within {timeout_s} s")
        time.sleep(0.02)


def read_raw(path: Path) -> np.ndarray:
    return np.frombuffer(path.read_bytes()[: path.stat().st_size // 4 * 4], dtype="<i2").reshape(-1, CHANNELS)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def chord_pcm(seconds: float, seed: int = 1) -> np.ndarray:
    """Music-like test audio: a chord every quarter second, partials below 2 kHz, never silent.

    Unlike noise, it survives the drift compensation's odd repeated or dropped sample (a one-sample shift of a
    2 kHz partial still correlates at 0.98), so a recording of it is judged on what a listener hears."""
    rng = np.random.default_rng(seed)
    notes_hz = 110.0 * 2 ** (np.array([0, 3, 5, 7, 10, 12, 15, 17, 19, 22, 24]) / 12)
    note_samples = RATE // 4
    t = np.arange(note_samples) / RATE
    fade = np.minimum(1.0, np.minimum(np.arange(note_samples), np.arange(note_samples)[::-1]) / (0.01 * RATE))
    blocks = []
    for _ in range(int(np.ceil(seconds * 4))):
        chord = rng.choice(notes_hz, size=3, replace=False)
        left = sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 6.3)) for f in chord)
        right = sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 6.3)) for f in chord[::-1] * 1.5)
        blocks.append(np.stack([left, right], axis=1) * (0.2 + 0.8 * fade[:, None]))
    pcm = np.concatenate(blocks)[: round(seconds * RATE)]
    return (pcm / np.abs(pcm).max() * 16000).astype(np.int16)


@dataclass(frozen=True)
class Match:
    offset: int  # where the source starts in the recording (samples)
    correlation: float  # the worst block's Pearson correlation with the recording, each block aligned on its own
    gaps: int  # 5 ms windows where the source sounds and the recording is (nearly) silent


BLOCK_S = 0.25  # one chord of chord_pcm
SLIP_SAMPLES = 400  # how far a block may have moved from the whole piece's alignment: 9 ms of drift corrections


def locate(recording: np.ndarray, source: np.ndarray) -> Match:
    """Finds `source` in `recording` by cross-correlation, and judges the recording over the whole source, block by
    block: a listener keeping in step with its sound card repeats or drops single samples at quiet points, which
    shift what follows by a sample each, inaudibly; so each block is aligned on its own, within SLIP_SAMPLES of the
    whole piece's alignment, and the worst block's correlation is the judgement."""
    rec, src = recording.astype(np.float64).mean(axis=1), source.astype(np.float64).mean(axis=1)
    if len(rec) < len(src):
        return Match(0, 0.0, len(src) // (RATE // 200))
    size = 1 << (len(rec) + len(src)).bit_length()
    scores = np.fft.irfft(np.fft.rfft(rec, size) * np.conj(np.fft.rfft(src, size)), size)
    offset = int(np.argmax(scores[: len(rec) - len(src) + 1]))
    stretch = recording[offset: offset + len(source)].astype(np.float64)
    block = round(BLOCK_S * RATE)
    correlation = min(_best_correlation(recording, source[start: start + block], offset + start)
                      for start in range(0, len(source) - block + 1, block))
    window = RATE // 200
    count = len(source) // window
    src_rms = np.sqrt((source[: count * window].astype(np.float64) ** 2).reshape(count, -1).mean(axis=1))
    rec_rms = np.sqrt((stretch[: count * window] ** 2).reshape(count, -1).mean(axis=1))
    gaps = int(np.count_nonzero((src_rms > 500) & (rec_rms < 0.3 * src_rms)))
    return Match(offset, correlation, gaps)


def _best_correlation(recording: np.ndarray, block: np.ndarray, at: int) -> float:
    """The highest correlation of `block` with the recording starting within SLIP_SAMPLES of `at` (Pearson's r of
    the frames' samples, both channels; a silent stretch of the recording, whose r is undefined, counts as 0).

    All the starts at once, as np.corrcoef would compute each: the products by one cross-correlation (FFT), each
    window's sums (exact, in integers) from running totals."""
    first, last = max(0, at - SLIP_SAMPLES), min(len(recording) - len(block), at + SLIP_SAMPLES)
    if last < first:
        return 0.0
    width, n = block.shape[1], block.size
    flat = np.ascontiguousarray(recording[first: last + len(block)]).ravel()  # frames interleaved, as ravel() does
    centred = block.astype(np.float64).ravel()
    centred -= centred.mean()
    size = 1 << (len(flat) + n).bit_length()
    correlation = np.fft.irfft(np.fft.rfft(flat.astype(np.float64), size) * np.conj(np.fft.rfft(centred, size)), size)
    starts = np.arange(last - first + 1) * width  # where each start's window begins in `flat`
    products = correlation[starts]  # sum((x - mean x) * (y - mean y)) = sum(x * (y - mean y))
    totals = np.concatenate([[0], np.cumsum(flat, dtype=np.int64)])
    squares = np.concatenate([[0], np.cumsum(flat.astype(np.int64) ** 2)])
    sums, sums_of_squares = totals[starts + n] - totals[starts], squares[starts + n] - squares[starts]
    spread = (n * sums_of_squares - sums * sums).astype(np.float64) / n  # n * var(x), exactly 0 when x is constant
    with np.errstate(invalid="ignore", divide="ignore"):
        r = products / np.sqrt(spread * float(centred @ centred))
    r = r[spread > 0]
    return max(0.0, float(r.max())) if len(r) else 0.0
