"""RTCP (RFC 3550 section 6): golden packets written by hand from the RFC layouts, round trips, malformed input.

Common header of every RTCP packet:  |V=2|P| count |  PT (8 bits)  |  length (32-bit words minus one)  |
"""

import random

import pytest

from rtpwire.errors import WireError
from rtpwire.rtcp import (NTP_UNIX_EPOCH_OFFSET_S, PT_APP, PT_BYE, PT_RR, PT_SDES, PT_SR, SDES_CNAME, SDES_NAME,
                          SDES_NOTE, SDES_PRIV, App, Bye, ReceiverReport, ReportBlock, SdesChunk, SenderReport,
                          SourceDescription, compound, ntp_from_unix, parse_compound, parse_priv, priv_item,
                          unix_from_ntp)


def h(text: str) -> bytes:
    """Bytes of a hex string with spaces for readability."""
    return bytes.fromhex(text.replace(" ", ""))


# --- golden packets ------------------------------------------------------------------------------------------

# SR, RC=0 -> 0x80, PT 200 = 0xc8, 24 bytes of sender info = 7 words in all -> length 6.
GOLDEN_SR_NO_BLOCKS = h(
    "80 c8 0006"
    "11223344"           # SSRC of sender
    "e6a1f2a3 80000000"  # NTP timestamp: 3869373091.5 s since 1900
    "0001e240"           # RTP timestamp 123456
    "00000064"           # sender's packet count 100
    "00015f90"           # sender's octet count 90000
)

# The same SR with one report block: RC=1 -> 0x81, 13 words in all -> length 12.
GOLDEN_REPORT_BLOCK = h(
    "55667788"  # SSRC of the source reported on
    "40 ffffff"  # fraction lost 64/256, cumulative lost -1 (24-bit two's complement)
    "00010005"  # extended highest sequence number: one wrap, then 5
    "00000010"  # interarrival jitter 16
    "f2a38000"  # LSR: middle 32 bits of the NTP timestamp above
    "00010000"  # DLSR: 1 s in 1/65536 s
)
GOLDEN_SR_ONE_BLOCK = h("81 c8 000c") + GOLDEN_SR_NO_BLOCKS[4:] + GOLDEN_REPORT_BLOCK

SR_NO_BLOCKS = SenderReport(ssrc=0x11223344, ntp_timestamp=0xE6A1F2A3_80000000, rtp_timestamp=123456,
                            packet_count=100, octet_count=90000)
REPORT_BLOCK = ReportBlock(ssrc=0x55667788, fraction_lost=64, packets_lost=-1, highest_sequence=0x1_0005,
                           jitter=16, last_sr=0xF2A38000, delay_since_last_sr=0x10000)
SR_ONE_BLOCK = SenderReport(ssrc=0x11223344, ntp_timestamp=0xE6A1F2A3_80000000, rtp_timestamp=123456,
                            packet_count=100, octet_count=90000, reports=(REPORT_BLOCK,))

# SDES, SC=1 -> 0x81, PT 202 = 0xca: SSRC, CNAME (type 1, length 4) "ab@h", end marker, one byte of padding.
GOLDEN_SDES = h("81 ca 0003 11223344 01 04 61624068 00 00")

# BYE, SC=1 -> 0x81, PT 203 = 0xcb.
GOLDEN_BYE = h("81 cb 0001 11223344")
GOLDEN_BYE_REASON = h("81 cb 0002 11223344 03 627965")  # reason: length 3, "bye" -> exactly one word

# APP, subtype 5 -> 0x85, PT 204 = 0xcc: SSRC, name "RDIO", 4 bytes of data.
GOLDEN_APP = h("85 cc 0003 11223344 5244494f 01616263")

# RR, RC=0 -> 0x80, PT 201 = 0xc9: just the SSRC.
GOLDEN_RR_EMPTY = h("80 c9 0001 11223344")


