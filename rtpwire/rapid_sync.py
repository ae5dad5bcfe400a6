"""RTP header extensions for rapid synchronisation (RFC 6051): the station's clock in-band, so that a listener
joining, or one whose station restarted, plays without waiting for the next sender report (once a second).

Two elements, in the one-byte form of RFC 8285, on the same packets:
- RFC 6051's 64-bit NTP timestamp (`urn:ietf:params:rtp-hdrext:ntp-64`): the wall-clock time at which the
  packet's first sample was taken, the pairing an SR gives for its RTP timestamp;
- ours, the latency the station announces (its RDIO report's, in microseconds, 32 bits): listeners play in step
  only if they all play at the same delay after the station's clock, so the clock alone is not enough to start.
Their IDs are negotiated in SDP (`a=extmap`); our station uses CLOCK_ID and LATENCY_ID and says so. Players that
know no header extensions (ffmpeg, GStreamer's depayloaders) skip them, as RFC 3550 asks.
"""

from __future__ import annotations

import struct

from rtpwire.errors import WireError
from rtpwire.rtp import RtpPacket

NTP64_URI = "urn:ietf:params:rtp-hdrext:ntp-64"
LATENCY_URI = "urn:x-multicast-radio:latency-us"
CLOCK_ID = 1  # the IDs our station gives the elements (a=extmap:1 and a=extmap:2 in its SDP)
LATENCY_ID = 2
NTP64 = struct.Struct("!Q")
LATENCY_US = struct.Struct("!I")


def clock_elements(ntp_timestamp: int, latency_us: int) -> tuple[tuple[int, bytes], ...]:
    """The header extension elements carrying `ntp_timestamp` (64-bit NTP format) and the station's latency."""
    return (CLOCK_ID, NTP64.pack(ntp_timestamp)), (LATENCY_ID, LATENCY_US.pack(latency_us))


def packet_clock(packet: RtpPacket, clock_id: int | None, latency_id: int | None) -> tuple[int | None, int | None]:
    """The NTP timestamp and the latency (µs) a packet carries, each None if it carries none (or its ID is None);
    WireError if an element is not of its size."""
    return _element(packet, clock_id, NTP64, "NTP timestamp"), _element(packet, latency_id, LATENCY_US, "latency")


def _element(packet: RtpPacket, element_id: int | None, layout: struct.Struct, what: str) -> int | None:
    data = None if element_id is None else packet.extension(element_id)
    if data is None:
        return None
    if len(data) != layout.size:
        raise WireError(f"RTP {what} extension of {len(data)} bytes, expected {layout.size}")
    return int(layout.unpack(data)[0])
