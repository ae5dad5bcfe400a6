"""`--stats-json FILE`, as the station and the listener share it: the figures at exit, and also whenever SIGUSR1
asks, at once, the program going on.

The snapshots are for measurements: the throughput batch takes the figures of exactly its window, the difference
of the snapshots at its ends, from programs it started long before. Each file is written whole under another name
and then renamed over FILE, so that a reader never sees half of one.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import FrameType

Figures = Callable[[float], Mapping[str, object]]  # the figures as they are at a monotonic time, now or just past


class StatsFile:
    def __init__(self, path: Path | None, figures: Figures) -> None:
        """`figures(now)` reads the program's figures as of `now`; without a `path` nothing is ever written."""
        self._path = path
        self._figures = figures
        self._asked = threading.Event()

    def ask(self, _signum: int, _frame: FrameType | None) -> None:
        """A SIGUSR1 handler for a program with a loop: notes the request, which the loop's next round writes
        (`write_if_asked`), in the loop's own thread."""
        self._asked.set()

    def write_if_asked(self, now: float) -> None:
        """`now`: when what the figures count was last brought up to date (a loop that drains its sockets, then
        writes, says when it drained: a snapshot is then exact even if the loop was held up in between)."""
        if self._asked.is_set():
            self._asked.clear()
            self.write(now)

    def write_soon(self, _signum: int, _frame: FrameType | None) -> None:
        """A SIGUSR1 handler for a program whose main thread may be busy, or hold a lock the figures need: writes
        from a thread of its own."""
        threading.Thread(target=lambda: self.write(time.monotonic()), name="stats snapshot", daemon=True).start()

    def write(self, now: float, extra: Mapping[str, object] | None = None) -> None:
        """The figures as of `now`, and `extra` (what only the end of a run knows), to the file."""
        if self._path is None:
            return
        figures = dict(self._figures(now)) | dict(extra or {})
        partial = self._path.with_name(f".{self._path.name}.{os.getpid()}.{threading.get_ident()}")
        partial.write_text(json.dumps(figures, indent=2) + "\n")
        os.replace(partial, self._path)