def test_packet_type_numbers():
    assert (PT_SR, PT_RR, PT_SDES, PT_BYE, PT_APP) == (200, 201, 202, 203, 204)
    assert (SDES_CNAME, SDES_NAME, SDES_NOTE) == (1, 2, 7)


# --- NTP timestamps ------------------------------------------------------------------------------------------


def test_ntp_of_unix_epoch():
    assert NTP_UNIX_EPOCH_OFFSET_S == 2_208_988_800
    assert ntp_from_unix(0) == 2_208_988_800 << 32
    assert unix_from_ntp(2_208_988_800 << 32) == 0.0


def test_ntp_known_fractions():
    ntp = ntp_from_unix(1_700_000_000.25)
    assert ntp >> 32 == 1_700_000_000 + 2_208_988_800
    assert ntp & 0xFFFF_FFFF == 1 << 30
    assert ntp_from_unix(0.5) == (2_208_988_800 << 32) | (1 << 31)
    assert unix_from_ntp(0xE6A1F2A3_80000000) == 1_660_384_291.5


def test_ntp_round_trip_within_a_microsecond():
    rng = random.Random(1900)
    for _ in range(2000):
        unix_s = rng.uniform(0, 2_080_000_000)  # NTP era 0 ends in February 2036
        ntp = ntp_from_unix(unix_s)
        assert 0 <= ntp < 1 << 64
        assert abs(unix_from_ntp(ntp) - unix_s) < 1e-6


def test_ntp_is_monotonic_at_microsecond_steps():
    base = 1_700_000_000.0
    values = [ntp_from_unix(base + i * 1e-6) for i in range(50)]
    assert values == sorted(values)
    assert len(set(values)) == len(values)


# --- sender and receiver reports -----------------------------------------------------------------------------


def test_golden_sr_without_blocks():
    assert bytes(SR_NO_BLOCKS) == GOLDEN_SR_NO_BLOCKS
    assert parse_compound(GOLDEN_SR_NO_BLOCKS) == [SR_NO_BLOCKS]


def test_golden_sr_with_block():
    assert bytes(SR_ONE_BLOCK) == GOLDEN_SR_ONE_BLOCK
    (parsed,) = parse_compound(GOLDEN_SR_ONE_BLOCK)
    assert parsed == SR_ONE_BLOCK
    assert parsed.reports[0].packets_lost == -1
    assert parsed.reports[0].fraction_lost == 64
    assert parsed.reports[0].last_sr == (parsed.ntp_timestamp >> 16) & 0xFFFF_FFFF
    assert unix_from_ntp(parsed.ntp_timestamp) == 1_660_384_291.5


def test_sr_with_many_blocks_round_trip():
    rng = random.Random(6)
    blocks = tuple(
        ReportBlock(ssrc=rng.randrange(1 << 32), fraction_lost=rng.randrange(256),
                    packets_lost=rng.randrange(-(1 << 23), 1 << 23), highest_sequence=rng.randrange(1 << 32),
                    jitter=rng.randrange(1 << 32), last_sr=rng.randrange(1 << 32),
                    delay_since_last_sr=rng.randrange(1 << 32))
        for _ in range(31))
    sr = SenderReport(ssrc=1, ntp_timestamp=ntp_from_unix(1e9), rtp_timestamp=0xFFFF_FFFF, packet_count=0,
                      octet_count=0xFFFF_FFFF, reports=blocks)
    data = bytes(sr)
    assert data[0] == 0x80 | 31
    assert len(data) == 4 + 24 + 31 * 24
    assert parse_compound(data) == [sr]


def test_sr_counts_wrap_to_32_bits():
    sr = SenderReport(ssrc=1, ntp_timestamp=0, rtp_timestamp=0, packet_count=(1 << 32) + 5,
                      octet_count=(1 << 33) + 7)
    (parsed,) = parse_compound(bytes(sr))
    assert parsed.packet_count == 5
    assert parsed.octet_count == 7


