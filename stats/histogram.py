"""Bounded-memory percentiles for timing figures (send error, latency), however long a run lasts."""

from __future__ import annotations

import copy
from collections.abc import Mapping

import numpy as np


class Histogram:
    """Counts values in fixed bins of `resolution_s`; values beyond `limit_s` land in the last bin.

    The bins are a numpy array, so that percentiles and snapshots (`bins`) take microseconds, not a Python loop
    over a hundred thousand bins: the station reads them from another thread than its pacing one, which waits
    for the interpreter's lock meanwhile."""

    def __init__(self, resolution_s: float = 10e-6, limit_s: float = 1.0) -> None:
        self.resolution_s = resolution_s
        self._counts = np.zeros(int(limit_s / resolution_s) + 1, dtype=np.int64)
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
        if rank <= 0:
            index = int(np.flatnonzero(self._counts)[0])
        else:  # the first bin where the running count reaches the rank: a bin that holds values
            index = int(np.searchsorted(np.cumsum(self._counts), rank))
        return (index + 1) * self.resolution_s if index < len(self._counts) else self.max_s

    def bins(self) -> dict[int, int]:
        """The bins holding values, by index: what a snapshot of the figures keeps, so that the figures of a span
        of time are the difference of the snapshots at its ends (`from_bins`)."""
        indices = np.flatnonzero(self._counts)
        return dict(zip(indices.tolist(), self._counts[indices].tolist()))

    def copy(self) -> Histogram:
        """The histogram as it is now, for figures taken while values go on being added."""
        twin = copy.copy(self)
        twin._counts = self._counts.copy()
        return twin

    @classmethod
    def from_bins(cls, bins: Mapping[int, int], resolution_s: float = 10e-6, limit_s: float = 1.0) -> Histogram:
        """A histogram of the values `bins` counts, each taken as its bin's upper edge for the mean and the
        maximum: the percentiles are exactly those of the values counted."""
        histogram = cls(resolution_s, limit_s)
        for index, n in bins.items():
            if n:
                histogram._counts[index] += n
                histogram.count += n
                histogram.total_s += n * (index + 1) * resolution_s
                histogram.max_s = max(histogram.max_s, (index + 1) * resolution_s)
        return histogram

    @property
    def mean_s(self) -> float:
        return self.total_s / self.count if self.count else 0.0
