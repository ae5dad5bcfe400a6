"""SAP packets (RFC 2974): golden announcements and deletions, other senders' forms, and bad packets."""

import zlib

import pytest

from rtpwire.errors import WireError
from rtpwire.sap import SapPacket, sap_address

SDP = b"v=0\r\no=- 7 1 IN IP4 127.0.0.1\r\ns=Radio\r\n"
ANNOUNCEMENT = bytes.fromhex("20 00 1234 7f000001") + b"application/sdp\0" + SDP


def test_announcement_golden():
    packet = SapPacket(origin="127.0.0.1", payload=SDP, message_id_hash=0x1234)
    assert bytes(packet) == ANNOUNCEMENT


def test_announcement_parses_back():
    assert SapPacket.parse(ANNOUNCEMENT) == SapPacket(origin="127.0.0.1", payload=SDP, message_id_hash=0x1234)


def test_deletion_sets_the_t_bit():
    packet = SapPacket(origin="10.1.2.3", payload=SDP, message_id_hash=1, deletion=True)
    data = bytes(packet)
    assert data[0] == 0x24
    assert SapPacket.parse(data) == packet


def test_announcing_hashes_the_description():
    packet = SapPacket.announcing("127.0.0.1", SDP.decode())
    assert packet.payload == SDP
    assert packet.message_id_hash == zlib.crc32(SDP) & 0xFFFF
    assert SapPacket.announcing("127.0.0.1", SDP.decode() + "i=new title\r\n").message_id_hash \
        != packet.message_id_hash


def test_ipv6_origin():
    packet = SapPacket(origin="fe80::1", payload=SDP, message_id_hash=2)
    data = bytes(packet)
    assert data[0] == 0x30
    assert len(data) == 4 + 16 + len(b"application/sdp\0") + len(SDP)
    assert SapPacket.parse(data) == packet


def test_payload_type_may_be_left_out_for_sdp():
    """RFC 2974: a payload starting with v=0 is SDP, with no type before it (as older senders do)."""
    data = bytes.fromhex("20 00 0001 0a000001") + SDP
    assert SapPacket.parse(data) == SapPacket(origin="10.0.0.1", payload=SDP, message_id_hash=1)


def test_other_payload_types_are_read_not_refused():
    data = bytes.fromhex("20 00 0001 0a000001") + b"text/plain\0hello"
    packet = SapPacket.parse(data)
    assert (packet.payload_type, packet.payload) == ("text/plain", b"hello")


def test_authentication_data_is_skipped():
    data = bytes.fromhex("20 02 0001 0a000001") + bytes(8) + b"application/sdp\0" + SDP
    assert SapPacket.parse(data).payload == SDP


@pytest.mark.parametrize(("data", "message"), [
    (b"\x20\x00", "SAP packet too short: 2 bytes, need at least 4"),
    (bytes.fromhex("40 00 0001 0a000001") + SDP, "unsupported SAP version 2"),
    (bytes.fromhex("00 00 0001 0a000001") + SDP, "unsupported SAP version 0"),
    (bytes.fromhex("22 00 0001 0a000001") + SDP, "SAP payload is encrypted; not supported"),
    (bytes.fromhex("21 00 0001 0a000001") + SDP, "SAP payload is compressed; not supported"),
    (bytes.fromhex("20 00 0001 0a00"), "SAP packet of 6 bytes ends within its origin address"),
    (bytes.fromhex("30 00 0001 0a000001") + SDP[:4], "SAP packet of 12 bytes ends within its origin address"),
    (bytes.fromhex("20 05 0001 0a000001") + bytes(8), "SAP authentication data of 20 bytes truncated"),
    (bytes.fromhex("20 00 0001 0a000001") + b"application/sdp", "SAP payload type is not terminated"),
    (bytes.fromhex("20 00 0001 0a000001") + b"\xffpplication\0v=0", "SAP payload type is not ASCII"),
])
def test_bad_packets_say_what_is_wrong(data, message):
    with pytest.raises(WireError) as error:
        SapPacket.parse(data)
    assert str(error.value) == message


@pytest.mark.parametrize(("group", "expected"), [
    ("239.255.0.1", "239.255.255.255"),  # IPv4 local scope (RFC 2365)
    ("239.255.77.7", "239.255.255.255"),
    ("239.192.0.1", "239.195.255.255"),  # organization-local scope
    ("239.195.1.1", "239.195.255.255"),
    ("239.1.2.3", "224.2.127.254"),  # other groups: the global scope's
    ("224.2.1.1", "224.2.127.254"),
])
def test_sap_address_of_a_groups_scope(group, expected):
    assert sap_address(group) == (expected, 9875)
