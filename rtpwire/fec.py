"""Reed-Solomon forward error correction (zfec): the repair packet, and the code that makes and reads its symbol.

After every K source packets (the RTP or SRTP datagrams of the audio stream, exactly as sent) the station sends
N - K repair packets; any K of the N rebuild all K. Each repair is an RTP packet of a stream of its own (its own
port, SSRC and sequence numbers), whose payload is a 13-byte header, all big-endian, and one symbol:

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    |                   source SSRC (of the block)                  |
    |           RTP timestamp of the block's first source           |
    |  sequence number of the block's first source  |       K       |
    |       N       |     index     |  symbol ...                   |

The block is the K consecutive source sequence numbers from the first one (wrapping at 16 bits); the index of the
repair among the N symbols is in [K, N) (0 to K - 1 are the sources themselves). 1 <= K < N <= 255: zfec codes at
most 256 symbols, and one index byte numbers 255. The symbol takes the rest of the payload. The repair stream goes
to the audio's port + `REPAIR_PORT_OFFSET` (RTCP has + 1, the time service + 2), with payload type
`REPAIR_PAYLOAD_TYPE`, both as the SDP says (x-rs-fec, rtpwire/sdp.py).

Source datagrams differ in length (Opus is VBR) and zfec codes symbols of one length: each source's symbol is its
datagram's length (16 bits) and the datagram, zero-padded to the block's longest. A rebuilt symbol gives its
datagram back, and is refused if its length or its padding say it was not made that way (a forged or garbled
repair). Coding the datagrams as sent means that with SRTP a rebuilt datagram is an SRTP datagram, which the
listener authenticates like any other: a forged repair cannot make audio that plays.

`MAX_SOURCE_BYTES` bounds a symbol, so that what a listener holds for blocks in the making is bounded too.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from rtpwire.errors import WireError
from rtpwire.rtp import HEADER as RTP_HEADER
from rtpwire.rtp import RtpPacket

if TYPE_CHECKING:
    import zfec

HEADER = struct.Struct("!IIHBBB")  # source SSRC, first source timestamp, first source sequence, K, N, index
LENGTH = struct.Struct("!H")  # a source datagram's length, before it in its symbol
MAX_BLOCK_PACKETS = 255  # N at most: zfec codes up to 256 symbols, one byte numbers them
REPAIR_PORT_OFFSET = 4
REPAIR_PAYLOAD_TYPE = 127  # dynamic (RFC 3551): no static type describes these packets
# The largest source datagram protected: what an Ethernet frame carries unfragmented (1500 - 20 IP - 8 UDP). The
# station's are at most 1222 bytes (1200 of audio, the RTP header, the SRTP tag).
MAX_SOURCE_BYTES = 1472
MIN_SYMBOL_BYTES = LENGTH.size + RTP_HEADER.size  # the shortest symbol of a block: one holding an empty RTP packet
MAX_SYMBOL_BYTES = LENGTH.size + MAX_SOURCE_BYTES


def check_code(k: int, n: int) -> None:
    """K source symbols and N in all, as the code allows them; WireError (a ValueError) saying what is wrong."""
    if not 1 <= k < n <= MAX_BLOCK_PACKETS:
        raise WireError(f"FEC block of K={k} of N={n}: need 1 <= K < N <= {MAX_BLOCK_PACKETS}")


@dataclass(frozen=True, slots=True)
class RepairPayload:
    """The payload of one repair packet. The constructor checks what `parse` checks, so that neither side of the
    wire can hold a payload the other refuses."""

    source_ssrc: int
    first_timestamp: int  # of the block's first source: when the block plays
    first_sequence: int
    k: int
    n: int
    index: int  # in [k, n)
    symbol: bytes

    def __post_init__(self) -> None:
        check_code(self.k, self.n)
        if not self.k <= self.index < self.n:
            raise WireError(f"FEC repair index {self.index} outside [K, N) = [{self.k}, {self.n})")
        if not MIN_SYMBOL_BYTES <= len(self.symbol) <= MAX_SYMBOL_BYTES:
            raise WireError(f"FEC symbol of {len(self.symbol)} bytes: a symbol holds a length and a datagram, "
                            f"{MIN_SYMBOL_BYTES} to {MAX_SYMBOL_BYTES} bytes")

    def __bytes__(self) -> bytes:
        return HEADER.pack(self.source_ssrc, self.first_timestamp, self.first_sequence, self.k, self.n,
                           self.index) + self.symbol

    @classmethod
    def parse(cls, data: bytes) -> RepairPayload:
        """Decode a repair packet's payload; raises WireError saying what is wrong with it."""
        if len(data) < HEADER.size:
            raise WireError(f"FEC repair payload too short: {len(data)} bytes, need at least {HEADER.size}")
        return cls(*HEADER.unpack_from(data), symbol=bytes(data[HEADER.size:]))


