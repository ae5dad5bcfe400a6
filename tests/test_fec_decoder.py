"""The listener's FEC decoder: blocks rebuilt byte for byte from any K of N, nothing returned twice or that
arrived, and hostile repairs counted, kept out of the audio, and unable to grow what it holds.

Losses come from seeded random models (random.Random(seed)), the station's blocks from its own FecEncoder."""

from __future__ import annotations

import itertools
import random
import tracemalloc

from listener.fec_decoder import MAX_BLOCKS, SOURCE_WINDOW, FecDecoder
from rtpwire.errors import WireError
from rtpwire.fec import HEADER, MAX_SYMBOL_BYTES, RepairPayload, repair_symbols
from rtpwire.rtp import RtpPacket
from rtpwire.srtp import MASTER_KEY_BYTES, SrtpReceiver, SrtpSender
from station.fec_encoder import FecEncoder

SSRC = 0x1234ABCD  # the station's audio
REPAIR_SSRC = 0x5EED
KEY = bytes(range(MASTER_KEY_BYTES))  # as tests/test_srtp.py's

Block = tuple[list[bytes], list[bytes]]  # its source datagrams and its repair datagrams, as sent


def source(sequence: int, payload: bytes, ssrc: int = SSRC) -> bytes:
    return bytes(RtpPacket(payload_type=96, sequence=sequence % 65536, timestamp=480 * sequence % 2**32, ssrc=ssrc,
                           payload=payload))


def repair(payload: RepairPayload, sequence: int = 0) -> bytes:
    return bytes(RtpPacket(payload_type=127, sequence=sequence, timestamp=0, ssrc=REPAIR_SSRC, payload=bytes(payload)))


def station(k: int, n: int, count: int, first_sequence: int = 1000, seed: int = 1,
            seal: SrtpSender | None = None) -> list[Block]:
    """`count` blocks of sources of random lengths (as Opus's, VBR), sealed with SRTP if `seal`, and their
    repairs, plain (a listener opens them before the decoder)."""
    rng = random.Random(seed)
    encoder = FecEncoder(k, n, ssrc=REPAIR_SSRC, payload_type=127, first_sequence=7)
    blocks = []
    for b in range(count):
        sources, repairs = [], []
        for i in range(k):
            datagram = source(first_sequence + b * k + i, rng.randbytes(rng.randrange(20, 1200)))
            sources.append(seal.protect(datagram) if seal else datagram)
            repairs += encoder.add(sources[-1])
        blocks.append((sources, repairs))
    return blocks


def deliver(decoder: FecDecoder, blocks: list[Block], lost: set[tuple[int, int]] = frozenset()) -> list[bytes]:
    """Every datagram of `blocks` in the order sent (a block's sources, then its repairs) but the (block, index)
    pairs `lost`: what the decoder rebuilt."""
    rebuilt = []
    for b, (sources, repairs) in enumerate(blocks):
        for index, datagram in enumerate(sources + repairs):
            if (b, index) not in lost:
                rebuilt += decoder.on_source(datagram) if index < len(sources) else decoder.on_repair(datagram)
    return rebuilt


def stats_but(decoder: FecDecoder, **counts: int) -> dict[str, int]:
    """What `stats` should be: zeros, but for `counts`."""
    return {key: counts.get(key, 0) for key in decoder.stats()}


def test_block_rebuilt_exactly():
    """Every way of losing N - K of a block's N datagrams (sources and repairs alike), and datagrams of different
    lengths: the sources lost, byte for byte, in sequence order."""
    blocks = station(4, 7, 3)
    for lost_indexes in itertools.combinations(range(7), 3):
        decoder = FecDecoder()
        rebuilt = deliver(decoder, blocks, {(1, index) for index in lost_indexes})
        lost_sources = [blocks[1][0][index] for index in lost_indexes if index < 4]
        assert rebuilt == lost_sources
        repairs_lost = sum(index >= 4 for index in lost_indexes)
        assert decoder.stats() == stats_but(decoder, packets_rebuilt=len(lost_sources),
                                            repair_received=9 - repairs_lost)


