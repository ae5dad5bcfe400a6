"""The listener's core on fake time, fed by the real packetizer through an in-memory lossy link: the pipeline
from datagrams to samples, its SRTP stage, its figures and its receiver reports."""

import random
from dataclasses import replace

import numpy as np
import pytest
from simulation import (LATENCY_S, PERIOD_FRAMES, SPP, SRTP_KEY, WALL_OFFSET_S, Datagram, SoundCard,
                        aligned_correlation, audible, broadcast, first_sound, from_station, link, music_pcm, play,
                        receiver, tone_pcm)

from listener.concealment import FADE_S, FULL_S, SPLICE_S
from listener.receiver import Receiver, ReceiverConfig, State
from listener.strangers import REMEMBERED
from rtpwire.audio import L16_MONO, L16_STEREO, OPUS_STEREO
from rtpwire.fec import REPAIR_PAYLOAD_TYPE
from rtpwire.opus import OpusEncoder
from rtpwire.rtcp import (SDES_CNAME, Bye, ReceiverReport, SdesChunk, SenderReport, SourceDescription, compound,
                          ntp_from_unix, parse_compound)
from rtpwire.rtp import RtpPacket
from rtpwire.srtp import SrtpSender
from station.fec_encoder import FecEncoder


SPLICE_SAMPLES = L16_STEREO.samples_for(SPLICE_S)


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
    card = SoundCard(r, datagrams)
    card.until(0.62)
    assert r.state(0.62) is State.PLAYING
    card.until(0.7)
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
    card = SoundCard(r, datagrams)
    card.until(0.52)
    assert r.stats(0.52)["state"] == "playing"  # paused at 0.5, but the last 60 ms are still playing
    card.until(1.0)
    assert r.state(1.0) is State.PAUSED
    out = card.until(1.7)
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
    assert footprint(flooded) - footprint(flooded.lock.strangers) == footprint(clean) - footprint(clean.lock.strangers)
    assert footprint(flooded.lock.strangers) <= 8 * REMEMBERED


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
    card = SoundCard(r, link([d for d in datagrams if d not in outage]))
    out = card.until(4.4)
    assert r.state(4.4) is State.LOST
    cut = round((2.0 + LATENCY_S) * 44100)
    assert not out[cut + L16_STEREO.samples_for(FULL_S + FADE_S + 0.006):].any()  # faded out by 50 ms (+ a packet)
    out = card.until(4.7)
    assert r.state(4.7) is State.PLAYING
    out = np.concatenate([out, card.until(6.3)])
    back = 4.4 + first_sound(out) / 44100
    assert back - 4.501 < 0.2
    stats = r.stats(6.3)
    assert stats["packets_lost"] == sum(d.is_rtp for d in outage)
    assert stats["resyncs"] == 0 and stats["source_changes"] == 0
    heard = out[first_sound(out) + SPLICE_SAMPLES:][:44100]
    start = round((back - LATENCY_S - 0.1) * 44100) + SPLICE_SAMPLES  # the source sample the schedule plays then
    assert np.array_equal(heard, source[start:start + len(heard)])


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
    card = SoundCard(r, link(broadcast(tone_pcm(1.0), bye=False), drop_rtp={80, 81, 82, 83}))  # sent 0.5 s in
    card.until(0.3)
    first = r.report_block(0.3)
    card.until(0.6)
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
    card = SoundCard(r, link(broadcast(tone_pcm(1.0))))
    card.until(0.4)
    block = r.report_block(0.4)
    other = compound(ReceiverReport(0x99, (block,)), SourceDescription((SdesChunk(0x99, ((SDES_CNAME, "l@h"),)),)))
    for when in (0.41, 0.42):
        r.on_rtcp(other, when)
    r.on_rtcp(compound(ReceiverReport(0x99), Bye((0x99,), "listener quit")), 0.43)
    card.until(0.6)
    stats = r.stats(0.6)
    assert stats["packets_foreign"] == stats["packets_malformed"] == stats["source_changes"] == 0
    assert stats["ssrc"] == 0x1234ABCD and r.state(0.6) is State.PLAYING


def srtp_broadcast(source: np.ndarray, key: bytes) -> list[Datagram]:
    sender = SrtpSender(key)
    return [replace(d, data=sender.protect(d.data) if d.is_rtp else sender.protect_rtcp(d.data))
            for d in from_station(link(broadcast(source)))]


