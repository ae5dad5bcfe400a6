"""Lost source datagrams rebuilt from repair packets (sans-IO): the listener's half of rtpwire/fec.py.

It keeps the source datagrams of the last `SOURCE_WINDOW` sequence numbers as they arrived (sealed, with SRTP),
and the repair symbols of up to `MAX_BLOCKS` blocks. As soon as K of a block's N symbols are in hand, its missing
sources are rebuilt and returned, each once; a datagram that arrived is never returned. The window is twice the
largest block, so that a block's sources are still held when its repairs come, even late.

What arrives may be hostile (without SRTP anyone can send to the repair port), so nothing it says is trusted:
    - a repair that does not parse, or whose block disagrees with earlier repairs of it (K, N, symbol length),
      is counted `repair_malformed`;
    - one for another source SSRC than the stream followed (the SSRC of the source datagrams given; none yet:
      every repair is foreign) is `repair_foreign`;
    - one that brings nothing new is `repair_stale`: its block is out of reach (older than the window, or as far
      ahead), or its index was received already. Repairs of a block that lost nothing, or whose losses were
      rebuilt already, are the normal case and only counted received;
    - a rebuilt datagram whose length, padding or RTP header is not what the station coded, or whose SSRC or
      sequence number is not the hole it fills, is dropped and counted `rebuilt_invalid`: a forged or garbled
      repair cannot put a packet of its making in a hole. Reed-Solomon is linear, though: someone who hears the
      plain stream can compute a repair that rebuilds any datagram he likes, with the right header. Without SRTP
      that cannot be told from the station's (as a forged source packet cannot); with SRTP the rebuilt datagram
      fails authentication like any forged packet.
What it holds is bounded whatever arrives: SOURCE_WINDOW datagrams, MAX_BLOCKS blocks, and in a block fewer
symbols than its holes, each at most MAX_SYMBOL_BYTES (under 6 MB in all, in the worst case). A flood of repairs
for made-up blocks can push real ones out, without SRTP only.

Give it only the source datagrams the listener follows (its station lock decides): a new SSRC there is a new
stream, and all that was held goes. A source out of the window's reach is taken for a stray and moves nothing,
unless the next source follows it in sequence (RFC 3550 A.1's probation): then the stream jumped, and the decoder
starts over there, from the stray.
"""

from __future__ import annotations

import contextlib
from collections import deque
from dataclasses import dataclass, field

from rtpwire import fec
from rtpwire.errors import WireError
from rtpwire.rtp import RtpPacket
from rtpwire.seqnum import SEQ_BITS, Unwrapper, wrap

SOURCE_WINDOW = 512  # sequence numbers: twice the largest block (254 sources)
MAX_BLOCKS = 32  # blocks in the making; the oldest made goes first


@dataclass
class _Block:
    k: int
    n: int
    symbol_bytes: int  # every symbol of the block has this length
    received: set[int] = field(default_factory=set)  # repair indexes received
    symbols: dict[int, bytes] = field(default_factory=dict)  # received and not yet used in a rebuild


