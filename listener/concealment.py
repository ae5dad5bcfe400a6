"""Packet loss concealment (sans-IO): samples that never arrived are made from the audio just before them.

Silence in place of a lost 5 ms packet is a click twice over: the waveform drops to zero and comes back. Instead,
the last pitch period of what played (found by autocorrelation) is repeated, the way G.711 Appendix I conceals
speech: audio that repeats with some period continues naturally, and for the rest a short repetition is heard
as a smear rather than as a gap. Three splices keep every transition smooth:

- into the gap: the repeated period starts with the sample that followed its own predecessor, so the step
  between the last real sample and the first made-up one is shifted onto the difference the source itself had
  there, a correction that fades out over `splice_s`;
- within the gap: the period loops seamlessly, its last samples blended into those of the period before, whose
  successor is the period's first sample;
- out of the gap: the real audio is crossfaded in over `splice_s` (raised cosine), the made-up audio running
  on underneath until it is gone.

A repeated period turns robotic if it lasts: gaps keep full level for `full_s` (10 ms: a lost packet or two at
the default 5 ms packets, the case that must not be heard), then fade out over `fade_s` (40 ms, raised cosine),
so that from 50 ms on a gap is silence, as a real outage should sound; audio coming back after that fades in
over the exit crossfade. State is kept across reads, so a gap may span any number of them.

The concealer only makes up samples it is told to: silence the station meant (a pause, before the first packet)
comes in as zero samples to pass through, like any audio.
"""

from __future__ import annotations

import numpy as np

from rtpwire.audio import PCM_DTYPE

PCM_MIN, PCM_MAX = np.iinfo(PCM_DTYPE).min, np.iinfo(PCM_DTYPE).max
FULL_S = 0.010  # a gap is made up at full level this long
FADE_S = 0.040  # then fades out over this long, to silence
SPLICE_S = 0.002  # the splices into a gap and back into real audio


def _pcm_values(samples: np.ndarray) -> np.ndarray:
    """Rounded and clipped to what 16-bit PCM holds, still as floats: the concealer's own arithmetic stays in
    floats, but what it remembers is exactly what it played, however reads divide the audio."""
    return np.clip(np.rint(samples), PCM_MIN, PCM_MAX)


def _raised_cosine(count: int, offset: int, length: int) -> np.ndarray:
    """Samples `offset` .. `offset + count` of a raised cosine that rises from 0 (before sample 0) to 1 (at sample
    `length - 1`), and stays at 1 after."""
    k = np.minimum(np.arange(offset, offset + count) + 1, length)
    return 0.5 - 0.5 * np.cos(np.pi * k / length)


