"""The file source: the play queue (`station.queue`) played gaplessly, track after track.

The station starts on the first seconds of its first track, decoded at once, while the whole decodes behind
them. The next track is decoded while the current one plays, so the sender never waits on a decoder; a file that
fails is reported by name, taken out of the queue and skipped. The decodes follow the queue: after an edit
(NEXT, JUMP, REMOVE, MOVE, SHUFFLE…) a decode of a track that no longer comes next is dropped, and the one that
does is started. A jump to a track not decoded yet leaves a short silence (no packets) while it decodes, rather
than playing on the track the operator left.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

import numpy as np

from station.media import MediaError, MediaLoader, Track
from station.queue import Entry, PlayQueue, QueueItem, QueueListing, Repeat

PREVIOUS_WITHIN_S = 3.0  # PREV this early in a track goes to the previous one; later, back to the start (as players do)


class NothingPlayable(Exception):
    """No file of the queue could be decoded."""


class FileSource:
    failure: str | None = None  # files that fail are skipped, so the source itself never does

    def __init__(self, queue: PlayQueue, loader: MediaLoader, report: Callable[[str], None]) -> None:
        self.queue = queue
        self._loader = loader
        self._rate = loader.fmt.rate
        self._report = report
        self.track: Track | None = None  # the decoded track played: the current entry's, once it is decoded
        self._playing: Entry | None = None  # the entry `track` was decoded for
        self.position_samples = 0  # in the current entry; while it decodes, where it will start
        self._decoding: dict[Entry, Future[bytes]] = {}  # the current entry (if not `_playing`) and the next one
        self._whole: Future[bytes] | None = None  # `track` is the head of `_playing`, whose whole decode this is
        self.finished = False  # the queue was played out (repeat off), or every file turned out unplayable

    @property
    def title(self) -> str:
        return self.queue.current.title if self.queue.current else ""

    def progress_s(self) -> tuple[float, float]:
        """Where the current track is, and how long it is (0 while not known)."""
        entry = self.queue.current
        if entry is None:
            return 0.0, 0.0
        return self.position_samples / self._rate, entry.duration_s or 0.0

    def start(self) -> Track:
        """Decode the head of the first playable file (the whole goes on decoding behind it), reporting the bad
        ones; NothingPlayable if there is none."""
        count = len(self.queue.entries)
        while (entry := self.queue.current) is not None:
            whole = self._loader.submit(entry.path)
            try:
                track = self._loader.head(entry.path)
            except MediaError as e:
                whole.cancel()
                self._report(str(e))
                self.queue.drop(entry)
                continue
            self._begin(entry, track, whole)
            return track
        raise NothingPlayable(f"nothing playable among {count} file(s)")

    def read(self, frames: int) -> np.ndarray | None:
        """Up to `frames` samples, across track boundaries; fewer only at the end of the queue or when the next
        track is not decoded yet; None when there is nothing to send now."""
        parts = []
        needed = frames
        while needed > 0 and self._ready():
            assert self.track is not None
            chunk = self.track.pcm[self.position_samples: self.position_samples + needed]
            self.position_samples += len(chunk)
            needed -= len(chunk)
            parts.append(chunk)
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def _ready(self) -> bool:
        """Whether the current entry has samples to give now. At the end of a track the queue moves on; an entry
        still decoding has none yet, nor has the end of the queue (which sets `finished`)."""
        while (entry := self.queue.current) is not None:
            if entry is self._playing:
                assert self.track is not None
                if self._take_whole():
                    continue
                if self.position_samples < len(self.track.pcm):
                    return True
                if self._whole is not None:
                    return False  # the head played out before the whole came: a short silence
                self.queue.advance()
                self._moved()
                continue
            future = self._decoding[entry]
            if not future.done():
                return False
            del self._decoding[entry]
            try:
                track = self._loader.track(entry.path, future)
            except MediaError as e:
                self._report(str(e))
                self.queue.drop(entry)
                self._moved()
                continue
            self._begin(entry, track)
            self._report(f"now playing: {track.title}")
        self.finished = True
        return False

    def _begin(self, entry: Entry, track: Track, whole: Future[bytes] | None = None) -> None:
        """`track` plays for `entry`: all of it, or its head while `whole` decodes."""
        if self._whole is not None and self._playing is not None:  # another track before the head's whole came
            self._note_duration(self._playing, self._whole)
            self._whole.cancel()
        self._playing, self.track, self._whole = entry, track, whole
        if whole is None:
            entry.duration_s = track.duration_s(self._loader.fmt)
            self.position_samples = min(self.position_samples, len(track.pcm))  # a SEEK made while it decoded
        self._follow()

    def _take_whole(self) -> bool:
        """Once decoded, the whole track takes over from its head, where the head had got to (the same
        samples); a file whose head decoded but not the whole is reported and skipped. Whether it happened."""
        whole, entry = self._whole, self._playing
        if whole is None or entry is None or not whole.done():
            return False
        self._whole = None
        try:
            track = self._loader.track(entry.path, whole)
        except MediaError as e:
            self._report(str(e))
            self.queue.drop(entry)
            self._playing = None
            self._moved()
            return True
        self._begin(entry, track)
        return True

    def _moved(self) -> None:
        """The queue's current entry changed (or restarts): play it from its start."""
        self.position_samples = 0
        self._follow()

    def _follow(self) -> None:
        """Keeps the decodes in step with the queue: the current entry (unless it is the one decoded) and the one
        after it are decoded or decoding; a decode the queue no longer wants is dropped (cancelled if it has not
        started), so the next track is always the one the queue says."""
        wanted = [entry for entry in (self.queue.current, self.queue.following())
                  if entry is not None and entry is not self._playing]
        for entry in [entry for entry in self._decoding if entry not in wanted]:
            self._decoding.pop(entry).cancel()
        for entry in wanted:
            if entry not in self._decoding:
                self._decoding[entry] = self._loader.submit(entry.path)

    # --- the operator's commands: each changes the queue, then the decodes follow it ------------------------

    def _note_durations(self) -> None:
        """Durations are known once decoded: the next track's too, before it plays."""
        self._take_whole()
        for entry, future in self._decoding.items():
            self._note_duration(entry, future)

    def _note_duration(self, entry: Entry, future: Future[bytes]) -> None:
        if entry.duration_s is None and future.done() and not future.cancelled() and not future.exception():
            entry.duration_s = self._loader.track(entry.path, future).duration_s(self._loader.fmt)

    def _item(self, entry: Entry) -> QueueItem:
        self._note_durations()
        return self.queue.item(entry)

    def now(self) -> QueueItem | None:
        return self._item(self.queue.current) if self.queue.current is not None else None

    def listing(self) -> QueueListing:
        """The queue, with the duration of every track decoded so far."""
        self._note_durations()
        return self.queue.listing()

    def jump(self, index: int) -> QueueItem:
        """Track `index` (from 0) from its start, even if it is the one playing."""
        entry = self.queue.jump(index)
        self._moved()
        return self._item(entry)

    def skip(self) -> QueueItem:
        entry = self.queue.next()
        self._moved()
        return self._item(entry)

    def back(self) -> tuple[QueueItem, bool]:
        """PREV: the previous track within the first PREVIOUS_WITHIN_S of this one, else (or if there is none)
        the start of this one; whether it went to the previous track."""
        entry = self.queue.require_current()
        previous = self.queue.previous() if self.position_samples < PREVIOUS_WITHIN_S * self._rate else None
        self._moved()
        return self._item(previous or entry), previous is not None

    def seek(self, position_s: float) -> tuple[float, QueueItem]:
        """To `position_s` in the current track, clamped to the track (to its start only, while its length is
        not known); where it went."""
        self._take_whole()
        entry = self.queue.require_current()
        target_samples = max(0, round(position_s * self._rate))
        if entry is self._playing and self._whole is None:
            assert self.track is not None
            target_samples = min(target_samples, len(self.track.pcm))
        self.position_samples = target_samples
        return target_samples / self._rate, self._item(entry)

    def add(self, paths: list[Path]) -> list[QueueItem]:
        entries = self.queue.add(paths)
        self._follow()
        return [self.queue.item(entry) for entry in entries]

    def remove(self, index: int) -> QueueItem:
        """REMOVE: removing the current track skips to the one after it."""
        removed = self.queue.remove(index)
        if removed.current:
            self._moved()
        else:
            self._follow()
        return removed

    def move(self, index: int, to_index: int) -> QueueItem:
        moved = self.queue.move(index, to_index)
        self._follow()
        return moved

    def clear(self) -> int:
        removed = self.queue.clear()
        self._follow()
        return removed

    def set_shuffle(self, on: bool) -> None:
        self.queue.set_shuffle(on)
        self._follow()

    def set_repeat(self, mode: Repeat) -> None:
        self.queue.set_repeat(mode)
        self._follow()