class FecDecoder:
    def __init__(self) -> None:
        self._ssrc: int | None = None  # of the source stream followed
        self._sequences = Unwrapper(SEQ_BITS)
        self._newest: int | None = None  # the highest extended sequence number of a source received
        self._stray: tuple[int, bytes] | None = None  # the last source out of reach: sequence number, datagram
        self._sources: dict[int, bytes] = {}  # by extended sequence number: received, or rebuilt
        self._blocks: dict[int, _Block] = {}  # by extended sequence number of their first source, oldest first
        self._unread: deque[bytes] = deque(maxlen=SOURCE_WINDOW)  # the latest sources, before any repair came
        self._waiting: dict[int, _Block] = {}  # those of them holding symbols that await sources (a repair that
        # overtook them): the only blocks a source may complete, so that a source costs no walk over them all
        self.packets_rebuilt = 0  # rebuilt and returned (in time to play or not: the receiver judges)
        self.repair_received = 0
        self.repair_malformed = 0
        self.repair_foreign = 0
        self.repair_stale = 0
        self.rebuilt_invalid = 0

    @property
    def heard_repair(self) -> bool:
        return self.repair_received > 0

    def on_source(self, datagram: bytes, packet: RtpPacket | None = None) -> list[bytes]:
        """A source datagram as it arrived (SRTP still sealed; its RTP header parses, or WireError): the
        datagrams it lets be rebuilt, for blocks whose repairs came before it. Until a first repair comes the
        latest are only kept as they are, to be taken in then: most streams send no repair packets, and a
        listener then pays nothing for FEC. `packet`: its header, if the caller parsed it already."""
        if not self.heard_repair:
            self._unread.append(datagram)
            return []
        return self._take(datagram, packet)

    def _take(self, datagram: bytes, packet: RtpPacket | None = None) -> list[bytes]:
        packet = packet or RtpPacket.parse(datagram)
        if packet.ssrc != self._ssrc:
            self._follow(packet.ssrc)
        elif not self._within_reach(self._sequences.peek(packet.sequence), 1):
            stray, self._stray = self._stray, (packet.sequence, datagram)
            if stray is None or packet.sequence != wrap(stray[0] + 1, SEQ_BITS):
                return []
            self._follow(packet.ssrc)  # the stream jumped: the stray was its first packet there
            self._hold(self._sequences.unwrap(stray[0]), stray[1])
        sequence = self._sequences.unwrap(packet.sequence)
        if not self._hold(sequence, datagram):
            return []
        blocks = [(first, block) for first, block in self._waiting.items() if first <= sequence < first + block.k]
        return [rebuilt for first, block in blocks for rebuilt in self._rebuild(first, block)]

    def on_repair(self, datagram: bytes) -> list[bytes]:
        """A repair datagram (plain RTP: SRTP opened already): the missing sources of its block it lets be
        rebuilt, as sent (sealed, with SRTP)."""
        if not self.heard_repair:  # the first: the sources kept so far are taken in before it
            for source in self._unread:
                with contextlib.suppress(WireError):  # refused as it would have been when it came
                    self._take(source)
            self._unread.clear()
        self.repair_received += 1
        try:
            repair = fec.parse_repair(datagram)
        except WireError:
            self.repair_malformed += 1
            return []
        if repair.source_ssrc != self._ssrc:
            self.repair_foreign += 1
            return []
        first = self._sequences.peek(repair.first_sequence)
        if not self._within_reach(first, repair.k):
            self.repair_stale += 1
            return []
        block = self._blocks.get(first)
        if block is None:
            block = self._new_block(first, repair.k, repair.n, len(repair.symbol))
        elif (block.k, block.n, block.symbol_bytes) != (repair.k, repair.n, len(repair.symbol)):
            self.repair_malformed += 1
            return []
        if repair.index in block.received:
            self.repair_stale += 1
            return []
        block.received.add(repair.index)
        block.symbols[repair.index] = repair.symbol
        return self._rebuild(first, block)

    def stats(self) -> dict[str, int]:
        return {
            "packets_rebuilt": self.packets_rebuilt,
            "repair_received": self.repair_received,
            "repair_malformed": self.repair_malformed,
            "repair_foreign": self.repair_foreign,
            "repair_stale": self.repair_stale,
            "rebuilt_invalid": self.rebuilt_invalid,
        }

    def _follow(self, ssrc: int) -> None:
        """A new source stream (the station restarted), or a jump in its sequence numbers: what was held is of
        the old one."""
        self._ssrc = ssrc
        self._sequences = Unwrapper(SEQ_BITS)
        self._newest = None
        self._stray = None
        self._sources.clear()
        self._blocks.clear()
        self._waiting.clear()

    def _hold(self, sequence: int, datagram: bytes) -> bool:
        """Keeps a source received within reach; False if it is held already (a duplicate, or rebuilt before it
        came). One longer than the code protects is kept cut a byte past that: enough to mark it received
        and to make `source_symbol` refuse it, and no more."""
        if self._newest is None or sequence > self._newest:
            self._advance(sequence)
        if sequence in self._sources:
            return False
        self._sources[sequence] = datagram[:fec.MAX_SOURCE_BYTES + 1]
        return True

    def _advance(self, newest: int) -> None:
        """Moves the window up to `newest`: the sources and blocks that fall behind it go."""
        previous, self._newest = self._newest, newest
        if previous is None or newest - previous >= SOURCE_WINDOW:
            self._sources.clear()
        else:
            for sequence in range(previous - SOURCE_WINDOW + 1, newest - SOURCE_WINDOW + 1):
                self._sources.pop(sequence, None)
        while self._blocks and (first := next(iter(self._blocks))) <= newest - SOURCE_WINDOW:
            self._forget(first)  # blocks come in order of their first repair, about that of their sources

    def _within_reach(self, first: int, k: int) -> bool:
        """Whether the K sources from `first` fit the window around the newest source."""
        return self._newest is not None and self._newest - SOURCE_WINDOW < first and \
            first + k - 1 <= self._newest + SOURCE_WINDOW

    def _new_block(self, first: int, k: int, n: int, symbol_bytes: int) -> _Block:
        if len(self._blocks) >= MAX_BLOCKS:
            self._forget(next(iter(self._blocks)))
        block = self._blocks[first] = _Block(k, n, symbol_bytes)
        return block

    def _forget(self, first: int) -> None:
        del self._blocks[first]
        self._waiting.pop(first, None)

    def _rebuild(self, first: int, block: _Block) -> list[bytes]:
        """The block's missing sources, once it has as many symbols as holes (`_rebuilt`); a block left holding
        symbols waits for the sources that complete it."""
        rebuilt = self._rebuilt(first, block)
        if block.symbols:
            self._waiting[first] = block
        else:
            self._waiting.pop(first, None)
        return rebuilt

    def _rebuilt(self, first: int, block: _Block) -> list[bytes]:
        """The block's missing sources, once it has as many symbols as holes; those that fail the checks are
        counted, and the symbols used are dropped, so that a bad one spoils one try only."""
        sequences = range(first, first + block.k)
        holes = [index for index, sequence in enumerate(sequences) if sequence not in self._sources]
        if not holes:
            block.symbols.clear()
            return []
        if len(block.symbols) < len(holes):
            return []
        used = list(block.symbols)[:len(holes)]
        pieces = {index: block.symbols.pop(index) for index in used}
        try:
            pieces.update((index, fec.source_symbol(self._sources[sequence], block.symbol_bytes))
                          for index, sequence in enumerate(sequences) if sequence in self._sources)
        except WireError:  # a source longer than the block's symbols: they were not made from it
            self.rebuilt_invalid += len(holes)
            return []
        symbols = fec.rebuild(pieces, block.k, block.n)
        rebuilt = []
        for index in holes:
            datagram = self._checked(symbols[index], sequences[index])
            if datagram is None:
                self.rebuilt_invalid += 1
                continue
            self._sources[sequences[index]] = datagram
            rebuilt.append(datagram)
        self.packets_rebuilt += len(rebuilt)
        return rebuilt

    def _checked(self, symbol: bytes, sequence: int) -> bytes | None:
        """The datagram a rebuilt symbol holds, if it is a packet of the stream at `sequence`."""
        try:
            datagram = fec.datagram_of(symbol)
            packet = RtpPacket.parse(datagram)
        except WireError:
            return None
        if packet.ssrc != self._ssrc or packet.sequence != wrap(sequence, SEQ_BITS):
            return None
        return datagram
