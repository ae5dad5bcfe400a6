"""Loopback benchmark: a station on the bundled media and listeners for a while, then the figures.

Reports the station's send-time error (p50/p99/max, against its absolute deadlines) and, per listener, packets
received and lost, underruns, transit (station clock to arrival), playout latency (station clock to playout) and
CPU (over the run, its start left out). With `--codec l16,opus` it runs a station of each codec side by side, each
with its own listeners, in one run: what a listener costs with Opus against L16, measured under the same load.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
SETTLE_S = 8.0  # from the listeners' start to the CPU window's: their start (imports, joining) is not their cost
START_TIMEOUT_S = 30.0


@dataclass
class Stream:
    """One codec's station and listeners, on a group of their own."""

    codec: str
    out: Path
    fec: str  # --fec for its station: "off", or K,N
    group: str = field(default_factory=lambda: f"239.255.{random.randrange(1, 255)}.{random.randrange(1, 255)}")
    port: int = field(default_factory=lambda: random.randrange(20000, 60000, 2))
    station: subprocess.Popen[bytes] | None = None
    listeners: list[subprocess.Popen[bytes]] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)  # each listener's CPU seconds over the window

    @property
    def sdp(self) -> Path:
        return self.out / "station.sdp"

    def start(self, listeners: int) -> None:
        """The station, then its listeners, joining by the description it wrote (an Opus stream's type is
        dynamic: only its SDP says what it is)."""
        self.out.mkdir()
        self.station = subprocess.Popen(
            [sys.executable, "-m", "station", "--group", self.group, "--port", str(self.port), "--interface",
             "127.0.0.1", "media", "--codec", self.codec, "--fec", self.fec, "--sdp", str(self.sdp), "--stats-json",
             str(self.out / "station.json")], cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.sdp.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.listeners = [subprocess.Popen(
            [sys.executable, "-m", "listener", str(self.sdp), "--interface", "127.0.0.1", "--output", "null",
             "--quiet", "--stats-json", str(self.out / f"listener{i}.json")], cwd=ROOT) for i in range(listeners)]

    def cpu_times(self) -> list[float]:
        return [sum(psutil.Process(p.pid).cpu_times()[:2]) for p in self.listeners]

    def stop(self) -> None:
        """The station first, so that listeners hear its BYE."""
        for proc in [self.station, *self.listeners]:
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(10)

    def report(self, seconds: float) -> None:
        station = json.loads((self.out / "station.json").read_text())
        print(f"{self.codec} station (FEC {self.fec}), {seconds:g} s on loopback: {station['packets_sent']} packets "
              f"sent; send error p50 {station['send_error_p50_ms']:.3f} ms, p99 {station['send_error_p99_ms']:.3f} ms, "
              f"max {station['send_error_max_ms']:.3f} ms; {station['slots_skipped']} slots skipped")
        print("listener  received  lost  late  underruns  transit mean/p99 ms  latency mean/p99 ms  jitter ms  CPU %")
        for i, cpu_s in enumerate(self.cpu_s):
            s = json.loads((self.out / f"listener{i}.json").read_text())
            print(f"{i:>8}  {s['packets_received']:>8}  {s['packets_lost']:>4}  {s['packets_late']:>4}  "
                  f"{s['underruns']:>9}  {s['transit_ms']:>8.3f} / {s['transit_p99_ms']:<8.3f}  "
                  f"{s['latency_ms']:>8.3f} / {s['latency_p99_ms']:<8.3f}  {s['jitter_ms']:>9.3f}  "
                  f"{100 * cpu_s / seconds:>5.2f}")


def _codecs(text: str) -> list[str]:
    codecs = text.split(",")
    if not codecs or any(c not in ("l16", "opus") for c in codecs) or len(set(codecs)) != len(codecs):
        raise argparse.ArgumentTypeError(f"expected l16, opus or l16,opus; got {text!r}")
    return codecs


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0, help="the measuring window (default 60)")
    parser.add_argument("--listeners", type=int, default=2, help="listener processes per station (default 2)")
    parser.add_argument("--codec", type=_codecs, default=["l16"], metavar="l16|opus|l16,opus",
                        help="the station's codec; l16,opus: a station of each, side by side (default l16)")
    parser.add_argument("--fec", default="off", metavar="K,N|off", help="the stations' --fec (default off)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        streams = [Stream(codec, Path(tmp) / codec, args.fec) for codec in args.codec]
        try:
            for stream in streams:
                stream.start(args.listeners)
            time.sleep(SETTLE_S)
            before = [stream.cpu_times() for stream in streams]
            for second in range(int(args.seconds)):
                print(f"\rbench: {second + 1}/{int(args.seconds)} s", end="", file=sys.stderr, flush=True)
                time.sleep(1.0)
            print(file=sys.stderr)
            for stream, started in zip(streams, before):
                stream.cpu_s = [end - start for start, end in zip(started, stream.cpu_times())]
        finally:
            for stream in streams:
                stream.stop()
        for stream in streams:
            stream.report(args.seconds)
    per_listener = {s.codec: 100 * sum(s.cpu_s) / len(s.cpu_s) / args.seconds for s in streams if s.cpu_s}
    if len(per_listener) == 2:
        l16, opus = per_listener["l16"], per_listener["opus"]
        print(f"CPU per listener: L16 {l16:.2f} %, Opus {opus:.2f} % of a core: Opus costs {opus / l16:.2f} x L16")
    return 0


if __name__ == "__main__":
    sys.exit(main())
