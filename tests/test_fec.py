"""The repair packet's payload against golden bytes written by hand from its layout (rtpwire/fec.py's
docstring), what it refuses, and the code's symbols."""

import itertools
import random

import pytest

from rtpwire.errors import WireError
from rtpwire.fec import (
    HEADER,
    MAX_SYMBOL_BYTES,
    MIN_SYMBOL_BYTES,
    RepairPayload,
    check_code,
    datagram_of,
    parse_repair,
    rebuild,
    repair_symbols,
    source_symbol,
)
from rtpwire.rtp import RtpPacket


def h(text: str) -> bytes:
    """Bytes of a hex string with spaces for readability."""
    return bytes.fromhex(text.replace(" ", ""))


SYMBOL = bytes(range(14))
# SSRC 0x01020304; timestamp 0xdeadbeef; first sequence 65530; K=10, N=15; index 12; a 14-byte symbol.
GOLDEN = h("01020304 deadbeef fffa 0a 0f 0c") + SYMBOL
GOLDEN_PAYLOAD = RepairPayload(source_ssrc=0x01020304, first_timestamp=0xDEADBEEF, first_sequence=65530, k=10,
                               n=15, index=12, symbol=SYMBOL)


def test_header_is_thirteen_bytes():
    assert HEADER.size == 13


def test_golden_serialises():
    assert bytes(GOLDEN_PAYLOAD) == GOLDEN


def test_golden_parses():
    assert RepairPayload.parse(GOLDEN) == GOLDEN_PAYLOAD


def test_extremes_round_trip():
    for payload in (RepairPayload(0, 0, 0, 1, 2, 1, bytes(MIN_SYMBOL_BYTES)),
                    RepairPayload(0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF, 254, 255, 254, b"\xff" * MAX_SYMBOL_BYTES)):
        assert RepairPayload.parse(bytes(payload)) == payload


def test_whole_repair_datagram_parses():
    datagram = bytes(RtpPacket(payload_type=127, sequence=7, timestamp=1, ssrc=0x5EED, payload=GOLDEN))
    assert parse_repair(datagram) == GOLDEN_PAYLOAD


@pytest.mark.parametrize(("data", "message"), [
    (b"", "FEC repair payload too short: 0 bytes, need at least 13"),
    (GOLDEN[:12], "FEC repair payload too short: 12 bytes, need at least 13"),
    (GOLDEN[:13], "FEC symbol of 0 bytes: a symbol holds a length and a datagram, 14 to 1474 bytes"),
    (GOLDEN[:-1], "FEC symbol of 13 bytes: a symbol holds a length and a datagram, 14 to 1474 bytes"),
    (GOLDEN[:13] + bytes(1475), "FEC symbol of 1475 bytes: a symbol holds a length and a datagram, 14 to 1474 bytes"),
    (h("01020304 deadbeef fffa 00 0f 0c") + SYMBOL, "FEC block of K=0 of N=15: need 1 <= K < N <= 255"),
    (h("01020304 deadbeef fffa 0f 0f 0c") + SYMBOL, "FEC block of K=15 of N=15: need 1 <= K < N <= 255"),
    (h("01020304 deadbeef fffa 10 0f 0c") + SYMBOL, "FEC block of K=16 of N=15: need 1 <= K < N <= 255"),
    (h("01020304 deadbeef fffa 0a ff 0c") + SYMBOL, None),  # N = 255: the largest code, valid
    (h("01020304 deadbeef fffa 0a 0f 09") + SYMBOL, "FEC repair index 9 outside [K, N) = [10, 15)"),
    (h("01020304 deadbeef fffa 0a 0f 0f") + SYMBOL, "FEC repair index 15 outside [K, N) = [10, 15)"),
    (h("01020304 deadbeef fffa 0a 0f 00") + SYMBOL, "FEC repair index 0 outside [K, N) = [10, 15)"),
])
def test_what_is_refused_says_why(data, message):
    if message is None:
        assert RepairPayload.parse(data).n == 255
        return
    with pytest.raises(WireError) as error:
        RepairPayload.parse(data)
    assert str(error.value) == message


def test_constructor_refuses_what_parse_refuses():
    """Neither side of the wire can hold a payload the other refuses."""
    with pytest.raises(WireError, match="index 15 outside"):
        RepairPayload(1, 2, 3, 10, 15, 15, SYMBOL)
    with pytest.raises(WireError, match=r"K=1 of N=256"):
        check_code(1, 256)


def test_whole_datagram_that_is_no_rtp_is_refused():
    with pytest.raises(WireError, match="RTP packet too short"):
        parse_repair(GOLDEN[:11])


# --- symbols ----------------------------------------------------------------------------------------------------

def test_source_symbol_is_length_datagram_and_zeros():
    assert source_symbol(b"abc", 8) == h("0003") + b"abc" + bytes(3)
    assert datagram_of(source_symbol(b"abc", 8)) == b"abc"


@pytest.mark.parametrize(("symbol", "message"), [
    (h("0007") + b"abc", "claims a 7-byte datagram but holds 3"),
    (h("0003") + b"abc\x00\x01", "non-zero padding"),
])
def test_rebuilt_symbol_not_made_by_the_code_is_refused(symbol, message):
    with pytest.raises(WireError, match=message):
        datagram_of(symbol)


def test_source_symbol_refuses_what_does_not_fit():
    with pytest.raises(WireError, match="does not fit a 4-byte FEC symbol"):
        source_symbol(b"abc", 4)
    with pytest.raises(WireError, match="longer than FEC protects"):
        source_symbol(bytes(1473), 2000)


def test_any_k_of_n_symbols_rebuild_the_block():
    """Every choice of K symbols out of N, datagrams of different lengths (VBR): the sources' symbols exactly."""
    rng = random.Random(5109)
    datagrams = [rng.randbytes(rng.randrange(12, 60)) for _ in range(4)]
    repairs = repair_symbols(datagrams, 7)
    size = 2 + max(map(len, datagrams))
    symbols = [source_symbol(d, size) for d in datagrams] + repairs
    assert len(repairs) == 3 and {len(s) for s in symbols} == {size}
    for chosen in itertools.combinations(range(7), 4):
        rebuilt = rebuild({index: symbols[index] for index in chosen}, 4, 7)
        assert [datagram_of(symbol) for symbol in rebuilt] == datagrams


@pytest.mark.parametrize("pieces", [
    {0: bytes(4), 1: bytes(4)},  # too few
    {0: bytes(4), 1: bytes(4), 4: bytes(5)},  # lengths differ
    {0: bytes(4), 1: bytes(4), 7: bytes(4)},  # an index beyond N
])
def test_rebuild_refuses_what_zfec_would_not_check(pieces):
    """zfec checks neither indexes nor count of distinct symbols (it loops forever on a repeated index)."""
    with pytest.raises(ValueError, match="rebuilding needs 3 distinct symbols"):
        rebuild(pieces, 3, 7)
