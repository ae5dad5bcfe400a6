"""RTCP (RFC 3550 section 6): sender/receiver reports, source descriptions, BYE and APP, in compound packets.

Each packet type is a frozen dataclass with `bytes(packet)`; `parse_compound(data)` decodes a whole datagram.
Packet types we do not know (feedback, XR...) are skipped, as RFC 3550 asks of receivers.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Union

from rtpwire.errors import WireError
from rtpwire.seqnum import wrap, wrap_diff

RTCP_VERSION = 2
COMMON_HEADER = struct.Struct("!BBH")  # V/P/count, packet type, length in 32-bit words minus one
SENDER_INFO = struct.Struct("!IQIII")  # SSRC, NTP timestamp, RTP timestamp, packet count, octet count
REPORT_BLOCK = struct.Struct("!IIIIII")  # SSRC, fraction+cumulative lost, highest seq, jitter, LSR, DLSR
SSRC = struct.Struct("!I")
MAX_COUNT = 31

PT_SR, PT_RR, PT_SDES, PT_BYE, PT_APP = 200, 201, 202, 203, 204
SDES_END, SDES_CNAME, SDES_NAME, SDES_NOTE, SDES_PRIV = 0, 1, 2, 7, 8
MAX_ITEM_BYTES = 255  # an SDES item's length is one byte

NTP_UNIX_EPOCH_OFFSET_S = 2_208_988_800  # seconds from 1900-01-01 (NTP era 0) to 1970-01-01
COMPACT_UNITS_PER_S = 1 << 16  # RFC 3550's compact NTP format: 16.16 fixed-point seconds (LSR, DLSR)


def ntp_from_unix(unix_s: float) -> int:
    """64-bit NTP timestamp (32.32 fixed point, seconds since 1900) of a Unix time."""
    return wrap(round((unix_s + NTP_UNIX_EPOCH_OFFSET_S) * (1 << 32)), 64)


def unix_from_ntp(ntp: int) -> float:
    """Unix time of a 64-bit NTP timestamp (era 0, valid until 2036)."""
    return ntp / (1 << 32) - NTP_UNIX_EPOCH_OFFSET_S


def compact_ntp(ntp: int) -> int:
    """The middle 32 bits of a 64-bit NTP timestamp (RFC 3550 6.4.1): what a report block's LSR echoes of a sender
    report, and the clock the sender reads a report's arrival on to work out the round trip."""
    return wrap(ntp >> 16, 32)


def compact_duration(seconds: float) -> int:
    """A duration in the compact format's 1/65536 s (a report block's DLSR); never negative."""
    return wrap(max(0, round(seconds * COMPACT_UNITS_PER_S)), 32)


def utf8_prefix(text: str, max_bytes: int) -> bytes:
    """The UTF-8 encoding of `text` cut to at most `max_bytes` without splitting a character."""
    return text.encode("utf-8")[:max_bytes].decode("utf-8", "ignore").encode("utf-8")


def priv_item(prefix: str, value: str) -> tuple[int, str]:
    """An SDES PRIV item (RFC 3550 6.5.8): the prefix's length in one byte, the prefix, the value, both UTF-8.
    Its text holds those bytes exactly (undecodable ones escaped), so that a prefix length of 128 or more survives
    the round trip; one longer than the 255 bytes of an item is refused (ValueError) rather than cut."""
    raw_prefix, raw_value = prefix.encode("utf-8"), value.encode("utf-8")
    size = 1 + len(raw_prefix) + len(raw_value)
    if size > MAX_ITEM_BYTES:
        raise ValueError(f"an SDES PRIV item holds at most {MAX_ITEM_BYTES} bytes, not {size}")
    return SDES_PRIV, (bytes((len(raw_prefix),)) + raw_prefix + raw_value).decode("utf-8", "surrogateescape")


