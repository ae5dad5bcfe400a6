"""The file source: the queue played gaplessly, track after track, looped unless told to play it once.

The next track is decoded while the current one plays, so the sender never waits on a decoder; a file that
fails is reported by name and skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

import numpy as np

from station.media import MediaError, MediaLoader, Track


class NothingPlayable(Exception):
    """No file of the queue could be decoded."""


class FileSource:
    failure: str | None = None  # files that fail are skipped, so the source itself never does

    def __init__(self, files: list[Path], loader: MediaLoader, loop: bool, report: Callable[[str], None]) -> None:
        self._files = files
        self._loader = loader
        self._loop = loop
        self._report = report
        self.current: Track | None = None
        self.position_samples = 0
        self._index = -1
        self._pending: tuple[int, Future[bytes]] | None = None
        self._failures_in_a_row = 0
        self.finished = False  # the queue was played out (once), or every file turned out unplayable

    @property
    def title(self) -> str:
        return self.current.title if self.current else ""

    def progress_s(self) -> tuple[float, float]:
        """Where the current track is, and how long it is (seconds)."""
        if self.current is None:
            return 0.0, 0.0
        rate = self._loader.fmt.rate
        return self.position_samples / rate, len(self.current.pcm) / rate

    def start(self) -> Track:
        """Decode the first playable file, reporting the bad ones; NothingPlayable if there is none."""
        for index, path in enumerate(self._files):
            try:
                track = self._loader.track(path, self._loader.submit(path))
            except MediaError as e:
                self._report(str(e))
                continue
            self._begin(index, track)
            return track
        raise NothingPlayable(f"nothing playable among {len(self._files)} file(s)")

    def read(self, frames: int) -> np.ndarray | None:
        """Up to `frames` samples, across track boundaries; fewer only at the end of the queue or when the next
        track is not decoded yet; None when there is nothing to send now."""
        parts = []
        needed = frames
        while needed > 0:
            if self.current is None or self.position_samples >= len(self.current.pcm):
                if not self._advance():
                    break
            assert self.current is not None
            chunk = self.current.pcm[self.position_samples: self.position_samples + needed]
            self.position_samples += len(chunk)
            needed -= len(chunk)
            parts.append(chunk)
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def _following(self, index: int) -> int | None:
        if index + 1 < len(self._files):
            return index + 1
        return 0 if self._loop else None

    def _begin(self, index: int, track: Track) -> None:
        self._index = index
        self.current = track
        self.position_samples = 0
        self._failures_in_a_row = 0
        following = self._following(index)
        if following is not None:
            self._pending = (following, self._loader.submit(self._files[following]))

    def _advance(self) -> bool:
        """Switch to the next track if it is decoded; False if it is not ready yet or there is none."""
        while self._pending is not None:
            index, future = self._pending
            if not future.done():
                return False
            self._pending = None
            try:
                track = self._loader.track(self._files[index], future)
            except MediaError as e:
                self._report(str(e))
                self._failures_in_a_row += 1
                following = self._following(index)
                if self._failures_in_a_row >= len(self._files) or following is None:
                    break
                self._pending = (following, self._loader.submit(self._files[following]))
                continue
            self._begin(index, track)
            self._report(f"now playing: {track.title}")
            return True
        self.finished = True
        return False
