"""Playout on fake time: waiting for the station's clock, the target latency following the network's jitter,
the shared latency, the playout offset, resyncs, and the station's clock as the time-sync exchange tells it."""

from dataclasses import replace

import numpy as np
import pytest
from simulation import (LATENCY_S, PERIOD_FRAMES, WALL_OFFSET_S, Datagram, SoundCard, audible, broadcast,
                        first_sound, largest_step, link, listener, play, receiver, sine_pcm, tone_pcm,
                        without_clock)

from listener.jitter_buffer import Write
from listener.playout import CLOCK_WAIT_S, LatencySource, Playout, PlayoutConfig
from listener.reception import ReceptionStats
from listener.receiver import Receiver
from listener.sender_clock import SenderClock
from listener.station_lock import Stream
from rtpwire.audio import L16_STEREO
from rtpwire.nowplaying import NowPlaying
from rtpwire.rapid_sync import LATENCY_ID, LATENCY_US
from rtpwire.rtcp import App, SenderReport, compound, parse_compound
from rtpwire.rtp import RtpPacket


def stream() -> Stream:
    return Stream(0x1234ABCD, ReceptionStats(44100), SenderClock(44100), last_heard_s=0.0)


def playout() -> Playout:
    return Playout(PlayoutConfig(L16_STEREO, LATENCY_S, max_latency_s=0.5, latency_source=LatencySource.COMMAND_LINE,
                                 capacity_s=3.0, resync_s=0.03, wall_offset_s=WALL_OFFSET_S))


def test_the_first_packet_places_the_buffer_around_it():
    p, s = playout(), stream()
    assert p.judge(s, 5000, 220) is Write.STORED
    p.write(s, 5000, tone_pcm(0.005), 220, marker=False, verdict=Write.STORED, now=0.1)
    assert s.timeline is not None and (s.timeline.first_ts, s.timeline.first_arrival_s) == (5000, 0.1)
    assert s.timeline.buffer.buffered_samples == 44100 * 3 // 4 + 220  # a quarter of the buffer before it


def test_a_packet_beyond_the_window_is_judged_once_and_counted():
    p, s = playout(), stream()
    p.write(s, 5000, tone_pcm(0.005), 220, marker=False, verdict=p.judge(s, 5000, 220), now=0.1)
    assert p.judge(s, 5000 + 3 * 44100, 220) is Write.TOO_FAR
    assert p.packets_too_far == 1 and p.packets_late == 0


def test_a_late_packet_is_counted_not_stored():
    p, s = playout(), stream()
    p.write(s, 5000, tone_pcm(0.005), 220, marker=False, verdict=p.judge(s, 5000, 220), now=0.1)
    p.read(s, 441, CLOCK_WAIT_S + 0.2)  # no sender report: playout starts on the first arrival
    buffer = s.timeline.buffer
    position, end = buffer.position_ts, buffer.end_ts
    assert p.judge(s, position - 220, 220) is Write.LATE
    p.write(s, position - 220, tone_pcm(0.005), 220, marker=False, verdict=Write.LATE, now=CLOCK_WAIT_S + 0.2)
    assert p.packets_late == 1 and (buffer.position_ts, buffer.end_ts) == (position, end)
    assert not buffer.read(3 * 44100)[1].any()  # stored nowhere, not even a whole ring later


def test_nothing_followed_plays_silence_of_exactly_the_frames_asked():
    pcm = playout().read(None, 441, 1.0)
    assert pcm.shape == (441, 2) and not pcm.any()


# --- through the receiver ---------------------------------------------------------------------------------------