def parse_priv(text: str) -> tuple[str, str]:
    """The prefix and value of a PRIV item's text (as `priv_item` makes it, or a parsed SDES chunk holds it)."""
    raw = text.encode("utf-8", "surrogateescape")
    if not raw:
        raise WireError("RTCP SDES PRIV item is empty: no prefix length")
    end = 1 + raw[0]
    if end > len(raw):
        raise WireError(f"RTCP SDES PRIV prefix of {raw[0]} bytes overruns the item's {len(raw) - 1}")
    try:
        return raw[1:end].decode("utf-8"), raw[end:].decode("utf-8")
    except UnicodeDecodeError:
        raise WireError("RTCP SDES PRIV prefix or value is not UTF-8") from None


def _item_bytes(kind: int, text: str) -> bytes:
    """An SDES item's text on the wire: cut to what an item holds; a PRIV item's exact bytes (`priv_item`)."""
    if kind == SDES_PRIV:
        return text.encode("utf-8", "surrogateescape")[:MAX_ITEM_BYTES]
    return utf8_prefix(text, MAX_ITEM_BYTES)


def _item_text(kind: int, raw: bytes) -> str:
    """What `_item_bytes` wrote: PRIV bytes kept exactly, other text with invalid UTF-8 replaced."""
    return raw.decode("utf-8", "surrogateescape" if kind == SDES_PRIV else "replace")


