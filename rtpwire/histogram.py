"""Bounded-memory percentiles for timing figures (send error, latency), however long a run lasts."""

from __future__ import annotations


class Histogram:
    """Counts values in fixed bins of `resolution_s`; values beyond `limit_s` land in the last bin."""

    def __init__(self, resolution_s: float = 10e-6, limit_s: float = 1.0) -> None:
        self.resolution_s = resolution_s
        self._counts = [0] * (int(limit_s / resolution_s) + 1)
        self.count = 0
        self.total_s = 0.0
        self.max_s = 0.0

    def add(self, value_s: float) -> None:
        value_s = max(value_s, 0.0)
        self._counts[min(int(value_s / self.resolution_s), len(self._counts) - 1)] += 1
        self.count += 1
        self.total_s += value_s
        self.max_s = max(self.max_s, value_s)

    def percentile(self, fraction: float) -> float:
        """Upper edge of the bin holding the `fraction` quantile (0 when empty)."""
        if not self.count:
            return 0.0
        rank = fraction * self.count
        seen = 0
        for index, n in enumerate(self._counts):
            seen += n
            if seen >= rank and n:
                return (index + 1) * self.resolution_s
        return self.max_s

    @property
    def mean_s(self) -> float:
        return self.total_s / self.count if self.count else 0.0
