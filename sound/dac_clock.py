"""When a sound server plays each frame of a stream (sans-IO): a line fitted through its timing snapshots.

A PulseAudio playback stream answers a timing request with a snapshot: the server's time, how far its sink had
read the stream, and how long the sink takes to play what it read. Together they say when the stream's frame 0
played (or would have): `frame0_s`; frame n plays n / rate after it. No single snapshot is the answer, for two
reasons measured on null sinks (issue 6):

- the sink's clock is not the machine's: a null sink's runs 100-215 ppm off CLOCK_MONOTONIC, so `frame0_s` moves
  along a line, tens of microseconds a second: a line is fitted, not a mean;
- a snapshot is sometimes late (the server read its clock, then the stream's position a little later): its
  `frame0_s` comes out late by up to a millisecond or so, never early by more than a few tens of microseconds.
  Snapshots that took long to come back are the likeliest to be late.

So the last few seconds of snapshots are kept; those whose round trip was slow for this window are left out; a
line is fitted through the rest, then twice more through those near its lower edge. A snapshot far off the line
(with a prompt round trip) is an outlier, unless the next one agrees: then the stream's timing moved, and the
window starts afresh with the two.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

WINDOW_S = 3.0  # snapshots this recent are fitted: enough to see the drift, short enough to follow it
STEP_S = 0.002  # a snapshot this far off the line is an outlier, or a step once a second one agrees
MIN_SNAPSHOTS = 2  # fewer prompt snapshots than this since a (re)start: no estimate
LINE_SNAPSHOTS = 5  # a line is fitted through at least this many prompt snapshots...
LINE_SPAN_S = 0.5  # ...spanning this long; before, the earliest frame 0 stands, without drift
SLOW_FACTOR = 1.5  # a round trip this many times the window's median, and SLOW_MARGIN_S beyond it, is slow
SLOW_MARGIN_S = 100e-6
EDGE_S = 30e-6  # refits keep the snapshots at most this far above the median residual: the lower edge
EDGE_REFITS = 2


@dataclass(frozen=True)
class Snapshot:
    taken_s: float  # when the server took it, on this machine's monotonic clock
    frame0_s: float  # when the stream's frame 0 played, by this snapshot (monotonic)
    round_trip_s: float  # from the request to the answer


@dataclass(frozen=True)
class Line:
    """`frame0_s` as the fit has it at `at_s`, moving by `slope` seconds a second: the sink's clock against the
    machine's."""

    at_s: float
    frame0_s: float
    slope: float

    def frame0_at(self, t_s: float) -> float:
        return self.frame0_s + self.slope * (t_s - self.at_s)


class DacClock:
    """When each frame of one stream plays, from its timing snapshots as they come."""

    def __init__(self, rate: int, window_s: float = WINDOW_S, step_s: float = STEP_S,
                 min_snapshots: int = MIN_SNAPSHOTS) -> None:
        self.rate = rate
        self._window_s = window_s
        self._step_s = step_s
        self._min_snapshots = min_snapshots
        self._window: deque[Snapshot] = deque()
        self._suspect: Snapshot | None = None  # far off the line: a step if the next snapshot agrees
        self.line: Line | None = None
        self.restarts = 0  # steps seen: the window started afresh
        self.outliers = 0  # snapshots far off the line that the next one did not confirm

    def add(self, snapshot: Snapshot) -> None:
        if self.line is not None and not self._slow(snapshot) and \
                abs(snapshot.frame0_s - self.line.frame0_at(snapshot.taken_s)) > self._step_s:
            if self._suspect is None:
                self._suspect = snapshot
                return
            self._window.clear()
            self._window.append(self._suspect)
            self.restarts += 1
        elif self._suspect is not None:
            self.outliers += 1
        self._suspect = None
        self._window.append(snapshot)
        while self._window[0].taken_s < snapshot.taken_s - self._window_s:
            self._window.popleft()
        self.line = self._fit()

    def frame_time_s(self, frame: int) -> float | None:
        """When the stream's frame `frame` plays (monotonic seconds), None until enough snapshots came. The line is
        read where the frame plays, not now: T = frame0(T) + frame / rate."""
        line = self.line
        if line is None:
            return None
        return line.at_s + (line.frame0_s - line.at_s + frame / self.rate) / (1.0 - line.slope)

    def _slow_limit_s(self) -> float:
        median_s = float(np.median([s.round_trip_s for s in self._window])) if self._window else float("inf")
        return max(SLOW_FACTOR * median_s, median_s + SLOW_MARGIN_S)

    def _slow(self, snapshot: Snapshot) -> bool:
        return snapshot.round_trip_s > self._slow_limit_s()

    def _fit(self) -> Line | None:
        limit_s = self._slow_limit_s()
        prompt = [s for s in self._window if s.round_trip_s <= limit_s]
        if len(prompt) < self._min_snapshots:
            return None
        at_s = prompt[-1].taken_s
        x = np.array([s.taken_s for s in prompt]) - at_s
        y = np.array([s.frame0_s for s in prompt]) - at_s  # no large monotonic times: a well-conditioned fit
        if len(prompt) < LINE_SNAPSHOTS or x[-1] - x[0] < LINE_SPAN_S:
            return Line(at_s, at_s + float(y.min()), 0.0)
        slope, intercept = np.polyfit(x, y, 1)
        for _ in range(EDGE_REFITS):
            residual_s = y - (slope * x + intercept)
            edge = residual_s <= np.median(residual_s) + EDGE_S
            if np.count_nonzero(edge) < LINE_SNAPSHOTS:
                break
            slope, intercept = np.polyfit(x[edge], y[edge], 1)
        return Line(at_s, at_s + float(intercept), float(slope))