def test_srtp_stream_plays_bit_exact_with_the_key():
    source = tone_pcm(1.0)
    r = Receiver(ReceiverConfig(L16_STEREO, LATENCY_S, WALL_OFFSET_S, srtp_key=SRTP_KEY), 0.0)
    out = play(r, srtp_broadcast(source, SRTP_KEY), until_s=1.4)
    assert np.array_equal(audible(out), source)
    stats = r.stats(1.4)
    assert (stats["packets_unauthenticated"], stats["packets_replayed"], stats["packets_malformed"]) == (0, 0, 0)
    assert r.station_name == "Sim Radio"  # SRTCP opened too


def test_srtp_replays_and_strangers_without_the_key_are_refused():
    source = tone_pcm(1.0)
    sealed = srtp_broadcast(source, SRTP_KEY)
    replays = [replace(d, time_s=d.time_s + 0.05) for d in sealed[:40]]
    plain = [replace(d, source=("10.0.0.66", 1)) for d in link(broadcast(tone_pcm(1.0, seed=3), ssrc=0x7777,
                                                                          first_sequence=30000))]
    r = Receiver(ReceiverConfig(L16_STEREO, LATENCY_S, WALL_OFFSET_S, srtp_key=SRTP_KEY), 0.0)
    out = play(r, sorted(sealed + replays + plain, key=lambda d: d.time_s), until_s=1.4)
    assert np.array_equal(audible(out), source)
    stats = r.stats(1.4)
    assert stats["packets_replayed"] == len(replays)
    assert stats["packets_unauthenticated"] == len(plain)


def test_wrong_key_plays_nothing_and_says_authentication_failed():
    r = Receiver(ReceiverConfig(L16_STEREO, LATENCY_S, WALL_OFFSET_S, srtp_key=bytes(30)), 0.0)
    out = play(r, srtp_broadcast(tone_pcm(1.0), SRTP_KEY), until_s=1.4)
    assert not out.any()
    assert r.packets_unauthenticated == r.stats(1.4)["packets_unauthenticated"] > 200
    assert r.state(1.4) is State.WAITING


# --- Reed-Solomon FEC and Opus ------------------------------------------------------------------------------------

BLOCK_WAIT_S = 9 * SPP / 44100  # FEC 10,15: a block's first packet is rebuilt once its ninth follower is sent


def with_fec(source: np.ndarray, first_sequence: int = 1000, **options: object) -> list[Datagram]:
    fec = FecEncoder(10, 15, ssrc=0x5EED, payload_type=REPAIR_PAYLOAD_TYPE, first_sequence=7)
    return broadcast(source, start_s=0.1, first_sequence=first_sequence, fec=fec, **options)


