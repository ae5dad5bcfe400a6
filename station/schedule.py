"""When each packet is due (sans-IO): absolute deadlines on the monotonic clock, so pacing never drifts.

Slot k covers stream samples [k * samples_per_packet, (k+1) * samples_per_packet) and is due at
start_s + k * samples_per_packet / rate. Deadlines are computed from k, never accumulated, so no rounding
error builds up however long the station runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass


def _latest_not_after(now: float, estimate: float, time_of: Callable[[int], float]) -> int:
    """The largest integer n with time_of(n) <= now, starting from an estimate of it.

    Float rounding can put `estimate` a hair below a whole number even at an exact deadline (more so as the
    monotonic clock grows), so the floor is corrected against the very expression that computes deadlines.
    """
    n = math.floor(estimate)
    while time_of(n + 1) <= now:
        n += 1
    while time_of(n) > now:
        n -= 1
    return n


@dataclass(frozen=True)
class Schedule:
    start_s: float  # monotonic time of slot 0
    rate: int
    samples_per_packet: int

    def deadline_s(self, slot: int) -> float:
        return self.start_s + slot * self.samples_per_packet / self.rate

    def stream_ts(self, slot: int) -> int:
        return slot * self.samples_per_packet

    def time_s(self, stream_ts: int) -> float:
        """The monotonic time of stream position `stream_ts`."""
        return self.start_s + stream_ts / self.rate

    def stream_ts_at(self, now: float) -> int:
        """Stream position (samples) the station's clock shows at monotonic time `now`."""
        return _latest_not_after(now, (now - self.start_s) * self.rate, self.time_s)

    def slot_at(self, now: float) -> int:
        """The slot whose deadline is the latest one not after `now`."""
        return max(0, _latest_not_after(now, (now - self.start_s) * self.rate / self.samples_per_packet,
                                        self.deadline_s))
