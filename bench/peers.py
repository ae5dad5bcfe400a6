"""What our listener costs next to other receivers of the same stream: `python -m bench.peers`.

One station sends L16 (44.1 kHz stereo, 1.4 Mbit/s) on loopback for the whole run. Three kinds of receiver play
it into nothing, N processes of a kind at a time:
- ours: `python -m listener STATION.sdp --output null --quiet`;
- GStreamer: gst-launch-1.0, udpsrc ! rtpjitterbuffer ! rtpL16depay ! audioconvert ! fakesink sync=true;
- ffmpeg: the station's SDP file in, `-f null -` out (it decodes as fast as packets come).
For each process: its CPU (user and system, its children's included, as % of one core) over a window that starts
once the processes have settled (their start is not their cost), and its resident memory (RSS, and USS: the
pages no other process shares) at the window's end.

The machine is shared and noisy, so the kinds take turns: each round measures every kind once, in an order that
rotates from round to round (no kind always runs first), and each ratio (ours / the other's) is the median of the
rounds' own ratios, so that a load that came and went weighs on both sides of a ratio, or on one round only.
Each receiver must be heard receiving: ours by its --stats-json packet count, GStreamer and ffmpeg by the stream
position they report (progressreport, -progress) moving on over the window. A receiver that died or received
nothing fails its kind (exit status 1) instead of giving a figure; a program that is not installed is skipped,
with a note. Everything joins and sends on loopback only (TTL 0), and every process is stopped by its PID.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from conftest import ROOT, Launcher, _random_address  # noqa: E402  (the tests' process launcher)

from rtpwire.audio import AudioFormat  # noqa: E402
from rtpwire.nowplaying import DEFAULT_LATENCY_S  # noqa: E402
from rtpwire.sdp import StreamDescription  # noqa: E402

KINDS = ("ours", "gst", "ffmpeg")
LABELS = {"ours": "ours (python -m listener)", "gst": "GStreamer (gst-launch-1.0)", "ffmpeg": "ffmpeg"}
PROGRAMS = {"ours": sys.executable, "gst": "gst-launch-1.0", "ffmpeg": "ffmpeg"}
SETTLE_S = 5.0  # from a kind's start to its window: imports, joining, buffers filling
WAIT_S = 10.0  # the longest any process may take to write its SDP, or to stop
MIB = 1 << 20


class ReceiverFailed(RuntimeError):
    """A receiver died, or received nothing, during its window."""


@dataclass(frozen=True)
class Usage:
    """One process over one window."""

    cpu_pct: float  # % of one core
    rss: int  # bytes, at the window's end
    uss: int


@dataclass(frozen=True)
class Figures:
    """One kind in one round: the mean of its processes."""

    cpu_pct: float
    rss_mib: float
    uss_mib: float


FIELDS = ("cpu_pct", "rss_mib", "uss_mib")


def mean_figures(usages: list[Usage]) -> Figures:
    return Figures(statistics.fmean(u.cpu_pct for u in usages), statistics.fmean(u.rss for u in usages) / MIB,
                   statistics.fmean(u.uss for u in usages) / MIB)


def median_ratio(ours: list[float], theirs: list[float]) -> float:
    """The median over rounds of round i's ours / round i's theirs."""
    return statistics.median(a / b for a, b in zip(ours, theirs, strict=True))


def table(rounds: dict[str, list[Figures]], notes: dict[str, str]) -> str:
    """A Markdown row per measured kind (`rounds[kind][i]`: round i's figures), medians over rounds, then a line
    per note (a kind skipped or failed). The ratios need ours: without it they are left blank."""
    lines = ["| receiver | CPU % of a core | RSS MiB | USS MiB | ours/theirs CPU | ours/theirs RSS | ours/theirs USS |",
             "|---|---|---|---|---|---|---|"]
    ours = rounds.get("ours")
    for kind, figures in rounds.items():
        columns = {name: [getattr(f, name) for f in figures] for name in FIELDS}
        cells = [f"{statistics.median(columns[name]):.{digits}f}" for name, digits in zip(FIELDS, (2, 1, 1))]
        if kind == "ours" or not ours:
            cells += ["-"] * len(FIELDS)
        else:
            cells += [f"{median_ratio([getattr(f, name) for f in ours], columns[name]):.2f}" for name in FIELDS]
        lines.append(f"| {LABELS[kind]} | {' | '.join(cells)} |")
    notes_lines = [f"{LABELS[kind]}: {note}" for kind, note in notes.items()]
    return "\n".join(lines + ([""] + notes_lines if notes_lines else []))


def rotated(kinds: list[str], round_index: int) -> list[str]:
    """Round i's order: the kinds shifted by i, so each runs first in turn."""
    shift = round_index % len(kinds)
    return kinds[shift:] + kinds[:shift]


@dataclass
class Receiver:
    """One receiving process of a kind."""

    kind: str
    popen: subprocess.Popen[bytes]
    log: Path  # what it printed (stdout and stderr)
    progress: Path  # ours: its --stats-json; ffmpeg: its -progress file; GStreamer: its log

    def printed(self) -> str:
        """The end of what it printed, for a failure's message."""
        tail = self.log.read_text(errors="replace")[-300:].strip()
        return f" (it printed: {tail})" if tail else ""


def gst_caps(fmt: AudioFormat) -> str:
    """udpsrc's caps for the station's stream (as tests/test_interop.py gives them)."""
    return (f"application/x-rtp,media=audio,clock-rate={fmt.rate},encoding-name=L16,"
            f"encoding-params={fmt.channels},channels={fmt.channels},payload={fmt.payload_type}")


def argv(kind: str, sdp: Path, stream: StreamDescription, progress: Path) -> list[str]:
    """The command of a receiver of `kind`, joining on loopback."""
    if kind == "ours":
        return [sys.executable, "-m", "listener", str(sdp), "--interface", "127.0.0.1", "--output", "null",
                "--quiet", "--stats-json", str(progress)]
    if kind == "gst":  # progressreport: the stream position, once a second, on stdout
        return ["gst-launch-1.0", "-q", "udpsrc", f"address={stream.group}", f"port={stream.port}",
                "multicast-iface=lo", f"caps={gst_caps(stream.fmt)}", "!", "rtpjitterbuffer",
                f"latency={DEFAULT_LATENCY_S * 1e3:.0f}", "!", "rtpL16depay", "!", "progressreport", "update-freq=1",
                "do-query=false", "!", "audioconvert", "!", "fakesink", "sync=true"]
    return ["ffmpeg", "-hide_banner", "-loglevel", "warning", "-nostdin", "-protocol_whitelist", "file,udp,rtp",
            "-localaddr", "127.0.0.1", "-progress", str(progress), "-i", str(sdp), "-f", "null", "-"]


def start(kind: str, index: int, out: Path, sdp: Path, stream: StreamDescription) -> Receiver:
    log = out / f"{kind}{index}.log"
    progress = {"ours": out / f"{kind}{index}.json", "gst": log, "ffmpeg": out / f"{kind}{index}.progress"}[kind]
    with log.open("wb") as sink:
        popen = subprocess.Popen(argv(kind, sdp, stream, progress), cwd=ROOT, stdin=subprocess.DEVNULL,
                                 stdout=sink, stderr=subprocess.STDOUT)
    return Receiver(kind, popen, log, progress)


def stop(receivers: list[Receiver]) -> None:
    """SIGTERM to each by its PID, then SIGKILL to any still there after WAIT_S."""
    for r in receivers:
        if r.popen.poll() is None:
            r.popen.send_signal(signal.SIGTERM)
    for r in receivers:
        try:
            r.popen.wait(WAIT_S)
        except subprocess.TimeoutExpired:
            r.popen.kill()
            r.popen.wait(WAIT_S)


def position_s(receiver: Receiver) -> float:
    """How far into the stream a GStreamer or ffmpeg receiver says it got (-1 before it has said; ours: 0, it
    says so as it exits)."""
    if receiver.kind == "ours":
        return 0.0
    text = receiver.progress.read_text(errors="replace") if receiver.progress.exists() else ""
    if receiver.kind == "gst":
        found = re.findall(r"\): (\d+) seconds", text)
        return float(found[-1]) if found else -1.0
    found = re.findall(r"out_time_us=(\d+)", text)
    return int(found[-1]) / 1e6 if found else -1.0


def cpu_s(proc: psutil.Process) -> float:
    """User and system CPU seconds of a process, its children's (living or waited for) included."""
    times = proc.cpu_times()
    living = sum(sum(child.cpu_times()[:2]) for child in proc.children(recursive=True))
    return times.user + times.system + times.children_user + times.children_system + living


def memory(proc: psutil.Process) -> tuple[int, int]:
    """RSS and USS in bytes, its living children's included."""
    infos = [p.memory_full_info() for p in (proc, *proc.children(recursive=True))]
    return sum(i.rss for i in infos), sum(i.uss for i in infos)


def failures(receivers: list[Receiver], positions: list[float]) -> list[str]:
    """What went wrong with each receiver over the window (nothing: all alive and receiving). `positions`: each
    one's position_s at the window's start."""
    found = []
    for i, (r, before) in enumerate(zip(receivers, positions)):
        if r.popen.poll() is not None:
            found.append(f"{r.kind} #{i} died (status {r.popen.returncode}){r.printed()}")
        elif r.kind != "ours" and position_s(r) <= before:
            found.append(f"{r.kind} #{i} received nothing (stream position stuck at {before:g} s){r.printed()}")
    return found


def packets_received(receiver: Receiver) -> int:
    """Our listener's count, from the --stats-json it writes as it exits (0 if it wrote none)."""
    if not receiver.progress.exists():
        return 0
    return int(json.loads(receiver.progress.read_text())["packets_received"])


def measure(kind: str, count: int, seconds: float, out: Path, sdp: Path, stream: StreamDescription) -> list[Usage]:
    """`count` receivers of `kind` at once, writing in `out`: each one's usage over `seconds`, after SETTLE_S.
    ReceiverFailed if one died or received nothing."""
    receivers: list[Receiver] = []
    try:
        receivers = [start(kind, i, out, sdp, stream) for i in range(count)]
        time.sleep(SETTLE_S)
        procs = [psutil.Process(r.popen.pid) for r in receivers]
        positions = [position_s(r) for r in receivers]
        before, began = [cpu_s(p) for p in procs], time.monotonic()
        time.sleep(seconds)
        after, window_s = [cpu_s(p) for p in procs], time.monotonic() - began
        problems = failures(receivers, positions)
        if problems:
            raise ReceiverFailed("; ".join(problems))
        memories = [memory(p) for p in procs]
    except psutil.NoSuchProcess as gone:
        raise ReceiverFailed(f"{kind} (PID {gone.pid}) died") from gone
    finally:
        stop(receivers)
    silent = [i for i, r in enumerate(receivers) if packets_received(r) == 0] if kind == "ours" else []
    if silent:
        raise ReceiverFailed(f"ours receivers {silent} received no packets{receivers[silent[0]].printed()}")
    return [Usage(100 * (b - a) / window_s, rss, uss) for a, b, (rss, uss) in zip(before, after, memories)]


def start_station(launcher: Launcher, out: Path) -> tuple[Path, StreamDescription]:
    """The station on the bundled media (L16), on loopback with TTL 0; its SDP file and what it says."""
    sdp = out / "station.sdp"
    launcher.start("station", "--ttl", "0", "--no-sap", "--sdp", str(sdp), str(ROOT / "media"))
    deadline = time.monotonic() + WAIT_S
    while not (sdp.exists() and sdp.stat().st_size):
        if time.monotonic() > deadline:
            raise RuntimeError("bench.peers: the station wrote no SDP file")
        time.sleep(0.05)
    time.sleep(0.2)  # written whole
    return sdp, StreamDescription.parse(sdp.read_text())


def run(args: argparse.Namespace, out: Path, kinds: list[str], notes: dict[str, str]) -> tuple[
        dict[str, list[Figures]], StreamDescription]:
    """Every round, each kind in turn (a failed kind leaves the run, with a note in `notes`): each kind's figures
    by round, and the stream they received."""
    rounds: dict[str, list[Figures]] = {kind: [] for kind in kinds}
    launcher = Launcher(out, *_random_address(random.Random()), random.Random())
    try:
        sdp, stream = start_station(launcher, out)
        for i in range(args.rounds):
            for kind in rotated(list(rounds), i):
                print(f"bench.peers: round {i + 1}/{args.rounds}: {args.receivers} x {kind}...", file=sys.stderr,
                      flush=True)
                (workdir := out / f"{i + 1}-{kind}").mkdir()
                try:
                    figures = mean_figures(measure(kind, args.receivers, args.seconds, workdir, sdp, stream))
                except ReceiverFailed as failed:
                    notes[kind] = f"failed in round {i + 1}: {failed}"
                    del rounds[kind]
                    continue
                rounds[kind].append(figures)
                print(f"bench.peers:   {kind}: {figures.cpu_pct:.2f} % CPU, {figures.rss_mib:.1f} MiB RSS, "
                      f"{figures.uss_mib:.1f} MiB USS per process", file=sys.stderr, flush=True)
    finally:
        launcher.stop_all()
    return rounds, stream


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.peers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--receivers", type=int, default=10, help="processes of each kind at once (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each measuring every kind once (default 3)")
    parser.add_argument("--seconds", type=float, default=20.0,
                        help=f"each kind's measuring window in a round, after {SETTLE_S:g} s settling (default 20)")
    args = parser.parse_args()
    notes = {kind: f"skipped: {PROGRAMS[kind]} is not installed" for kind in KINDS if not shutil.which(PROGRAMS[kind])}
    with tempfile.TemporaryDirectory() as tmp:
        rounds, stream = run(args, Path(tmp), [kind for kind in KINDS if kind not in notes], notes)
    print(f"{args.receivers} receivers of each kind at once on one L16 stream ({stream.fmt.rate} Hz, "
          f"{stream.fmt.channels} channels) on loopback, {args.rounds} rounds of {args.seconds:g} s; per process, "
          f"the median over rounds (ratios: the median of the rounds' ours / theirs):\n")
    print(table(rounds, notes))
    return 1 if any(note.startswith("failed") for note in notes.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
