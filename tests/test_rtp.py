"""RTP data packets (RFC 3550 5.1) against golden bytes written by hand from the header layout.

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    |V=2|P|X|  CC   |M|     PT      |       sequence number         |
    |                           timestamp                           |
    |           synchronization source (SSRC) identifier            |
    |            contributing source (CSRC) identifiers             |
"""

import random

import pytest

from rtpwire.errors import WireError
from rtpwire.rtp import HEADER, RtpPacket


def h(text: str) -> bytes:
    """Bytes of a hex string with spaces for readability."""
    return bytes.fromhex(text.replace(" ", ""))


# V=2 P=0 X=0 CC=0 -> 0x80; M=1 PT=10 -> 0x8a; seq 0x1234; ts 0xdeadbeef; SSRC 0x01020304; 4 payload bytes.
GOLDEN_MARKER_PT10 = h("80 8a 1234 deadbeef 01020304 0001fffe")
# M=0 PT=11 -> 0x0b; seq 65535; ts 0; SSRC 0xffffffff; no payload.
GOLDEN_PT11_EMPTY = h("80 0b ffff 00000000 ffffffff")
# CC=2 -> 0x82; PT=10; seq 1; ts 220; SSRC 0xcafebabe; CSRCs 0x11111111, 0x22222222; payload "abcd".
GOLDEN_CSRC = h("82 0a 0001 000000dc cafebabe 11111111 22222222") + b"abcd"


def test_wire_error_is_value_error():
    assert issubclass(WireError, ValueError)
    with pytest.raises(ValueError):
        RtpPacket.parse(b"")


def test_header_is_twelve_bytes():
    assert HEADER.size == 12


def test_golden_marker_pt10_serialises():
    packet = RtpPacket(payload_type=10, sequence=0x1234, timestamp=0xDEADBEEF, ssrc=0x01020304,
                       payload=b"\x00\x01\xff\xfe", marker=True)
    assert bytes(packet) == GOLDEN_MARKER_PT10


def test_golden_marker_pt10_parses():
    packet = RtpPacket.parse(GOLDEN_MARKER_PT10)
    assert packet == RtpPacket(payload_type=10, sequence=0x1234, timestamp=0xDEADBEEF, ssrc=0x01020304,
                               payload=b"\x00\x01\xff\xfe", marker=True, csrc=())


def test_golden_empty_payload_max_fields():
    packet = RtpPacket(payload_type=11, sequence=65535, timestamp=0, ssrc=0xFFFFFFFF)
    assert bytes(packet) == GOLDEN_PT11_EMPTY
    parsed = RtpPacket.parse(GOLDEN_PT11_EMPTY)
    assert parsed == packet
    assert parsed.marker is False
    assert parsed.payload == b""


def test_golden_csrc_both_ways():
    packet = RtpPacket(payload_type=10, sequence=1, timestamp=220, ssrc=0xCAFEBABE, payload=b"abcd",
                       csrc=(0x11111111, 0x22222222))
    assert bytes(packet) == GOLDEN_CSRC
    assert RtpPacket.parse(GOLDEN_CSRC) == packet


def test_marker_bit_does_not_leak_into_payload_type():
    parsed = RtpPacket.parse(h("80 ff 0000 00000000 00000000"))
    assert parsed.marker is True
    assert parsed.payload_type == 127
    parsed = RtpPacket.parse(h("80 7f 0000 00000000 00000000"))
    assert parsed.marker is False
    assert parsed.payload_type == 127


def test_round_trip_random_packets():
    rng = random.Random(3550)
    for _ in range(200):
        packet = RtpPacket(
            payload_type=rng.randrange(128),
            sequence=rng.randrange(1 << 16),
            timestamp=rng.randrange(1 << 32),
            ssrc=rng.randrange(1 << 32),
            payload=rng.randbytes(rng.randrange(0, 1500)),
            marker=rng.random() < 0.5,
            csrc=tuple(rng.randrange(1 << 32) for _ in range(rng.randrange(16))),
        )
        data = bytes(packet)
        assert len(data) == 12 + 4 * len(packet.csrc) + len(packet.payload)
        assert RtpPacket.parse(data) == packet