def test_a_joining_listener_plays_on_the_clock_its_packets_carry_before_the_next_report():
    """A listener joining mid-stream over a 10 ms link plays the first packet it heard exactly when the station's
    clock says, after the latency, without waiting for the next sender report (a second away) or guessing the
    schedule from the first arrival (10 ms off): its packets carry the clock (RFC 6051)."""
    source = tone_pcm(3.0)
    r = receiver(now=1.0)
    out = play(r, link(broadcast(source, start_s=0.1), delay_s=0.01), from_s=1.0, until_s=3.5)
    heard = audible(out)
    stats = r.stats(3.5)
    first_heard_sent_s = 0.99  # the first packet to arrive after 1.0 s left 10 ms earlier
    report_arrival_s = 1.1 + 0.01  # reports are sent every second from 0.1 s
    assert first_sound(out) == pytest.approx((first_heard_sent_s + LATENCY_S - 1.0) * 44100, abs=PERIOD_FRAMES)
    assert first_sound(out) < (report_arrival_s - 1.0) * 44100
    assert stats["first_audio_ms"] == pytest.approx(first_sound(out) / 44.1, abs=0.1)
    assert stats["underruns"] == stats["resyncs"] == 0
    assert stats["samples_dropped"] == stats["samples_inserted"] == 0
    assert np.array_equal(heard, source[-len(heard):])


def test_playout_without_the_packets_clock_waits_for_the_stations_report():
    """A listener that does not read the clock in packets (a description without it) joining mid-stream over a
    10 ms link does not guess the schedule from the first arrival (10 ms off): it stays silent, with no underrun,
    until the next sender report brings the station's clock, and plays exactly on it from its first sample."""
    source = tone_pcm(3.0)
    r = receiver(now=1.0, clock_in_packets=False)
    out = play(r, link(broadcast(source, start_s=0.1), delay_s=0.01), from_s=1.0, until_s=3.5)
    heard = audible(out)
    stats = r.stats(3.5)
    report_arrival_s = 1.1 + 0.01  # reports are sent every second from 0.1 s
    assert first_sound(out) == pytest.approx((report_arrival_s - 1.0) * 44100, abs=PERIOD_FRAMES)
    assert stats["underruns"] == stats["resyncs"] == 0
    assert stats["samples_dropped"] == stats["samples_inserted"] == 0
    assert np.array_equal(heard, source[-len(heard):])


def test_without_reports_playout_starts_on_the_first_arrival_then_moves_to_the_first_report():
    """A station whose reports are lost for a while (or a sender that sends none, nor its clock in its packets,
    as ffmpeg): after CLOCK_WAIT_S, playout
    starts on the schedule guessed from the first arrival, as if it took no time, 10 ms off here; when a sender
    report finally gives the real clock, the position moves to it at once (one crossfaded resync) rather than
    being steered there sample by sample, and from then on playout is exact."""
    source = tone_pcm(5.0)
    r = receiver(now=1.0, clock_in_packets=False)
    arrivals = [d for d in link(broadcast(source, start_s=0.1), delay_s=0.01) if d.is_rtp or d.time_s > 3.0]
    out = play(r, arrivals, from_s=1.0, until_s=5.5)
    heard = audible(out)
    stats = r.stats(5.5)
    assert first_sound(out) == pytest.approx(CLOCK_WAIT_S * 44100, abs=PERIOD_FRAMES)
    assert stats["underruns"] == 0 and stats["resyncs"] == 1
    assert stats["samples_dropped"] == stats["samples_inserted"] == 0
    assert np.array_equal(heard[-L16_STEREO.rate:], source[-L16_STEREO.rate:])


def test_position_placed_by_a_report_is_steered_not_moved():
    """Once the position was placed by a sender report, an error within the resync limit is drift's to take
    up, sample by sample: here the listener's clock runs 1000 ppm fast for two seconds, no resync."""
    source = tone_pcm(3.0)
    r = receiver()
    SoundCard(r, link(broadcast(source, start_s=0.1)), card_ppm=1000).until(3.2)
    stats = r.stats(3.2)
    assert stats["resyncs"] == 0 and stats["underruns"] == 0
    assert stats["samples_inserted"] > 0


# --- the target latency follows the network's jitter --------------------------------------------------------------