def test_random_losses_rebuilt_where_k_arrived():
    """10,15 over 200 blocks, 15 % of datagrams lost at random: each block with at most 5 lost is rebuilt
    whole, byte for byte; the others give nothing."""
    rng = random.Random(2733)
    blocks = station(10, 15, 200, seed=2)
    lost = {(b, index) for b in range(200) for index in range(15) if rng.random() < 0.15}
    rebuilt = deliver(decoder := FecDecoder(), blocks, lost)
    per_block = [[index for index in range(15) if (b, index) in lost] for b in range(200)]
    expected = [blocks[b][0][index] for b, indexes in enumerate(per_block) if len(indexes) <= 5
                for index in indexes if index < 10]
    assert rebuilt == expected
    assert any(len(indexes) > 5 for indexes in per_block) and len(expected) > 100  # both kinds were met
    assert decoder.packets_rebuilt == len(expected)


def test_too_many_losses_rebuilds_nothing_of_that_block():
    blocks = station(10, 15, 3)
    lost = {(0, index) for index in (1, 2, 3, 4, 5, 6)} | {(1, 0), (2, 9), (2, 10)}  # 6 of block 0: one too many
    decoder = FecDecoder()
    assert deliver(decoder, blocks, lost) == [blocks[1][0][0], blocks[2][0][9]]
    assert decoder.stats() == stats_but(decoder, packets_rebuilt=2, repair_received=14)


def test_seq_wraparound_inside_block():
    """A block from 65530: 65534 to 1 lost, rebuilt with their own sequence numbers."""
    blocks = station(10, 15, 2, first_sequence=65530)
    rebuilt = deliver(decoder := FecDecoder(), blocks, {(0, 4), (0, 5), (0, 6), (0, 7), (1, 2)})
    assert [RtpPacket.parse(d).sequence for d in rebuilt] == [65534, 65535, 0, 1, 6]
    assert rebuilt == [*blocks[0][0][4:8], blocks[1][0][2]]
    assert decoder.rebuilt_invalid == 0


def test_received_packets_never_returned():
    """A lost source arriving late after all, after it was rebuilt; every datagram twice; repairs before the
    sources (reordered), the last source completing the block: only the holes, each once."""
    (sources, repairs), = station(4, 7, 1)
    decoder = FecDecoder()
    for datagram in sources[:2]:
        assert decoder.on_source(datagram) == decoder.on_source(datagram) == []
    assert decoder.on_repair(repairs[0]) == []
    assert decoder.on_repair(repairs[0]) == []  # a duplicate: nothing new
    assert decoder.on_source(sources[3]) == [sources[2]]  # K in hand with it: the hole, not itself
    assert decoder.on_source(sources[2]) == decoder.on_source(sources[3]) == []  # late, and duplicate
    assert decoder.on_repair(repairs[1]) == decoder.on_repair(repairs[2]) == []
    assert decoder.stats() == stats_but(decoder, packets_rebuilt=1, repair_received=4, repair_stale=1)


def test_block_with_nothing_lost_gives_nothing():
    decoder = FecDecoder()
    assert deliver(decoder, station(10, 15, 5)) == []
    assert decoder.stats() == stats_but(decoder, repair_received=25)  # the normal case: not stale


def test_garbage_repair_counted():
    """Datagrams that are no repair, and repairs whose block disagrees with the one heard before (K, N, symbol
    length): counted malformed, nothing rebuilt of them, and the block rebuilt from the station's as ever."""
    (sources, repairs), = station(4, 7, 1)
    decoder = FecDecoder()
    for datagram in sources[2:]:
        decoder.on_source(datagram)
    assert decoder.on_repair(repairs[0]) == []  # one symbol for two holes
    heard = RepairPayload.parse(RtpPacket.parse(repairs[0]).payload)
    timestamp, sequence = heard.first_timestamp, heard.first_sequence
    garbage = [b"", b"\x80", random.Random(3).randbytes(300), repairs[1][:12 + HEADER.size],
               bytes(RtpPacket(127, 1, 0, REPAIR_SSRC, payload=b"\x00" * 40, csrc=(1,) * 15))[:-1],
               repair(RepairPayload(SSRC, timestamp, sequence, 5, 7, 5, heard.symbol)),
               repair(RepairPayload(SSRC, timestamp, sequence, 4, 8, 5, heard.symbol)),
               repair(RepairPayload(SSRC, timestamp, sequence, 4, 7, 5, heard.symbol + b"!"))]
    assert [decoder.on_repair(datagram) for datagram in garbage] == [[]] * 8
    assert decoder.stats() == stats_but(decoder, repair_received=9, repair_malformed=8)
    assert decoder.on_repair(repairs[1]) == sources[:2]
    assert decoder.stats() == stats_but(decoder, packets_rebuilt=2, repair_received=10, repair_malformed=8)