def test_too_many_report_blocks_refused():
    block = ReportBlock(1, 0, 0, 0, 0, 0, 0)
    with pytest.raises(ValueError, match="at most 31 items, not 32"):
        bytes(ReceiverReport(ssrc=1, reports=(block,) * 32))


def test_golden_rr_empty_and_round_trip():
    assert bytes(ReceiverReport(ssrc=0x11223344)) == GOLDEN_RR_EMPTY
    assert parse_compound(GOLDEN_RR_EMPTY) == [ReceiverReport(ssrc=0x11223344)]
    rr = ReceiverReport(ssrc=7, reports=(REPORT_BLOCK, ReportBlock(9, 255, 1000, 2, 3, 4, 5)))
    data = bytes(rr)
    assert data[:4] == h("82 c9 000d")
    assert parse_compound(data) == [rr]


@pytest.mark.parametrize("lost, wire", [
    (0, "000000"), (1, "000001"), (-1, "ffffff"), (-2, "fffffe"),
    ((1 << 23) - 1, "7fffff"), (-(1 << 23), "800000"),
])
def test_report_block_signed_24bit_cumulative_loss(lost, wire):
    block = ReportBlock(ssrc=0xAABBCCDD, fraction_lost=0xFF, packets_lost=lost, highest_sequence=0,
                        jitter=0, last_sr=0, delay_since_last_sr=0)
    data = bytes(block)
    assert data[4:8] == h("ff" + wire)  # the fraction byte is untouched by a negative count
    parsed = ReportBlock.parse(data, 0)
    assert parsed.packets_lost == lost
    assert parsed.fraction_lost == 0xFF


@pytest.mark.parametrize("lost, clamped", [(1 << 23, (1 << 23) - 1), (10 ** 9, (1 << 23) - 1),
                                           (-(1 << 23) - 1, -(1 << 23)), (-(10 ** 9), -(1 << 23))])
def test_report_block_loss_clamped_to_24_bits(lost, clamped):
    block = ReportBlock(ssrc=1, fraction_lost=3, packets_lost=lost, highest_sequence=0, jitter=0, last_sr=0,
                        delay_since_last_sr=0)
    parsed = ReportBlock.parse(bytes(block), 0)
    assert parsed.packets_lost == clamped
    assert parsed.fraction_lost == 3


def test_report_block_parse_at_offset():
    data = b"\xee" * 8 + GOLDEN_REPORT_BLOCK
    assert ReportBlock.parse(data, 8) == REPORT_BLOCK


# --- SDES ----------------------------------------------------------------------------------------------------


def test_golden_sdes():
    sdes = SourceDescription((SdesChunk(0x11223344, ((SDES_CNAME, "ab@h"),)),))
    assert bytes(sdes) == GOLDEN_SDES
    assert parse_compound(GOLDEN_SDES) == [sdes]


def test_sdes_cname_name_note_round_trip():
    chunk = SdesChunk(0xDEADBEEF, ((SDES_CNAME, "station@127.0.0.1"), (SDES_NAME, "Radio Ünïcødé 📻"),
                                   (SDES_NOTE, "on air")))
    other = SdesChunk(0x01, ((SDES_CNAME, "x"),))
    sdes = SourceDescription((chunk, other))
    (parsed,) = parse_compound(bytes(sdes))
    assert parsed == sdes
    assert parsed.chunks[0].get(SDES_NAME) == "Radio Ünïcødé 📻"
    assert parsed.chunks[0].get(SDES_CNAME) == "station@127.0.0.1"
    assert parsed.chunks[0].get(SDES_NOTE) == "on air"
    assert parsed.chunks[1].get(SDES_CNAME) == "x"


def test_sdes_get():
    chunk = SdesChunk(1, ((SDES_CNAME, "first"), (SDES_NAME, "name"), (SDES_CNAME, "second")))
    assert chunk.get(SDES_CNAME) == "first"
    assert chunk.get(SDES_NAME) == "name"
    assert chunk.get(SDES_NOTE) is None
    assert SdesChunk(1, ()).get(SDES_CNAME) is None