FLOOR_S = 0.02


def jittery_link(datagrams: list[Datagram], rough_s: tuple[float, float], jitter_s: float) -> list[Datagram]:
    """A link adding up to `jitter_s` to datagrams sent within `rough_s`, and none to the others."""
    rough = [d for d in datagrams if rough_s[0] <= d.time_s < rough_s[1]]
    calm = [d for d in datagrams if not rough_s[0] <= d.time_s < rough_s[1]]
    return sorted(link(calm) + link(rough, jitter_s=jitter_s, seed=11), key=lambda d: d.time_s)


def test_latency_grows_within_a_second_when_jitter_rises_and_underruns_stop():
    """30 ms of jitter against a 20 ms target: the first packets that come too late are concealed, the target
    grows in a few steps (each made up like a short gap, so there is no click), and then nothing is late."""
    source = sine_pcm(8.0)
    r = receiver(latency_s=FLOOR_S)
    card = SoundCard(r, jittery_link(broadcast(source, bye=False), (3.0, 8.0), 0.03))
    out = card.until(3.0)
    assert r.stats(3.0)["latency_target_ms"] == FLOOR_S * 1e3
    out = np.concatenate([out, card.until(4.0)])
    early = r.stats(4.0)
    assert early["latency_target_ms"] > 40  # 30 ms of jitter, the 10 ms reads, a margin
    assert early["underruns"] > 0
    out = np.concatenate([out, card.until(8.0)])
    stats = r.stats(8.0)
    assert stats["underruns"] == early["underruns"] and stats["packets_late"] == early["packets_late"]
    assert stats["latency_target_ms"] < 50 and stats["resyncs"] == 0
    assert stats["latency_samples_added"] == L16_STEREO.samples_for((stats["latency_target_ms"] - 20) / 1e3)
    assert largest_step(out[first_sound(out):]) < 1.2 * largest_step(source)


def test_latency_shrinks_slowly_back_to_the_floor_when_jitter_falls():
    """After the jitter, the target comes down by single samples dropped at quiet points, 500 ppm at most (a
    millisecond every two seconds), with nothing late and no jump. (A calm network with 10 ms reads needs about
    16 ms: within the 5 ms hysteresis of a 20 ms floor, hence a 30 ms floor here, to see it reached.)"""
    loop = sine_pcm(2.2)  # 968 periods and 441 packets exactly: it loops seamlessly
    r = receiver(latency_s=0.03)
    card = SoundCard(r, jittery_link(broadcast(loop, seconds=65.0, bye=False), (1.0, 4.0), 0.04))
    card.until(4.0)
    grown_ms = r.stats(4.0)["latency_target_ms"]
    assert grown_ms > 50
    underruns = r.stats(4.0)["underruns"]
    out = card.until(14.0)
    assert 0 < grown_ms - r.stats(14.0)["latency_target_ms"] <= 10 * 0.5  # slowly
    out = np.concatenate([out, card.until(65.0)])
    stats = r.stats(65.0)
    assert stats["latency_target_ms"] == 30
    assert stats["underruns"] == underruns and stats["resyncs"] == 0
    assert stats["latency_samples_removed"] == stats["latency_samples_added"]
    assert largest_step(out) <= 2 * largest_step(loop) + 2  # a dropped sample: one step of twice the tone's


def announcing(datagrams: list[Datagram], from_s: float, latency_us: int) -> list[Datagram]:
    """The datagrams with every RDIO packet, and every RTP packet carrying the latency, sent from `from_s` on
    announcing `latency_us` instead."""
    changed = []
    for d in datagrams:
        if d.is_rtp and d.time_s >= from_s:
            packet = RtpPacket.parse(d.data)
            d = replace(d, data=bytes(replace(packet, extensions=tuple(
                (i, LATENCY_US.pack(latency_us) if i == LATENCY_ID else data) for i, data in packet.extensions))))
        elif not d.is_rtp and d.time_s >= from_s:
            packets = [NowPlaying.from_app(p) if isinstance(p, App) else p for p in parse_compound(d.data)]
            ssrc = next(p.ssrc for p in packets if isinstance(p, SenderReport))
            d = Datagram(d.time_s, False, compound(*(
                replace(p, latency_us=latency_us).to_app(ssrc) if isinstance(p, NowPlaying) else p for p in packets)))
        changed.append(d)
    return changed


