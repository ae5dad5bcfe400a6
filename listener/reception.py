"""Reception statistics of one stream (sans-IO), as RFC 3550 A.1 and A.8 define them.

Loss is counted from sequence numbers: expected (highest - first + 1) minus distinct packets received, so it is
exact whatever order packets come in; duplicates are recognised within a window of recent sequence numbers.

One stray packet must not derail that count (as RFC 3550 A.1's MAX_DROPOUT check has it): a sequence number
further ahead than the window would make every genuine packet after it look too old to judge, so such a jump is
believed only when the next packet follows on from it, as after a long outage; until then it is neither counted
nor played.

A packet lost on the wire and rebuilt from repair packets (FEC) is no received packet: loss keeps RFC 3550's
meaning, the wire's, and the rebuilt ones are counted apart (`recovered`), so that loss after FEC is the
difference. Should the lost packet arrive after all, late, it is received, and no longer recovered.
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
        self.recovered = 0  # lost on the wire, rebuilt by FEC
        self._recovered: set[int] = set()
        self.duplicates = 0
        self.too_old = 0  # behind the duplicate window: neither counted nor played
        self._jump: tuple[int, int] | None = None  # the latest such jump, (sequence, payload bytes), on probation
        self.payload_bytes = 0
        self._seen: set[int] = set()
        self.jitter_samples = 0.0  # RFC 3550 A.8 interarrival jitter, in timestamp units
        self._last_transit: float | None = None
        self._expected_prior = 0  # at the previous receiver report (RFC 3550 A.3)
        self._received_prior = 0
        self._recovered_prior = 0
        self.fraction_unrecovered = 0  # as `fraction_lost_since_last`, after FEC, at the latest call

    def on_packet(self, sequence: int, ext_ts: int, arrival_s: float, payload_bytes: int) -> int | None:
        """Extended sequence number of a new packet; None for a duplicate, one too old to judge, or one that jumped
        too far ahead to be believed yet."""
        ext = self._sequence.peek(sequence)
        if self.highest_sequence is not None and ext < self.highest_sequence - DUPLICATE_WINDOW:
            self.too_old += 1
            return None
        if self.highest_sequence is not None and ext > self.highest_sequence + DUPLICATE_WINDOW:
            if self._jump is None or ext != self._jump[0] + 1:
                self._jump = (ext, payload_bytes)
                return None
            self._count(*self._jump)  # it did arrive, though too soon to tell it was no stray: its audio is gone
        if ext in self._seen:
            self.duplicates += 1
            return None
        if ext in self._recovered:  # rebuilt already: the wire did deliver it, late
            self._recovered.discard(ext)
            self.recovered -= 1
        self._jump = None
        self._sequence.unwrap(sequence)
        self._count(ext, payload_bytes)
        transit = arrival_s * self._rate - ext_ts  # RFC 3550 A.8, in timestamp units
        if self._last_transit is not None:
            self.jitter_samples += (abs(transit - self._last_transit) - self.jitter_samples) / 16
        self._last_transit = transit
        return ext

    def on_recovered(self, sequence: int) -> int | None:
        """Extended sequence number of a packet rebuilt by FEC; None if it arrived, or was rebuilt, already, if it
        is from before the first packet received (sent before this listener joined: no loss of its), or too far
        from the packets received to judge. Moves no reference: the wire's figures are the wire's."""
        ext = self._sequence.peek(sequence)
        if (self.highest_sequence is None or self.first_sequence is None or ext < self.first_sequence
                or ext in self._seen or ext in self._recovered or abs(ext - self.highest_sequence) > DUPLICATE_WINDOW):
            return None
        self._recovered.add(ext)
        if len(self._recovered) > 2 * DUPLICATE_WINDOW:
            floor = self.highest_sequence - DUPLICATE_WINDOW
            self._recovered = {s for s in self._recovered if s >= floor}
        self.recovered += 1
        return ext

    @property
    def unrecovered(self) -> int:
        """Lost on the wire and not rebuilt: what concealment had to fill."""
        return max(0, self.lost - self.recovered)

    def _count(self, ext: int, payload_bytes: int) -> None:
        self.first_sequence = ext if self.first_sequence is None else min(self.first_sequence, ext)
        self.highest_sequence = ext if self.highest_sequence is None else max(self.highest_sequence, ext)
        self._seen.add(ext)
        if len(self._seen) > 2 * DUPLICATE_WINDOW:
            floor = self.highest_sequence - DUPLICATE_WINDOW
            self._seen = {s for s in self._seen if s >= floor}
        self.received += 1
        self.payload_bytes += payload_bytes

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
        return self.jitter_samples / self._rate

    def fraction_lost_since_last(self) -> int | None:
        """The fraction of the packets expected since the previous call that were lost, in 1/256 (RFC 3550 A.3):
        one call per receiver report. None if no packet arrived since: the report then says nothing of this
        stream. Late packets filling earlier gaps can make more arrive than were expected: that is no loss."""
        expected_interval = self.expected - self._expected_prior
        received_interval = self.received - self._received_prior
        recovered_interval = self.recovered - self._recovered_prior
        self._expected_prior, self._received_prior = self.expected, self.received
        self._recovered_prior = self.recovered
        if received_interval == 0:
            return None
        unrecovered_interval = expected_interval - received_interval - recovered_interval
        self.fraction_unrecovered = ((unrecovered_interval << 8) // expected_interval
                                     if unrecovered_interval > 0 else 0)
        lost_interval = expected_interval - received_interval
        return (lost_interval << 8) // expected_interval if lost_interval > 0 else 0
