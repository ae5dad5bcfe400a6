"""RTP data packets (RFC 3550 section 5.1) as small frozen dataclasses: `parse(data)` and `bytes(packet)`."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from rtpwire.errors import WireError

RTP_VERSION = 2
HEADER = struct.Struct("!BBHII")  # V/P/X/CC, M/PT, sequence, timestamp, SSRC
EXTENSION_HEADER = struct.Struct("!HH")  # profile-defined id, length in 32-bit words
ONE_BYTE_PROFILE = 0xBEDE  # RFC 8285 4.2: elements of a one-byte header (ID, length - 1) and 1 to 16 bytes
ONE_BYTE_STOP_ID = 15  # ends the elements (ID 0 is a padding byte)


@dataclass(frozen=True, slots=True)
class RtpPacket:
    """One RTP packet. Header extensions (RFC 8285) are kept in the one-byte form, as (ID, data) elements, and
    sent in it; those of another form are skipped."""

    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrc: tuple[int, ...] = ()
    extensions: tuple[tuple[int, bytes], ...] = ()

    def __bytes__(self) -> bytes:
        first = (RTP_VERSION << 6) | (0x10 if self.extensions else 0) | len(self.csrc)
        second = (int(self.marker) << 7) | self.payload_type
        header = HEADER.pack(first, second, self.sequence, self.timestamp, self.ssrc)
        csrc = struct.pack(f"!{len(self.csrc)}I", *self.csrc)
        return header + csrc + _one_byte_extensions(self.extensions) + self.payload

    def extension(self, element_id: int) -> bytes | None:
        """The data of the header extension element `element_id`, None if the packet has none."""
        for found_id, data in self.extensions:
            if found_id == element_id:
                return data
        return None

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
        extensions: tuple[tuple[int, bytes], ...] = ()
        if first & 0x10:
            if offset + EXTENSION_HEADER.size > end:
                raise WireError("RTP header extension truncated")
            profile, words = EXTENSION_HEADER.unpack_from(data, offset)
            start = offset + EXTENSION_HEADER.size
            offset = start + 4 * words
            if offset > end:
                raise WireError(f"RTP header extension of {words} words truncated")
            if profile == ONE_BYTE_PROFILE:
                extensions = _parse_one_byte(data[start:offset])
        return cls(
            payload_type=second & 0x7F,
            sequence=sequence,
            timestamp=timestamp,
            ssrc=ssrc,
            payload=bytes(data[offset:end]),
            marker=bool(second & 0x80),
            csrc=tuple(csrc),
            extensions=extensions,
        )


def _one_byte_extensions(elements: tuple[tuple[int, bytes], ...]) -> bytes:
    """The header extension holding `elements` in the one-byte form, padded to whole words; b"" for none."""
    if not elements:
        return b""
    body = bytearray()
    for element_id, data in elements:
        if not 1 <= element_id < ONE_BYTE_STOP_ID or not 1 <= len(data) <= 16:
            raise ValueError(f"a one-byte header extension takes IDs 1-14 and 1-16 bytes, not {element_id}, "
                             f"{len(data)} bytes")
        body += bytes((element_id << 4 | (len(data) - 1),)) + data
    body += bytes(-len(body) % 4)
    return EXTENSION_HEADER.pack(ONE_BYTE_PROFILE, len(body) // 4) + body


def _parse_one_byte(body: bytes) -> tuple[tuple[int, bytes], ...]:
    """The elements of a one-byte header extension's body, up to one that runs past its end (which, with any
    after it, is left out: the packet's audio stays playable)."""
    elements = []
    index = 0
    while index < len(body):
        element_id, length = body[index] >> 4, (body[index] & 0x0F) + 1
        if element_id == 0:  # padding
            index += 1
            continue
        if element_id == ONE_BYTE_STOP_ID:
            break
        if index + 1 + length > len(body):
            break
        elements.append((element_id, bytes(body[index + 1: index + 1 + length])))
        index += 1 + length
    return tuple(elements)