def test_a_clean_stream_plays_with_no_playout_offset():
    r = receiver()
    play(r, link(broadcast(tone_pcm(1.0), start_s=0.1)), until_s=1.3)
    stats = r.stats(1.3)
    assert abs(stats["playout_offset_ms"]) <= 0.012  # within half a sample: the schedule rounds to samples
    assert stats["playout_offset_p99_ms"] <= 0.02
    assert r.playout.playout_offset.count > 50


def test_a_delayed_listener_plays_every_sample_exactly_its_delay_later():
    """--delay-ms 50: the same samples, 2205 frames later than a listener without one, measured against its own
    shifted schedule (no playout offset)."""
    datagrams = link(broadcast(tone_pcm(1.0), start_s=0.1))
    plain, delayed = receiver(), receiver(delay_s=0.05)
    heard, heard_later = play(plain, datagrams, until_s=1.4), play(delayed, datagrams, until_s=1.4)
    assert first_sound(heard_later) - first_sound(heard) == 2205
    assert np.array_equal(heard_later[2205:], heard[:-2205])
    stats = delayed.stats(1.4)
    assert stats["delay_ms"] == 50.0 and stats["playout_offset_p99_ms"] <= 0.02
    assert stats["latency_ms"] == pytest.approx(LATENCY_S * 1e3 + 50, abs=0.02)


def test_a_negative_delay_goes_no_closer_than_a_millisecond_to_the_station():
    """Earlier than the others by up to the shared latency less 1 ms: samples cannot play before they are sent."""
    datagrams = link(broadcast(tone_pcm(1.0), start_s=0.1))
    plain = play(receiver(), datagrams, until_s=1.4)
    r = receiver(delay_s=-0.02)
    assert first_sound(plain) - first_sound(play(r, datagrams, until_s=1.4)) == 882
    r = receiver(delay_s=-1.0)
    assert r.stats(0.0)["delay_ms"] == 1 - LATENCY_S * 1e3
    earlier = first_sound(plain) - first_sound(play(r, datagrams, until_s=1.4))
    # 1 ms after the station's clock, a 1 ms link: the first read (10 ms) comes before the first packet
    assert round((LATENCY_S - 0.001) * 44100) - PERIOD_FRAMES <= earlier < round((LATENCY_S - 0.001) * 44100)


def test_a_delay_keeps_packets_that_much_further_ahead():
    """A second's delay needs a second more of buffer: the packets it waits for are kept, none judged too far."""
    r = receiver(delay_s=1.0)
    heard = play(r, link(broadcast(tone_pcm(4.0), start_s=0.1)), until_s=4.5)
    stats = r.stats(4.5)
    assert stats["packets_too_far"] == 0 and stats["underruns"] == 0
    assert first_sound(heard) == pytest.approx((0.1 + LATENCY_S + 1.0) * 44100, abs=PERIOD_FRAMES)


def test_the_station_latency_is_adopted_before_anything_plays():
    """The station announces 150 ms in the report it sends before its first packet: the listener, given no
    --latency-ms, plays the first sample 150 ms after the station's clock produced it, bit-exact."""
    source = tone_pcm(1.0)
    r = listener()
    out = play(r, link(broadcast(source, start_s=0.1, latency_s=0.15)), until_s=1.4)
    assert np.array_equal(audible(out), source)
    assert first_sound(out) == round((0.1 + 0.15) * 44100)
    stats = r.stats(1.4)
    assert stats["latency_source"] == "station"
    assert stats["latency_target_ms"] == stats["latency_shared_ms"] == 150
    assert stats["resyncs"] == stats["underruns"] == 0
    assert abs(stats["playout_offset_ms"]) <= 0.012


