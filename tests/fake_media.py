"""A MediaLoader without processes, and PCM easy to follow: for FileSource and the console's queue commands."""

from __future__ import annotations

import random
from concurrent.futures import Future
from pathlib import Path

import numpy as np

from rtpwire.audio import L16_STEREO
from station.media import HEAD_S, MediaError, Track
from station.queue import PlayQueue, Repeat
from station.source import FileSource

RATE = L16_STEREO.rate


def pcm(start: int, frames: int) -> np.ndarray:
    """Stereo frames whose left channel counts up from `start` (right is its negative): easy to follow."""
    left = np.arange(start, start + frames, dtype=np.int16)
    return np.stack([left, -left], axis=1)


def bad(name: str) -> MediaError:
    return MediaError(f"{name}: not a playable audio file (Invalid data found when processing input)")


class FakeLoader:
    """MediaLoader's interface without processes.

    `outcomes` maps a file name to its decoded PCM or a MediaError, or to a list of those consumed one per
    submit (the last one repeats). Files named in `held` get futures that stay pending until `release`; a
    pending future FileSource cancels is recorded in `cancelled` and never settles.
    """

    fmt = L16_STEREO

    def __init__(self, outcomes: dict, held: set[str] | None = None) -> None:
        self.outcomes = outcomes
        self.held = set(held or ())
        self.submitted: list[str] = []
        self._waiting: list[tuple[str, Future]] = []
        self._uses: dict[str, int] = {}

    @property
    def cancelled(self) -> list[str]:
        return [name for name, future in self._waiting if future.cancelled()]

    def _outcome(self, name: str):
        outcome = self.outcomes[name]
        if isinstance(outcome, list):
            use = self._uses.get(name, 0)
            self._uses[name] = use + 1
            return outcome[min(use, len(outcome) - 1)]
        return outcome

    def _settle(self, name: str, future: Future) -> None:
        outcome = self._outcome(name)
        if isinstance(outcome, Exception):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)

    def submit(self, path: Path) -> Future:
        self.submitted.append(path.name)
        future: Future = Future()
        if path.name in self.held:
            self._waiting.append((path.name, future))
        else:
            self._settle(path.name, future)
        return future

    def release(self, name: str) -> None:
        self.held.discard(name)
        for waiting_name, future in [w for w in self._waiting if w[0] == name and not w[1].cancelled()]:
            self._waiting.remove((waiting_name, future))
            self._settle(waiting_name, future)

    def head(self, path: Path, head_s: float = HEAD_S) -> Track:
        """The first `head_s` of what the last submit of `path` decodes to, at once (MediaError as it)."""
        outcome = self.outcomes[path.name]
        if isinstance(outcome, list):
            outcome = outcome[min(max(0, self._uses.get(path.name, 0) - 1), len(outcome) - 1)]
        if isinstance(outcome, Exception):
            raise outcome
        return Track(path, outcome[:round(head_s * RATE)])

    def track(self, path: Path, future: Future) -> Track:
        assert future.done(), f"track() called on {path.name} before it was decoded: the sender would block"
        return Track(path, future.result())  # MediaError propagates, as from MediaLoader


def make_source(outcomes: dict, repeat: Repeat = "off", held: set[str] | None = None, seed: int = 1
                ) -> tuple[FileSource, FakeLoader, list[str]]:
    """A FileSource on the files of `outcomes` (in /music, in that order), not started; and what it reports."""
    loader = FakeLoader(outcomes, held)
    reports: list[str] = []
    queue = PlayQueue([Path("/music") / name for name in outcomes], repeat=repeat, rng=random.Random(seed))
    return FileSource(queue, loader, report=reports.append), loader, reports
