"""Packetizer: sequence numbers, timestamps, marker bits, L16 payload and the sender's counters."""

from __future__ import annotations

import numpy as np
import pytest

from rtpwire.audio import L16_MONO, L16_STEREO
from rtpwire.rapid_sync import CLOCK_ID, LATENCY_ID, packet_clock
from rtpwire.rtcp import ntp_from_unix, unix_from_ntp
from rtpwire.rtp import RtpPacket
from station.packetizer import CLOCK_EVERY_S, CLOCK_PACKETS, Packetizer

SSRC = 0xDEADBEEF


def _pcm(frames: int, channels: int = 2, start: int = 0) -> np.ndarray:
    values = (np.arange(start, start + frames * channels) % 65536 - 32768).astype(np.int16)
    return values.reshape(frames, channels)


def _contiguous(packetizer: Packetizer, count: int, frames: int, first_ts: int = 0) -> list[RtpPacket]:
    return [packetizer.packetize(_pcm(frames), first_ts + i * frames) for i in range(count)]


def test_sequence_numbers_increase_by_one():
    packetizer = Packetizer(L16_STEREO, SSRC, first_sequence=1000, first_timestamp=0)
    packets = _contiguous(packetizer, 5, 10)
    assert [p.sequence for p in packets] == [1000, 1001, 1002, 1003, 1004]


def test_seq_wraparound():
    packetizer = Packetizer(L16_STEREO, SSRC, first_sequence=65534, first_timestamp=0)
    packets = _contiguous(packetizer, 5, 10)
    assert [p.sequence for p in packets] == [65534, 65535, 0, 1, 2]


def test_sequence_numbers_have_no_gap_across_a_timestamp_gap():
    packetizer = Packetizer(L16_STEREO, SSRC, first_sequence=7, first_timestamp=0)
    first = packetizer.packetize(_pcm(10), 0)
    after_pause = packetizer.packetize(_pcm(10), 44100)
    assert (first.sequence, after_pause.sequence) == (7, 8)


def test_timestamps_are_first_timestamp_plus_stream_ts():
    packetizer = Packetizer(L16_STEREO, SSRC, first_sequence=0, first_timestamp=123_456)
    assert packetizer.packetize(_pcm(220), 0).timestamp == 123_456
    assert packetizer.packetize(_pcm(220), 220).timestamp == 123_676
    assert packetizer.packetize(_pcm(220), 1_000_000).timestamp == 1_123_456


def test_timestamp_wraparound():
    first_timestamp = 2**32 - 15
    packetizer = Packetizer(L16_STEREO, SSRC, first_sequence=0, first_timestamp=first_timestamp)
    packets = _contiguous(packetizer, 4, 10)
    assert [p.timestamp for p in packets] == [2**32 - 15, 2**32 - 5, 5, 15]
    assert all(0 <= p.timestamp < 2**32 for p in packets)


def test_timestamp_wraps_for_a_very_long_stream():
    packetizer = Packetizer(L16_STEREO, SSRC, first_sequence=0, first_timestamp=2**31)
    stream_ts = 3 * 2**32 + 17  # far beyond one wrap, as after days on the air
    assert packetizer.packetize(_pcm(4), stream_ts).timestamp == 2**31 + 17


def test_rtp_timestamp_wraps_negative_stream_positions():
    # the reporter asks for the clock before slot 0 (its first SR precedes the first packet)
    packetizer = Packetizer(L16_STEREO, SSRC, first_sequence=0, first_timestamp=5)
    assert packetizer.rtp_timestamp(-10) == 2**32 - 5
    assert packetizer.rtp_timestamp(0) == 5


def test_marker_on_first_packet_only_while_contiguous():
    packetizer = Packetizer(L16_STEREO, SSRC, first_sequence=0, first_timestamp=0)
    packets = _contiguous(packetizer, 4, 220)
    assert [p.marker for p in packets] == [True, False, False, False]


def test_marker_on_first_packet_even_when_stream_does_not_start_at_zero():
    packetizer = Packetizer(L16_STEREO, SSRC, first_sequence=0, first_timestamp=0)
    packets = _contiguous(packetizer, 2, 220, first_ts=220 * 50)
    assert [p.marker for p in packets] == [True, False]


def test_marker_after_resume_from_pause():
    packetizer = Packetizer(L16_STEREO, SSRC, first_sequence=0, first_timestamp=0)
    markers = [packetizer.packetize(_pcm(220), ts).marker
               # two packets, a pause of 10 slots, then two more
               for ts in (0, 220, 220 * 12, 220 * 13)]
    assert markers == [True, False, True, False]


def test_marker_when_a_short_packet_is_followed_by_the_next_slot():
    # a short read (next track not decoded yet) leaves a hole before the next slot's stream position
    packetizer = Packetizer(L16_STEREO, SSRC, first_sequence=0, first_timestamp=0)
    packetizer.packetize(_pcm(220), 0)
    short = packetizer.packetize(_pcm(100), 220)
    following = packetizer.packetize(_pcm(220), 440)
    assert (short.marker, following.marker) == (False, True)


def test_payload_is_big_endian_l16():
    pcm = np.array([[0x0102, -2], [32767, -32768]], dtype=np.int16)
    packetizer = Packetizer(L16_STEREO, SSRC, first_sequence=0, first_timestamp=0)
    packet = packetizer.packetize(pcm, 0)
    assert packet.payload == b"\x01\x02" + b"\xff\xfe" + b"\x7f\xff" + b"\x80\x00"
    np.testing.assert_array_equal(L16_STEREO.decode(packet.payload), pcm)


