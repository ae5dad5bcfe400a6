"""Reception statistics of one stream (sans-IO), as RFC 3550 A.1 and A.8 define them.

Loss is counted from sequence numbers: expected (highest - first + 1) minus distinct packets received, so it is
exact whatever order packets come in; duplicates are recognised within a window of recent sequence numbers.
"""

from __future__ import annotations

from rtpwire.seqnum import SEQ_BITS, Unwrapper

DUPLICATE_WINDOW = 1024  # sequence numbers remembered behind the highest, to recognise duplicates


class ReceptionStats:
    def __init__(self, rate: int) -> None:
        self._rate = rate
        self._sequence = Unwrapper(SEQ_BITS)
        self.first_sequence: int | None = None
        self.highest_sequence: int | None = None
        self.received = 0  # distinct packets
        self.duplicates = 0
        self.too_old = 0  # behind the duplicate window: neither counted nor played
        self.payload_bytes = 0
        self._seen: set[int] = set()
        self._jitter_samples = 0.0
        self._last_transit: float | None = None

    def on_packet(self, sequence: int, ext_ts: int, arrival_s: float, payload_bytes: int) -> int | None:
        """Extended sequence number of a new packet; None for a duplicate or one too old to judge."""
        ext = self._sequence.peek(sequence)
        if self.highest_sequence is not None and ext < self.highest_sequence - DUPLICATE_WINDOW:
            self.too_old += 1
            return None
        if ext in self._seen:
            self.duplicates += 1
            return None
        self._sequence.unwrap(sequence)
        self.first_sequence = ext if self.first_sequence is None else min(self.first_sequence, ext)
        self.highest_sequence = ext if self.highest_sequence is None else max(self.highest_sequence, ext)
        self._seen.add(ext)
        if len(self._seen) > 2 * DUPLICATE_WINDOW:
            floor = self.highest_sequence - DUPLICATE_WINDOW
            self._seen = {s for s in self._seen if s >= floor}
        self.received += 1
        self.payload_bytes += payload_bytes
        transit = arrival_s * self._rate - ext_ts  # RFC 3550 A.8, in timestamp units
        if self._last_transit is not None:
            self._jitter_samples += (abs(transit - self._last_transit) - self._jitter_samples) / 16
        self._last_transit = transit
        return ext

    @property
    def expected(self) -> int:
        if self.first_sequence is None or self.highest_sequence is None:
            return 0
        return self.highest_sequence - self.first_sequence + 1

    @property
    def lost(self) -> int:
        return max(0, self.expected - self.received)

    @property
    def jitter_s(self) -> float:
        return self._jitter_samples / self._rate