def test_a_command_line_latency_overrides_the_station():
    source = tone_pcm(1.0)
    r = listener(source=LatencySource.COMMAND_LINE)
    out = play(r, link(broadcast(source, start_s=0.1, latency_s=0.15)), until_s=1.4)
    assert first_sound(out) == round((0.1 + LATENCY_S) * 44100)
    stats = r.stats(1.4)
    assert stats["latency_source"] == "command line" and stats["latency_shared_ms"] == 60


def test_a_station_that_announces_nothing_leaves_the_default():
    """An older station: its RDIO packets carry no latency."""
    datagrams = link(broadcast(tone_pcm(1.0), start_s=0.1, latency_s=0.15))
    old = without_clock([d if d.is_rtp else Datagram(d.time_s, False, compound(*(
        replace(NowPlaying.from_app(p), latency_us=None).to_app(p.ssrc) if isinstance(p, App) else p
        for p in parse_compound(d.data)))) for d in datagrams])
    r = listener()
    out = play(r, old, until_s=1.4)
    assert first_sound(out) == round((0.1 + LATENCY_S) * 44100)
    stats = r.stats(1.4)
    assert stats["latency_source"] == "default" and stats["latency_target_ms"] == 60
    assert stats["packets_malformed"] == 0 and r.title == "t"  # its RDIO packets were read


@pytest.mark.parametrize("announced_s", [0.15, 0.03])
def test_a_late_joiner_plays_in_step_with_a_listener_there_from_the_start(announced_s):
    """A listener joins mid-stream, over a link 10 ms slower than the first listener's. The first packets it
    hears bring the station's clock and its latency, and it plays from the first of them on, without waiting
    for a report: the same sample at the same instant as the first listener, with nothing to correct, and its
    measured offset is nothing."""
    source = tone_pcm(4.0)
    datagrams = broadcast(source, start_s=0.1, latency_s=announced_s)
    early, late = listener(), listener(now=1.0)
    heard_early = play(early, link(datagrams), until_s=4.0)
    heard_late = play(late, link(datagrams, delay_s=0.011), from_s=1.0, until_s=4.0)
    first_heard_sent_s = 0.99  # the first packet to arrive after it joined
    expected_s = first_heard_sent_s + announced_s - 1.0
    assert first_sound(heard_late) == pytest.approx(expected_s * 44100, abs=PERIOD_FRAMES)
    stats = late.stats(4.0)
    assert stats["latency_source"] == "station" and stats["latency_target_ms"] == announced_s * 1e3
    assert stats["resyncs"] == stats["underruns"] == 0
    assert stats["samples_inserted"] == stats["samples_dropped"] == stats["latency_samples_added"] == 0
    start = first_sound(heard_late)
    assert np.array_equal(heard_late[start:], heard_early[-len(heard_late) + start:])
    assert late.playout.playout_offset_s is not None and abs(late.playout.playout_offset_s) <= 1 / 44100


def test_a_new_announced_latency_is_reached_without_a_click():
    """The station announces 100 ms instead of 60 from 2 s on: the target grows in the steps it takes for the
    network's jitter, each made up like a short gap, with no resync and no click, and playout is in step
    (offset nothing) once it is there."""
    source = sine_pcm(2.2)  # loops seamlessly
    r = listener()
    out = play(r, announcing(link(broadcast(source, seconds=5.0, bye=False)), 2.0, 100_000), until_s=5.0)
    stats = r.stats(5.0)
    assert stats["latency_target_ms"] == stats["latency_shared_ms"] == 100
    assert stats["latency_samples_added"] == L16_STEREO.samples_for(0.04)
    assert stats["resyncs"] == stats["underruns"] == 0
    assert largest_step(out[first_sound(out):]) < 1.2 * largest_step(source)
    assert abs(r.playout.playout_offset_s) <= 1 / 44100


