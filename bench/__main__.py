"""Loopback benchmark: a station on the bundled media and listeners for a while, then the figures.

Reports the station's send-time error (p50/p99/max, against its absolute deadlines) and, per listener, packets
received and lost, underruns, transit (station clock to arrival) and playout latency (station clock to playout).
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the station plays (default 60)")
    parser.add_argument("--listeners", type=int, default=2, help="listener processes (default 2)")
    args = parser.parse_args()
    group = f"239.255.{random.randrange(1, 255)}.{random.randrange(1, 255)}"
    port = random.randrange(20000, 60000, 2)
    common = ["--group", group, "--port", str(port), "--interface", "127.0.0.1"]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        procs: list[subprocess.Popen[bytes]] = []
        try:
            for i in range(args.listeners):
                procs.append(subprocess.Popen(
                    [sys.executable, "-m", "listener", *common, "--output", "null", "--quiet",
                     "--stats-json", str(out / f"listener{i}.json")], cwd=ROOT))
            time.sleep(1.0)  # listeners joined before the first packet
            station = subprocess.Popen([sys.executable, "-m", "station", *common, "media",
                                        "--stats-json", str(out / "station.json")], cwd=ROOT,
                                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
            procs.insert(0, station)
            for second in range(int(args.seconds)):
                print(f"\rbench: {second + 1}/{int(args.seconds)} s", end="", file=sys.stderr, flush=True)
                time.sleep(1.0)
            print(file=sys.stderr)
        finally:
            for proc in procs:  # the station first, so listeners hear its BYE
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                    proc.wait(10)
        station_stats = json.loads((out / "station.json").read_text())
        listener_stats = [json.loads((out / f"listener{i}.json").read_text()) for i in range(args.listeners)]
    print(f"station, {args.seconds:g} s on loopback: {station_stats['packets_sent']} packets sent; send error "
          f"p50 {station_stats['send_error_p50_ms']:.3f} ms, p99 {station_stats['send_error_p99_ms']:.3f} ms, "
          f"max {station_stats['send_error_max_ms']:.3f} ms; {station_stats['slots_skipped']} slots skipped")
    print("listener  received  lost  late  underruns  transit mean/p99 ms  latency mean/p99 ms  jitter ms")
    for i, s in enumerate(listener_stats):
        print(f"{i:>8}  {s['packets_received']:>8}  {s['packets_lost']:>4}  {s['packets_late']:>4}  "
              f"{s['underruns']:>9}  {s['transit_ms']:>8.3f} / {s['transit_p99_ms']:<8.3f}  "
              f"{s['latency_ms']:>8.3f} / {s['latency_p99_ms']:<8.3f}  {s['jitter_ms']:>9.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
