"""The play queue (sans-IO): which track plays now, which one follows, and the operator's edits.

Tracks are numbered from 1 in queue order, as QUEUE lists them; the indices taken here count from 0. Messages
(QueueError) are for the operator, so they number tracks from 1. The queue knows nothing of decoding or time:
`station.source.FileSource` decodes what the queue says plays now and next.

With shuffle on, the play order is a permutation of the queue that starts at the track playing when shuffle
was turned on, so that track stays current and every other one plays once per pass; the same order is kept for
every pass (SHUFFLE on again draws a new one). Tracks added meanwhile take random places among those still to
come. MOVE changes the numbering, not a shuffled order.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

Repeat = Literal["off", "track", "queue"]
REPEAT_MODES: tuple[Repeat, ...] = get_args(Repeat)


class QueueError(ValueError):
    """An edit the queue cannot make (a position that does not exist…); the message says why."""


@dataclass(eq=False)
class Entry:
    """One place in the queue. Compared by identity: the same file queued twice is two entries."""

    path: Path
    duration_s: float | None = None  # known once the file has been decoded

    @property
    def title(self) -> str:
        return self.path.stem


@dataclass(frozen=True)
class QueueItem:
    """An entry as the operator sees it, at one moment: safe to use after the queue has changed."""

    number: int  # from 1
    title: str
    duration_s: float | None
    current: bool


@dataclass(frozen=True)
class QueueListing:
    items: tuple[QueueItem, ...]
    repeat: Repeat
    shuffle: bool


class PlayQueue:
    def __init__(self, paths: Sequence[Path], repeat: Repeat = "queue", rng: random.Random | None = None) -> None:
        """`repeat`: "queue" loops, "off" plays the queue once (--once), "track" plays the current one again."""
        self.entries = [Entry(path) for path in paths]  # in queue order; edited only through the methods
        self.current: Entry | None = self.entries[0] if self.entries else None
        self.repeat: Repeat = repeat
        self.shuffle = False
        self._shuffled: list[Entry] = []  # the play order while shuffle is on
        self._rng = rng or random.Random()

    def _order(self) -> list[Entry]:
        return self._shuffled if self.shuffle else self.entries

    def _entry(self, index: int) -> Entry:
        if not 0 <= index < len(self.entries):
            if not self.entries:
                raise QueueError("the queue is empty")
            raise QueueError(f"no track {index + 1}: the queue has {_tracks(len(self.entries))} (1 to "
                             f"{len(self.entries)}; QUEUE lists them)")
        return self.entries[index]

    def _after(self, entry: Entry) -> Entry | None:
        """The entry after `entry` in the play order; past the last, the first again only if the queue loops."""
        order = self._order()
        index = order.index(entry) + 1
        if index < len(order):
            return order[index]
        return order[0] if self.repeat == "queue" else None

    def item(self, entry: Entry) -> QueueItem:
        return self._item(self.entries.index(entry) + 1, entry)

    def _item(self, number: int, entry: Entry) -> QueueItem:
        return QueueItem(number, entry.title, entry.duration_s, entry is self.current)

    def listing(self) -> QueueListing:
        items = tuple(self._item(number, entry) for number, entry in enumerate(self.entries, start=1))
        return QueueListing(items, self.repeat, self.shuffle)

    @property
    def current_number(self) -> int:
        """The current track's number, from 1; 0 when there is none."""
        return self.entries.index(self.current) + 1 if self.current is not None else 0

    def following(self) -> Entry | None:
        """What plays when the current track ends: the same one with repeat track, else the next in the play
        order (None past the last one unless the queue loops)."""
        if self.current is None or self.repeat == "track":
            return self.current
        return self._after(self.current)

    def advance(self) -> Entry | None:
        """The current track ended: the following one becomes current (None: the queue is played out)."""
        self.current = self.following()
        return self.current

    def next(self) -> Entry:
        """NEXT: the track after the current one, even with repeat track; QueueError after the last one unless
        the queue loops."""
        current = self.require_current()
        entry = self._after(current)
        if entry is None:
            raise QueueError(f"{self.current_number}. {current.title} is the last track "
                             f"(REPEAT queue would go on with the first)")
        self.current = entry
        return entry

    def previous(self) -> Entry | None:
        """The track before the current one becomes current (from the first: the last, if the queue loops);
        None, and nothing changes, if there is none."""
        current = self.require_current()
        order = self._order()
        index = order.index(current) - 1
        if (index < 0 and self.repeat != "queue") or order[index] is current:
            return None
        self.current = order[index]
        return self.current

    def jump(self, index: int) -> Entry:
        self.current = self._entry(index)
        return self.current

    def add(self, paths: Sequence[Path]) -> list[Entry]:
        """Appends to the queue; shuffled, each new entry takes a random place among those yet to play."""
        added = [Entry(path) for path in paths]
        self.entries.extend(added)
        if self.shuffle:
            for entry in added:
                first = self._shuffled.index(self.current) + 1 if self.current is not None else 0
                self._shuffled.insert(self._rng.randint(first, len(self._shuffled)), entry)
        return added

    def remove(self, index: int) -> QueueItem:
        """REMOVE: takes entry `index` out (as it was numbered); the only one left stays, so the station keeps
        something to play."""
        entry = self._entry(index)
        if len(self.entries) == 1:
            raise QueueError(f"1. {entry.title} is the only track: ADD another before removing it")
        item = self.item(entry)
        self.drop(entry)
        return item

    def drop(self, entry: Entry) -> None:
        """Takes `entry` out of the queue (an operator's REMOVE, or a file that turned out unplayable). If it
        was current, the one after it is: the next in the play order, or the first if the queue loops."""
        if entry is self.current:
            following = self._after(entry)
            self.current = following if following is not entry else None
        self.entries.remove(entry)
        if self.shuffle:
            self._shuffled.remove(entry)

    def move(self, index: int, to_index: int) -> QueueItem:
        """MOVE: entry `index` goes to place `to_index` (both as numbered before the move)."""
        entry = self._entry(index)
        self._entry(to_index)
        self.entries.remove(entry)
        self.entries.insert(to_index, entry)
        return self.item(entry)

    def clear(self) -> int:
        """CLEAR: everything but the current track, which plays on (the station stays on the air); how many
        entries went."""
        kept = [self.current] if self.current is not None else []
        removed = len(self.entries) - len(kept)
        self.entries[:] = kept
        self._shuffled = list(kept) if self.shuffle else []
        return removed

    def set_shuffle(self, on: bool) -> None:
        """On: a new random play order, starting with the current track. Off: queue order from the current."""
        self.shuffle = on
        self._shuffled = []
        if on:
            others = [entry for entry in self.entries if entry is not self.current]
            self._rng.shuffle(others)
            self._shuffled = ([self.current] if self.current is not None else []) + others

    def set_repeat(self, mode: Repeat) -> None:
        self.repeat = mode

    def require_current(self) -> Entry:
        """The current entry; QueueError once the queue is played out (the station is going off the air)."""
        if self.current is None:
            raise QueueError("nothing is playing: the queue is played out")
        return self.current


def _tracks(count: int) -> str:
    return f"{count} track" if count == 1 else f"{count} tracks"