def test_parse_accepts_memoryview_and_returns_bytes_payload():
    packet = RtpPacket.parse(memoryview(bytearray(GOLDEN_MARKER_PT10)))
    assert type(packet.payload) is bytes
    assert packet.payload == b"\x00\x01\xff\xfe"


def test_header_extension_is_skipped():
    # X=1 -> 0x90; PT 10; seq 7; ts 8; SSRC 9; extension profile 0xbede, 2 words of data; payload ff00.
    data = h("90 0a 0007 00000008 00000009 bede0002 01020304 05060708 ff00")
    packet = RtpPacket.parse(data)
    assert packet == RtpPacket(payload_type=10, sequence=7, timestamp=8, ssrc=9, payload=b"\xff\x00")


def test_empty_header_extension_is_skipped():
    data = h("90 0a 0007 00000008 00000009 bede0000 ab")
    assert RtpPacket.parse(data).payload == b"\xab"


def test_csrc_then_extension_then_payload():
    # CC=1 and X=1 -> 0x91; the extension follows the CSRC list.
    data = h("91 0a 0002 00000003 00000004 0a0b0c0d bede0001 deadbeef 0102")
    packet = RtpPacket.parse(data)
    assert packet.csrc == (0x0A0B0C0D,)
    assert packet.payload == b"\x01\x02"


@pytest.mark.parametrize("padding_hex, padding_len", [("01", 1), ("0002", 2), ("000000000005", 6)])
def test_padding_is_removed(padding_hex, padding_len):
    # P=1 -> 0xa0; the last byte counts the padding bytes, itself included.
    padding = h(padding_hex)
    padding = padding[:-1] + bytes((len(padding),))
    data = h("a0 0a 0005 00000006 00000007 01020304") + padding
    packet = RtpPacket.parse(data)
    assert packet.payload == b"\x01\x02\x03\x04"
    assert packet.sequence == 5


def test_padding_can_be_whole_payload():
    data = h("a0 0a 0005 00000006 00000007 00000004")
    assert RtpPacket.parse(data).payload == b""


def test_padding_with_csrc_and_extension():
    # P=1, X=1, CC=1 -> 0xb1; after the extension come 01 02 00 03, whose last byte counts 3 padding bytes.
    data = h("b1 0a 0002 00000003 00000004 0a0b0c0d bede0001 deadbeef 0102 0003")
    packet = RtpPacket.parse(data)
    assert packet.csrc == (0x0A0B0C0D,)
    assert packet.payload == b"\x01"


# --- malformed packets -------------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [0, 1, 11])
def test_too_short(length):
    with pytest.raises(WireError, match=rf"^RTP packet too short: {length} bytes, need at least 12$"):
        RtpPacket.parse(GOLDEN_MARKER_PT10[:length])


@pytest.mark.parametrize("first_byte, version", [(0x00, 0), (0x40, 1), (0xC0, 3)])
def test_wrong_version(first_byte, version):
    data = bytes((first_byte,)) + GOLDEN_MARKER_PT10[1:]
    with pytest.raises(WireError, match=rf"^unsupported RTP version {version}$"):
        RtpPacket.parse(data)


def test_padding_flag_without_payload():
    with pytest.raises(WireError, match="padding flag set on a packet with no payload"):
        RtpPacket.parse(h("a0 0a 0001 00000002 00000003"))


def test_padding_length_zero():
    with pytest.raises(WireError, match=r"RTP padding of 0 bytes does not fit a 16-byte packet"):
        RtpPacket.parse(h("a0 0a 0001 00000002 00000003 01020300"))


def test_padding_longer_than_payload():
    with pytest.raises(WireError, match=r"RTP padding of 5 bytes does not fit a 16-byte packet"):
        RtpPacket.parse(h("a0 0a 0001 00000002 00000003 01020305"))


def test_padding_reaching_into_header():
    with pytest.raises(WireError, match=r"RTP padding of 255 bytes does not fit a 13-byte packet"):
        RtpPacket.parse(h("a0 0a 0001 00000002 00000003 ff"))