def test_sdes_utf8_length_counts_bytes():
    chunk = SdesChunk(1, ((SDES_NAME, "é"),))
    assert bytes(chunk) == h("00000001 02 02 c3a9 00 000000")


@pytest.mark.parametrize("text_len", range(0, 9))
def test_sdes_item_padding_to_32_bits(text_len):
    chunk = SdesChunk(0x11223344, ((SDES_CNAME, "c" * text_len),))
    data = bytes(chunk)
    items_end = 4 + 2 + text_len
    assert len(data) % 4 == 0
    assert len(data) > items_end  # room for at least one end marker
    assert len(data) - items_end <= 4  # and at most three bytes of padding after it
    assert set(data[items_end:]) == {0}
    (parsed,) = parse_compound(bytes(SourceDescription((chunk, chunk))))
    assert parsed.chunks == (chunk, chunk)


def test_sdes_items_ending_on_a_word_need_a_whole_null_word():
    chunk = SdesChunk(0x11223344, ((SDES_CNAME, "ab"),))  # SSRC + 2 + 2 bytes: items end on a boundary
    assert bytes(chunk) == h("11223344 0102 6162 00000000")


def test_sdes_text_truncated_to_255_bytes():
    chunk = SdesChunk(1, ((SDES_NOTE, "n" * 300),))
    (parsed,) = parse_compound(bytes(SourceDescription((chunk,))))
    assert parsed.chunks[0].get(SDES_NOTE) == "n" * 255


def test_sdes_empty_item_text():
    sdes = SourceDescription((SdesChunk(5, ((SDES_NOTE, ""), (SDES_CNAME, "c"))),))
    assert parse_compound(bytes(sdes)) == [sdes]


def test_sdes_invalid_utf8_replaced_not_raised():
    data = h("81 ca 0003 00000001 02 02 fffe 00 000000")
    (parsed,) = parse_compound(data)
    assert parsed.chunks[0].get(SDES_NAME) == "\ufffd\ufffd"


# --- SDES PRIV (RFC 3550 6.5.8) ------------------------------------------------------------------------------

# SDES, SC=1: SSRC, PRIV (type 8, length 6: prefix length 3, "x-d", value "50"), ending on a word: a null word.
GOLDEN_SDES_PRIV = h("81 ca 0004 11223344 08 06 03 782d64 3530 00000000")


def test_golden_priv():
    sdes = SourceDescription((SdesChunk(0x11223344, (priv_item("x-d", "50"),)),))
    assert bytes(sdes) == GOLDEN_SDES_PRIV
    (parsed,) = parse_compound(GOLDEN_SDES_PRIV)
    assert parsed == sdes
    assert parse_priv(parsed.chunks[0].get(SDES_PRIV)) == ("x-d", "50")
    assert parsed.chunks[0].priv("x-d") == "50"


@pytest.mark.parametrize("prefix, value", [("x-delay-ms", "-12.5"), ("p", ""), ("", "v"), ("préfixe", "välue 📻"),
                                           ("p" * 200, "v" * 54), ("p" * 254, "")])
def test_priv_round_trip(prefix, value):
    """Prefix lengths of 128 and more are one byte that is no UTF-8 on its own: they come back all the same."""
    chunk = SdesChunk(7, ((SDES_CNAME, "c"), priv_item(prefix, value), (SDES_NAME, "n")))
    (parsed,) = parse_compound(bytes(SourceDescription((chunk,))))
    assert parsed.chunks == (chunk,)
    assert parse_priv(parsed.chunks[0].get(SDES_PRIV)) == (prefix, value)
    assert parsed.chunks[0].get(SDES_NAME) == "n"


@pytest.mark.parametrize("prefix, value", [("p" * 200, "v" * 55), ("p" * 255, ""), ("p" * 300, "")])
def test_priv_item_that_does_not_fit_is_refused(prefix, value):
    with pytest.raises(ValueError, match=r"^an SDES PRIV item holds at most 255 bytes, not \d+$"):
        priv_item(prefix, value)


