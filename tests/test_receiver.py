"""The listener's core on fake time, fed by the real packetizer through an in-memory lossy link."""

import numpy as np
import pytest
from simulation import (PERIOD_FRAMES, SPP, WALL_OFFSET_S, Playout, audible, broadcast, link, play,
                        samples_skipped, tone_pcm)

from listener.receiver import Receiver, ReceiverConfig, State
from rtpwire.audio import L16_MONO, L16_STEREO
from rtpwire.rtcp import SDES_CNAME, Bye, ReceiverReport, SdesChunk, SourceDescription, compound, parse_compound
from rtpwire.rtp import RtpPacket

LATENCY_S = 0.06


def receiver(now: float = 0.0, fmt=L16_STEREO) -> Receiver:
    return Receiver(ReceiverConfig(fmt, LATENCY_S, WALL_OFFSET_S), now)


def first_sound(pcm: np.ndarray) -> int:
    return int(np.argmax(np.any(pcm != 0, axis=1)))


def test_clean_stream_is_bit_exact_and_on_schedule():
    source = tone_pcm(1.0)
    r = receiver()
    out = play(r, link(broadcast(source, start_s=0.1)), until_s=1.3)
    assert np.array_equal(audible(out), source)
    # sample 0 was produced at station time 0.1 s and must play at 0.1 s + latency, read from time 0
    assert first_sound(out) == round((0.1 + LATENCY_S) * 44100)
    stats = r.stats(1.3)
    assert stats["packets_lost"] == stats["underruns"] == stats["packets_late"] == 0
    assert stats["packets_received"] == -(-len(source) // SPP)
    assert stats["latency_ms"] == pytest.approx(LATENCY_S * 1e3, abs=0.1)
    assert stats["transit_ms"] == pytest.approx(1.0, abs=0.01)  # the link's delay
    assert r.state(1.3) is State.LEFT


def test_station_left_only_after_the_last_samples_played():
    r = receiver()
    datagrams = link(broadcast(tone_pcm(0.5), start_s=0.1))  # BYE at ~0.6 s, last sample plays at ~0.66 s
    playout = Playout(r, datagrams)
    playout.until(0.62)
    assert r.state(0.62) is State.PLAYING
    playout.until(0.7)
    assert r.state(0.7) is State.LEFT


@pytest.mark.parametrize("delay_s", [0.0005, 0.02, 0.045])
def test_playout_by_timestamp_not_by_arrival(delay_s):
    source = tone_pcm(0.5)
    out = play(receiver(), link(broadcast(source, start_s=0.1), delay_s=delay_s), until_s=0.8)
    assert first_sound(out) == round((0.1 + LATENCY_S) * 44100)
    assert np.array_equal(audible(out), source)


def test_pause_is_silence_not_underrun():
    source = tone_pcm(1.0)
    r = receiver()
    out = play(r, link(broadcast(source, pauses=((0.5, 1.5),))), until_s=2.5)
    assert np.array_equal(audible(out), source)
    start = first_sound(out)
    silent = ~np.any(out[start:] != 0, axis=1)
    assert silent.sum() > 0.9 * 44100  # the pause, as silence
    assert r.stats(2.5)["underruns"] == 0


def test_paused_state_reported_once_the_buffer_has_played_out():
    r = receiver()
    datagrams = link(broadcast(tone_pcm(1.0), pauses=((0.5, 1.5),)))
    playout = Playout(r, datagrams)
    playout.until(0.52)
    assert r.stats(0.52)["state"] == "playing"  # paused at 0.5, but the last 60 ms are still playing
    playout.until(1.0)
    assert r.state(1.0) is State.PAUSED
    playout.until(1.7)
    assert r.state(1.7) is State.PLAYING
    assert r.stats(1.7)["underruns"] == 0


def test_reordered_packets_played_in_order():
    source = tone_pcm(1.0)
    r = receiver()
    out = play(r, link(broadcast(source), jitter_s=0.03, seed=3), until_s=1.3)
    assert np.array_equal(audible(out), source)
    assert r.stats(1.3)["packets_lost"] == 0


def test_duplicates_dropped_and_counted():
    source = tone_pcm(1.0)
    r = receiver()
    out = play(r, link(broadcast(source), duplicate=0.2, seed=5), until_s=1.3)
    assert np.array_equal(audible(out), source)
    stats = r.stats(1.3)
    assert stats["packets_duplicate"] > 10
    assert stats["packets_received"] == -(-len(source) // SPP)


def test_loss_counted_exactly_and_filled_with_silence():
    source = tone_pcm(1.0)
    r = receiver()
    dropped = {10, 11, 50, 99, 150}
    out = play(r, link(broadcast(source), drop_rtp=dropped), until_s=1.3)
    stats = r.stats(1.3)
    assert stats["packets_lost"] == len(dropped)
    assert stats["samples_missing"] == len(dropped) * SPP
    runs = 4  # 10-11, 50, 99, 150: each run of lost packets spoils one read, or two where it straddles reads
    assert runs <= stats["underruns"] <= 2 * runs
    assert len(audible(out)) == len(source) - len(dropped) * SPP


def test_late_packet_dropped():
    source = tone_pcm(0.5)
    datagrams = link(broadcast(source))
    rtp = [d for d in datagrams if d.is_rtp]
    late = rtp[40]
    delayed = [d for d in datagrams if d is not late] + [type(late)(late.time_s + 0.2, True, late.data)]
    r = receiver()
    play(r, sorted(delayed, key=lambda d: d.time_s), until_s=0.8)
    stats = r.stats(0.8)
    assert stats["packets_late"] == 1
    assert stats["packets_lost"] == 0  # it did arrive, too late to play
    assert stats["samples_missing"] == SPP


def test_seq_wraparound():
    source = tone_pcm(1.0)
    r = receiver()
    out = play(r, link(broadcast(source, first_sequence=65500)), until_s=1.3)
    assert np.array_equal(audible(out), source)
    assert r.stats(1.3)["packets_lost"] == 0


def test_timestamp_wraparound():
    source = tone_pcm(1.0)
    r = receiver()
    out = play(r, link(broadcast(source, first_timestamp=2**32 - 10_000)), until_s=1.3)
    assert np.array_equal(audible(out), source)


def test_join_mid_stream():
    """Before the first sender report the schedule assumes no transit; the 1 ms the link takes, found once it
    arrives, is within the drift dead band: kept, not corrected, so playout stays exact."""
    source = tone_pcm(2.0)
    r = receiver(now=1.0)
    out = play(r, link(broadcast(source, start_s=0.1)), from_s=1.0, until_s=2.5)
    heard = audible(out)
    stats = r.stats(2.5)
    assert len(heard) > 0.9 * 44100
    assert np.array_equal(heard, source[-len(heard):])
    assert stats["underruns"] == 0 and stats["resyncs"] == 0
    assert stats["samples_dropped"] == stats["samples_inserted"] == 0


def test_join_mid_stream_far_from_the_schedule_steers_back_sample_by_sample():
    """A 10 ms transit (beyond the dead band, within the resync limit) is taken up by dropping single samples,
    never by a jump: what is heard is the source with a few samples left out."""
    source = tone_pcm(3.0)
    r = receiver(now=1.0)
    out = play(r, link(broadcast(source, start_s=0.1), delay_s=0.01), from_s=1.0, until_s=3.5)
    heard = audible(out)
    stats = r.stats(3.5)
    assert stats["underruns"] == 0 and stats["resyncs"] == 0
    assert 0 < stats["samples_dropped"] <= L16_STEREO.samples_for(0.01) and stats["samples_inserted"] == 0
    skipped = samples_skipped(heard, source)  # some drops may fall in the silence before the first packet's turn
    assert skipped is not None and 0 < skipped <= stats["samples_dropped"]


def test_station_restart_new_ssrc():
    first, second = tone_pcm(0.5, seed=1), tone_pcm(0.5, seed=2)
    datagrams = broadcast(first, start_s=0.1, ssrc=1) + broadcast(
        second, start_s=1.0, ssrc=2, first_sequence=7, first_timestamp=123)
    r = receiver()
    out = play(r, link(sorted(datagrams, key=lambda d: d.time_s)), until_s=1.7)
    assert np.array_equal(audible(out), np.concatenate([first, second]))
    stats = r.stats(1.7)
    assert stats["source_changes"] == 1
    assert stats["ssrc"] == 2
    assert stats["packets_lost"] == 0


def test_restart_without_bye_is_followed():
    first, second = tone_pcm(0.5, seed=1), tone_pcm(0.5, seed=2)
    datagrams = broadcast(first, start_s=0.1, ssrc=1, bye=False) + broadcast(second, start_s=1.0, ssrc=2)
    r = receiver()
    out = play(r, link(sorted(datagrams, key=lambda d: d.time_s)), until_s=1.7)
    assert np.array_equal(audible(out)[-len(second):], second)
    assert r.stats(1.7)["ssrc"] == 2


def test_second_station_on_the_group_is_not_mixed_in():
    ours, intruder = tone_pcm(1.0, seed=1), tone_pcm(1.0, seed=2)
    intruder = intruder[: len(intruder) // 2]  # it ends before ours does: after our BYE, following it is right
    datagrams = broadcast(ours, ssrc=1) + broadcast(intruder, ssrc=2, start_s=0.3)
    r = receiver()
    out = play(r, link(sorted(datagrams, key=lambda d: d.time_s)), until_s=1.5)
    assert np.array_equal(audible(out), ours)
    assert r.stats(1.5)["packets_foreign"] > 100


def test_malformed_datagrams_counted_never_raised():
    r = receiver()
    for garbage in (b"", b"\x00" * 3, b"\x80\x0a" + b"\x00" * 9, b"\x40" * 40, bytes(range(256))):
        r.on_rtp(garbage, 0.0)
        r.on_rtcp(garbage, 0.0)
    odd_payload = RtpPacket(10, 1, 1, 1, payload=b"\x00\x01\x02")
    r.on_rtp(bytes(odd_payload), 0.0)
    assert r.packets_malformed == 11
    assert "not a whole number" in r.last_wire_error
    assert r.read(PERIOD_FRAMES, 0.1).shape == (PERIOD_FRAMES, 2)


def test_far_future_packet_does_not_grow_memory():
    source = tone_pcm(0.3)
    r = receiver()
    datagrams = link(broadcast(source))
    play(r, datagrams, until_s=0.2)
    future = RtpPacket(10, 1000 + 30, 5000 + 44100 * 60, 0x1234ABCD, payload=b"\x00\x01" * 440)
    r.on_rtp(bytes(future), 0.2)
    assert r.stats(0.2)["packets_too_far"] == 1


def test_mono_stream_is_played_on_both_channels():
    mono = tone_pcm(0.5)[:, :1]
    packet = RtpPacket(L16_MONO.payload_type, 1, 0, 9, payload=L16_MONO.encode(mono[:SPP]))
    r = receiver()
    r.on_rtp(bytes(packet), 0.0)
    out = r.read(PERIOD_FRAMES * 20, LATENCY_S)
    heard = audible(out)
    assert np.array_equal(heard[:, 0], mono[:SPP, 0]) and np.array_equal(heard[:, 1], mono[:SPP, 0])


def test_read_always_returns_exactly_frames():
    r = receiver()
    for frames in (1, 7, 441, 4096):
        assert r.read(frames, 0.0).shape == (frames, 2)


# --- what a receiver report says -----------------------------------------------------------------------------------

def test_report_block_about_a_clean_stream():
    datagrams = link(broadcast(tone_pcm(1.0), start_s=0.1, bye=False))
    r = receiver()
    play(r, datagrams, until_s=0.9)
    block = r.report_block(0.9)
    last_sr = next(d for d in reversed(datagrams) if not d.is_rtp and d.time_s < 0.9)
    sr = parse_compound(last_sr.data)[0]
    received = sum(1 for d in datagrams if d.is_rtp and d.time_s < 0.9 - PERIOD_FRAMES / 44100)
    assert block is not None and block.ssrc == 0x1234ABCD
    assert block.fraction_lost == block.packets_lost == 0
    assert block.highest_sequence >= 1000 + received - 1  # the simulated station's first sequence number is 1000
    assert block.jitter == 0  # the link's delay never varies
    assert block.last_sr == (sr.ntp_timestamp >> 16) & 0xFFFF_FFFF
    assert block.delay_since_last_sr == round((0.9 - last_sr.time_s) * 65536)


def test_report_block_counts_the_loss_since_the_previous_report():
    r = receiver()
    playout = Playout(r, link(broadcast(tone_pcm(1.0), bye=False), drop_rtp={80, 81, 82, 83}))  # sent 0.5 s in
    playout.until(0.3)
    first = r.report_block(0.3)
    playout.until(0.6)
    second = r.report_block(0.6)
    assert first is not None and second is not None
    assert first.fraction_lost == 0
    assert second.packets_lost == 4
    assert second.fraction_lost == (4 << 8) // (second.highest_sequence - first.highest_sequence)


def test_no_report_block_before_audio_or_when_none_came_since():
    r = receiver()
    assert r.report_block(0.0) is None
    play(r, link(broadcast(tone_pcm(0.2))), until_s=0.5)
    assert r.report_block(0.5) is not None
    assert r.report_block(1.0) is None  # the station ended: nothing heard since the last report


def test_other_listeners_reports_are_neither_foreign_nor_malformed():
    r = receiver()
    playout = Playout(r, link(broadcast(tone_pcm(1.0))))
    playout.until(0.4)
    block = r.report_block(0.4)
    other = compound(ReceiverReport(0x99, (block,)), SourceDescription((SdesChunk(0x99, ((SDES_CNAME, "l@h"),)),)))
    for when in (0.41, 0.42):
        r.on_rtcp(other, when)
    r.on_rtcp(compound(ReceiverReport(0x99), Bye((0x99,), "listener quit")), 0.43)
    playout.until(0.6)
    stats = r.stats(0.6)
    assert stats["packets_foreign"] == stats["packets_malformed"] == stats["source_changes"] == 0
    assert stats["ssrc"] == 0x1234ABCD and r.state(0.6) is State.PLAYING
