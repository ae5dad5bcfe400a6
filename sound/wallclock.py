"""The wall clock's offset from the monotonic clock, read precisely.

Station times travel as wall-clock time (sender reports, the time service); each program maps them onto its
monotonic clock through one offset read when it starts. Two separate reads can be split by a preemption, which
on a busy machine puts the offset off by a millisecond or more, and with it every sample scheduled through it:
listeners would be out of step by that much. So the wall clock is read between two monotonic readings, several
times, and the tightest bracket is kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable


def wall_minus_monotonic_s(tries: int = 9, wall: Callable[[], float] = time.time,
                           monotonic: Callable[[], float] = time.monotonic) -> float:
    """The wall clock minus the monotonic clock, from the reading least disturbed of `tries`."""
    best_gap_s, best_offset_s = float("inf"), 0.0
    for _ in range(tries):
        before_s = monotonic()
        wall_s = wall()
        after_s = monotonic()
        if after_s - before_s < best_gap_s:
            best_gap_s, best_offset_s = after_s - before_s, wall_s - (before_s + after_s) / 2
    return best_offset_s
