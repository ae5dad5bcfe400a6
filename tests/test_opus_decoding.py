"""Opus decoding in timestamp order, just in time: reordering, in-band FEC, concealment and its cap, pauses,
jumps, corrupt packets, floods. Sans-IO: packets are pushed and the play position asks, nothing else."""

import numpy as np
import pytest
from test_opus import correlation, encode_all, music_like

import listener.opus_decoding
from listener.opus_decoding import (
    HOLD_SAMPLES,
    MAX_HELD_PACKETS,
    Decoded,
    Kind,
    OpusDecoding,
)
from rtpwire.errors import WireError
from rtpwire.opus import OPUS_RATE, OpusDecoder, OpusEncoder, packet_has_fec

FRAME = 480
BASE = 2**32 + 7 * FRAME  # extended timestamps: past the first wrap


def packets(count: int, fec_percent: int = 0) -> list[bytes]:
    return encode_all(music_like(count * FRAME), OpusEncoder(2, 128, FRAME, fec_percent))


def ts(index: int) -> int:
    return BASE + index * FRAME


def push_all(decoding: OpusDecoding, stream: list[bytes], indexes) -> list[Decoded]:
    return [decoded for i in indexes for decoded in decoding.push(ts(i), stream[i], marker=False)]


def kinds(decoded: list[Decoded]) -> list[tuple[int, Kind]]:
    return [((d.ts - BASE) / FRAME, d.kind) for d in decoded]


def test_in_order_decoded_at_once():
    stream = packets(10)
    decoding = OpusDecoding(2)
    reference = OpusDecoder(2)
    for i, payload in enumerate(stream):
        decoded = decoding.push(ts(i), payload, marker=False)
        assert kinds(decoded) == [(i, Kind.RECEIVED)]
        assert np.array_equal(decoded[0].pcm, reference.decode(payload))
    assert decoding.push(ts(9), stream[9], marker=False) == []  # a duplicate
    assert decoding.push(ts(3), stream[3], marker=False) == []  # before the decoded point
    assert decoding.decode_until(ts(0), ts(10)) == []  # nothing was missing
    assert (decoding.packets_decoded, decoding.packets_dropped) == (10, 2)
    assert decoding.frames_concealed_codec == decoding.frames_rebuilt_inband == 0


def test_reordered_packet_waits_for_its_turn():
    stream = packets(6)
    decoding = OpusDecoding(2)
    assert kinds(push_all(decoding, stream, [0, 1])) == [(0, Kind.RECEIVED), (1, Kind.RECEIVED)]
    assert push_all(decoding, stream, [4, 3]) == []
    assert decoding.held_packets == 2
    assert decoding.decode_until(ts(1), ts(2)) == []  # frame 2's time has not come: it may still arrive
    decoded = push_all(decoding, stream, [2, 5])
    assert kinds(decoded) == [(i, Kind.RECEIVED) for i in (2, 3, 4, 5)]
    reference = OpusDecoder(2)
    expected = [reference.decode(payload) for payload in stream]
    assert all(np.array_equal(d.pcm, expected[i]) for d, i in zip(decoded, (2, 3, 4, 5)))
    assert decoding.held_packets == decoding.packets_dropped == 0


def test_lost_packet_rebuilt_from_inband_fec():
    """At 128 kbit/s with FEC asked for, libopus encodes music in hybrid mode, whose SILK layer carries the
    frame before: a lost packet comes back from the next one, as the codec would rebuild it itself."""
    stream = packets(40, fec_percent=20)
    lost = next(i for i in range(20, 38) if packet_has_fec(stream[i + 1]))
    decoding = OpusDecoding(2)
    assert len(push_all(decoding, stream, range(lost))) == lost
    assert push_all(decoding, stream, [lost + 1, lost + 2]) == []
    decoded = decoding.decode_until(ts(lost), ts(lost + 1))
    assert kinds(decoded) == [(lost, Kind.REBUILT), (lost + 1, Kind.RECEIVED), (lost + 2, Kind.RECEIVED)]
    reference, lossless = OpusDecoder(2), OpusDecoder(2)
    for payload in stream[:lost]:
        reference.decode(payload)
        lossless.decode(payload)
    assert np.array_equal(decoded[0].pcm, reference.rebuild(stream[lost + 1], FRAME))
    assert correlation(decoded[0].pcm, lossless.decode(stream[lost])) > 0.9
    assert (decoding.frames_rebuilt_inband, decoding.frames_concealed_codec) == (1, 0)
    assert decoding.push(ts(lost), stream[lost], marker=False) == []  # too late now
    assert decoding.packets_dropped == 1


