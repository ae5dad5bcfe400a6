"""The station's clock and latency in RTP header extensions (RFC 6051, RFC 8285)."""

from __future__ import annotations

import pytest

from rtpwire.errors import WireError
from rtpwire.rapid_sync import CLOCK_ID, LATENCY_ID, clock_elements, packet_clock
from rtpwire.rtp import RtpPacket


def _packet(*extensions: tuple[int, bytes]) -> RtpPacket:
    return RtpPacket.parse(bytes(RtpPacket(payload_type=10, sequence=1, timestamp=2, ssrc=3, payload=b"\x00\x01",
                                           extensions=extensions)))


def test_clock_and_latency_round_trip():
    packet = _packet(*clock_elements(0x0123456789ABCDEF, 150_000))
    assert packet_clock(packet, CLOCK_ID, LATENCY_ID) == (0x0123456789ABCDEF, 150_000)


def test_clock_elements_golden():
    assert clock_elements(0x0102030405060708, 150_000) == ((1, bytes.fromhex("0102030405060708")),
                                                           (2, bytes.fromhex("000249f0")))


def test_a_packet_without_them_carries_none():
    assert packet_clock(_packet(), CLOCK_ID, LATENCY_ID) == (None, None)


def test_ids_not_negotiated_are_not_read():
    assert packet_clock(_packet(*clock_elements(5, 6)), None, None) == (None, None)


def test_other_ids_as_a_description_gives_them():
    packet = _packet((7, bytes(8)), (3, bytes.fromhex("000003e8")))
    assert packet_clock(packet, 7, 3) == (0, 1000)


@pytest.mark.parametrize("element, message", [((CLOCK_ID, bytes(4)), "NTP timestamp extension of 4 bytes"),
                                              ((LATENCY_ID, bytes(8)), "latency extension of 8 bytes")])
def test_an_element_of_the_wrong_size_is_a_wire_error(element, message):
    with pytest.raises(WireError, match=message):
        packet_clock(_packet(element), CLOCK_ID, LATENCY_ID)