def _pad4(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def _with_header(count: int, packet_type: int, body: bytes) -> bytes:
    if count > MAX_COUNT:
        raise ValueError(f"an RTCP packet holds at most {MAX_COUNT} items, not {count}")
    if len(body) % 4:
        raise ValueError("RTCP body must be a multiple of 32 bits")
    return COMMON_HEADER.pack((RTCP_VERSION << 6) | count, packet_type, len(body) // 4) + body


@dataclass(frozen=True, slots=True)
class ReportBlock:
    """Reception statistics about one source (RFC 3550 6.4.1)."""

    ssrc: int
    fraction_lost: int  # lost fraction since the last report, in 1/256
    packets_lost: int  # cumulative, signed 24-bit (duplicates can make it negative)
    highest_sequence: int  # extended highest sequence number received
    jitter: int  # interarrival jitter, in timestamp units
    last_sr: int  # middle 32 bits of the last SR's NTP timestamp (`compact_ntp`); 0: no SR received yet
    delay_since_last_sr: int  # in 1/65536 s (`compact_duration`)

    def __bytes__(self) -> bytes:
        lost = max(-(1 << 23), min(self.packets_lost, (1 << 23) - 1)) & 0xFFFFFF
        return REPORT_BLOCK.pack(self.ssrc, (self.fraction_lost << 24) | lost, self.highest_sequence,
                                 self.jitter, self.last_sr, self.delay_since_last_sr)

    @classmethod
    def parse(cls, data: bytes, offset: int) -> ReportBlock:
        ssrc, lost_word, highest, jitter, last_sr, dlsr = REPORT_BLOCK.unpack_from(data, offset)
        lost = lost_word & 0xFFFFFF
        if lost & 0x800000:
            lost -= 1 << 24
        return cls(ssrc, lost_word >> 24, lost, highest, jitter, last_sr, dlsr)

    def round_trip_s(self, arrival_ntp: int) -> float | None:
        """RFC 3550 6.4.1: the arrival (64-bit NTP) of the report holding this block, minus the SR timestamp it
        echoes, minus how long its sender held that SR; None before it had any SR."""
        if self.last_sr == 0:
            return None
        units = wrap_diff(compact_ntp(arrival_ntp), self.last_sr + self.delay_since_last_sr, 32)
        return max(0, units) / COMPACT_UNITS_PER_S  # rounding on both sides may put a loopback's below zero


def _parse_blocks(body: bytes, offset: int, count: int, kind: str) -> tuple[ReportBlock, ...]:
    if offset + count * REPORT_BLOCK.size > len(body):
        raise WireError(f"RTCP {kind} announces {count} report blocks but is truncated")
    return tuple(ReportBlock.parse(body, offset + i * REPORT_BLOCK.size) for i in range(count))


@dataclass(frozen=True, slots=True)
class SenderReport:
    """Maps the sender's media clock to wall-clock time: `rtp_timestamp` was sampled at `ntp_timestamp`."""

    ssrc: int
    ntp_timestamp: int
    rtp_timestamp: int
    packet_count: int
    octet_count: int
    reports: tuple[ReportBlock, ...] = ()

    def __bytes__(self) -> bytes:
        body = SENDER_INFO.pack(self.ssrc, self.ntp_timestamp, self.rtp_timestamp,
                                wrap(self.packet_count, 32), wrap(self.octet_count, 32))
        return _with_header(len(self.reports), PT_SR, body + b"".join(bytes(r) for r in self.reports))

    @classmethod
    def parse(cls, count: int, body: bytes) -> SenderReport:
        if len(body) < SENDER_INFO.size:
            raise WireError(f"RTCP sender report too short: {len(body)} bytes of body")
        ssrc, ntp, rtp_ts, packets, octets = SENDER_INFO.unpack_from(body)
        return cls(ssrc, ntp, rtp_ts, packets, octets, _parse_blocks(body, SENDER_INFO.size, count, "SR"))


@dataclass(frozen=True, slots=True)
class ReceiverReport:
    """A listener's reception statistics, one block per source it hears."""

    ssrc: int
    reports: tuple[ReportBlock, ...] = ()

    def __bytes__(self) -> bytes:
        body = SSRC.pack(self.ssrc) + b"".join(bytes(r) for r in self.reports)
        return _with_header(len(self.reports), PT_RR, body)

    @classmethod
    def parse(cls, count: int, body: bytes) -> ReceiverReport:
        if len(body) < SSRC.size:
            raise WireError("RTCP receiver report too short")
        (ssrc,) = SSRC.unpack_from(body)
        return cls(ssrc, _parse_blocks(body, SSRC.size, count, "RR"))


@dataclass(frozen=True, slots=True)
class SdesChunk:
    """The description items (CNAME, NAME, NOTE, PRIV...) of one source, as (item type, text) pairs."""

    ssrc: int
    items: tuple[tuple[int, str], ...]

    def get(self, item_type: int) -> str | None:
        return next((text for kind, text in self.items if kind == item_type), None)

    def priv(self, prefix: str) -> str | None:
        """The value of the first PRIV item with this prefix. Malformed PRIV items are skipped, not raised: they
        can only be some other application's, and should not spoil the rest of the description."""
        for kind, text in self.items:
            if kind != SDES_PRIV:
                continue
            try:
                found, value = parse_priv(text)
            except WireError:
                continue
            if found == prefix:
                return value
        return None

    def __bytes__(self) -> bytes:
        out = bytearray(SSRC.pack(self.ssrc))
        for kind, text in self.items:
            raw = _item_bytes(kind, text)
            out += bytes((kind, len(raw))) + raw
        out.append(SDES_END)
        return _pad4(bytes(out))


@dataclass(frozen=True, slots=True)
class SourceDescription:
    chunks: tuple[SdesChunk, ...]

    def __bytes__(self) -> bytes:
        return _with_header(len(self.chunks), PT_SDES, b"".join(bytes(c) for c in self.chunks))

    @classmethod
    def parse(cls, count: int, body: bytes) -> SourceDescription:
        chunks = []
        offset = 0
        for _ in range(count):
            if offset + SSRC.size > len(body):
                raise WireError("RTCP SDES chunk truncated")
            (ssrc,) = SSRC.unpack_from(body, offset)
            offset += SSRC.size
            items = []
            while True:
                if offset >= len(body):
                    raise WireError("RTCP SDES item list has no end marker")
                kind = body[offset]
                if kind == SDES_END:
                    offset = (offset + 4) & ~3  # the end marker, then padding to the next 32-bit boundary
                    break
                if offset + 2 > len(body) or offset + 2 + body[offset + 1] > len(body):
                    raise WireError(f"RTCP SDES item of type {kind} truncated")
                length = body[offset + 1]
                items.append((kind, _item_text(kind, body[offset + 2: offset + 2 + length])))
                offset += 2 + length
            chunks.append(SdesChunk(ssrc, tuple(items)))
        return cls(tuple(chunks))


@dataclass(frozen=True, slots=True)
class Bye:
    """Sources leaving the session; a station sends it when it stops."""

    ssrcs: tuple[int, ...]
    reason: str = ""

    def __bytes__(self) -> bytes:
        body = b"".join(SSRC.pack(s) for s in self.ssrcs)
        if self.reason:
            raw = utf8_prefix(self.reason, 255)
            body += _pad4(bytes((len(raw),)) + raw)
        return _with_header(len(self.ssrcs), PT_BYE, body)

    @classmethod
    def parse(cls, count: int, body: bytes) -> Bye:
        end = count * SSRC.size
        if end > len(body):
            raise WireError(f"RTCP BYE announces {count} sources but is truncated")
        ssrcs = tuple(SSRC.unpack_from(body, i * SSRC.size)[0] for i in range(count))
        reason = ""
        if end < len(body):
            length = body[end]
            if end + 1 + length > len(body):
                raise WireError("RTCP BYE reason truncated")
            reason = body[end + 1: end + 1 + length].decode("utf-8", "replace")
        return cls(ssrcs, reason)


@dataclass(frozen=True, slots=True)
class App:
    """Application-defined RTCP (RFC 3550 6.7): a 4-character name, a 5-bit subtype, data in 32-bit words."""

    ssrc: int
    name: bytes
    subtype: int = 0
    data: bytes = b""

    def __bytes__(self) -> bytes:
        if len(self.name) != 4:
            raise ValueError("an RTCP APP name is exactly 4 bytes")
        return _with_header(self.subtype, PT_APP, SSRC.pack(self.ssrc) + self.name + _pad4(self.data))

    @classmethod
    def parse(cls, subtype: int, body: bytes) -> App:
        if len(body) < 8:
            raise WireError("RTCP APP packet too short")
        (ssrc,) = SSRC.unpack_from(body)
        return cls(ssrc, bytes(body[4:8]), subtype, bytes(body[8:]))


RtcpPacket = Union[SenderReport, ReceiverReport, SourceDescription, Bye, App]
_PARSERS = {PT_SR: SenderReport.parse, PT_RR: ReceiverReport.parse, PT_SDES: SourceDescription.parse,
            PT_BYE: Bye.parse, PT_APP: App.parse}


def parse_compound(data: bytes) -> list[RtcpPacket]:
    """Every known packet of a compound RTCP datagram, in order; raises WireError on a malformed one."""
    if len(data) < COMMON_HEADER.size:
        raise WireError(f"RTCP packet too short: {len(data)} bytes")
    packets: list[RtcpPacket] = []
    offset = 0
    while offset < len(data):
        if offset + COMMON_HEADER.size > len(data):
            raise WireError(f"RTCP compound packet has {len(data) - offset} trailing bytes")
        first, packet_type, words = COMMON_HEADER.unpack_from(data, offset)
        if first >> 6 != RTCP_VERSION:
            raise WireError(f"unsupported RTCP version {first >> 6}")
        end = offset + COMMON_HEADER.size + 4 * words
        if end > len(data):
            raise WireError(f"RTCP packet of type {packet_type} claims {4 * words} bytes, has {len(data) - offset - 4}")
        body = data[offset + COMMON_HEADER.size: end]
        if first & 0x20:  # padding: only legal on the last packet, its last byte counts the padding
            padding = body[-1] if body else 0
            if padding == 0 or padding > len(body):
                raise WireError(f"RTCP padding of {padding} bytes does not fit")
            body = body[:-padding]
        parser = _PARSERS.get(packet_type)
        if parser is not None:
            packets.append(parser(first & 0x1F, bytes(body)))
        offset = end
    return packets


def compound(*packets: RtcpPacket) -> bytes:
    """One datagram holding several RTCP packets, as RFC 3550 6.1 wants them sent."""
    return b"".join(bytes(p) for p in packets)
