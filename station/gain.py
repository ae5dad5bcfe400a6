"""The station's volume (sans-IO): a gain on the PCM before it is packetized, for the files and live input alike.

A step in gain is a step in the waveform, which clicks; a change is spread over a short linear ramp instead.
The product is computed in floating point, rounded, and clipped to int16, so no sample ever wraps around. At
100 % the PCM passes through untouched, bit for bit.
"""

from __future__ import annotations

import numpy as np

from rtpwire.audio import PCM_DTYPE

RAMP_S = 0.02  # long enough not to click, short enough to sound immediate
INT16_MIN, INT16_MAX = np.iinfo(PCM_DTYPE).min, np.iinfo(PCM_DTYPE).max


class Gain:
    def __init__(self, rate: int, ramp_s: float = RAMP_S) -> None:
        self.percent = 100  # the volume asked for; the ramp may not be there yet
        self._ramp_samples = max(1, round(ramp_s * rate))
        self._from = 1.0  # the factor the ramp under way started from
        self._target = 1.0
        self._ramped_samples = self._ramp_samples  # how far the ramp has gone: it is over

    def set_percent(self, percent: int) -> None:
        """The volume, 0 to 100 % of the amplitude (linear: 50 % is -6 dB); reached over one ramp from the
        factor applied now, even if a ramp is under way."""
        self._from = float(self._factor(self._ramped_samples))
        self._target = percent / 100
        self._ramped_samples = 0
        self.percent = percent

    def _factor(self, ramped_samples: int | np.ndarray) -> np.ndarray:
        """The factor `ramped_samples` into the ramp: counted from its start, so that the result does not depend
        on how the PCM was cut into blocks; exactly the target at its end."""
        fraction = np.minimum(ramped_samples, self._ramp_samples) / self._ramp_samples
        return np.where(fraction >= 1, self._target, self._from + (self._target - self._from) * fraction)

    def apply(self, pcm: np.ndarray) -> np.ndarray:
        """`pcm` (frames, channels) int16 at the current volume; the same array at 100 % once ramped there."""
        if self._ramped_samples >= self._ramp_samples:
            if self._target == 1.0:
                return pcm
            factors: float | np.ndarray = self._target
        else:
            factors = self._factor(self._ramped_samples + np.arange(1, len(pcm) + 1))[:, np.newaxis]
            self._ramped_samples = min(self._ramp_samples, self._ramped_samples + len(pcm))
        scaled = np.rint(pcm * factors)
        return np.clip(scaled, INT16_MIN, INT16_MAX).astype(PCM_DTYPE)