def test_payload_round_trips_through_rtpwire_audio():
    rng = np.random.default_rng(1)
    pcm = rng.integers(-32768, 32768, size=(220, 2), dtype=np.int16)
    packetizer = Packetizer(L16_STEREO, SSRC, first_sequence=0, first_timestamp=0)
    packet = packetizer.packetize(pcm, 0)
    assert len(packet.payload) == 220 * 4
    decoded = L16_STEREO.decode(packet.payload)
    assert decoded.dtype == np.int16 and decoded.shape == (220, 2)
    np.testing.assert_array_equal(decoded, pcm)


def test_payload_of_a_non_contiguous_slice():
    pcm = _pcm(40)[::2]  # a strided view, as slices of decoded tracks may be
    packet = Packetizer(L16_STEREO, SSRC, 0, 0).packetize(pcm, 0)
    np.testing.assert_array_equal(L16_STEREO.decode(packet.payload), pcm)


def test_header_fields_survive_the_wire():
    packetizer = Packetizer(L16_STEREO, SSRC, first_sequence=65535, first_timestamp=2**32 - 1)
    packet = packetizer.packetize(_pcm(10), 0)
    parsed = RtpPacket.parse(bytes(packet))
    assert parsed == packet
    assert (parsed.payload_type, parsed.ssrc, parsed.sequence, parsed.timestamp, parsed.marker) == (
        10, SSRC, 65535, 2**32 - 1, True)


@pytest.mark.parametrize("fmt", [L16_STEREO, L16_MONO])
def test_payload_type_follows_format(fmt):
    packet = Packetizer(fmt, SSRC, 0, 0).packetize(_pcm(10, fmt.channels), 0)
    assert packet.payload_type == fmt.payload_type
    assert len(packet.payload) == 10 * fmt.bytes_per_frame


def test_counters_start_at_zero():
    packetizer = Packetizer(L16_STEREO, SSRC, 0, 0)
    assert (packetizer.packet_count, packetizer.octet_count) == (0, 0)


def test_packet_and_octet_counts():
    packetizer = Packetizer(L16_STEREO, SSRC, 0, 0)
    packetizer.packetize(_pcm(220), 0)
    packetizer.packetize(_pcm(220), 220)
    packetizer.packetize(_pcm(100), 440)  # a short last packet
    assert packetizer.packet_count == 3
    assert packetizer.octet_count == (220 + 220 + 100) * 4  # payload only, no headers


def test_octet_count_mono():
    packetizer = Packetizer(L16_MONO, SSRC, 0, 0)
    for i in range(5):
        packetizer.packetize(_pcm(220, 1), i * 220)
    assert (packetizer.packet_count, packetizer.octet_count) == (5, 5 * 220 * 2)


# --- the clock in-band (RFC 6051) ------------------------------------------------------------------------------

ORIGIN_S = 1_700_000_000.5


def _clocked(packet: RtpPacket) -> tuple[int | None, int | None]:
    return packet_clock(RtpPacket.parse(bytes(packet)), CLOCK_ID, LATENCY_ID)


def test_the_first_packets_carry_the_clock_then_one_every_25_ms():
    packetizer = Packetizer(L16_STEREO, SSRC, 0, 0, clock_origin_s=ORIGIN_S, latency_s=0.08)
    packets = _contiguous(packetizer, 40, 220)  # 5 ms each
    carrying = [i for i, p in enumerate(packets) if _clocked(p) != (None, None)]
    every = round(CLOCK_EVERY_S * 44100 / 220)
    assert carrying == list(range(CLOCK_PACKETS)) + list(range(CLOCK_PACKETS - 1 + every, 40, every))
    assert all(_clocked(packets[i])[1] == 80_000 for i in carrying)


def test_the_clock_is_the_wall_clock_time_of_the_first_sample():
    packetizer = Packetizer(L16_STEREO, SSRC, 0, 0xFFFF_FF00, clock_origin_s=ORIGIN_S)
    packet = packetizer.packetize(_pcm(220), 44100 * 3)
    ntp, _ = _clocked(packet)
    assert ntp == ntp_from_unix(ORIGIN_S + 3.0)
    assert unix_from_ntp(ntp) == pytest.approx(ORIGIN_S + 3.0, abs=1e-6)


def test_a_resume_and_a_new_track_bring_the_clock_at_once():
    packetizer = Packetizer(L16_STEREO, SSRC, 0, 0, clock_origin_s=ORIGIN_S)
    _contiguous(packetizer, 10, 220)
    assert _clocked(packetizer.packetize(_pcm(220), 2200)) == (None, None)
    resumed = _contiguous(packetizer, CLOCK_PACKETS + 1, 220, first_ts=44100)  # after a pause: a marker
    assert resumed[0].marker and [_clocked(p)[0] is not None for p in resumed] == [True] * CLOCK_PACKETS + [False]
    packetizer.clock_soon()
    new_track = _contiguous(packetizer, CLOCK_PACKETS + 1, 220, first_ts=44100 + 220 * (CLOCK_PACKETS + 1))
    assert [_clocked(p)[0] is not None for p in new_track] == [True] * CLOCK_PACKETS + [False]


def test_the_clock_costs_20_bytes_on_a_packet_that_carries_it():
    packetizer = Packetizer(L16_STEREO, SSRC, 0, 0, clock_origin_s=ORIGIN_S)
    first, *_, plain = _contiguous(packetizer, CLOCK_PACKETS + 1, 220)
    assert len(bytes(first)) - len(bytes(plain)) == 20
    assert packetizer.octet_count == (CLOCK_PACKETS + 1) * 880  # payload only, as RFC 3550 counts it