def test_foreign_repair_ignored():
    """Repairs naming another source SSRC, or coming before any source: counted, nothing rebuilt."""
    (sources, repairs), = station(4, 7, 1)
    decoder = FecDecoder()
    assert decoder.on_repair(repairs[0]) == []  # no stream followed yet
    for datagram in sources[1:]:
        decoder.on_source(datagram)
    other = RepairPayload.parse(RtpPacket.parse(repairs[1]).payload)
    stranger = repair(RepairPayload(0xBAD, other.first_timestamp, other.first_sequence, 4, 7, 5, other.symbol))
    assert decoder.on_repair(stranger) == []
    assert decoder.stats() == stats_but(decoder, repair_received=2, repair_foreign=2)
    assert decoder.on_repair(repairs[1]) == [sources[0]]


def test_stale_repair_ignored():
    """A repair for a block the window has left behind, and one heard twice: counted, nothing rebuilt."""
    blocks = station(10, 15, 2 + SOURCE_WINDOW // 10)
    decoder = FecDecoder()
    deliver(decoder, blocks[:1], {(0, 10), (0, 11), (0, 12), (0, 13), (0, 14)})
    deliver(decoder, blocks[1:], {(b, index) for b in range(len(blocks) - 1) for index in range(10, 15)})
    assert decoder.on_repair(blocks[0][1][0]) == []  # block 0 is more than the window behind
    assert decoder.on_repair(blocks[-1][1][0]) == decoder.on_repair(blocks[-1][1][0]) == []  # the 2nd, stale
    assert decoder.stats() == stats_but(decoder, repair_received=3, repair_stale=2)


def test_forged_repair_cannot_fill_hole():
    """A repair with the right header and any other symbol: what it rebuilds is not a packet of the stream at the
    hole (length, padding, RTP header, SSRC, sequence number), so it is counted and dropped; it spoils that try
    only, and the station's repair then rebuilds the hole."""
    (sources, repairs), = station(10, 15, 1)
    genuine = RepairPayload.parse(RtpPacket.parse(repairs[0]).payload)
    rng = random.Random(4)
    for _ in range(20):
        decoder = FecDecoder()
        for datagram in sources[:3] + sources[4:]:
            decoder.on_source(datagram)
        forged = RepairPayload(SSRC, genuine.first_timestamp, genuine.first_sequence, 10, 15, 10,
                               rng.randbytes(len(genuine.symbol)))
        assert decoder.on_repair(repair(forged)) == []
        assert decoder.stats() == stats_but(decoder, repair_received=1, rebuilt_invalid=1)
        assert decoder.on_repair(repairs[1]) == [sources[3]]


def forge(sources: list[bytes], hole: int, wanted: bytes, n: int) -> RepairPayload:
    """The repair someone who heard the other sources computes so that the hole is rebuilt as `wanted`: the code
    is linear, so it is the station's repair of a block with `wanted` in the hole."""
    block = sources[:hole] + [wanted] + sources[hole + 1:]
    header = RtpPacket.parse(sources[0])
    return RepairPayload(SSRC, header.timestamp, header.sequence, len(sources), n, len(sources),
                         repair_symbols(block, n)[0])


def test_forged_repair_with_valid_headers_passes_without_srtp():
    """Plain RTP: a forgery computed from the heard sources rebuilds the packet its maker wants, header and all,
    and nothing tells it from the station's (as nothing tells a forged source packet): only SRTP stops it."""
    (sources, _), = station(10, 15, 1)
    wanted = source(1003, b"forged audio")
    decoder = FecDecoder()
    for datagram in sources[:3] + sources[4:]:
        decoder.on_source(datagram)
    assert decoder.on_repair(repair(forge(sources, 3, wanted, 15))) == [wanted]


def test_forged_repair_fails_authentication_with_srtp():
    """SRTP: the sources as sent are sealed, and so is what the forger wants rebuilt (he can copy a header, not
    make a tag without the key): the rebuilt datagram passes the decoder's checks and fails authentication, while
    the station's repair rebuilds a packet that opens."""
    sender = SrtpSender(KEY)
    (sources, repairs), = station(10, 15, 1, seal=sender)
    real = sources[3]
    wanted = real[:12] + bytes(len(real) - 12)  # the hole's header, a payload and tag of the forger's making
    decoder = FecDecoder()
    for datagram in sources[:3] + sources[4:]:
        decoder.on_source(datagram)
    [forged] = decoder.on_repair(repair(forge(sources, 3, wanted, 15)))
    receiver = SrtpReceiver(KEY)
    try:
        receiver.unprotect(forged)
        raise AssertionError("a forged rebuilt packet authenticated")
    except WireError as error:
        assert "failed authentication" in str(error)
    decoder = FecDecoder()
    for datagram in sources[:3] + sources[4:]:
        decoder.on_source(datagram)
    [rebuilt] = decoder.on_repair(repairs[0])
    assert rebuilt == real and receiver.unprotect(rebuilt) == SrtpReceiver(KEY).unprotect(real)


def test_new_ssrc_drops_what_was_held():
    """The station restarted (a new SSRC): the old stream's sources and blocks go, and its repairs are
    foreign."""
    old_blocks = station(4, 7, 1)
    (old_sources, old_repairs), = old_blocks
    decoder = FecDecoder()
    for datagram in old_sources[1:]:
        decoder.on_source(datagram)
    decoder.on_source(source(50, b"new station", ssrc=0xFEED))
    assert decoder.on_repair(old_repairs[0]) == []
    assert decoder.stats() == stats_but(decoder, repair_received=1, repair_foreign=1)


def test_stray_source_moves_nothing_a_jump_is_followed():
    """A source of the stream far from the window (a stray) is ignored; two in sequence there are the stream
    jumping (RFC 3550 A.1), and the decoder follows it."""
    blocks = station(4, 7, 2)
    decoder = FecDecoder()
    deliver(decoder, blocks[:1])
    decoder.on_source(source(40_000, b"stray"))
    assert deliver(decoder, blocks[1:], {(0, 0)}) == [blocks[1][0][0]]
    jumped = station(4, 7, 1, first_sequence=30_000, seed=9)
    assert deliver(decoder, jumped, {(0, 2)}) == [jumped[0][0][2]]  # the jump believed at its second source


def test_memory_bounded_under_flood():
    """Repairs for made-up blocks of the followed SSRC, around the stream and far from it, of any shape and the
    longest symbols: the blocks held stay at most MAX_BLOCKS, each with fewer symbols than its holes, and memory
    stops growing."""
    decoder = FecDecoder()
    deliver(decoder, station(10, 15, 5))
    rng = random.Random(6)

    def flood(count: int) -> None:
        for _ in range(count):
            k = rng.choice([1, 2, 10, 100, 254])
            payload = RepairPayload(SSRC, 0, rng.randrange(65536) if rng.random() < 0.2 else 1000 + rng.randrange(
                -600, 600), k, min(255, k + rng.randrange(1, 10)), k, rng.randbytes(MAX_SYMBOL_BYTES))
            assert decoder.on_repair(repair(payload)) == []

    flood(3000)
    tracemalloc.start()
    try:
        flood(1000)
        before, _ = tracemalloc.get_traced_memory()
        flood(6000)
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert after - before < 200_000  # what 10,000 symbols would take is 15 MB
    blocks = decoder._blocks  # what it holds is the point
    assert len(blocks) <= MAX_BLOCKS and all(len(block.symbols) < block.k for block in blocks.values())
    stats = decoder.stats()
    assert stats["repair_received"] == 25 + 10_000 and stats["packets_rebuilt"] == 0
    assert stats["repair_stale"] > 0 and stats["rebuilt_invalid"] > 0  # both far blocks and tried ones were met
