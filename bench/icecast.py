"""What an Icecast feed costs and how soon it comes back: `python -m bench.icecast` (needs icecast2).

Two figures, on loopback with real processes and an Icecast server of its own (the tests' `icecast_server.py`):
- the extra CPU: a station on media/ measured over --seconds (after 5 s of start), its own process and its whole
  tree (the ffmpeg encoder and relay included), without a feed and then with one Ogg/Opus feed at 128 kbit/s;
- the reconnect time: Icecast stopped under a connected feed, started again after --outage-s; from that restart to
  the station's "connected again" line, over --runs runs.
Every process is stopped by its PID before this returns.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from icecast_server import IcecastServer  # noqa: E402  (the tests' own server)

ROOT = Path(__file__).resolve().parent.parent


def _station(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "station", "--group", "239.255.77.9", "--port", "42010", "--no-sap",
                             *args, "media/"], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def _stop(station: subprocess.Popen[str]) -> str:
    station.terminate()
    _, errors = station.communicate(timeout=10)
    return errors


def _cpu_s(process: psutil.Process, tree: bool) -> float:
    total = 0.0
    for p in [process, *(process.children(recursive=True) if tree else [])]:
        try:
            times = p.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def cpu_percent(seconds: float, *args: str) -> tuple[float, float]:
    """The station's CPU (% of one core), its own process and its tree, over `seconds` after 5 s of start."""
    station = _station(*args)
    try:
        time.sleep(5)
        process = psutil.Process(station.pid)
        own, tree, start = _cpu_s(process, False), _cpu_s(process, True), time.monotonic()
        time.sleep(seconds)
        elapsed = time.monotonic() - start
        return (100 * (_cpu_s(process, False) - own) / elapsed, 100 * (_cpu_s(process, True) - tree) / elapsed)
    finally:
        _stop(station)


def reconnect_s(server: IcecastServer, outage_s: float) -> float:
    """From Icecast's restart after `outage_s` to the station's mount listed again."""
    station = _station("--icecast", server.url("/bench.ogg"))
    try:
        _wait_mount(server, "/bench.ogg")
        time.sleep(1)
        server.stop()
        time.sleep(outage_s)
        server.start()
        restarted = time.monotonic()
        _wait_mount(server, "/bench.ogg")
        return time.monotonic() - restarted
    finally:
        _stop(station)


def _wait_mount(server: IcecastServer, mount: str, timeout_s: float = 30) -> None:
    """Until Icecast lists the mount: the station's source is connected (polled every 20 ms)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if server.mount(mount) is not None:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.02)
    raise RuntimeError(f"{mount} not connected within {timeout_s} s")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.icecast", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--outage-s", type=float, default=2.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        Path(directory).chmod(0o755)
        server = IcecastServer(Path(directory))
        server.start()
        try:
            without = cpu_percent(args.seconds)
            with_feed = cpu_percent(args.seconds, "--icecast", server.url("/bench.ogg"))
            print(f"station CPU over {args.seconds:g} s (% of one core), its process / with its children: "
                  f"no feed {without[0]:.1f} / {without[1]:.1f}; one Ogg/Opus feed {with_feed[0]:.1f} / "
                  f"{with_feed[1]:.1f}; extra {with_feed[0] - without[0]:+.1f} / {with_feed[1] - without[1]:+.1f}")
            times = [reconnect_s(server, args.outage_s) for _ in range(args.runs)]
            print(f"reconnect after Icecast's restart ({args.outage_s:g} s outage), {args.runs} runs: median "
                  f"{statistics.median(times):.2f} s, worst {max(times):.2f} s")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
