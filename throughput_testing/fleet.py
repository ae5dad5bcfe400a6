"""The batch's processes: its station (unless it measures one already running) and its listeners, started, asked
for snapshots of their figures (SIGUSR1, `--stats-json`), measured (CPU, memory), and stopped by their own PIDs.

Every process runs in a session of its own, so that Ctrl-C at the terminal reaches the batch alone, which stops
them; if the batch itself is killed, the kernel stops them (setpriv's parent-death signal). Every wait is bounded.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from station.coding import L16_FRAME_MS, OPUS_FRAME_MS
from throughput_testing.figures import Snapshot

ROOT = Path(__file__).resolve().parent.parent
POLL_S = 0.05
STARTING_AT_ONCE = 4  # listeners starting together: Python's start is CPU-bound; more only slows each of them
LISTENER_START_TIMEOUT_S = 60.0  # from its launch to "listening on", on a loaded machine
STATION_START_TIMEOUT_S = 30.0  # to "now playing": the first track decoded
STOP_TIMEOUT_S = 10.0  # after SIGTERM, before SIGKILL
LISTENING = "listening on"
PLAYING = "| playing |"
NOW_PLAYING = "now playing"


class FleetError(Exception):
    """The batch cannot go on: its station did not start, or stopped."""


def _guarded() -> list[str]:
    """The command prefix that has the kernel send SIGTERM to a child when the batch dies (util-linux's setpriv;
    nothing where it is missing)."""
    return ["setpriv", "--pdeathsig", "TERM"] if shutil.which("setpriv") else []


@dataclass(eq=False)
class Child:
    """One process the batch started: `python -m module`, its output in `log_path`, its figures in `stats_path`."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    stats_path: Path
    started_s: float = field(default_factory=time.monotonic)

    @classmethod
    def start(cls, name: str, module: str, args: Sequence[str], workdir: Path) -> Child:
        log_path, stats_path = workdir / f"{name}.log", workdir / f"{name}.json"
        with log_path.open("wb") as log:
            command = [*_guarded(), sys.executable, "-m", module, *args, "--stats-json", str(stats_path)]
            popen = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))
        return cls(name, popen, log_path, stats_path)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def printed(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def why_gone(self) -> str:
        lines = self.printed().strip().splitlines()
        return f"exited with status {self.popen.returncode}" + (f": {lines[-1]}" if lines else "")

    def stats_identity(self) -> tuple[int, int] | None:
        """Which version of the stats file is there (each snapshot is a new file renamed over it)."""
        try:
            stat = self.stats_path.stat()
        except FileNotFoundError:
            return None
        return stat.st_ino, stat.st_mtime_ns

    def stop(self) -> None:
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)

    def wait_stopped(self) -> None:
        try:
            self.popen.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(STOP_TIMEOUT_S)


