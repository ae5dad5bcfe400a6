"""The listener's core on fake time, fed by the real packetizer through an in-memory lossy link."""

import random
from dataclasses import replace

import numpy as np
import pytest
from simulation import (PERIOD_FRAMES, SPP, WALL_OFFSET_S, Datagram, Playout, audible, broadcast, largest_step,
                        link, play, samples_skipped, sine_pcm, tone_pcm)

from listener.concealment import FADE_S, FULL_S, SPLICE_S
from listener.receiver import CLOCK_WAIT_S, LatencySource, Receiver, ReceiverConfig, State
from listener.strangers import REMEMBERED
from rtpwire.audio import L16_MONO, L16_STEREO
from rtpwire.nowplaying import NowPlaying
from rtpwire.rtcp import (SDES_CNAME, App, Bye, ReceiverReport, SdesChunk, SenderReport, SourceDescription, compound,
                          ntp_from_unix,
                          parse_compound)
from rtpwire.rtp import RtpPacket
from rtpwire.srtp import SrtpSender
from station.packetizer import Packetizer
from station.schedule import Schedule

LATENCY_S = 0.06
SPLICE_SAMPLES = L16_STEREO.samples_for(SPLICE_S)


def receiver(now: float = 0.0, fmt=L16_STEREO, latency_s: float = LATENCY_S) -> Receiver:
    return Receiver(ReceiverConfig(fmt, latency_s, WALL_OFFSET_S), now)


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
    assert stats["packets_lost"] == stats["underruns"] == stats["packets_late"] == stats["samples_concealed"] == 0
    assert stats["packets_received"] == -(-len(source) // SPP)
    assert stats["latency_ms"] == pytest.approx(LATENCY_S * 1e3, abs=0.1)
    assert stats["latency_target_ms"] == LATENCY_S * 1e3  # no jitter: the target never moves
    assert stats["latency_samples_added"] == stats["latency_samples_removed"] == 0
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
    assert r.stats(2.5)["underruns"] == r.stats(2.5)["samples_concealed"] == 0  # meant by the station: not made up


def test_silence_before_a_marker_stays_silence_even_when_the_marker_packet_is_overtaken():
    """A 1 s source looped: its last packet is short (100 of 220 samples), and the next one, back at the start,
    comes where the schedule says, 120 samples later, with the marker bit: those 120 are the station's silence.
    The marker packet arrives after the one behind it: the silence is still known for what it is."""
    source = tone_pcm(1.0)
    datagrams = link(broadcast(source, seconds=1.5))
    rtp = [i for i, d in enumerate(datagrams) if d.is_rtp]
    marker = next(i for i in rtp if RtpPacket.parse(datagrams[i].data).marker and i != rtp[0])
    after = rtp[rtp.index(marker) + 1]
    datagrams[marker], datagrams[after] = (Datagram(datagrams[marker].time_s, True, datagrams[after].data),
                                           Datagram(datagrams[after].time_s, True, datagrams[marker].data))
    r = receiver()
    out = play(r, datagrams, until_s=1.8)
    stats = r.stats(1.8)
    assert stats["underruns"] == stats["samples_concealed"] == 0
    heard = out[first_sound(out):][:L16_STEREO.samples_for(1.5) + 120]
    assert np.array_equal(heard, np.concatenate([source, np.zeros((120, 2), np.int16), source[:22050]]))


def test_paused_state_reported_once_the_buffer_has_played_out():
    r = receiver()
    datagrams = link(broadcast(tone_pcm(1.0), pauses=((0.5, 1.5),)))
    playout = Playout(r, datagrams)
    playout.until(0.52)
    assert r.stats(0.52)["state"] == "playing"  # paused at 0.5, but the last 60 ms are still playing
    playout.until(1.0)
    assert r.state(1.0) is State.PAUSED
    out = playout.until(1.7)
    assert r.state(1.7) is State.PLAYING
    assert r.stats(1.7)["underruns"] == 0
    resumed_s = 1.0 + first_sound(out) / 44100  # the station resumed at 1.5 s: its packets arrive 1 ms later
    assert resumed_s - 1.501 < 0.2


def test_reordered_packets_played_in_order():
    """30 ms of jitter on 5 ms packets: many arrive after a later one, and all play in order, bit-exact."""
    source = tone_pcm(1.0)
    r = receiver()
    arrivals = link(broadcast(source), jitter_s=0.03, seed=2)
    rtp = [RtpPacket.parse(d.data) for d in arrivals if d.is_rtp]
    sequences = [packet.sequence for packet in rtp]
    assert sum(later < earlier for earlier, later in zip(sequences, sequences[1:])) > 50
    out = play(r, arrivals, until_s=1.3)
    assert np.array_equal(audible(out), source)
    stats = r.stats(1.3)
    assert stats["packets_lost"] == stats["packets_late"] == stats["underruns"] == 0


def test_duplicates_dropped_and_counted():
    source = tone_pcm(1.0)
    r = receiver()
    out = play(r, link(broadcast(source), duplicate=0.2, seed=5), until_s=1.3)
    assert np.array_equal(audible(out), source)
    stats = r.stats(1.3)
    assert stats["packets_duplicate"] > 10
    assert stats["packets_received"] == -(-len(source) // SPP)


def test_loss_counted_exactly_and_concealed():
    """Short gaps are made up at full level, counted as missing all the same; all else is the source, but for
    the crossfade back into it after each gap."""
    source = tone_pcm(1.0)
    r = receiver()
    dropped = {10, 11, 50, 99, 150}
    out = play(r, link(broadcast(source), drop_rtp=dropped), until_s=1.3)
    stats = r.stats(1.3)
    assert stats["packets_lost"] == len(dropped)
    assert stats["samples_missing"] == stats["samples_concealed"] == len(dropped) * SPP
    runs = 4  # 10-11, 50, 99, 150: each run of lost packets spoils one read, or two where it straddles reads
    assert runs <= stats["underruns"] <= 2 * runs
    heard = out[first_sound(out):][:len(source)]
    assert np.any(heard != 0, axis=1).all()  # no silence anywhere
    changed = np.flatnonzero(np.any(heard != source, axis=1))
    allowed = np.zeros(len(source), dtype=bool)
    for packet in dropped:
        allowed[packet * SPP: (packet + 1) * SPP + SPLICE_SAMPLES] = True
    assert allowed[changed].all()


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
    """Playout starts at the station's next sender report, on its clock: nothing to correct, exact throughout."""
    source = tone_pcm(2.0)
    r = receiver(now=1.0)
    out = play(r, link(broadcast(source, start_s=0.1)), from_s=1.0, until_s=2.5)
    heard = audible(out)
    stats = r.stats(2.5)
    assert len(heard) > 0.9 * 44100
    assert np.array_equal(heard, source[-len(heard):])
    assert first_sound(out) / 44100 < 0.2  # heard within 200 ms of joining
    assert stats["underruns"] == 0 and stats["resyncs"] == 0
    assert stats["samples_dropped"] == stats["samples_inserted"] == 0


def test_playout_waits_for_the_stations_clock():
    """A listener joining mid-stream over a 10 ms link does not guess the schedule from the first arrival (10 ms
    off): it stays silent, with no underrun, until the next sender report brings the station's clock, and plays
    exactly on it from its first sample."""
    source = tone_pcm(3.0)
    r = receiver(now=1.0)
    out = play(r, link(broadcast(source, start_s=0.1), delay_s=0.01), from_s=1.0, until_s=3.5)
    heard = audible(out)
    stats = r.stats(3.5)
    report_arrival_s = 1.1 + 0.01  # reports are sent every second from 0.1 s
    assert first_sound(out) == pytest.approx((report_arrival_s - 1.0) * 44100, abs=PERIOD_FRAMES)
    assert stats["underruns"] == stats["resyncs"] == 0
    assert stats["samples_dropped"] == stats["samples_inserted"] == 0
    assert np.array_equal(heard, source[-len(heard):])


def test_without_reports_playout_starts_on_the_first_arrival_then_moves_to_the_first_report():
    """A station whose reports are lost for a while (or a sender that sends none): after CLOCK_WAIT_S, playout
    starts on the schedule guessed from the first arrival, as if it took no time, 10 ms off here; when a sender
    report finally gives the real clock, the position moves to it at once (one crossfaded resync) rather than
    being steered there sample by sample, and from then on playout is exact."""
    source = tone_pcm(5.0)
    r = receiver(now=1.0)
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
    Playout(r, link(broadcast(source, start_s=0.1)), card_ppm=1000).until(3.2)
    stats = r.stats(3.2)
    assert stats["resyncs"] == 0 and stats["underruns"] == 0
    assert stats["samples_inserted"] > 0


def test_station_restart_new_ssrc():
    first, second = tone_pcm(0.5, seed=1), tone_pcm(0.5, seed=2)
    datagrams = broadcast(first, start_s=0.1, ssrc=1) + broadcast(
        second, start_s=1.0, ssrc=2, first_sequence=7, first_timestamp=123)
    r = receiver()
    playout = Playout(r, link(sorted(datagrams, key=lambda d: d.time_s)))
    out = playout.until(0.9)
    assert r.state(0.9) is State.LEFT  # its BYE came at 0.6 s
    out = np.concatenate([out, playout.until(1.2)])
    assert r.state(1.2) is State.PLAYING
    out = np.concatenate([out, playout.until(1.7)])
    assert np.array_equal(audible(out), np.concatenate([first, second]))
    assert first_sound(out[round(0.9 * 44100):]) / 44100 + 0.9 - 1.001 < 0.2  # heard within 200 ms of arriving
    stats = r.stats(1.7)
    assert stats["source_changes"] == 1
    assert stats["ssrc"] == 2
    assert stats["packets_lost"] == 0


def test_restart_without_bye_is_followed():
    """The station vanishes (its last audio fades out), the listener says it lost the signal, and a new station
    (new SSRC) is heard within 200 ms of its first packet."""
    first, second = tone_pcm(0.5, seed=1), tone_pcm(0.5, seed=2)
    datagrams = broadcast(first, start_s=0.1, ssrc=1, bye=False) + broadcast(second, start_s=3.0, ssrc=2)
    r = receiver()
    playout = Playout(r, link(sorted(datagrams, key=lambda d: d.time_s)))
    out = playout.until(0.62)
    assert r.state(0.62) is State.PLAYING  # its last packets are still playing
    out = np.concatenate([out, playout.until(1.2)])
    assert r.state(1.2) is State.LOST  # no audio since 0.6 s
    gone = round((0.6 + LATENCY_S) * 44100)  # where its audio ran out
    assert np.array_equal(out[gone - len(first) + 2:gone], first[2:])  # exact until then
    assert not out[gone + L16_STEREO.samples_for(FULL_S + FADE_S):].any()  # then made up, faded out by 50 ms
    playout.until(2.9)
    assert r.state(2.9) is State.LOST
    out = playout.until(3.2)
    assert r.state(3.2) is State.PLAYING and r.stats(3.2)["ssrc"] == 2
    assert first_sound(out) / 44100 + 2.9 - 3.001 < 0.2  # heard within 200 ms of its first packet
    out = np.concatenate([out, playout.until(3.7)])
    assert np.array_equal(audible(out), second)


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


def footprint(obj: object, seen: set[int] | None = None) -> int:
    """How many items the containers reachable from `obj` hold: array elements, entries of lists, sets, dicts."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        return obj.size
    if isinstance(obj, (list, tuple, set, frozenset)):
        return len(obj) + sum(footprint(item, seen) for item in obj)
    if isinstance(obj, dict):
        return len(obj) + sum(footprint(value, seen) for value in obj.values())
    return footprint(vars(obj), seen) if hasattr(obj, "__dict__") else 0


def test_a_flood_of_stray_packets_neither_grows_memory_nor_disturbs_the_stream():
    """Thousands of packets of our station's SSRC with any sequence number, timestamps far in the future or
    anywhere at all, and of random other SSRCs: each is counted and ignored, and the stream plays bit-exact,
    holding exactly what a receiver that never saw them holds."""
    source = tone_pcm(1.0)
    datagrams = link(broadcast(source))
    rng = random.Random(3)
    flood = []
    for i in range(6000):
        now = 0.3 + i * 0.0001
        stream_ts = 5000 + round((now - 0.1) * 44100)  # what the station is sending at that time
        far = stream_ts + 44100 * 4 + rng.randrange(2**31 - 44100 * 8)  # beyond the 3 s buffer, ahead
        ts = (far if i % 2 else rng.getrandbits(32)) % 2**32
        ssrc = rng.getrandbits(32) if i % 3 == 0 else 0x1234ABCD
        packet = RtpPacket(10, rng.getrandbits(16), ts, ssrc, payload=rng.randbytes(4 * rng.randrange(1, 300)))
        flood.append(Datagram(now, True, bytes(packet)))
    clean, flooded = receiver(), receiver()
    expected = play(clean, datagrams, until_s=1.3)
    out = play(flooded, sorted(datagrams + flood, key=lambda d: d.time_s), until_s=1.3)
    assert np.array_equal(out, expected) and np.array_equal(audible(out), source)
    stats = flooded.stats(1.3)
    assert stats["packets_too_far"] == 4000 and stats["packets_foreign"] == 2000
    assert stats["other_senders"] == REMEMBERED  # 2000 strangers, the first few remembered
    counts = ("packets_too_far", "packets_foreign", "other_senders")
    assert {k: v for k, v in stats.items() if k not in counts} == \
        {k: v for k, v in clean.stats(1.3).items() if k not in counts}
    assert footprint(flooded) - footprint(flooded.strangers) == footprint(clean) - footprint(clean.strangers)
    assert footprint(flooded.strangers) <= 8 * REMEMBERED


def test_loss_and_duplicates_counted_exactly_on_a_lossy_link():
    """Loss, duplication and reordering together: what the receiver counts is what the link did."""
    datagrams = broadcast(tone_pcm(3.0))
    arrivals = link(datagrams, loss=0.05, duplicate=0.05, jitter_s=0.02, seed=21)
    sent = [RtpPacket.parse(d.data).sequence for d in datagrams if d.is_rtp]
    arrived = [RtpPacket.parse(d.data).sequence for d in arrivals if d.is_rtp]
    assert sent[0] in arrived and sent[-1] in arrived  # with this seed: no receiver can tell a loss at either end
    r = receiver()
    play(r, arrivals, until_s=3.5)
    stats = r.stats(3.5)
    lost, duplicates = len(set(sent) - set(arrived)), len(arrived) - len(set(arrived))
    assert stats["packets_lost"] == lost > 10 and stats["packets_duplicate"] == duplicates > 10
    assert stats["packets_received"] == len(set(arrived))
    assert stats["packets_late"] == 0 and stats["samples_missing"] == stats["samples_concealed"] > 0


def test_outage_then_the_same_station_again():
    """The network drops everything for 2.5 s while the station goes on: the listener conceals, fades out, says
    it lost the signal, counts exactly what was lost, and plays the station again within 200 ms, on schedule
    (no jump: the play position went on all along)."""
    source = tone_pcm(6.0)
    datagrams = broadcast(source, bye=False)
    outage = [d for d in datagrams if 2.0 <= d.time_s < 4.5]
    r = receiver()
    playout = Playout(r, link([d for d in datagrams if d not in outage]))
    out = playout.until(4.4)
    assert r.state(4.4) is State.LOST
    cut = round((2.0 + LATENCY_S) * 44100)
    assert not out[cut + L16_STEREO.samples_for(FULL_S + FADE_S + 0.006):].any()  # faded out by 50 ms (+ a packet)
    out = playout.until(4.7)
    assert r.state(4.7) is State.PLAYING
    out = np.concatenate([out, playout.until(6.3)])
    back = 4.4 + first_sound(out) / 44100
    assert back - 4.501 < 0.2
    stats = r.stats(6.3)
    assert stats["packets_lost"] == sum(d.is_rtp for d in outage)
    assert stats["resyncs"] == 0 and stats["source_changes"] == 0
    heard = out[first_sound(out) + SPLICE_SAMPLES:][:44100]
    start = round((back - LATENCY_S - 0.1) * 44100) + SPLICE_SAMPLES  # the source sample the schedule plays then
    assert np.array_equal(heard, source[start:start + len(heard)])


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
    playout = Playout(r, jittery_link(broadcast(source, bye=False), (3.0, 8.0), 0.03))
    out = playout.until(3.0)
    assert r.stats(3.0)["latency_target_ms"] == FLOOR_S * 1e3
    out = np.concatenate([out, playout.until(4.0)])
    early = r.stats(4.0)
    assert early["latency_target_ms"] > 40  # 30 ms of jitter, the 10 ms reads, a margin
    assert early["underruns"] > 0
    out = np.concatenate([out, playout.until(8.0)])
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
    playout = Playout(r, jittery_link(broadcast(loop, seconds=65.0, bye=False), (1.0, 4.0), 0.04))
    playout.until(4.0)
    grown_ms = r.stats(4.0)["latency_target_ms"]
    assert grown_ms > 50
    underruns = r.stats(4.0)["underruns"]
    out = playout.until(14.0)
    assert 0 < grown_ms - r.stats(14.0)["latency_target_ms"] <= 10 * 0.5  # slowly
    out = np.concatenate([out, playout.until(65.0)])
    stats = r.stats(65.0)
    assert stats["latency_target_ms"] == 30
    assert stats["underruns"] == underruns and stats["resyncs"] == 0
    assert stats["latency_samples_removed"] == stats["latency_samples_added"]
    assert largest_step(out) <= 2 * largest_step(loop) + 2  # a dropped sample: one step of twice the tone's


def test_mono_stream_is_played_on_both_channels():
    mono = tone_pcm(0.5)[:, :1]
    packet = RtpPacket(L16_MONO.payload_type, 1, 0, 9, payload=L16_MONO.encode(mono[:SPP]))
    r = receiver()
    r.on_rtcp(compound(SenderReport(9, ntp_from_unix(WALL_OFFSET_S), 0, 1, SPP * 2)), 0.0)
    r.on_rtp(bytes(packet), 0.0)
    out = r.read(PERIOD_FRAMES * 20, LATENCY_S)
    heard = audible(out)  # the packet, then the station's vanishing, concealed and faded out
    assert np.array_equal(heard[:SPP, 0], mono[:SPP, 0]) and np.array_equal(heard[:, 1], heard[:, 0])


@pytest.mark.parametrize("latency_s, max_latency_s", [(0.0, 0.5), (0.1, 0.05), (0.06, 3.0)])
def test_latency_bounds_must_make_sense(latency_s, max_latency_s):
    """A positive floor, a maximum at least that, and room for it in the 3 s buffer."""
    with pytest.raises(ValueError):
        ReceiverConfig(L16_STEREO, latency_s, WALL_OFFSET_S, max_latency_s=max_latency_s)


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


# --- every listener in step: the shared latency, the station's clock, the playout offset --------------------------

def listener(now: float = 0.0, latency_s: float = LATENCY_S, source: LatencySource = LatencySource.DEFAULT,
             wall_offset_s: float = WALL_OFFSET_S) -> Receiver:
    return Receiver(ReceiverConfig(L16_STEREO, latency_s, wall_offset_s, latency_source=source), now)


def announcing(datagrams: list[Datagram], from_s: float, latency_us: int) -> list[Datagram]:
    """The datagrams with every RDIO packet sent from `from_s` on announcing `latency_us` instead."""
    changed = []
    for d in datagrams:
        if not d.is_rtp and d.time_s >= from_s:
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
    assert r.playout_offset.count > 50


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
    old = [d if d.is_rtp else Datagram(d.time_s, False, compound(*(
        replace(NowPlaying.from_app(p), latency_us=None).to_app(p.ssrc) if isinstance(p, App) else p
        for p in parse_compound(d.data)))) for d in datagrams]
    r = listener()
    out = play(r, old, until_s=1.4)
    assert first_sound(out) == round((0.1 + LATENCY_S) * 44100)
    stats = r.stats(1.4)
    assert stats["latency_source"] == "default" and stats["latency_target_ms"] == 60
    assert stats["packets_malformed"] == 0 and r.title == "t"  # its RDIO packets were read


@pytest.mark.parametrize("announced_s", [0.15, 0.03])
def test_a_late_joiner_plays_in_step_with_a_listener_there_from_the_start(announced_s):
    """A listener joins mid-stream, over a link 10 ms slower than the first listener's. It waits for the next
    report, which brings the station's clock and its latency, and plays from then on: the same sample at the
    same instant as the first listener, with nothing to correct, and its measured offset is nothing."""
    source = tone_pcm(4.0)
    datagrams = broadcast(source, start_s=0.1, latency_s=announced_s)
    early, late = listener(), listener(now=1.0)
    heard_early = play(early, link(datagrams), until_s=4.0)
    heard_late = play(late, link(datagrams, delay_s=0.011), from_s=1.0, until_s=4.0)
    report_arrival_s, first_heard_sent_s = 1.1 + 0.011, 0.99  # the first packet to arrive after it joined
    expected_s = max(report_arrival_s, first_heard_sent_s + announced_s) - 1.0
    assert first_sound(heard_late) == pytest.approx(expected_s * 44100, abs=PERIOD_FRAMES)
    stats = late.stats(4.0)
    assert stats["latency_source"] == "station" and stats["latency_target_ms"] == announced_s * 1e3
    assert stats["resyncs"] == stats["underruns"] == 0
    assert stats["samples_inserted"] == stats["samples_dropped"] == stats["latency_samples_added"] == 0
    start = first_sound(heard_late)
    assert np.array_equal(heard_late[start:], heard_early[-len(heard_late) + start:])
    assert late.playout_offset_s is not None and abs(late.playout_offset_s) <= 1 / 44100


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
    assert abs(r.playout_offset_s) <= 1 / 44100


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


def test_a_drifting_card_shows_in_the_playout_offset():
    """A card 1000 ppm fast plays ahead of the schedule by what the drift loop has not taken back yet: the
    offset is negative (early), bounded by the loop (1000 ppm against its 0.3 s response: 0.3 ms), and no resync
    is needed."""
    r = receiver()
    Playout(r, link(broadcast(tone_pcm(6.0), start_s=0.1)), card_ppm=1000).until(6.0)
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
    assert abs(r.playout_offset_s) <= 1 / 44100


def behind_clock_listener(error_s: float, now: float = 0.0) -> Receiver:
    """A listener whose wall clock reads `error_s` behind the station's: without the time-sync exchange it
    believes it is in step while it plays `error_s` late."""
    return listener(now=now, source=LatencySource.COMMAND_LINE, wall_offset_s=WALL_OFFSET_S - error_s)


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
    playout = Playout(r, datagrams)
    out = playout.until(1.5)
    r.set_station_offset(0.02)
    out = np.concatenate([out, playout.until(3.0)])
    assert r.stats(3.0)["resyncs"] == 1
    assert np.array_equal(out[-44100:], reference[-44100:])


def test_a_later_station_offset_is_steered_never_jumped():
    """The estimate moves by 1.5 ms, within the step the listener jumps (SYNC_STEP_S): the drift loop steers the
    play position to the new schedule a sample at a time, and the offset comes back within its dead band."""
    r = behind_clock_listener(0.02)
    r.set_station_offset(0.02)
    playout = Playout(r, link(broadcast(tone_pcm(12.0), start_s=0.1)))
    playout.until(2.0)
    r.set_station_offset(0.0215)
    playout.until(2.02)
    assert r.playout_offset_s == pytest.approx(0.0015, abs=0.0003)  # late, on the station's clock as now known
    playout.until(12.0)
    stats = r.stats(12.0)
    assert stats["resyncs"] == 0
    assert stats["samples_dropped"] > 0.8 * L16_STEREO.samples_for(0.0015 - r.drift.deadband_s)
    assert abs(r.playout_offset_s) <= r.drift.deadband_s + 0.0005


def test_a_step_of_the_schedule_beyond_a_few_ms_is_jumped_not_steered():
    """A 15 ms step (a sound server changing a device's latency, a clock estimate corrected by that much) would
    take seconds to steer at the fastest correction, out of step all along: once the smoothed error shows it,
    the position jumps to the schedule, once, crossfaded, and plays in step again."""
    r = behind_clock_listener(0.02)
    r.set_station_offset(0.02)
    playout = Playout(r, link(broadcast(tone_pcm(6.0), start_s=0.1)))
    playout.until(2.0)
    r.set_station_offset(0.035)
    playout.until(2.3)
    assert r.stats(2.3)["resyncs"] == 1
    assert abs(r.playout_offset_s) <= 0.0005
    playout.until(6.0)
    assert r.stats(6.0)["resyncs"] == 1


# --- who is listened to: the station's own addresses, SRTP ---------------------------------------------------

KEY = bytes(range(30))
STATION_RTP = ("10.0.0.1", 40000)
STATION_RTCP = ("10.0.0.1", 40001)


def from_station(datagrams: list[Datagram]) -> list[Datagram]:
    return [replace(d, source=STATION_RTP if d.is_rtp else STATION_RTCP) for d in datagrams]


def forgery(packet: RtpPacket) -> RtpPacket:
    """Silence in the station's name, numbered to come before its own packets."""
    return replace(packet, payload=bytes(len(packet.payload)), sequence=(packet.sequence + 3) & 0xFFFF)


def test_forged_packets_of_the_stations_ssrc_from_another_address_are_ignored():
    """A stranger copies the station's SSRC and sends its own audio, timed to play, and a BYE: neither is heard;
    the stream plays bit-exact and the forgeries are counted as spoofed."""
    source = tone_pcm(1.0)
    genuine = from_station(link(broadcast(source)))
    forged = [replace(d, data=bytes(forgery(RtpPacket.parse(d.data))), source=("10.0.0.66", 40000),
                      time_s=d.time_s - 0.002)
              for d in genuine if d.is_rtp and d.time_s > 0.3]  # once the station is heard: the first is believed
    bye = compound(Bye((0x1234ABCD,), "gone"))
    forged.append(Datagram(0.5, False, bye, ("10.0.0.66", 40001)))
    r = receiver()
    out = play(r, sorted(genuine + forged, key=lambda d: d.time_s), until_s=1.4)
    assert np.array_equal(audible(out), source)
    stats = r.stats(1.4)
    assert stats["packets_spoofed"] == len(forged)
    assert stats["packets_foreign"] == 0 and stats["packets_lost"] == 0
    assert r.strangers.describe().startswith("ignoring SSRC 1234abcd from 10.0.0.66:40000")


def test_a_second_station_on_the_group_is_reported_not_mixed_in():
    source = tone_pcm(1.0)
    ours = from_station(link(broadcast(source)))
    other = [replace(d, source=("10.0.0.2", 50000)) for d in link(broadcast(tone_pcm(0.5, seed=2), ssrc=0x5555,
                                                                              start_s=0.3))]
    r = receiver()
    out = play(r, sorted(ours + other, key=lambda d: d.time_s), until_s=1.4)
    assert np.array_equal(audible(out), source)
    assert r.stats(1.4)["packets_foreign"] >= len(other)  # RTCP counts each packet of a compound
    assert r.strangers.describe() == "ignoring SSRC 00005555 from 10.0.0.2:50000"


def test_an_announced_source_is_the_only_one_heard_from_the_start():
    """A stream joined through its description (a=source-filter) ignores whoever else sends first."""
    impostor = [replace(d, source=("10.0.0.66", 1)) for d in link(broadcast(tone_pcm(1.0, seed=2), ssrc=0x6666,
                                                                             start_s=0.05))]
    source = tone_pcm(1.0)
    r = Receiver(ReceiverConfig(L16_STEREO, LATENCY_S, WALL_OFFSET_S, source_ip="10.0.0.1"), 0.0)
    out = play(r, sorted(from_station(link(broadcast(source))) + impostor, key=lambda d: d.time_s), until_s=1.4)
    assert np.array_equal(audible(out), source)
    assert r.stats(1.4)["packets_foreign"] >= len(impostor)  # RTCP counts each packet of a compound


def srtp_broadcast(source: np.ndarray, key: bytes) -> list[Datagram]:
    sender = SrtpSender(key)
    return [replace(d, data=sender.protect(d.data) if d.is_rtp else sender.protect_rtcp(d.data))
            for d in from_station(link(broadcast(source)))]


def test_srtp_stream_plays_bit_exact_with_the_key():
    source = tone_pcm(1.0)
    r = Receiver(ReceiverConfig(L16_STEREO, LATENCY_S, WALL_OFFSET_S, srtp_key=KEY), 0.0)
    out = play(r, srtp_broadcast(source, KEY), until_s=1.4)
    assert np.array_equal(audible(out), source)
    stats = r.stats(1.4)
    assert (stats["packets_unauthenticated"], stats["packets_replayed"], stats["packets_malformed"]) == (0, 0, 0)
    assert r.station_name == "Sim Radio"  # SRTCP opened too


def test_srtp_replays_and_strangers_without_the_key_are_refused():
    source = tone_pcm(1.0)
    sealed = srtp_broadcast(source, KEY)
    replays = [replace(d, time_s=d.time_s + 0.05) for d in sealed[:40]]
    plain = [replace(d, source=("10.0.0.66", 1)) for d in link(broadcast(tone_pcm(1.0, seed=3), ssrc=0x7777,
                                                                          first_sequence=30000))]
    r = Receiver(ReceiverConfig(L16_STEREO, LATENCY_S, WALL_OFFSET_S, srtp_key=KEY), 0.0)
    out = play(r, sorted(sealed + replays + plain, key=lambda d: d.time_s), until_s=1.4)
    assert np.array_equal(audible(out), source)
    stats = r.stats(1.4)
    assert stats["packets_replayed"] == len(replays)
    assert stats["packets_unauthenticated"] == len(plain)


def test_wrong_key_plays_nothing_and_says_authentication_failed():
    r = Receiver(ReceiverConfig(L16_STEREO, LATENCY_S, WALL_OFFSET_S, srtp_key=bytes(30)), 0.0)
    out = play(r, srtp_broadcast(tone_pcm(1.0), KEY), until_s=1.4)
    assert not out.any()
    assert r.packets_unauthenticated == r.stats(1.4)["packets_unauthenticated"] > 200
    assert r.state(1.4) is State.WAITING


@pytest.mark.parametrize("fmt", [L16_STEREO, L16_MONO], ids=["stereo", "mono"])
def test_without_the_key_an_encrypted_stream_is_named_not_played_as_noise(fmt):
    """Mono SRTP payloads are whole frames: decoded, they would be noise. Two consecutive packets show what
    they are, samples plus a 10-byte tag."""
    source = tone_pcm(1.0)[:, :fmt.channels]
    sender = SrtpSender(KEY)
    sealed = [replace(d, data=sender.protect(d.data) if d.is_rtp else sender.protect_rtcp(d.data))
              for d in link(list(transmit_in(fmt, source)))]
    r = Receiver(ReceiverConfig(fmt, LATENCY_S, WALL_OFFSET_S), 0.0)
    out = play(r, sealed, until_s=2.0)
    assert not out.any()
    assert r.state(2.0) is State.ENCRYPTED
    assert r.stats(2.0)["packets_encrypted"] >= 190


def transmit_in(fmt, pcm: np.ndarray):
    """What a station sending `fmt` sends (the simulation's station is stereo)."""
    packetizer = Packetizer(fmt, 0x1234ABCD, 1000, 5000)
    schedule = Schedule(0.1, fmt.rate, SPP)
    for slot, start in enumerate(range(0, len(pcm), SPP)):
        yield Datagram(schedule.deadline_s(slot), True, bytes(packetizer.packetize(pcm[start:start + SPP],
                                                                                  schedule.stream_ts(slot))))


def test_other_listeners_reports_lock_nothing():
    """Joined mid-stream, on the station's own host: another listener's receiver report (from another port of the
    same address) comes before the station's next sender report. The station's RTCP is still the station's."""
    genuine = from_station(link(broadcast(tone_pcm(3.0))))
    joined = [d for d in genuine if d.time_s > 0.5]
    rtp_first = next(d.time_s for d in joined if d.is_rtp)
    report = compound(ReceiverReport(0x4444, ()), SourceDescription((SdesChunk(0x4444, ((SDES_CNAME, "l@x"),)),)))
    other_listener = Datagram(rtp_first + 0.001, False, report, ("10.0.0.1", 51000))
    r = receiver()
    play(r, sorted(joined + [other_listener], key=lambda d: d.time_s), until_s=3.6)
    stats = r.stats(3.6)
    assert stats["packets_spoofed"] == 0
    assert r.state(3.6) is State.LEFT  # the station's BYE was believed
    assert stats["transit_ms"] > 0  # measured on the clock the station's sender reports give
