"""How soon audio comes: `python -m bench.start`.

Four figures, each over several runs (median and worst), on loopback with real processes:
- a station's start: from launching `python -m station` to its first RTP packet on the group;
- a listener's start: from launching `python -m listener` to its loop (the line it prints as it begins);
- a listener joining a running station: from its start to its first sample of the station's audio played
  (`first_audio_ms`), against the station's latency plus 30 ms;
- a station killed and started again under a running listener: from the new station's first packet to its first
  sample played (`first_audio_after_packet_ms`), against the latency plus 50 ms.
Listeners play into nothing (`--output null`), on the station's latency (80 ms by default). Every process is
stopped by its PID before this returns.
"""

from __future__ import annotations

import argparse
import json
import random
import select
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from conftest import ROOT, Launcher, Proc, _random_address  # noqa: E402  (the tests' process launcher)

from rtpwire.net import open_receiver  # noqa: E402
from rtpwire.nowplaying import DEFAULT_LATENCY_S  # noqa: E402

MEDIA = ROOT / "media"
FIRST_TRACK = MEDIA / "01-tide-pool.wav"
WAIT_S = 10.0  # the most any one step may take before the run is called failed


def _poll(done: callable, what: str, timeout_s: float = WAIT_S, step_s: float = 0.002) -> float:
    """Waits until `done()` is true; the monotonic time it was seen true. RuntimeError after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"bench.start: timed out waiting for {what}")
        time.sleep(step_s)
    return time.monotonic()


def station_start_s(launcher: Launcher) -> float:
    """From launching a station to its first RTP packet arriving on the group."""
    with open_receiver(launcher.group, launcher.port, "127.0.0.1") as sock:
        launched_s = time.monotonic()
        station = launcher.start("station", "--once", str(FIRST_TRACK))
        try:
            readable, _, _ = select.select([sock], [], [], WAIT_S)
            if not readable:
                raise RuntimeError("bench.start: the station sent nothing")
            return time.monotonic() - launched_s
        finally:
            station.stop()


def listener_start_s(launcher: Launcher) -> float:
    """From launching a listener to the line it prints as its loop begins."""
    launched_s = time.monotonic()
    listener = launcher.start("listener", "--output", "null", "--duration", "0.5")
    try:
        return _poll(lambda: "listening on" in listener.stderr(), "the listener's loop") - launched_s
    finally:
        listener.stop()


def _figures(listener: Proc, path: Path) -> dict[str, object]:
    """The listener's `--stats-json` figures, written now (SIGUSR1)."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    listener.popen.send_signal(signal.SIGUSR1)
    _poll(lambda: path.exists() and path.stat().st_mtime_ns != before and path.stat().st_size > 0,
          "the listener's figures")
    time.sleep(0.05)  # written whole
    return json.loads(path.read_text())


def join_ms(launcher: Launcher, tmp_path: Path, run: int) -> float:
    """A listener joining the running station: its first audio after its start."""
    stats = tmp_path / f"join{run}.json"
    listener = launcher.start("listener", "--output", "null", "--stats-json", str(stats))
    try:
        _poll(lambda: "playing" in listener.stderr() or "listening on" in listener.stderr(), "the listener")
        time.sleep(0.5)
        first = _figures(listener, stats)["first_audio_ms"]
    finally:
        listener.stop()
    if first is None:
        raise RuntimeError("bench.start: a listener joined and played nothing")
    return float(first)


def restart_ms(launcher: Launcher, listener: Proc, stats: Path, station: Proc) -> tuple[float, Proc]:
    """The station killed (no BYE) and started again under `listener`: the new station's first audio played after
    its first packet; and the new station."""
    changes = _figures(listener, stats)["source_changes"]
    station.popen.send_signal(signal.SIGKILL)
    station.popen.wait(WAIT_S)
    time.sleep(0.3)
    restarted = launcher.start("station", str(MEDIA))
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        time.sleep(0.3)
        figures = _figures(listener, stats)
        if figures["source_changes"] > changes and figures["first_audio_after_packet_ms"] is not None:
            return float(figures["first_audio_after_packet_ms"]), restarted
    raise RuntimeError("bench.start: the restarted station was not heard")


def _row(what: str, values: list[float], unit: str, target: str) -> str:
    return (f"| {what} | {statistics.median(values):.0f} {unit} | {max(values):.0f} {unit} | {target} | "
            f"{len(values)} |")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.start", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10, help="runs of each measure (default 10)")
    args = parser.parse_args()
    latency_ms = DEFAULT_LATENCY_S * 1e3
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        launcher = Launcher(tmp_path, *_random_address(random.Random()), random.Random())
        try:
            print("bench.start: station starts...", file=sys.stderr, flush=True)
            station_starts = [station_start_s(launcher) * 1e3 for _ in range(args.runs)]
            print("bench.start: listener starts...", file=sys.stderr, flush=True)
            listener_starts = [listener_start_s(launcher) * 1e3 for _ in range(args.runs)]
            print("bench.start: joins...", file=sys.stderr, flush=True)
            station = launcher.start("station", str(MEDIA))
            time.sleep(1.0)
            joins = [join_ms(launcher, tmp_path, run) for run in range(args.runs)]
            print("bench.start: restarts...", file=sys.stderr, flush=True)
            stats = tmp_path / "stays.json"
            listener = launcher.start("listener", "--output", "null", "--stats-json", str(stats))
            time.sleep(1.0)
            restarts = []
            for _ in range(args.runs):
                heard_ms, station = restart_ms(launcher, listener, stats, station)
                restarts.append(heard_ms)
        finally:
            launcher.stop_all()
    print(f"{args.runs} runs each, station latency {latency_ms:g} ms; median and worst:\n")
    print("| measure | median | worst | target | runs |\n|---|---|---|---|---|")
    print(_row("station: launch to first packet", station_starts, "ms", "250 ms"))
    print(_row("listener: launch to its loop", listener_starts, "ms", "250 ms"))
    print(_row("listener joining: start to first audio", joins, "ms", f"{latency_ms + 30:g} ms"))
    print(_row("station restarted: first packet to first audio", restarts, "ms", f"{latency_ms + 50:g} ms"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