def test_a_restarted_station_announcing_another_latency_is_followed_at_once():
    """A new SSRC starts over: its latency is taken before its first sample plays, nothing to make up."""
    first, second = tone_pcm(0.5, seed=1), tone_pcm(0.5, seed=2)
    datagrams = broadcast(first, start_s=0.1, ssrc=1) + broadcast(second, start_s=1.0, ssrc=2, latency_s=0.1)
    r = listener()
    out = play(r, link(sorted(datagrams, key=lambda d: d.time_s)), until_s=1.7)
    assert np.array_equal(audible(out), np.concatenate([first, second]))
    assert first_sound(out[round(0.9 * 44100):]) == round((1.0 + 0.1 - 0.9) * 44100)
    stats = r.stats(1.7)
    assert stats["latency_target_ms"] == 100 and stats["latency_samples_added"] == 0
    assert abs(stats["playout_offset_ms"]) <= 0.012


@pytest.mark.parametrize("clock_in_packets, heard_s", [(True, 1.0 + LATENCY_S), (False, 2.0)])
def test_a_killed_station_restarted_is_heard_its_latency_after_its_first_packet(clock_in_packets, heard_s):
    """A station killed (no BYE) and started again 0.4 s later, as a new SSRC. Its first report goes out before
    its first packet, while the listener still follows the old station, and is refused as a stranger's (left out
    here): with the clock in its packets, the new station is heard its latency after its first packet; without,
    only once its next report comes, a second later."""
    first, second = tone_pcm(0.5, seed=1), tone_pcm(1.5, seed=2)
    restarted = [d for d in broadcast(second, start_s=1.0, ssrc=2) if d.is_rtp or d.time_s >= 1.5]
    datagrams = broadcast(first, start_s=0.1, ssrc=1, bye=False) + restarted
    if not clock_in_packets:
        datagrams = without_clock(datagrams)
    r = listener()
    out = play(r, link(sorted(datagrams, key=lambda d: d.time_s)), until_s=2.8)
    after_kill = out[round(0.9 * 44100):]
    assert first_sound(after_kill) == pytest.approx((heard_s - 0.9) * 44100, abs=PERIOD_FRAMES)
    assert np.array_equal(audible(after_kill)[-44100 // 2:], second[-44100 // 2:])
    stats = r.stats(2.8)
    assert stats["source_changes"] == 1
    assert stats["first_audio_after_packet_ms"] == pytest.approx((heard_s - 1.001) * 1e3, abs=PERIOD_FRAMES / 44.1)


def test_a_drifting_card_shows_in_the_playout_offset():
    """A card 1000 ppm fast plays ahead of the schedule by what the drift loop has not taken back yet: the
    offset is negative (early), bounded by the loop (1000 ppm against its 0.3 s response: 0.3 ms), and no resync
    is needed."""
    r = receiver()
    SoundCard(r, link(broadcast(tone_pcm(6.0), start_s=0.1)), card_ppm=1000).until(6.0)
    stats = r.stats(6.0)
    assert stats["resyncs"] == 0
    assert -1.0 < stats["playout_offset_ms"] < -0.1
    assert 0.1 < stats["playout_offset_p99_ms"] < 1.0


def test_after_a_stall_the_resync_puts_playout_back_on_the_schedule():
    """The reader stops for 200 ms (a stalled machine): the position is 200 ms behind the schedule, jumps to it,
    and plays in step again."""
    r = receiver()
    arrivals = iter(link(broadcast(tone_pcm(3.0), start_s=0.1)))
    pending = next(arrivals)
    for period in range(300):
        now = period * PERIOD_FRAMES / 44100
        while pending is not None and pending.time_s <= now:
            (r.on_rtp if pending.is_rtp else r.on_rtcp)(pending.data, pending.time_s)
            pending = next(arrivals, None)
        if not 1.0 <= now < 1.2:
            r.read(PERIOD_FRAMES, now)
    stats = r.stats(3.0)
    assert stats["resyncs"] == 1
    assert abs(r.playout.playout_offset_s) <= 1 / 44100


def behind_clock_listener(error_s: float, now: float = 0.0) -> Receiver:
    """A listener whose wall clock reads `error_s` behind the station's: without the time-sync exchange it
    believes it is in step while it plays `error_s` late."""
    return listener(now=now, source=LatencySource.COMMAND_LINE, wall_offset_s=WALL_OFFSET_S - error_s)


def in_step_then_offset(seconds: float, offset_s: float) -> tuple[Receiver, SoundCard]:
    """A listener 20 ms behind, put in step by the time-sync exchange, playing for 2 s of `seconds` of audio;
    then told the station's clock is `offset_s` ahead instead."""
    r = behind_clock_listener(0.02)
    r.set_station_offset(0.02)
    card = SoundCard(r, link(broadcast(tone_pcm(seconds), start_s=0.1)))
    card.until(2.0)
    r.set_station_offset(offset_s)
    return r, card


def test_the_station_offset_puts_a_listener_with_a_wrong_clock_in_step():
    source = tone_pcm(2.0)
    datagrams = link(broadcast(source, start_s=0.1))
    reference = play(receiver(), datagrams, until_s=2.3)
    wrong = behind_clock_listener(0.02)
    assert first_sound(play(wrong, datagrams, until_s=2.3)) == first_sound(reference) + round(0.02 * 44100)
    corrected = behind_clock_listener(0.02)
    corrected.set_station_offset(0.02)
    assert np.array_equal(play(corrected, datagrams, until_s=2.3), reference)


def test_the_first_station_offset_moves_playout_at_once():
    """The first estimate came after playout started: a new clock, placed at once (one crossfaded move)."""
    source = tone_pcm(3.0)
    datagrams = link(broadcast(source, start_s=0.1))
    reference = play(receiver(), datagrams, until_s=3.0)
    r = behind_clock_listener(0.02)
    card = SoundCard(r, datagrams)
    out = card.until(1.5)
    r.set_station_offset(0.02)
    out = np.concatenate([out, card.until(3.0)])
    assert r.stats(3.0)["resyncs"] == 1
    assert np.array_equal(out[-44100:], reference[-44100:])


def test_a_later_station_offset_is_steered_never_jumped():
    """The estimate moves by 1.5 ms, within the step the listener jumps (SYNC_STEP_S): the drift loop steers the
    play position to the new schedule a sample at a time, and the offset comes back within its dead band."""
    r, card = in_step_then_offset(12.0, 0.0215)
    card.until(2.02)
    assert r.playout.playout_offset_s == pytest.approx(0.0015, abs=0.0003)  # late, on the station's clock as now known
    card.until(12.0)
    stats = r.stats(12.0)
    assert stats["resyncs"] == 0
    assert stats["samples_dropped"] > 0.8 * L16_STEREO.samples_for(0.0015 - r.playout.drift.deadband_s)
    assert abs(r.playout.playout_offset_s) <= r.playout.drift.deadband_s + 0.0005


def test_a_step_of_the_schedule_beyond_a_few_ms_is_jumped_not_steered():
    """A 15 ms step (a sound server changing a device's latency, a clock estimate corrected by that much) would
    take seconds to steer at the fastest correction, out of step all along: once the smoothed error shows it,
    the position jumps to the schedule, once, crossfaded, and plays in step again."""
    r, card = in_step_then_offset(6.0, 0.035)
    card.until(2.3)
    assert r.stats(2.3)["resyncs"] == 1
    assert abs(r.playout.playout_offset_s) <= 0.0005
    card.until(6.0)
    assert r.stats(6.0)["resyncs"] == 1
