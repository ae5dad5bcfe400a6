"""The jitter buffer (sans-IO): samples held by stream timestamp until the sound card pulls them.

A ring of `capacity_samples` indexed by extended RTP timestamp, with a mask of which samples arrived. Packets are
written where their timestamp says, whatever order they come in; `read` takes the next samples from the play
position and leaves silence where nothing arrived. The window [position, position + capacity) is all it holds,
so memory is fixed whatever arrives.

A slot that holds no sample holds silence (zeros), or what a codec made up for a lost packet (stored as not
arrived): whatever empties a slot (a read, a seek) zeroes it, so that a read is a plain copy of the ring, not a
masked one, which cost most of a read.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import Enum

import numpy as np

from rtpwire.audio import PCM_DTYPE


class Write(Enum):
    STORED = "stored"
    LATE = "late"  # its samples were due before the play position
    TOO_FAR = "too far"  # outside the window: ahead, it would overwrite samples not played yet; a whole buffer
    #                      behind, it is no late packet of this stream but a stray one


class JitterBuffer:
    def __init__(self, capacity_samples: int, channels: int, position_ts: int = 0) -> None:
        self.capacity_samples = capacity_samples
        self._pcm = np.zeros((capacity_samples, channels), dtype=PCM_DTYPE)
        self._filled = np.zeros(capacity_samples, dtype=bool)
        self.position_ts = position_ts  # extended timestamp of the next sample to play
        self.end_ts = position_ts  # one past the last sample stored

    def _spans(self, ts: int, count: int) -> Iterator[tuple[int, int, int]]:
        """(ring start, ring end, offset into the data) for `count` samples from `ts`: at most two spans."""
        start = ts % self.capacity_samples
        first = min(count, self.capacity_samples - start)
        yield start, start + first, 0
        if first < count:
            yield 0, count - first, first

    def judge(self, ts: int, count: int) -> Write:
        """What writing `count` samples at `ts` would do, without doing it."""
        if ts + count > self.position_ts + self.capacity_samples or ts < self.position_ts - self.capacity_samples:
            return Write.TOO_FAR
        if ts < self.position_ts:
            return Write.LATE
        return Write.STORED

    def store(self, ts: int, pcm: np.ndarray, arrived: bool = True) -> None:
        """Writes samples that `judge` found STORED: judged once, by the caller, before anything else moved.
        Not `arrived`: a codec's concealment of a lost packet, read as samples missing, with this audio."""
        for start, end, offset in self._spans(ts, len(pcm)):
            self._pcm[start:end] = pcm[offset: offset + end - start]
            self._filled[start:end] = arrived
        if arrived:
            self.end_ts = max(self.end_ts, ts + len(pcm))

    def read(self, frames: int) -> tuple[np.ndarray, np.ndarray]:
        """The next `frames` samples (silence where none arrived) and the mask of those that did arrive."""
        out = np.empty((frames, self._pcm.shape[1]), dtype=PCM_DTYPE)
        filled = np.empty(frames, dtype=bool)
        for start, end, offset in self._spans(self.position_ts, frames):
            out[offset: offset + end - start] = self._pcm[start:end]
            filled[offset: offset + end - start] = self._filled[start:end]
            self._empty(start, end)
        self.position_ts += frames
        return out, filled

    def _empty(self, start: int, end: int) -> None:
        self._pcm[start:end] = 0
        self._filled[start:end] = False

    def seek(self, ts: int) -> None:
        """Move the play position, keeping what arrived for the new window and forgetting the rest.

        Ring slots between the old and the new position hold samples that fall outside the new window (played
        already, or stored for a position a whole ring ahead), so those are cleared, whichever way it moves.
        """
        distance = abs(ts - self.position_ts)
        if distance >= self.capacity_samples:
            self._empty(0, self.capacity_samples)
        else:
            for start, end, _ in self._spans(min(ts, self.position_ts), distance):
                self._empty(start, end)
        self.position_ts = ts
        self.end_ts = max(self.end_ts, ts)

    def filled_until(self, ts: int) -> int:
        """One past the last sample stored before `ts` (counting from the play position, which it returns if
        there is none): where a gap that ends at `ts` begins, whatever order the packets around it came in."""
        count = min(max(0, ts - self.position_ts), self.capacity_samples)
        filled = np.concatenate([self._filled[start:end] for start, end, _ in self._spans(self.position_ts, count)])
        stored = np.flatnonzero(filled)
        return self.position_ts + (int(stored[-1]) + 1 if len(stored) else 0)

    @property
    def buffered_samples(self) -> int:
        """Samples from the play position to the end of what arrived (holes included)."""
        return max(0, self.end_ts - self.position_ts)
