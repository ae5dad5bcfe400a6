"""Datagrams waiting for their delivery time (sans-IO): a heap by time, with a cap on how many are held.

The relay holds each datagram until the time its impairments gave it. A heap keeps the next one at hand whatever
order the times come in (jitter and reordering make them arrive unsorted); datagrams due at the same time leave
in the order they came, so a link without jitter never reorders. The cap bounds memory whatever the delay and
the rate: a datagram that finds the queue full is dropped and counted, as a router's full queue would.
"""

from __future__ import annotations

import heapq
import itertools

DEFAULT_CAPACITY = 8192  # 40 s of the station's default 200 packets/s: far beyond any delay a relay is given


class DeliveryQueue:
    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError(f"a delivery queue holds at least 1 datagram, got {capacity}")
        self.capacity = capacity
        self.overflow = 0  # datagrams dropped because the queue was full
        self._heap: list[tuple[float, int, bytes]] = []
        self._order = itertools.count()  # ties in time leave in arrival order, and bytes are never compared

    def __len__(self) -> int:
        return len(self._heap)

    def add(self, deliveries: list[tuple[float, bytes]]) -> None:
        """Hold each (deliver at, datagram) until it is due; drop it (and count it) if the queue is full."""
        for deliver_at_s, data in deliveries:
            if len(self._heap) >= self.capacity:
                self.overflow += 1
                continue
            heapq.heappush(self._heap, (deliver_at_s, next(self._order), data))

    def due(self, now: float) -> list[bytes]:
        """The datagrams whose time has come by `now`, in delivery order; they leave the queue."""
        out = []
        while self._heap and self._heap[0][0] <= now:
            out.append(heapq.heappop(self._heap)[2])
        return out

    @property
    def next_s(self) -> float | None:
        """When the next datagram is due; None if none is held."""
        return self._heap[0][0] if self._heap else None