def parse_repair(datagram: bytes) -> RepairPayload:
    """The repair a whole repair datagram (plain RTP: SRTP opened already) carries; WireError if it is not one."""
    return RepairPayload.parse(RtpPacket.parse(datagram).payload)


def source_symbol(datagram: bytes, size: int) -> bytes:
    """A source datagram as the code sees it: its length, itself, and zeros up to the block's `size`; WireError
    if it does not fit (a listener's block whose repairs were not made from it)."""
    if len(datagram) > MAX_SOURCE_BYTES:
        raise WireError(f"a {len(datagram)}-byte datagram is longer than FEC protects ({MAX_SOURCE_BYTES})")
    if LENGTH.size + len(datagram) > size:
        raise WireError(f"a {len(datagram)}-byte datagram does not fit a {size}-byte FEC symbol")
    return LENGTH.pack(len(datagram)) + datagram + bytes(size - LENGTH.size - len(datagram))


def datagram_of(symbol: bytes) -> bytes:
    """The datagram in a rebuilt source symbol; WireError if its length does not fit the symbol or its padding
    is not zeros, as in no symbol the station made."""
    (length,) = LENGTH.unpack_from(symbol)
    end = LENGTH.size + length
    if end > len(symbol):
        raise WireError(f"rebuilt FEC symbol claims a {length}-byte datagram but holds {len(symbol) - LENGTH.size}")
    if any(symbol[end:]):
        raise WireError("rebuilt FEC symbol has non-zero padding")
    return symbol[LENGTH.size:end]


@lru_cache(maxsize=16)
def _encoder(k: int, n: int) -> zfec.Encoder:
    import zfec  # loaded by the first stream with FEC only

    return zfec.Encoder(k, n)


@lru_cache(maxsize=16)
def _decoder(k: int, n: int) -> zfec.Decoder:
    """zfec's tables for a code; a few are kept, since one costs up to a millisecond and a stream uses one."""
    import zfec

    return zfec.Decoder(k, n)


def repair_symbols(datagrams: Sequence[bytes], n: int) -> list[bytes]:
    """The N - K repair symbols (indexes K to N - 1) of a block of K = len(datagrams) source datagrams."""
    k = len(datagrams)
    check_code(k, n)
    size = LENGTH.size + max(map(len, datagrams))
    symbols = tuple(source_symbol(datagram, size) for datagram in datagrams)
    return [bytes(symbol) for symbol in _encoder(k, n).encode(symbols, tuple(range(k, n)))]


def rebuild(pieces: Mapping[int, bytes], k: int, n: int) -> list[bytes]:
    """The K source symbols of a block, from exactly K of its N symbols by index, all of one length. zfec checks
    neither the indexes nor their being distinct (it loops forever on a repeated one), so this does."""
    lengths = {len(symbol) for symbol in pieces.values()}
    if len(pieces) != k or len(lengths) != 1 or not all(0 <= index < n for index in pieces):
        raise ValueError(f"rebuilding needs {k} distinct symbols of one length with indexes below {n}")
    indexes = tuple(pieces)
    return [bytes(symbol) for symbol in _decoder(k, n).decode(tuple(pieces[i] for i in indexes), indexes)]
