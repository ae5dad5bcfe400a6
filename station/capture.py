"""What a capture device recorded, waiting for the station's clock to send it (sans-IO).

The microphone writes at its own clock, in blocks of its own size; the station reads a packet's worth at each of
its own deadlines. A small backlog (`target_s`) absorbs the blocks' granularity, and the two clocks' drift is
compensated sample by sample so the backlog stays there. Drift is judged on the backlog's upper percentile over the
last second, not on each read's: a sound server delivers blocks in bursts, late by tens of milliseconds, and
correcting for that lateness would only smear the audio (samples repeated in the middle of a note). A read always
returns exactly the frames asked for: an empty backlog gives silence, counted, and the backlog fills up to its
target again before it is read, so one late block costs one gap, not a stutter.
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from collections import deque
from dataclasses import dataclass

import numpy as np

from rtpwire.audio import AudioFormat
from sound.drift import DriftCompensator, fit

LEVEL_PERCENTILE = 90.0


@dataclass(frozen=True)
class CaptureFigures:
    """How the capture device has kept up with the station's clock, for STATUS and --stats-json."""

    underruns: int  # times the backlog ran out: a gap of silence each
    samples_missing: int  # the silence those gaps were made of
    samples_discarded: int  # dropped at once when the reader stalled and the backlog overflowed
    samples_inserted: int  # repeated one at a time: the device runs slower than the station
    samples_dropped: int  # skipped one at a time: the device runs faster
    drift_ppm: float  # how much faster (+) the station reads than the device records


class RecentBacklogs:
    """The backlogs that the reads of the last `window_samples` found, in the order they came and in order of size.

    Their percentile is wanted at every read: np.percentile copies and partitions a fresh array each time, and
    its overhead was four fifths of a read's cost (a ten-minute simulation spent most of its time there). Kept in
    order of size as reads come and go, the percentile is a lookup, computed as np.percentile's default (linear)
    method computes it, to the bit, so the corrections made are the same."""

    def __init__(self, window_samples: int) -> None:
        self._window_samples = window_samples
        self._reads: deque[tuple[int, int]] = deque()  # (samples_read, backlog), oldest first
        self._sorted: list[int] = []  # the same backlogs, smallest first

    def add(self, samples_read: int, backlog: int) -> None:
        self._reads.append((samples_read, backlog))
        insort(self._sorted, backlog)
        while self._reads[0][0] <= samples_read - self._window_samples:
            _, gone = self._reads.popleft()
            del self._sorted[bisect_left(self._sorted, gone)]

    def clear(self) -> None:
        self._reads.clear()
        self._sorted.clear()

    def percentile(self, percent: float) -> float:
        """np.percentile(backlogs, percent): the two backlogs either side of the fractional position, blended
        from the nearer one as numpy's _lerp does (the same operations, so the same rounding)."""
        values = self._sorted
        position = (len(values) - 1) * (percent / 100)
        below = math.floor(position)
        if below >= len(values) - 1:
            return float(values[-1])
        low, high = values[below], values[below + 1]
        fraction = position - below
        if fraction >= 0.5:
            return high - (high - low) * (1 - fraction)
        return low + (high - low) * fraction


class CaptureBuffer:
    def __init__(self, fmt: AudioFormat, target_s: float = 0.05, capacity_s: float = 1.0,
                 patience_s: float = 5.0, deadband_s: float = 0.01, window_s: float = 1.0) -> None:
        """`patience_s`: how long a device may deliver nothing before it counts as stalled (PulseAudio may take
        a second or two to start a new capture stream); `deadband_s`: the backlog's own swing, blocks in and
        packets out of different sizes, is not drift; `window_s`: the reads whose backlog drift is judged on."""
        self.fmt = fmt
        self.target_samples = fmt.samples_for(target_s)
        self.capacity_samples = fmt.samples_for(capacity_s)
        self._patience_samples = fmt.samples_for(patience_s)
        self._blocks: deque[np.ndarray] = deque()  # appended by the capture thread, popped by the reader
        self._pushed = 0  # written by the capture thread only
        self._taken = 0  # written by the reader only
        self._primed = False
        self._pushed_seen = 0  # what had been pushed at the previous read
        self._starved = 0  # samples read in a row while nothing was captured
        self._recent = RecentBacklogs(fmt.samples_for(window_s))
        self.drift = DriftCompensator(fmt.rate, deadband_s=deadband_s)
        self.underruns = 0
        self.samples_missing = 0
        self.samples_discarded = 0
        self.samples_read = 0  # what read() returned, silence included: how long the source has been on

    def push(self, pcm: np.ndarray) -> None:
        """A block the device recorded, (frames, channels) int16. Called from the capture thread: it only
        appends, so it never waits on the reader."""
        self._blocks.append(pcm)
        self._pushed += len(pcm)

    @property
    def level_samples(self) -> int:
        return self._pushed - self._taken

    @property
    def stalled(self) -> bool:
        """Reads have found nothing captured for `patience_s`: the device stopped delivering."""
        return self._starved >= self._patience_samples

    def read(self, frames: int) -> np.ndarray:
        """Exactly `frames` samples of what was captured, oldest first; silence while priming or starved."""
        self.samples_read += frames
        pushed = self._pushed
        self._starved = 0 if pushed != self._pushed_seen else self._starved + frames
        self._pushed_seen = pushed
        level = self.level_samples
        if level > self.capacity_samples:  # the reader stalled: drop the oldest, back to a live backlog
            self._discard(level - self.target_samples)
            self.drift.restart()
            self._recent.clear()
            level = self.level_samples
        if not self._primed:
            if level < self.target_samples:
                return self.fmt.silence(frames)
            self._primed = True
            self._recent.clear()
        wanted = self.drift.take(self.target_samples - self._judged_level(level), frames)
        pcm = self._take(wanted)
        if len(pcm) < wanted:
            self.underruns += 1
            self.samples_missing += wanted - len(pcm)
            self._primed = False
            pcm = np.concatenate([pcm, self.fmt.silence(wanted - len(pcm))])
        return fit(pcm, frames)

    def figures(self) -> CaptureFigures:
        return CaptureFigures(self.underruns, self.samples_missing, self.samples_discarded,
                              self.drift.samples_inserted, self.drift.samples_dropped, self.drift.drift_ppm)

    def _judged_level(self, level: int) -> float:
        """The backlog as drift correction sees it: its LEVEL_PERCENTILE over the window. A block delivered late
        lowers the backlog for a few reads, a reader running late raises it for one: neither is drift, and the
        first is common, so a percentile near the top leaves out both; drift moves the whole window."""
        self._recent.add(self.samples_read, level)
        return self._recent.percentile(LEVEL_PERCENTILE)

    def _take(self, count: int) -> np.ndarray:
        parts = []
        while count > 0 and self._blocks:
            block = self._blocks[0]
            if len(block) <= count:
                self._blocks.popleft()
            else:
                self._blocks[0] = block[count:]
                block = block[:count]
            parts.append(block)
            count -= len(block)
            self._taken += len(block)
        return np.concatenate(parts) if parts else self.fmt.silence(0)

    def _discard(self, count: int) -> None:
        self.samples_discarded += len(self._take(count))
