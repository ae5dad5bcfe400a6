"""Repair packets for the audio stream (sans-IO): after every K source datagrams, N - K repair datagrams from
which a listener rebuilds any N - K of the K it lost (format and code: rtpwire/fec.py)."""

from __future__ import annotations

from rtpwire.fec import RepairPayload, check_code, repair_symbols
from rtpwire.rtp import RtpPacket
from rtpwire.seqnum import SEQ_BITS, seq_diff, wrap


class FecEncoder:
    """Collects source datagrams as sent (SRTP or not: their RTP header is readable either way) into blocks of K
    consecutive sequence numbers. A datagram that does not follow the last one (a gap, or another SSRC) starts a
    new block and the unfinished one goes unprotected: a block must be consecutive for the listener to know which
    packets it holds. Our packetizer leaves no gaps, so that happens only if its caller skips a datagram.

    The repair datagrams are plain RTP of their own stream (`ssrc`, `payload_type`, sequence numbers from
    `first_sequence`), stamped with the RTP timestamp of the block's last source (the media time they go out
    at); the caller seals them with SRTP when the stream is keyed, like the sources."""

    def __init__(self, k: int, n: int, ssrc: int, payload_type: int, first_sequence: int) -> None:
        check_code(k, n)
        self.k = k
        self.n = n
        self.ssrc = ssrc
        self.payload_type = payload_type
        self._next_sequence = first_sequence
        self._block: list[bytes] = []
        self._first: RtpPacket | None = None  # the block's first source, for its SSRC, sequence and timestamp
        self.repair_packets = 0

    def add(self, datagram: bytes) -> list[bytes]:
        """The repair datagrams `datagram` completes a block with; [] until it does."""
        packet = RtpPacket.parse(datagram)
        first = self._first
        if first is None or packet.ssrc != first.ssrc or seq_diff(packet.sequence, first.sequence) != len(self._block):
            self._block = []
            self._first = first = packet
        self._block.append(datagram)
        if len(self._block) < self.k:
            return []
        symbols = repair_symbols(self._block, self.n)
        self._block = []
        self._first = None
        repairs = []
        for index, symbol in enumerate(symbols, start=self.k):
            payload = RepairPayload(first.ssrc, first.timestamp, first.sequence, self.k, self.n, index, symbol)
            repairs.append(bytes(RtpPacket(payload_type=self.payload_type, sequence=self._next_sequence,
                                           timestamp=packet.timestamp, ssrc=self.ssrc, payload=bytes(payload))))
            self._next_sequence = wrap(self._next_sequence + 1, SEQ_BITS)
        self.repair_packets += len(repairs)
        return repairs