@pytest.mark.parametrize("item, message", [
    ("08 00", "RTCP SDES PRIV item is empty: no prefix length"),
    ("08 04 05 616263", "RTCP SDES PRIV prefix of 5 bytes overruns the item's 3"),
    ("08 03 ff 6162", "RTCP SDES PRIV prefix of 255 bytes overruns the item's 2"),
    ("08 03 01 61 ff", "RTCP SDES PRIV prefix or value is not UTF-8"),
    ("08 03 02 c3 61", "RTCP SDES PRIV prefix or value is not UTF-8"),
])
def test_malformed_priv(item, message):
    """The packet parses (an item we may not understand spoils no report); reading the PRIV item raises."""
    chunk_bytes = h("11223344" + item + "00")  # SSRC, the item, the end marker
    chunk_bytes += bytes(-len(chunk_bytes) % 4)
    (parsed,) = parse_compound(h("81 ca") + (len(chunk_bytes) // 4).to_bytes(2, "big") + chunk_bytes)
    (chunk,) = parsed.chunks
    with pytest.raises(WireError, match=rf"^{message}$"):
        parse_priv(chunk.get(SDES_PRIV))
    assert chunk.priv("a") is None


def test_priv_lookup_by_prefix_skips_malformed_and_other_prefixes():
    chunk = SdesChunk(1, ((SDES_PRIV, ""), priv_item("x-other", "1"), (SDES_NOTE, "\x02ab"), priv_item("ab", "2"),
                          priv_item("ab", "3")))
    (parsed,) = parse_compound(bytes(SourceDescription((chunk,))))
    assert parsed.chunks[0].priv("ab") == "2"  # the first, and only from a PRIV item
    assert parsed.chunks[0].priv("x-other") == "1"
    assert parsed.chunks[0].priv("x-none") is None


# --- BYE and APP ---------------------------------------------------------------------------------------------


def test_golden_bye_without_reason():
    bye = Bye((0x11223344,))
    assert bytes(bye) == GOLDEN_BYE
    assert parse_compound(GOLDEN_BYE) == [bye]
    assert parse_compound(GOLDEN_BYE)[0].reason == ""


def test_golden_bye_with_reason():
    bye = Bye((0x11223344,), "bye")
    assert bytes(bye) == GOLDEN_BYE_REASON
    assert parse_compound(GOLDEN_BYE_REASON) == [bye]


def test_bye_reason_padded_and_utf8():
    bye = Bye((1, 2, 3), "station stopped — ciao")
    data = bytes(bye)
    assert data[0] == 0x83
    assert len(data) % 4 == 0
    assert parse_compound(data) == [bye]


def test_golden_app():
    app = App(ssrc=0x11223344, name=b"RDIO", subtype=5, data=b"\x01abc")
    assert bytes(app) == GOLDEN_APP
    assert parse_compound(GOLDEN_APP) == [app]


def test_app_data_padded_to_32_bits():
    app = App(ssrc=9, name=b"TEST", subtype=31, data=b"\x01ab")
    data = bytes(app)
    assert data == h("9f cc 0003 00000009 54455354 01616200")
    (parsed,) = parse_compound(data)
    assert parsed.subtype == 31
    assert parsed.name == b"TEST"
    assert parsed.data == b"\x01ab\x00"


def test_app_without_data():
    app = App(ssrc=9, name=b"NONE")
    assert bytes(app) == h("80 cc 0002 00000009 4e4f4e45")
    assert parse_compound(bytes(app)) == [app]


@pytest.mark.parametrize("name", [b"RDI", b"RADIO", b""])
def test_app_name_must_be_four_bytes(name):
    with pytest.raises(ValueError, match="exactly 4 bytes"):
        bytes(App(ssrc=1, name=name))


# --- compound packets ----------------------------------------------------------------------------------------


def test_compound_sr_sdes_app_bye():
    sdes = SourceDescription((SdesChunk(0x11223344, ((SDES_CNAME, "radio@host"), (SDES_NAME, "Radio"))),))
    app = App(ssrc=0x11223344, name=b"RDIO", subtype=0, data=b"\x00abc")
    bye = Bye((0x11223344,), "done")
    data = compound(SR_ONE_BLOCK, sdes, app, bye)
    assert data == bytes(SR_ONE_BLOCK) + bytes(sdes) + bytes(app) + bytes(bye)
    assert data.startswith(GOLDEN_SR_ONE_BLOCK)
    assert parse_compound(data) == [SR_ONE_BLOCK, sdes, app, bye]


@pytest.mark.parametrize("packet_type", [205, 206, 207, 195, 255])
def test_unknown_packet_types_are_skipped(packet_type):
    unknown = bytes((0x80 | 3, packet_type)) + h("0002 deadbeef 01020304")
    data = GOLDEN_SR_NO_BLOCKS + unknown + GOLDEN_BYE
    assert parse_compound(data) == [SR_NO_BLOCKS, Bye((0x11223344,))]


def test_only_unknown_packet_gives_empty_list():
    assert parse_compound(h("80 cf 0000")) == []


def test_padding_on_last_packet_is_removed():
    # RR with P=1 -> 0xa0: the SSRC, then one word of padding whose last byte counts it.
    data = GOLDEN_SR_NO_BLOCKS + h("a0 c9 0002 11223344 00000004")
    assert parse_compound(data) == [SR_NO_BLOCKS, ReceiverReport(0x11223344)]


def test_padding_on_bye_keeps_reason():
    data = h("a1 cb 0003 11223344 02 6f6b 00 00000004")
    assert parse_compound(data) == [Bye((0x11223344,), "ok")]


# --- malformed datagrams -------------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [0, 1, 3])
def test_too_short(length):
    with pytest.raises(WireError, match=rf"^RTCP packet too short: {length} bytes$"):
        parse_compound(GOLDEN_SR_NO_BLOCKS[:length])


@pytest.mark.parametrize("first_byte, version", [(0x00, 0), (0x40, 1), (0xC0, 3)])
def test_wrong_version(first_byte, version):
    with pytest.raises(WireError, match=rf"^unsupported RTCP version {version}$"):
        parse_compound(bytes((first_byte,)) + GOLDEN_SR_NO_BLOCKS[1:])


def test_wrong_version_in_second_packet():
    with pytest.raises(WireError, match=r"^unsupported RTCP version 1$"):
        parse_compound(GOLDEN_SR_NO_BLOCKS + h("41 cb 0001 11223344"))


def test_length_beyond_datagram():
    with pytest.raises(WireError, match=r"^RTCP packet of type 200 claims 24 bytes, has 8$"):
        parse_compound(GOLDEN_SR_NO_BLOCKS[:12])


def test_length_beyond_datagram_in_second_packet():
    with pytest.raises(WireError, match=r"RTCP packet of type 203 claims 8 bytes, has 4"):
        parse_compound(GOLDEN_RR_EMPTY + h("81 cb 0002 11223344"))


@pytest.mark.parametrize("extra", [1, 2, 3])
def test_trailing_bytes(extra):
    with pytest.raises(WireError, match=rf"^RTCP compound packet has {extra} trailing bytes$"):
        parse_compound(GOLDEN_RR_EMPTY + b"\x80" * extra)


def test_sr_body_too_short():
    with pytest.raises(WireError, match=r"^RTCP sender report too short: 20 bytes of body$"):
        parse_compound(h("80 c8 0005") + GOLDEN_SR_NO_BLOCKS[4:24])


def test_rr_body_too_short():
    with pytest.raises(WireError, match=r"^RTCP receiver report too short$"):
        parse_compound(h("80 c9 0000"))


def test_sr_truncated_report_blocks():
    # RC=1 but the length covers only the sender info.
    with pytest.raises(WireError, match=r"^RTCP SR announces 1 report blocks but is truncated$"):
        parse_compound(h("81 c8 0006") + GOLDEN_SR_NO_BLOCKS[4:])


def test_sr_partial_report_block():
    data = h("81 c8 000b") + GOLDEN_SR_NO_BLOCKS[4:] + GOLDEN_REPORT_BLOCK[:20]
    with pytest.raises(WireError, match=r"^RTCP SR announces 1 report blocks but is truncated$"):
        parse_compound(data)


def test_rr_truncated_report_blocks():
    data = h("82 c9 0007 11223344") + GOLDEN_REPORT_BLOCK
    with pytest.raises(WireError, match=r"^RTCP RR announces 2 report blocks but is truncated$"):
        parse_compound(data)


def test_sdes_chunk_missing():
    # SC=2 but only one chunk.
    data = h("82 ca 0003 11223344 01 04 61624068 00 00")
    with pytest.raises(WireError, match=r"^RTCP SDES chunk truncated$"):
        parse_compound(data)


def test_sdes_without_end_marker():
    data = h("81 ca 0002 11223344 01 02 6162")
    with pytest.raises(WireError, match=r"^RTCP SDES item list has no end marker$"):
        parse_compound(data)


def test_sdes_chunk_with_only_ssrc():
    with pytest.raises(WireError, match=r"^RTCP SDES item list has no end marker$"):
        parse_compound(h("81 ca 0001 11223344"))


def test_sdes_item_text_truncated():
    data = h("81 ca 0002 11223344 02 05 6162")  # NAME claims 5 bytes, 2 remain
    with pytest.raises(WireError, match=r"^RTCP SDES item of type 2 truncated$"):
        parse_compound(data)


def test_sdes_item_length_byte_missing():
    # P=1 and the last byte counts 3 bytes of padding: the body ends right after the item type 7.
    with pytest.raises(WireError, match=r"^RTCP SDES item of type 7 truncated$"):
        parse_compound(h("a1 ca 0002 11223344 07 000003"))


def test_bye_truncated_ssrc_list():
    with pytest.raises(WireError, match=r"^RTCP BYE announces 2 sources but is truncated$"):
        parse_compound(h("82 cb 0001 11223344"))


def test_bye_reason_truncated():
    with pytest.raises(WireError, match=r"^RTCP BYE reason truncated$"):
        parse_compound(h("81 cb 0002 11223344 09 616263"))


def test_app_too_short():
    with pytest.raises(WireError, match=r"^RTCP APP packet too short$"):
        parse_compound(h("80 cc 0001 11223344"))


@pytest.mark.parametrize("data, padding", [
    ("a0 c9 0002 11223344 00000000", 0),   # a padding count of zero
    ("a0 c9 0001 000000ff", 255),          # more padding than body
    ("a0 c9 0000", 0),                      # padding flag on an empty body
    ("a0 c9 0001 00000005", 5),
])
def test_bad_padding(data, padding):
    with pytest.raises(WireError, match=rf"^RTCP padding of {padding} bytes does not fit$"):
        parse_compound(h(data))


def test_padding_that_eats_the_body_leaves_a_too_short_packet():
    # The padding fits, but once it is removed the RR has no SSRC left.
    with pytest.raises(WireError, match=r"^RTCP receiver report too short$"):
        parse_compound(h("a0 c9 0001 00000004"))


def test_malformed_error_is_value_error():
    with pytest.raises(ValueError):
        parse_compound(b"\x80")


def test_long_sdes_and_bye_text_cut_on_character_boundaries():
    from rtpwire.rtcp import SDES_NOTE, Bye, SdesChunk, SourceDescription, parse_compound

    text = "xx" + "é" * 200  # a plain cut at 255 bytes would split the 127th "é"
    sdes, bye = parse_compound(bytes(SourceDescription((SdesChunk(1, ((SDES_NOTE, text),)),))) + bytes(Bye((1,), text)))
    for received in (sdes.chunks[0].get(SDES_NOTE), bye.reason):
        assert text.startswith(received)
        assert len(received.encode()) == 254