class Fleet:
    """The station and listeners of a batch on `group:port` via `interface`; their files go to `workdir`."""

    def __init__(self, workdir: Path, group: str, port: int, interface: str, codec: str = "l16",
                 fec: tuple[int, int] | None = None) -> None:
        """`codec`, `fec`: what its own station sends (`--codec`, `--fec`), at the codec's default packet."""
        self.workdir = workdir
        self.network = ["--group", group, "--port", str(port), "--interface", interface]
        self.coding = ["--codec", codec] + ([] if fec is None else ["--fec", f"{fec[0]},{fec[1]}"])
        self.packets_per_s = 1000 / (OPUS_FRAME_MS if codec == "opus" else L16_FRAME_MS)
        self.sdp = workdir / "station.sdp"  # its own station's description, which its listeners join by
        self.joining = self.network  # how listeners find the stream: the SDP once its own station wrote it
        self.station: Child | None = None
        self.listeners: list[Child] = []  # running and listening
        self.starting: list[Child] = []  # started, not listening yet
        self._started = 0  # listeners ever started: names them, from 1

    def start_station(self, media: Sequence[Path]) -> str:
        """Start a station on the media and wait until it plays; what it said on stderr (a note on its pacing)."""
        self.station = Child.start("station", "station",
                                   [*map(str, media), *self.network, *self.coding, "--sdp", str(self.sdp)],
                                   self.workdir)
        self.joining = [str(self.sdp), *self.network[-2:]]  # the description; the interface to join on
        deadline = time.monotonic() + STATION_START_TIMEOUT_S
        while NOW_PLAYING not in (printed := self.station.printed()):
            if not self.station.alive():
                raise FleetError(f"the station {self.station.why_gone()}")
            if time.monotonic() > deadline:
                raise FleetError(f"the station did not start playing within {STATION_START_TIMEOUT_S:g} s")
            time.sleep(POLL_S)
        return "\n".join(line for line in printed.splitlines() if line.startswith("station: "))

    def check_station(self) -> None:
        if self.station is not None and not self.station.alive():
            raise FleetError(f"the station {self.station.why_gone()}")

    def resize(self, count: int, on_started: Callable[[], None]) -> list[tuple[int, str]]:
        """Have `count` listeners running and listening: stop the ones beyond it (the latest), start the ones
        missing, a few at a time, `on_started` called as each starts listening. Those that did not, and why,
        by client number (from 1, the order of start)."""
        for child in self.listeners[count:]:
            child.stop()
        for child in self.listeners[count:]:
            child.wait_stopped()
        self.listeners = [child for child in self.listeners[:count] if child.alive()]
        failed: list[tuple[int, str]] = []
        to_start = count - len(self.listeners)
        while to_start or self.starting:
            while to_start and len(self.starting) < STARTING_AT_ONCE:
                self._started += 1
                self.starting.append(Child.start(f"listener-{self._started}", "listener",
                                                 [*self.joining, "--output", "null"], self.workdir))
                to_start -= 1
            time.sleep(POLL_S)
            for child in list(self.starting):
                if LISTENING in child.printed():
                    self.starting.remove(child)
                    self.listeners.append(child)
                    on_started()
                elif not child.alive() or time.monotonic() - child.started_s > LISTENER_START_TIMEOUT_S:
                    self.starting.remove(child)
                    failed.append((client_number(child), child.why_gone() if not child.alive()
                                   else f"not listening within {LISTENER_START_TIMEOUT_S:g} s"))
                    child.stop()
                    child.wait_stopped()
        return failed

    def wait_playing(self, timeout_s: float) -> None:
        """Until every listener plays, or `timeout_s` (those that do not then show it in their figures)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not all(PLAYING in c.printed() for c in self.listeners if c.alive()):
            time.sleep(POLL_S)

    def children(self) -> list[Child]:
        return ([self.station] if self.station is not None else []) + self.listeners

    def snapshot(self, children: Sequence[Child], timeout_s: float) -> dict[Child, Snapshot | str]:
        """Ask each child for its figures now (SIGUSR1) and read them; for one that does not answer within
        `timeout_s`, why not."""
        before = {child: child.stats_identity() for child in children}
        for child in children:
            if child.alive():
                child.popen.send_signal(signal.SIGUSR1)
        answers: dict[Child, Snapshot | str] = {}
        deadline = time.monotonic() + timeout_s
        while True:
            for child in children:
                if child in answers:
                    continue
                if child.stats_identity() != before[child]:
                    answers[child] = json.loads(child.stats_path.read_text())
                elif not child.alive():
                    answers[child] = child.why_gone()
                elif time.monotonic() > deadline:
                    answers[child] = f"no figures within {timeout_s:g} s of asking"
            if len(answers) == len(children):
                return answers
            time.sleep(POLL_S)

    def stop_all(self) -> None:
        """Listeners first, then the station; each by its PID, killed if it does not stop in time."""
        listeners = self.listeners + self.starting
        for child in listeners:
            child.stop()
        for child in listeners:
            child.wait_stopped()
        self.listeners, self.starting = [], []
        if self.station is not None:
            self.station.stop()
            self.station.wait_stopped()


def client_number(child: Child) -> int:
    return int(child.name.rpartition("-")[2])


def cpu_seconds(child: Child, descendants: bool = False) -> dict[int, float]:
    """CPU time used so far by the child, by PID, and with `descendants` by the processes it started (a station's
    decoder; finding them reads every process on the machine, which for each of 200 listeners would take the
    batch tens of seconds on a saturated machine); empty if it is gone."""
    try:
        process = psutil.Process(child.pid)
        processes = [process, *(process.children(recursive=True) if descendants else [])]
    except psutil.NoSuchProcess:
        return {}
    used: dict[int, float] = {}
    for p in processes:
        try:
            times = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        used[p.pid] = times.user + times.system
    return used


def rss_bytes(child: Child) -> int:
    try:
        return psutil.Process(child.pid).memory_info().rss
    except psutil.NoSuchProcess:
        return 0
