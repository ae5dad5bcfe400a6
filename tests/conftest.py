"""Fixtures for end-to-end tests: real `python -m station` / `listener` / `relay` processes on loopback.

Every process is started with a timeout and stopped by its own PID when the test ends, whatever happened.
Each test gets its own random group and port so tests (and a station a developer left running) never mix.
A failed test's report ends with what each of its processes printed; a process that crashes prints its threads'
tracebacks there (faulthandler).

Every test that uses `launcher` is marked e2e here, whether or not it says so, and so is every test marked slow:
`pytest -m "not e2e"`, the fast part, leaves both out. Tests that start other programs (PulseAudio, ffmpeg, tmux,
the throughput batch) without `launcher` carry the mark themselves.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import wave
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


@dataclass
class Proc:
    popen: subprocess.Popen[str]
    stdout_path: Path
    stderr_path: Path

    def stdout(self) -> str:
        return self.stdout_path.read_text()

    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def wait_for(self, text: str, timeout_s: float = 15.0, stream: str = "stderr") -> None:
        """Wait (bounded) until the process has printed `text`."""
        read = self.stderr if stream == "stderr" else self.stdout
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if text in read():
                return
            if self.popen.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not printed within {timeout_s} s; stdout:\n{self.stdout()}\n"
                             f"stderr:\n{self.stderr()}")

    def send(self, line: str) -> None:
        assert self.popen.stdin is not None
        self.popen.stdin.write(line + "\n")
        self.popen.stdin.flush()

    def stop(self, timeout_s: float = 10.0) -> int:
        """SIGTERM, then wait; the exit status."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        return self.popen.wait(timeout_s)


def _random_address(rng: random.Random) -> tuple[str, int]:
    """A group in the local scope and an even port (RTCP on the next), unlikely to be anyone else's."""
    return f"239.255.{rng.randrange(1, 255)}.{rng.randrange(1, 255)}", rng.randrange(20000, 60000, 2)


@dataclass
class Launcher:
    tmp_path: Path
    group: str
    port: int
    rng: random.Random
    procs: list[Proc] = field(default_factory=list)
    _taken: set[str] = field(default_factory=set)

    def another_address(self) -> tuple[str, int]:
        """A group (different from the test's and from every other one given) and a port, for what a relay sends:
        `start(..., group=, port=)` puts a relay's output or a listener behind it there."""
        self._taken.add(self.group)
        while (address := _random_address(self.rng))[0] in self._taken:
            pass
        self._taken.add(address[0])
        return address

    def start(self, module: str, *args: str, stdin: bool = False, env: dict[str, str] | None = None,
              group: str | None = None, port: int | None = None, on_group: bool = True,
              prefix: tuple[str, ...] = ()) -> Proc:
        """`python -m module` on the test's group and port, or on `group` and `port` when given; with `on_group`
        False, on none (a listener finding its stream in an SDP file or by a station's name). `prefix` runs it
        through another command (setpriv)."""
        name = f"{module}-{len(self.procs)}"
        out, err = self.tmp_path / f"{name}.out", self.tmp_path / f"{name}.err"
        env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONFAULTHANDLER="1", **(env or {}))
        where = ["--group", group or self.group, "--port", str(port or self.port)] if on_group else []
        popen = subprocess.Popen(
            [*prefix, sys.executable, "-m", module, *where, "--interface", "127.0.0.1", *args],
            cwd=ROOT, env=env, text=True, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=out.open("w"), stderr=err.open("w"))
        proc = Proc(popen, out, err)
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.popen.poll() is None:
                proc.popen.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.popen.wait(5)
            except subprocess.TimeoutExpired:
                proc.popen.kill()
                proc.popen.wait(5)

    def report(self) -> str:
        """What every process printed, and how it ended: for the report of a failed test."""
        parts = []
        for proc in self.procs:
            name = proc.stdout_path.stem
            parts.append(f"--- {name}: {' '.join(proc.popen.args)} (exit status {proc.popen.poll()})\n"
                         f"stdout:\n{proc.stdout()}stderr:\n{proc.stderr()}")
        return "\n".join(parts)


@pytest.fixture
def launcher(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Launcher]:
    rng = random.Random()
    launch = Launcher(tmp_path, *_random_address(rng), rng)
    request.node.launcher = launch  # for pytest_runtest_makereport
    try:
        yield launch
    finally:
        launch.stop_all()


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Marks e2e what the fast part leaves out (see above). In an xdist worker (`make test`), the long tests go
    first: with --dist worksteal, a worker done early takes over tests queued for the other, so the run ends on
    short tests instead of one worker idling while the other finishes a half-minute one."""
    for item in items:
        if "launcher" in getattr(item, "fixturenames", ()) or item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.e2e)
    if hasattr(config, "workerinput"):
        items.sort(key=lambda item: not _long(item))  # stable: the same order in every worker, as xdist requires


def _long(item: pytest.Item) -> bool:
    """Marked slow, or a Hypothesis test (thousands of examples in `make test`)."""
    hypothesis_test = getattr(getattr(item, "obj", None), "is_hypothesis_test", False)
    return hypothesis_test or item.get_closest_marker("slow") is not None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    launch = getattr(item, "launcher", None)
    if report.failed and launch is not None and launch.procs:
        report.sections.append(("processes", launch.report()))


def wait_until(condition: Callable[[], T], what: str, timeout_s: float = 20.0) -> T:
    """Polls `condition` until it gives something true, and returns that; AssertionError, naming `what`, if it
    has not within `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(0.05)
    return result


def noise_pcm(seconds: float, seed: int = 1, rate: int = 44100) -> np.ndarray:
    """Stereo noise never silent in channel 0, so silence in a recording is unambiguous."""
    rng = np.random.default_rng(seed)
    pcm = rng.integers(-20000, 20000, size=(round(seconds * rate), 2), dtype=np.int16)
    pcm[pcm[:, 0] == 0, 0] = 1
    return pcm


def write_wav(path: Path, pcm: np.ndarray, rate: int = 44100) -> Path:
    with wave.open(str(path), "wb") as f:
        f.setnchannels(pcm.shape[1])
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(pcm.astype("<i2").tobytes())
    return path


def sparse_wav(path: Path, size_bytes: int, rate: int = 44100, channels: int = 2) -> Path:
    """A WAV file whose header says it holds `size_bytes` of samples, all of them a hole in the file (sparse):
    a huge file that costs no disk, for what must refuse it before reading it."""
    header = bytearray(write_wav(path, np.zeros((0, channels), dtype=np.int16), rate).read_bytes()[:44])
    header[4:8] = (size_bytes - 8).to_bytes(4, "little")
    header[40:44] = (size_bytes - 44).to_bytes(4, "little")
    with path.open("wb") as f:
        f.write(header)
        f.truncate(size_bytes)
    return path


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as f:
        data = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2")
        return data.reshape(-1, f.getnchannels())
