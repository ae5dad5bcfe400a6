"""Clock drift compensation (sans-IO): keep a buffer at its target when two sample clocks disagree.

A sound card plays (or a microphone records) at its own crystal's rate, never exactly the station's: 100 ppm apart
is 0.36 s an hour, so a buffer left alone empties or overflows. Each read measures how far the buffer is from
its target; a proportional-integral loop turns that error into a correction rate, whose integral part converges
on the drift itself (the measured figure). The rate is carried out by repeating or dropping single samples at the
quietest points of the block: a sample at 44.1 kHz is 23 µs, inaudible where the signal is near silence, unlike
the jump of a resync. Both the listener (card against station) and the station (microphone against its own
pacing) use it.
"""

from __future__ import annotations

import functools
import math

import numpy as np

MAX_CORRECTION = 2000e-6  # beyond any real crystal (±100 ppm typical): a larger error is a fault, resynced


class DriftCompensator:
    def __init__(self, rate: int, deadband_s: float = 0.002, response_s: float = 2.0, learning_s: float = 120.0,
                 smoothing_s: float = 0.5, max_correction: float = MAX_CORRECTION) -> None:
        """`deadband_s`: errors smaller than this are measurement noise, not drift, so identical clocks never
        correct (a sound card's timing reports through a sound server wander by a millisecond or two; correcting
        them would only shift the audio for nothing); `response_s`: how fast an error is taken back;
        `learning_s`: how slowly the drift is learnt, so that a one-off step of the error (a new clock mapping)
        hardly moves it; `smoothing_s`: averaging of the raw error, whose jitter (scheduling, the card's timing
        reports) would otherwise churn corrections; `max_correction`: the fastest correction, a fraction of the
        rate (beyond it an error is a fault, for a resync to take back)."""
        self.rate = rate
        self.deadband_s = deadband_s
        self._gain = 1.0 / response_s
        self._integral_gain = 1.0 / (response_s * learning_s)
        self._smoothing_s = smoothing_s
        self._max = max_correction
        self._smoothed_s = 0.0
        self.drift = 0.0  # fraction the reader runs fast (+) or slow (-) against the writer: the measured drift
        self._owed = 0.0  # samples the correction rate asked for and not yet carried out
        self.samples_inserted = 0
        self.samples_dropped = 0

    @property
    def drift_ppm(self) -> float:
        return self.drift * 1e6

    @property
    def smoothed_error_s(self) -> float:
        return self._smoothed_s

    def take(self, error_samples: float, frames: int) -> int:
        """How many samples to take from the buffer to produce `frames`: `error_samples` is how far the reader
        is ahead of its target (positive: the reader runs fast, so samples are repeated and fewer taken)."""
        dt_s = frames / self.rate
        self._smoothed_s += min(1.0, dt_s / self._smoothing_s) * (error_samples / self.rate - self._smoothed_s)
        excess_s = math.copysign(max(0.0, abs(self._smoothed_s) - self.deadband_s), self._smoothed_s)
        correction = self.drift + self._gain * excess_s
        if abs(correction) < self._max:  # a step being taken back at full speed is not drift: learn nothing
            self.drift = self._clamp(self.drift + self._integral_gain * excess_s * dt_s)
            correction = self.drift + self._gain * excess_s
        self._owed += self._clamp(correction) * frames
        whole = int(self._owed)  # toward zero: a fraction of a sample waits for the next read
        self._owed -= whole
        if whole > 0:
            self.samples_inserted += whole
        else:
            self.samples_dropped -= whole
        return frames - whole

    def restart(self) -> None:
        """After a jump of the buffer (a resync, a new source): the old error is gone, the clocks' drift is not."""
        self._smoothed_s = 0.0
        self._owed = 0.0

    def _clamp(self, fraction: float) -> float:
        return max(-self._max, min(self._max, fraction))


def fit(pcm: np.ndarray, frames: int) -> np.ndarray:
    """`pcm` made exactly `frames` long by repeating or dropping its quietest samples, one at a time."""
    surplus = len(pcm) - frames
    if surplus == 0:
        return pcm
    count = abs(surplus)
    if count >= len(pcm):  # nothing to choose from: not a drift correction but a buffer that is (nearly) empty
        return np.resize(pcm, (frames, pcm.shape[1])) if len(pcm) else np.zeros((frames, pcm.shape[1]), pcm.dtype)
    # Channel by channel: max(axis=1), a reduction over each row of two samples, is four times as slow.
    loudness = functools.reduce(np.maximum, np.abs(pcm.astype(np.int32)).T)
    quietest = np.sort(np.argpartition(loudness, count - 1)[:count])
    if surplus > 0:
        return np.delete(pcm, quietest, axis=0)
    repeats = np.ones(len(pcm), dtype=np.intp)  # each quietest sample twice: what np.insert does, at half its cost
    repeats[quietest] = 2
    return np.repeat(pcm, repeats, axis=0)