class Concealer:
    def __init__(self, rate: int, channels: int, *, full_s: float = FULL_S, fade_s: float = FADE_S,
                 splice_s: float = SPLICE_S, min_period_s: float = 0.0025, max_period_s: float = 0.015,
                 match_s: float = 0.005) -> None:
        """`min_period_s`..`max_period_s`: the repetition periods searched (66 to 400 Hz, or multiples of a
        higher pitch), matched over the last `match_s` of audio."""
        self._full = round(full_s * rate)
        self._fade = round(fade_s * rate)
        self._splice = max(1, round(splice_s * rate))
        self._min_period = round(min_period_s * rate)
        self._max_period = round(max_period_s * rate)
        self._match = round(match_s * rate)
        self._played = np.zeros((2 * self._max_period + self._match, channels), dtype=PCM_DTYPE)  # a ring
        self._played_end = 0  # where the next sample played goes in it
        self._period: np.ndarray | None = None  # the looped period while a gap is bridged or faded out of
        self._phase = 0  # next sample of the period to play
        self._made = 0  # samples made up since the gap began: its place on the fade-out
        self._step = np.zeros(channels)  # splice correction into the gap, faded out over its first samples
        self._crossfaded = 0  # real samples crossfaded in since the gap ended

    @property
    def active(self) -> bool:
        """Inside a gap, or crossfading out of one."""
        return self._period is not None

    def splice(self) -> None:
        """The next audio does not follow on from what played (the play position jumped): crossfade into it from
        the continuation of what played, as out of a gap of no length."""
        self._enter(np.zeros((0, self._played.shape[1])))

    def fill(self, pcm: np.ndarray, synthesize: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`pcm` with the samples `synthesize` marks made up; also the mask of made-up samples that are heard
        (not yet faded to silence). Where nothing is made up and no gap is being left, `pcm` comes back as it is,
        bit for bit."""
        heard = np.zeros(len(pcm), dtype=bool)
        if not len(pcm) or not synthesize.any() and not self.active:
            self._remember(pcm)
            return pcm, heard
        out = pcm.astype(np.float64)
        edges = np.flatnonzero(np.diff(synthesize.astype(np.int8))) + 1
        for start, end in zip(np.concatenate(([0], edges)), np.concatenate((edges, [len(pcm)]))):
            if synthesize[start]:
                if not self.active or self._crossfaded:  # a new gap, even one that cuts a crossfade short
                    self._enter(out[:start])
                out[start:end], heard[start:end] = self._make(end - start)
            elif self.active:
                self._leave(out[start:end])
        filled = out.astype(PCM_DTYPE)
        self._remember(filled)
        return filled, heard

    def _remember(self, pcm: np.ndarray) -> None:
        """Keep the last samples played, in a ring: every read passes here, so it must cost next to nothing."""
        size = len(self._played)
        pcm = pcm[-size:]
        first = min(len(pcm), size - self._played_end)
        self._played[self._played_end:self._played_end + first] = pcm[:first]
        self._played[:len(pcm) - first] = pcm[first:]
        self._played_end = (self._played_end + len(pcm)) % size

    def _history(self) -> np.ndarray:
        """The samples played last, oldest first."""
        return np.roll(self._played, -self._played_end, axis=0).astype(np.float64)

    def _enter(self, before: np.ndarray) -> None:
        """A gap begins after `before` (this read's samples so far): choose the period to loop."""
        history = np.concatenate((self._history(), before))[-len(self._played):]
        period = self._best_period(history.sum(axis=1))
        previous = history[-2 * period:-period]
        self._step = history[-1] - previous[-1]  # the source stepped from previous[-1] into the period's start
        self._period = history[-period:].copy()
        blend = _raised_cosine(min(self._splice, period), 0, min(self._splice, period))[:, None]
        self._period[-len(blend):] = (1 - blend) * self._period[-len(blend):] + blend * previous[-len(blend):]
        self._phase = 0
        self._made = 0
        self._crossfaded = 0

    def _best_period(self, mono: np.ndarray) -> int:
        """The lag at which the last `match` samples best resemble what came before (normalized correlation)."""
        target = mono[-self._match:]
        lags = np.arange(self._min_period, self._max_period + 1)
        windows = np.lib.stride_tricks.sliding_window_view(mono, self._match)
        candidates = windows[len(windows) - 1 - lags]  # each ends `lag` samples before the end
        energy = np.einsum("ij,ij->i", candidates, candidates) * float(target @ target)
        correlation = candidates @ target / np.sqrt(np.maximum(energy, 1e-9))
        return int(lags[np.argmax(correlation)])

    def _make(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """The next `count` made-up samples, and which of them are heard."""
        assert self._period is not None
        made = self._period[(self._phase + np.arange(count)) % len(self._period)]
        if self._made < self._splice:
            made = made + (1 - _raised_cosine(count, self._made, self._splice))[:, None] * self._step
        fading = np.arange(self._made, self._made + count) - self._full
        gain = np.where(fading < 0, 1.0, 1 - _raised_cosine(count, self._made - self._full, self._fade))
        self._phase = (self._phase + count) % len(self._period)
        self._made += count
        return _pcm_values(made * gain[:, None]), gain > 0

    def _leave(self, real: np.ndarray) -> None:
        """Real audio is back: crossfade it in (in place) over the made-up audio running on."""
        count = min(len(real), self._splice - self._crossfaded)
        weight = _raised_cosine(count, self._crossfaded, self._splice)[:, None]
        made, _ = self._make(count)
        real[:count] = _pcm_values(weight * real[:count] + (1 - weight) * made)
        self._crossfaded += count
        if self._crossfaded == self._splice:
            self._period = None