def test_truncated_csrc_list():
    # CC=3 but only two CSRCs' worth of bytes follow the header.
    with pytest.raises(WireError, match=r"^RTP CSRC list of 3 entries truncated$"):
        RtpPacket.parse(h("83 0a 0001 00000002 00000003 11111111 22222222"))


def test_csrc_list_eaten_by_padding():
    # CC=1 and four bytes after the header, but they are all padding.
    with pytest.raises(WireError, match=r"^RTP CSRC list of 1 entries truncated$"):
        RtpPacket.parse(h("a1 0a 0001 00000002 00000003 00000004"))


def test_truncated_extension_header():
    with pytest.raises(WireError, match=r"^RTP header extension truncated$"):
        RtpPacket.parse(h("90 0a 0001 00000002 00000003 bede"))


def test_extension_header_after_csrc_truncated():
    with pytest.raises(WireError, match=r"^RTP header extension truncated$"):
        RtpPacket.parse(h("91 0a 0001 00000002 00000003 11111111"))


def test_truncated_extension_data():
    with pytest.raises(WireError, match=r"^RTP header extension of 3 words truncated$"):
        RtpPacket.parse(h("90 0a 0001 00000002 00000003 bede0003 01020304 05060708"))


def test_extension_data_eaten_by_padding():
    # The extension claims one word; the only word after it is padding.
    with pytest.raises(WireError, match=r"^RTP header extension of 1 words truncated$"):
        RtpPacket.parse(h("b0 0a 0001 00000002 00000003 bede0001 00000004"))


# --- one-byte header extensions (RFC 8285), as the station sends its clock -----------------------------------------

GOLDEN_WITH_CLOCK = h("90 0a 0007 00000008 00000009 bede0004"  # X=1, one-byte form, 4 words
                      "17 0102030405060708"  # ID 1, 8 bytes
                      "23 000249f0"  # ID 2, 4 bytes
                      "0000"  # padding to a word
                      "ff00")


def test_one_byte_extensions_golden():
    packet = RtpPacket(payload_type=10, sequence=7, timestamp=8, ssrc=9, payload=b"\xff\x00",
                       extensions=((1, h("0102030405060708")), (2, h("000249f0"))))
    assert bytes(packet) == GOLDEN_WITH_CLOCK
    assert RtpPacket.parse(GOLDEN_WITH_CLOCK) == packet
    assert packet.extension(2) == h("000249f0") and packet.extension(3) is None


def test_one_byte_extensions_after_csrc_and_before_padding():
    packet = RtpPacket(payload_type=96, sequence=1, timestamp=2, ssrc=3, payload=b"abc", csrc=(0x0A0B0C0D,),
                       extensions=((14, b"\x01"),))
    data = bytearray(bytes(packet) + b"\x00\x00\x03")
    data[0] |= 0x20  # P=1: the last byte counts the padding
    assert RtpPacket.parse(bytes(data)) == packet


def test_one_byte_extension_padding_bytes_and_stop_id():
    data = h("90 0a 0007 00000008 00000009 bede0002 00 10 aa 00 f0 20 bbbb ff")
    packet = RtpPacket.parse(data)
    assert packet.extensions == ((1, b"\xaa"),)  # ID 15 stops: the element after it is not read
    assert packet.payload == b"\xff"


def test_a_truncated_extension_element_is_left_out_and_the_audio_kept():
    data = h("90 0a 0007 00000008 00000009 bede0001 17 010203 ff00")  # ID 1 says 8 bytes, 3 follow
    packet = RtpPacket.parse(data)
    assert packet.extensions == () and packet.payload == b"\xff\x00"


def test_two_byte_extensions_are_skipped():
    data = h("90 0a 0007 00000008 00000009 10000001 0102aabb ff00")
    packet = RtpPacket.parse(data)
    assert packet.extensions == () and packet.payload == b"\xff\x00"


@pytest.mark.parametrize("element", [(0, b"x"), (15, b"x"), (1, b""), (1, bytes(17))])
def test_an_element_the_one_byte_form_cannot_hold_is_refused(element):
    with pytest.raises(ValueError, match="IDs 1-14 and 1-16 bytes"):
        bytes(RtpPacket(payload_type=10, sequence=0, timestamp=0, ssrc=0, extensions=(element,)))
