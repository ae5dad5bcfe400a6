"""RTP data packets (RFC 3550 section 5.1) as small frozen dataclasses: `parse(data)` and `bytes(packet)`."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from rtpwire.errors import WireError

RTP_VERSION = 2
HEADER = struct.Struct("!BBHII")  # V/P/X/CC, M/PT, sequence, timestamp, SSRC
EXTENSION_HEADER = struct.Struct("!HH")  # profile-defined id, length in 32-bit words


@dataclass(frozen=True, slots=True)
class RtpPacket:
    """One RTP packet. Header extensions of received packets are skipped, not kept: we never send any."""

    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrc: tuple[int, ...] = ()

    def __bytes__(self) -> bytes:
        first = (RTP_VERSION << 6) | len(self.csrc)
        second = (int(self.marker) << 7) | self.payload_type
        header = HEADER.pack(first, second, self.sequence, self.timestamp, self.ssrc)
        csrc = struct.pack(f"!{len(self.csrc)}I", *self.csrc)
        return header + csrc + self.payload

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        """Decode one datagram; raises WireError saying what is wrong with it."""
        if len(data) < HEADER.size:
            raise WireError(f"RTP packet too short: {len(data)} bytes, need at least {HEADER.size}")
        first, second, sequence, timestamp, ssrc = HEADER.unpack_from(data)
        version = first >> 6
        if version != RTP_VERSION:
            raise WireError(f"unsupported RTP version {version}")
        end = len(data)
        if first & 0x20:
            if end == HEADER.size:
                raise WireError("RTP padding flag set on a packet with no payload")
            padding = data[-1]
            if padding == 0 or HEADER.size + padding > end:
                raise WireError(f"RTP padding of {padding} bytes does not fit a {end}-byte packet")
            end -= padding
        offset = HEADER.size
        csrc_count = first & 0x0F
        if offset + 4 * csrc_count > end:
            raise WireError(f"RTP CSRC list of {csrc_count} entries truncated")
        csrc = struct.unpack_from(f"!{csrc_count}I", data, offset)
        offset += 4 * csrc_count
        if first & 0x10:
            if offset + EXTENSION_HEADER.size > end:
                raise WireError("RTP header extension truncated")
            _profile, words = EXTENSION_HEADER.unpack_from(data, offset)
            offset += EXTENSION_HEADER.size + 4 * words
            if offset > end:
                raise WireError(f"RTP header extension of {words} words truncated")
        return cls(
            payload_type=second & 0x7F,
            sequence=sequence,
            timestamp=timestamp,
            ssrc=ssrc,
            payload=bytes(data[offset:end]),
            marker=bool(second & 0x80),
            csrc=tuple(csrc),
        )
