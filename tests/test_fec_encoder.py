"""The station's FEC encoder: a block every K consecutive source datagrams, its repairs an RTP stream of their own."""

import random

import pytest

from rtpwire.errors import WireError
from rtpwire.fec import datagram_of, parse_repair, rebuild, source_symbol
from rtpwire.rtp import RtpPacket
from station.fec_encoder import FecEncoder

SSRC = 0x1234ABCD


def source(sequence: int, payload: bytes = b"audio", ssrc: int = SSRC) -> bytes:
    return bytes(RtpPacket(payload_type=10, sequence=sequence % 65536, timestamp=220 * sequence % 2**32, ssrc=ssrc,
                           payload=payload))


def test_nothing_until_k_then_n_minus_k_repairs():
    encoder = FecEncoder(4, 6, ssrc=0x5EED, payload_type=127, first_sequence=100)
    assert [encoder.add(source(s)) for s in range(3)] == [[], [], []]
    repairs = encoder.add(source(3))
    assert len(repairs) == 2 and encoder.repair_packets == 2
    packets = [RtpPacket.parse(r) for r in repairs]
    assert [(p.payload_type, p.sequence, p.ssrc, p.timestamp) for p in packets] == \
        [(127, 100, 0x5EED, 660), (127, 101, 0x5EED, 660)]  # their own stream, at the last source's timestamp
    payloads = [parse_repair(r) for r in repairs]
    assert [(p.source_ssrc, p.first_sequence, p.first_timestamp, p.k, p.n, p.index) for p in payloads] == \
        [(SSRC, 0, 0, 4, 6, 4), (SSRC, 0, 0, 4, 6, 5)]


def test_repairs_rebuild_the_datagrams_as_sent():
    """Sources of different lengths (Opus is VBR), opaque bytes after the header (as SRTP's are): the first three
    lost, the last two and the three repairs rebuild them byte for byte."""
    rng = random.Random(7)
    sent = [source(s, rng.randbytes(rng.randrange(1, 200))) for s in range(5)]
    encoder = FecEncoder(5, 8, ssrc=0x5EED, payload_type=127, first_sequence=0)
    repairs = [parse_repair(r) for d in sent for r in encoder.add(d)]
    size = len(repairs[0].symbol)
    assert size == 2 + max(map(len, sent))
    pieces = {r.index: r.symbol for r in repairs} | {i: source_symbol(sent[i], size) for i in (3, 4)}
    assert [datagram_of(symbol) for symbol in rebuild(pieces, 5, 8)] == sent


def test_blocks_follow_each_other_and_repair_sequence_numbers_wrap():
    encoder = FecEncoder(2, 3, ssrc=0x5EED, payload_type=127, first_sequence=65535)
    repairs = [r for s in range(65534, 65540) for r in encoder.add(source(s))]
    assert [RtpPacket.parse(r).sequence for r in repairs] == [65535, 0, 1]
    assert [parse_repair(r).first_sequence for r in repairs] == [65534, 0, 2]  # 65534, 65535 | 0, 1 | 2, 3


def test_gap_starts_a_new_block():
    """A source that does not follow the last one: the unfinished block goes unprotected, a new one starts."""
    encoder = FecEncoder(3, 4, ssrc=0x5EED, payload_type=127, first_sequence=0)
    assert encoder.add(source(10)) == encoder.add(source(11)) == []
    assert encoder.add(source(13)) == encoder.add(source(14)) == []
    [repair] = encoder.add(source(15))
    assert parse_repair(repair).first_sequence == 13


def test_new_ssrc_starts_a_new_block():
    encoder = FecEncoder(2, 3, ssrc=0x5EED, payload_type=127, first_sequence=0)
    assert encoder.add(source(10)) == encoder.add(source(11, ssrc=0xBEEF)) == []
    [repair] = encoder.add(source(12, ssrc=0xBEEF))
    assert (parse_repair(repair).source_ssrc, parse_repair(repair).first_sequence) == (0xBEEF, 11)


@pytest.mark.parametrize(("k", "n"), [(0, 5), (5, 5), (6, 5), (10, 256)])
def test_impossible_code_refused(k, n):
    with pytest.raises(ValueError, match=f"K={k} of N={n}"):
        FecEncoder(k, n, ssrc=1, payload_type=127, first_sequence=0)


def test_datagram_that_is_no_rtp_refused():
    with pytest.raises(WireError):
        FecEncoder(2, 3, ssrc=1, payload_type=127, first_sequence=0).add(b"\x80")