def test_lost_packet_concealed_by_codec():
    stream = packets(10)  # no FEC: CELT, nothing to rebuild from
    decoding = OpusDecoding(2)
    push_all(decoding, stream, range(5))
    assert push_all(decoding, stream, [6, 7]) == []
    decoded = decoding.decode_until(ts(4), ts(5) + 1)  # frame 5's first sample is due
    assert kinds(decoded) == [(5, Kind.CONCEALED), (6, Kind.RECEIVED), (7, Kind.RECEIVED)]
    reference = OpusDecoder(2)
    for payload in stream[:5]:
        reference.decode(payload)
    assert np.array_equal(decoded[0].pcm, reference.conceal(FRAME))
    assert np.array_equal(decoded[1].pcm, reference.decode(stream[6]))
    assert (decoding.frames_concealed_codec, decoding.frames_rebuilt_inband, decoding.packets_decoded) == (1, 0, 7)


def test_gap_not_a_multiple_of_2_5_ms_concealed_to_its_length():
    stream = packets(4)
    decoding = OpusDecoding(2)
    push_all(decoding, stream, [0])
    assert decoding.push(ts(1) + 100, stream[1], marker=False) == []  # 100 samples after frame 0 ends
    decoded = decoding.decode_until(ts(1), ts(1) + 1)
    assert [(d.ts - ts(1), len(d.pcm), d.kind) for d in decoded] == [(0, 100, Kind.CONCEALED),
                                                                     (100, FRAME, Kind.RECEIVED)]


def test_marker_gap_not_concealed():
    stream = packets(10)
    pause_samples = OPUS_RATE  # the station paused for a second
    decoding = OpusDecoding(2)
    push_all(decoding, stream, range(5))
    after_pause = [decoding.push(ts(i) + pause_samples, stream[i], marker=i == 5) for i in range(5, 10)]
    assert [kinds(decoded) for decoded in after_pause] == [[((ts(i) + pause_samples - BASE) / FRAME, Kind.RECEIVED)]
                                                           for i in range(5, 10)]
    assert decoding.decode_until(ts(5), ts(10) + pause_samples) == []
    reference = OpusDecoder(2)  # the decoder went on where it was, as the station's encoder did
    expected = [reference.decode(payload) for payload in stream]
    assert all(np.array_equal(decoded[0].pcm, expected[i]) for decoded, i in zip(after_pause, range(5, 10)))
    assert (decoding.frames_concealed_codec, decoding.packets_dropped) == (0, 0)


def test_jump_ahead_skips():
    stream = packets(10)
    decoding = OpusDecoding(2)
    push_all(decoding, stream, [0, 1, 2, 4, 5, 7])  # 3 and 6 lost
    start = ts(5) + 100  # the play position jumped into frame 5
    decoded = decoding.decode_until(start, ts(6))
    assert [(d.ts, len(d.pcm), d.kind) for d in decoded] == [(start, FRAME - 100, Kind.RECEIVED)]
    assert np.array_equal(decoded[0].pcm, OpusDecoder(2).decode(stream[5])[100:])  # decoded afresh
    assert (decoding.packets_dropped, decoding.frames_concealed_codec) == (1, 0)  # 4 dropped, 3 not concealed
    assert kinds(decoding.decode_until(ts(6), ts(7))) == [(6, Kind.CONCEALED), (7, Kind.RECEIVED)]


def test_long_gap_concealment_capped():
    stream = packets(90)
    decoding = OpusDecoding(2, max_concealed_s=0.1)
    push_all(decoding, stream, range(5))
    push_all(decoding, stream, range(55, 60))  # half a second lost in between
    produced = [decoding.decode_until(ts(i), ts(i + 1)) for i in range(5, 60)]
    concealed = [d for decoded in produced for d in decoded if d.kind is Kind.CONCEALED]
    assert sum(len(d.pcm) for d in concealed) == OPUS_RATE // 10
    assert [d.ts for d in concealed] == [ts(i) for i in range(5, 15)]
    received = [d for decoded in produced for d in decoded if d.kind is Kind.RECEIVED]
    assert [d.ts for d in received] == [ts(i) for i in range(55, 60)]
    assert len(concealed) + len(received) == sum(map(len, produced))
    fresh = OpusDecoder(2)  # decoding went on from a reset decoder
    assert all(np.array_equal(d.pcm, fresh.decode(stream[i])) for d, i in zip(received, range(55, 60)))
    # an outage with no packet after it yet: the same, and the first packet after it decodes at once
    assert sum(len(d.pcm) for d in decoding.decode_until(ts(60), ts(85))) == OPUS_RATE // 10
    assert kinds(decoding.push(ts(85), stream[85], marker=False)) == [(85, Kind.RECEIVED)]
    assert decoding.frames_concealed_codec == 20