def test_fec_rebuilds_lost_packets_bit_exact():
    source = tone_pcm(1.0)
    r = receiver(latency_s=LATENCY_S + BLOCK_WAIT_S)
    out = play(r, link(with_fec(source), drop_rtp={10, 11, 15, 19, 20, 37}), until_s=1.5)
    assert np.array_equal(audible(out), source)
    stats = r.stats(1.5)
    assert stats["packets_lost"] == stats["packets_recovered"] == 6
    assert stats["packets_unrecovered"] == stats["samples_missing"] == stats["packets_rebuilt_late"] == 0
    assert stats["repair_received"] == 5 * (-(-len(source) // SPP) // 10)


def test_block_with_more_losses_than_repair_rebuilds_nothing_of_it():
    source = tone_pcm(1.0)
    r = receiver(latency_s=LATENCY_S + BLOCK_WAIT_S)
    play(r, link(with_fec(source), drop_rtp={20, 21, 22, 23, 24, 25, 41}), until_s=1.5)
    stats = r.stats(1.5)
    assert (stats["packets_lost"], stats["packets_recovered"], stats["packets_unrecovered"]) == (7, 1, 6)
    assert stats["samples_missing"] == 6 * SPP  # concealment fills what FEC could not, and only that


def test_late_repair_ignored():
    """A latency shorter than a block's wait: the first packet of a block, rebuilt after its time, is not
    played (nor counted as recovered), and nothing is played late."""
    source = tone_pcm(1.0)
    r = receiver(latency_s=0.02)
    play(r, link(with_fec(source), drop_rtp={30}), until_s=1.5)
    stats = r.stats(1.5)
    assert (stats["packets_rebuilt_late"], stats["packets_recovered"], stats["packets_unrecovered"]) == (1, 0, 1)
    assert stats["packets_late"] == 0 and stats["samples_missing"] == SPP


def test_seq_wraparound_inside_a_fec_block():
    source = tone_pcm(0.5)
    r = receiver(latency_s=LATENCY_S + BLOCK_WAIT_S)
    out = play(r, link(with_fec(source, first_sequence=65530), drop_rtp={4, 5, 6, 7}), until_s=1.0)  # 65534 to 1
    assert np.array_equal(audible(out), source)
    assert r.stats(1.0)["packets_recovered"] == 4


def test_repair_from_another_address_is_ignored():
    source = tone_pcm(0.5)
    sent = from_station(with_fec(source))
    stranger = [replace(d, source=("10.0.0.66", 40004)) if d.repair else d for d in sent]
    r = receiver(latency_s=LATENCY_S + BLOCK_WAIT_S)
    play(r, link(stranger, drop_rtp={12}), until_s=1.0)
    stats = r.stats(1.0)
    assert stats["packets_recovered"] == 0 and stats["repair_foreign"] > 0


def opus_broadcast(source: np.ndarray, fec: bool = False) -> list[Datagram]:
    return broadcast(source, start_s=0.1, fmt=OPUS_STEREO, samples_per_packet=480,
                     encode=OpusEncoder(2, 128, 480).encode,
                     fec=FecEncoder(10, 15, ssrc=0x5EED, payload_type=REPAIR_PAYLOAD_TYPE, first_sequence=7)
                     if fec else None)


def test_opus_stream_plays_the_music():
    source = music_pcm(2.0, rate=48000)
    r = receiver(fmt=OPUS_STEREO)
    out = play(r, link(opus_broadcast(source)), until_s=2.5)
    assert aligned_correlation(out, source) >= 0.99
    stats = r.stats(2.5)
    assert stats["samples_missing"] == stats["underruns"] == stats["packets_malformed"] == 0


def test_lost_opus_packet_concealed_by_the_codec():
    """The codec makes up a lost packet (counted as missing and concealed); the listener's own concealment,
    which repeats PCM, is left out of it."""
    source = music_pcm(2.0, rate=48000)
    r = receiver(fmt=OPUS_STEREO)
    out = play(r, link(opus_broadcast(source), drop_rtp={50, 120}), until_s=2.5)
    stats = r.stats(2.5)
    assert stats["samples_missing"] == stats["samples_concealed"] == 2 * 480
    assert r.lock.stream.timeline.decoding.frames_concealed_codec == 2
    assert aligned_correlation(out, source) > 0.95


def test_opus_with_fec_rebuilt_before_it_plays():
    source = music_pcm(2.0, rate=48000)
    r = receiver(fmt=OPUS_STEREO, latency_s=LATENCY_S + 0.09)
    out = play(r, link(opus_broadcast(source, fec=True), drop_rtp={50, 51, 52, 120}), until_s=2.5)
    stats = r.stats(2.5)
    assert stats["packets_recovered"] == 4 and stats["samples_missing"] == 0
    assert aligned_correlation(out, source) >= 0.99


def test_two_opus_listeners_joining_apart_play_the_same_samples_at_the_same_instants():
    """Synchronized playout at 48 kHz: a listener joining a second after another, reading on the same clock, plays
    sample for sample what the first plays, once its decoder has caught up (the decoders' states converge within
    a few packets)."""
    sent = link(opus_broadcast(music_pcm(3.0, rate=48000)))
    first, second = receiver(fmt=OPUS_STEREO), receiver(fmt=OPUS_STEREO)
    early = SoundCard(first, sent).until(3.0)
    late = SoundCard(second, sent, from_s=1.0).until(3.0)
    settled = 48000 // 2  # half a second after it joined
    assert np.array_equal(late[settled:], early[48000 + settled:])
    assert np.any(late[settled:] != 0)


def test_a_growing_target_leaves_the_codecs_concealment_to_the_codec():
    """Jitter beyond the latency grows the target while the codec conceals lost packets: the samples the target
    adds are made up by the listener, those the codec concealed stay the codec's, each counted once."""
    r = receiver(fmt=OPUS_STEREO, latency_s=0.02)
    play(r, link(opus_broadcast(music_pcm(3.0, rate=48000)), jitter_s=0.04, seed=3,
                 drop_rtp=set(range(5, 300, 7))), until_s=3.5)
    stats = r.stats(3.5)
    assert stats["latency_samples_added"] > 0 and stats["samples_missing"] > 0
    assert stats["samples_concealed"] == stats["samples_missing"]
