"""Adaptive playout delay (sans-IO): the target latency follows what the network needs, between two bounds.

The need is measured where it matters, at the play position: when a packet arrives, `slack` is how many samples
the position still has to play before reaching it (negative if it came too late). With the target latency it
was judged against, `target - slack` is the latency that would have had it arrive just in time: whatever made
it late (network jitter, a slow reading loop, how far ahead a sound card pulls, the drift loop's error) is in it,
and no clock needs to be shared with the station. The need is the 99th percentile of the last
`window_packets` of those, plus a safety margin: a single straggler does not move the target, 1 % of packets
late does. The RFC 3550 jitter figure is a smoothed mean of differences between neighbours, blind to the
tail that causes underruns.

The target moves as playout itself changes, sample for sample, so the schedule and the play position move
together and the drift loop never sees the change as an error (a target moved under it would be taken back
at its 2000 ppm at most, learnt as drift, and jumped over by a resync beyond 30 ms):

- growing is urgent, since samples are arriving too late: the target grows by up to `grow_step_s` at a time,
  a step at most every `grow_spacing_s` (30 ms of growth takes about 150 ms), each step made of samples the
  concealer makes up while the play position waits, exactly as it bridges a short gap: repeated pitch periods,
  crossfaded back into the audio where it left off, no click and nothing skipped;
- shrinking can wait: it starts only when the need has fallen `hysteresis_s` below the target (so a steady
  network does not make the target churn) and proceeds at `shrink_ppm`, by dropping single samples at the
  quietest points of a read, as the drift compensation does (30 ms takes a minute), so that a network whose
  jitter comes and goes keeps its higher target rather than paying a few underruns each time.

The floor is the latency all listeners share; when the station announces another one (`set_floor`), the target
moves to it the same way, unless nothing has been played on the current clock yet, when it is taken at once.
"""

from __future__ import annotations

import numpy as np


class PlayoutDelay:
    def __init__(self, rate: int, floor_samples: int, max_samples: int, *, window_packets: int = 512,
                 quantile: float = 0.99, safety_s: float = 0.005, hysteresis_s: float = 0.005,
                 grow_step_s: float = 0.010, grow_spacing_s: float = 0.050, shrink_ppm: float = 500.0) -> None:
        """`floor_samples`: the target never goes below this (the shared latency), nor above `max_samples`
        (`--max-latency-ms`), unless the floor is set higher later: the maximum then follows it."""
        if not 0 < floor_samples <= max_samples:
            raise ValueError(f"the latency floor ({floor_samples}) must be positive and at most the maximum "
                             f"({max_samples})")
        self.floor_samples = floor_samples
        self._ceiling = max_samples
        self.max_samples = max_samples
        self.target_samples = floor_samples  # what the schedule uses now
        self._quantile = quantile
        self._safety = round(safety_s * rate)
        self._hysteresis = round(hysteresis_s * rate)
        self._grow_step = round(grow_step_s * rate)
        self._grow_spacing = round(grow_spacing_s * rate)
        self._shrink_rate = shrink_ppm * 1e-6
        self._required = np.zeros(window_packets, dtype=np.int64)  # a ring: memory fixed whatever arrives
        self._recorded = 0
        self._needed: int | None = None  # cached until the next packet
        self._growing = 0  # samples of the current growth step still to make up
        self._since_growth = self._grow_spacing  # samples played since the last growth step began
        self._owed = 0.0  # fraction of a sample the shrink rate asked for and not yet carried out
        self.samples_added = 0
        self.samples_removed = 0

    def on_packet(self, slack_samples: int) -> None:
        """A packet arrived `slack_samples` before the play position reaches its first sample (negative: late)."""
        self._required[self._recorded % len(self._required)] = self.target_samples - slack_samples
        self._recorded += 1
        self._needed = None

    @property
    def needed_samples(self) -> int:
        """The latency recent packets needed, with the safety margin; the floor until any packet arrived."""
        if self._needed is None:
            if not self._recorded:
                return self.floor_samples
            recent = self._required[:min(self._recorded, len(self._required))]
            rank = max(0, int(np.ceil(self._quantile * len(recent))) - 1)
            self._needed = int(np.partition(recent, rank)[rank]) + self._safety
        return self._needed

    def set_floor(self, floor_samples: int, *, at_once: bool) -> None:
        """A new floor (the station announced another shared latency); the maximum rises with it if it was
        lower, since a listener out of step with the others is worse than one with a longer buffer. `at_once`
        when nothing plays on this clock yet (the play position moves to the schedule anyway): the target is
        the new goal now; otherwise `step` moves it there as it does for the network, without a click."""
        if floor_samples <= 0:
            raise ValueError(f"the latency floor ({floor_samples}) must be positive")
        self.floor_samples = floor_samples
        self.max_samples = max(self._ceiling, floor_samples)
        if at_once:
            self.target_samples = self._goal(self.needed_samples)
            self._growing = 0
            self._owed = 0.0

    def _goal(self, needed: int) -> int:
        return min(self.max_samples, max(self.floor_samples, needed))

    def step(self, frames: int) -> int:
        """How the next read of `frames` samples (from the buffer, at the current target) changes the target:
        positive, that many samples to make up before them while the play position waits; negative, that many
        more to take from the buffer and drop. The target has moved by exactly that when this returns."""
        needed = self.needed_samples
        goal = self._goal(needed)
        if not self._growing and goal > self.target_samples and self._since_growth >= self._grow_spacing:
            self._growing = min(goal - self.target_samples, self._grow_step)
            self._since_growth = 0
        self._since_growth += frames
        if self._growing:
            added = min(self._growing, frames)
            self._growing -= added
            self.target_samples += added
            self.samples_added += added
            return added
        shrink_to = max(self.floor_samples, needed + self._hysteresis)
        if self.target_samples <= shrink_to:
            self._owed = 0.0
            return 0
        self._owed += self._shrink_rate * frames
        removed = min(int(self._owed), self.target_samples - shrink_to)
        self._owed -= int(self._owed)
        self.target_samples -= removed
        self.samples_removed += removed
        return -removed