def test_corrupt_payload_counted_not_raised():
    stream = packets(6)
    decoding = OpusDecoding(2)
    assert decoding.push(ts(0), b"\x03", marker=False) == []  # refused before it starts anything
    push_all(decoding, stream, [0, 1])
    for corrupt in (b"", b"\x03\x00", b"\x02\xff\x01"):
        assert decoding.push(ts(2), corrupt, marker=False) == []
    assert push_all(decoding, stream, [3]) == []
    assert kinds(decoding.decode_until(ts(2), ts(3))) == [(2, Kind.CONCEALED), (3, Kind.RECEIVED)]
    assert (decoding.packets_dropped, decoding.packets_decoded) == (4, 3)


class DecoderFailingOn(OpusDecoder):
    """An OpusDecoder that finds one payload corrupt only when decoding it (libopus does so for none that
    opus_packet_parse accepts, but the contract of decode allows it)."""

    bad: bytes = b""

    def decode(self, payload: bytes) -> np.ndarray:
        if payload == self.bad:
            raise WireError("corrupt")
        return super().decode(payload)

    def rebuild(self, next_payload: bytes, frame_samples: int) -> np.ndarray:
        if next_payload == self.bad:
            raise WireError("corrupt")
        return super().rebuild(next_payload, frame_samples)


def test_payload_corrupt_only_to_the_decoder_counted_not_raised(monkeypatch):
    stream = packets(40, fec_percent=20)
    lost = next(i for i in range(20, 37) if packet_has_fec(stream[i + 1]) and packet_has_fec(stream[i + 2]))
    monkeypatch.setattr(DecoderFailingOn, "bad", stream[lost + 1])
    monkeypatch.setattr(listener.opus_decoding, "OpusDecoder", DecoderFailingOn)
    decoding = OpusDecoding(2)
    push_all(decoding, stream, range(lost))
    assert push_all(decoding, stream, [lost + 1, lost + 2]) == []
    decoded = decoding.decode_until(ts(lost), ts(lost + 2))
    # lost + 1 fails to rebuild lost (concealed instead), then fails to decode: lost too, rebuilt from lost + 2
    assert kinds(decoded) == [(lost, Kind.CONCEALED), (lost + 1, Kind.REBUILT), (lost + 2, Kind.RECEIVED)]
    assert (decoding.packets_dropped, decoding.frames_rebuilt_inband, decoding.frames_concealed_codec) == (1, 1, 1)


def test_flood_memory_bounded():
    stream = packets(6)
    decoding = OpusDecoding(2)
    push_all(decoding, stream, [0])  # 1 is missing: everything after it is held
    flood = 5 * MAX_HELD_PACKETS
    for k in range(flood):  # one sample apart: as many timestamps as fit the window, and more
        assert decoding.push(ts(100) + k, stream[2], marker=False) == []
    assert decoding.push(ts(1) + HOLD_SAMPLES, stream[2], marker=False) == []  # too far ahead
    assert decoding.held_packets == MAX_HELD_PACKETS
    assert push_all(decoding, stream, [2, 3, 4, 5]) == []  # the packets about to play push the furthest out
    assert decoding.held_packets == MAX_HELD_PACKETS
    assert kinds(push_all(decoding, stream, [1])) == [(i, Kind.RECEIVED) for i in range(1, 6)]
    assert decoding.packets_dropped == flood - MAX_HELD_PACKETS + 1 + 4
    assert decoding.held_packets == MAX_HELD_PACKETS - 4


@pytest.mark.parametrize("max_concealed_s", [0.0, 0.02])
def test_concealment_cap_of_any_length(max_concealed_s):
    stream = packets(10)
    decoding = OpusDecoding(2, max_concealed_s=max_concealed_s)
    push_all(decoding, stream, range(3))
    concealed = decoding.decode_until(ts(3), ts(8))
    assert sum(len(d.pcm) for d in concealed) == round(max_concealed_s * OPUS_RATE)
    assert all(d.kind is Kind.CONCEALED for d in concealed)


def test_nothing_concealed_after_the_last_packet_once_the_station_ended():
    """Paused or gone (`ended`): what follows the last packet is silence meant, not loss for the codec to fill;
    a gap between packets held is still loss."""
    stream = packets(4)
    decoding = OpusDecoding(channels=2)
    push_all(decoding, stream, [0, 2])
    out = decoding.decode_until(ts(1), ts(6), ended=True)
    assert kinds(out) == [(1, Kind.CONCEALED), (2, Kind.RECEIVED)]
    assert decoding.decode_until(ts(3), ts(10), ended=True) == []
    assert decoding.frames_concealed_codec == 1
