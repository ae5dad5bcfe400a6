"""What one room makes of the programme (sans-IO): which of its channels play, and how loud.

Rooms fed by one stream differ: a mono speaker, a stereo pair made of two rooms (one plays the left channel, the
other the right), a quieter kitchen. These stages sit between the playout, whose samples are the station's, and
the output; they keep the number of samples and of channels, so playout and sync never see them. Left as they
are (stereo, volume 100) they return the samples untouched: a recording stays bit-exact.

A volume change is a short linear ramp, not a step: a step in gain is a click.
"""

from __future__ import annotations

from enum import Enum

import numpy as np

from rtpwire.audio import PCM_DTYPE

VOLUME_STEP = 5  # what one key press (+ or -) changes the volume by, in percent
RAMP_S = 0.02  # a volume change, from the old gain to the new, over this long


class ChannelChoice(Enum):
    """Which of the stream's channels this room plays, on every channel of its output."""

    STEREO = "stereo"  # as sent
    LEFT = "left"
    RIGHT = "right"
    MONO = "mono"  # the average of the two, rounded


def choose_channels(pcm: np.ndarray, choice: ChannelChoice) -> np.ndarray:
    """(frames, channels) int16 in, the same shape out: the chosen channel (or the average) on every channel. A
    one-channel stream has nothing to choose from."""
    if choice is ChannelChoice.STEREO or pcm.shape[1] < 2:
        return pcm
    if choice is ChannelChoice.MONO:
        column = np.round(pcm[:, :2].astype(np.int32).sum(axis=1) / 2)
    else:
        column = pcm[:, 0 if choice is ChannelChoice.LEFT else 1]
    return np.repeat(column.astype(PCM_DTYPE)[:, None], pcm.shape[1], axis=1)


class Volume:
    """A gain from 0 to 100 % (linear in amplitude: 50 halves it), and mute. Changes may come from another
    thread (a key press) than the reads' (a sound card's): each is one assignment, taken up by the next read."""

    def __init__(self, percent: int, rate: int) -> None:
        self.percent = _checked(percent)
        self.muted = False
        self._ramp_samples = max(1, round(RAMP_S * rate))
        self._from = self._to = percent / 100  # the ramp under way, from one gain to another
        self._ramped = self._ramp_samples  # samples of it played: all, when none is under way

    @property
    def target_gain(self) -> float:
        return 0.0 if self.muted else self.percent / 100

    def step(self, steps: int) -> None:
        """`steps` key presses up (+) or down (-), within 0 to 100; a change of volume unmutes."""
        self.percent = min(100, max(0, self.percent + steps * VOLUME_STEP))
        self.muted = False

    def toggle_mute(self) -> None:
        self.muted = not self.muted

    def apply(self, pcm: np.ndarray) -> np.ndarray:
        """`pcm` at the current gain, rounded; at 100 % and no ramp under way, `pcm` itself."""
        target = self.target_gain
        if target != self._to:  # a change: a new ramp, from the gain playing now
            self._from, self._to, self._ramped = float(self._gain(self._ramped)), target, 0
        if self._ramped >= self._ramp_samples:
            return pcm if target == 1.0 else np.round(pcm * target).astype(PCM_DTYPE)
        gains = self._gain(self._ramped + np.arange(1, len(pcm) + 1))
        self._ramped += len(pcm)
        return np.round(pcm * gains[:, None]).astype(PCM_DTYPE)  # a gain of at most 1: nothing to clip

    def _gain(self, ramped: np.ndarray | int) -> np.ndarray:
        """The gain after `ramped` samples of the ramp: along it, then its end exactly."""
        done = np.minimum(ramped, self._ramp_samples) / self._ramp_samples
        return np.where(done >= 1, self._to, self._from + (self._to - self._from) * done)

    def describe(self) -> str:
        """For the status line: `volume 80%`, or `muted (volume 80%)`."""
        return f"muted (volume {self.percent}%)" if self.muted else f"volume {self.percent}%"


def _checked(percent: int) -> int:
    if not 0 <= percent <= 100:
        raise ValueError(f"volume {percent}: expected 0 to 100")
    return percent


class Room:
    """The channel choice, then the volume, applied to each read."""

    def __init__(self, channels: ChannelChoice, volume: Volume) -> None:
        self.channels = channels
        self.volume = volume

    def apply(self, pcm: np.ndarray) -> np.ndarray:
        return self.volume.apply(choose_channels(pcm, self.channels))

    def describe(self) -> str:
        """For the status line: `volume 80%`, with the channel played if not both (`left, volume 80%`)."""
        channels = "" if self.channels is ChannelChoice.STEREO else f"{self.channels.value}, "
        return channels + self.volume.describe()
