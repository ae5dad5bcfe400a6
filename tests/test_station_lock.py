"""Following one station on fake time: a restarted station followed, another station or a forger never mixed
in, an announced source the only one heard, a stream without its key never played as noise."""

from dataclasses import replace

import numpy as np
import pytest
from simulation import (LATENCY_S, SRTP_KEY, WALL_OFFSET_S, Datagram, SoundCard, audible, broadcast,
                        first_sound, from_station, link, play, receiver, tone_pcm, transmit)

from listener.concealment import FADE_S, FULL_S
from listener.receiver import Receiver, ReceiverConfig, State
from listener.station_lock import SOURCE_SILENT_S, SOURCE_TIMEOUT_S, StationLock
from rtpwire.audio import L16_MONO, L16_STEREO
from rtpwire.rtcp import SDES_CNAME, SDES_NAME, Bye, ReceiverReport, SdesChunk, SourceDescription, compound
from rtpwire.rtp import RtpPacket
from rtpwire.srtp import SrtpSender


STATION = ("10.0.0.1", 40000)
STATION_CONTROL = ("10.0.0.1", 40001)
OTHER = ("10.0.0.2", 50000)


def rtp(sequence: int, timestamp: int, payload_bytes: int, ssrc: int = 0x1234ABCD) -> RtpPacket:
    return RtpPacket(10, sequence, timestamp, ssrc, payload=bytes(payload_bytes))


def test_the_first_station_heard_is_followed_and_its_addresses_locked():
    lock = StationLock(44100)
    stream = lock.follow(1, 0.0, STATION, rtp=True)
    assert stream is not None and lock.stream is stream and stream.rtp_source == STATION
    assert lock.follow(1, 0.1, STATION_CONTROL, rtp=False) is stream  # its RTCP, from the same address
    assert lock.follow(1, 0.2, OTHER, rtp=True) is None  # its SSRC from elsewhere: a forger
    assert lock.follow(1, 0.3, ("10.0.0.1", 40002), rtp=False) is None  # RTCP already locked to 40001
    assert (lock.packets_spoofed, lock.packets_foreign, lock.strangers.count) == (2, 0, 2)


def test_rtp_and_rtcp_of_one_station_come_from_one_address():
    lock = StationLock(44100)
    stream = lock.follow(1, 0.0, STATION_CONTROL, rtp=False)
    assert lock.follow(1, 0.1, OTHER, rtp=True) is None
    assert lock.follow(1, 0.2, STATION, rtp=True) is stream


def test_another_station_is_foreign_until_the_one_followed_is_gone():
    lock = StationLock(44100)
    first = lock.follow(1, 0.0, STATION, rtp=True)
    assert first.count(rtp(1, 0, 880, 1), 0, 0.0)  # its audio
    assert lock.follow(2, SOURCE_SILENT_S / 2, OTHER, rtp=True) is None
    assert lock.packets_foreign == 1
    second = lock.follow(2, 2 * SOURCE_SILENT_S, OTHER, rtp=True)  # the first sent no audio since
    assert second is not None and second is not first and lock.source_changes == 1


def test_a_paused_station_is_kept_until_it_times_out():
    lock = StationLock(44100)
    stream = lock.follow(1, 0.0, STATION, rtp=True)
    stream.paused = True
    assert lock.follow(2, 1.0, OTHER, rtp=True) is None  # silent, but paused: still the station
    assert lock.follow(2, SOURCE_TIMEOUT_S + 0.1, OTHER, rtp=True) is not None


def test_only_the_announced_address_is_heard():
    lock = StationLock(44100, source_ip="10.0.0.1")
    assert lock.follow(1, 0.0, OTHER, rtp=True) is None and lock.stream is None
    assert lock.follow(1, 0.1, STATION, rtp=True) is not None
    assert (lock.packets_foreign, lock.packets_spoofed) == (1, 0)


def test_what_the_station_says_of_itself_counts_only_from_it():
    lock = StationLock(44100)
    stream = lock.follow(1, 0.0, STATION_CONTROL, rtp=False)
    name = SourceDescription((SdesChunk(1, ((SDES_NAME, "Radio"),)),))
    lock.on_description(name, lock.from_station([name], OTHER), OTHER)
    lock.on_bye(Bye((1,)), lock.from_station([Bye((1,))], OTHER), OTHER)
    assert (stream.name, stream.left, lock.packets_spoofed) == ("", False, 2)
    lock.on_description(name, lock.from_station([name], STATION_CONTROL), STATION_CONTROL)
    lock.on_bye(Bye((1,)), lock.from_station([Bye((1,))], STATION_CONTROL), STATION_CONTROL)
    assert (stream.name, stream.left) == ("Radio", True)


def test_reception_is_summed_over_the_stations_followed():
    lock = StationLock(44100)
    for ssrc, start_s in ((1, 0.0), (2, 1.0)):
        stream = lock.follow(ssrc, start_s, None, rtp=True)
        for i in (0, 1, 3):  # one lost each
            packet = rtp(100 + i, 220 * i, 880, ssrc)
            assert stream.count(packet, stream.timestamps.peek(packet.timestamp), start_s + i * 0.005)
    stats = lock.stats()
    assert (stats["packets_received"], stats["packets_lost"], stats["bytes_received"]) == (6, 2, 6 * 880)
    assert (stats["ssrc"], stats["source_changes"]) == (2, 1)


@pytest.mark.parametrize("first_sequence", [100, 0xFFFF], ids=["plain", "seq_wraparound"])
def test_encrypted_is_judged_on_consecutive_packets(first_sequence):
    """Samples plus a 10-byte tag, seen on the second of two consecutive packets, however the numbers wrap."""
    lock = StationLock(44100)
    stream = lock.follow(0x1234ABCD, 0.0, None, rtp=True)
    first_ts = 0xFFFF_FFFF - 100  # the timestamp wraps between the two
    assert not lock.encrypted(stream, rtp(first_sequence, first_ts, 880 + 10), L16_STEREO)
    assert lock.encrypted(stream, rtp((first_sequence + 1) & 0xFFFF, (first_ts + 220) & 0xFFFF_FFFF, 880 + 10),
                          L16_STEREO)
    assert lock.packets_encrypted == 1 and stream.timeline is None


def test_plain_packets_or_a_gap_are_not_taken_for_encryption():
    lock = StationLock(44100)
    stream = lock.follow(1, 0.0, None, rtp=True)
    assert not lock.encrypted(stream, rtp(1, 0, 880, 1), L16_STEREO)
    assert not lock.encrypted(stream, rtp(2, 220, 880, 1), L16_STEREO)  # plain: samples only
    assert not lock.encrypted(stream, rtp(4, 660, 890, 1), L16_STEREO)  # not consecutive: nothing judged


def test_a_listener_with_the_key_judges_nothing_encrypted():
    lock = StationLock(44100, keyed=True)
    stream = lock.follow(1, 0.0, None, rtp=True)
    lock.encrypted(stream, rtp(1, 0, 890, 1), L16_STEREO)
    assert not lock.encrypted(stream, rtp(2, 220, 890, 1), L16_STEREO)


# --- through the receiver ---------------------------------------------------------------------------------------

def test_station_restart_new_ssrc():
    first, second = tone_pcm(0.5, seed=1), tone_pcm(0.5, seed=2)
    datagrams = broadcast(first, start_s=0.1, ssrc=1) + broadcast(
        second, start_s=1.0, ssrc=2, first_sequence=7, first_timestamp=123)
    r = receiver()
    card = SoundCard(r, link(sorted(datagrams, key=lambda d: d.time_s)))
    out = card.until(0.9)
    assert r.state(0.9) is State.LEFT  # its BYE came at 0.6 s
    out = np.concatenate([out, card.until(1.2)])
    assert r.state(1.2) is State.PLAYING
    out = np.concatenate([out, card.until(1.7)])
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
    card = SoundCard(r, link(sorted(datagrams, key=lambda d: d.time_s)))
    out = card.until(0.62)
    assert r.state(0.62) is State.PLAYING  # its last packets are still playing
    out = np.concatenate([out, card.until(1.2)])
    assert r.state(1.2) is State.LOST  # no audio since 0.6 s
    gone = round((0.6 + LATENCY_S) * 44100)  # where its audio ran out
    assert np.array_equal(out[gone - len(first) + 2:gone], first[2:])  # exact until then
    assert not out[gone + L16_STEREO.samples_for(FULL_S + FADE_S):].any()  # then made up, faded out by 50 ms
    card.until(2.9)
    assert r.state(2.9) is State.LOST
    out = card.until(3.2)
    assert r.state(3.2) is State.PLAYING and r.stats(3.2)["ssrc"] == 2
    assert first_sound(out) / 44100 + 2.9 - 3.001 < 0.2  # heard within 200 ms of its first packet
    out = np.concatenate([out, card.until(3.7)])
    assert np.array_equal(audible(out), second)


def test_second_station_on_the_group_is_not_mixed_in():
    ours, intruder = tone_pcm(1.0, seed=1), tone_pcm(1.0, seed=2)
    intruder = intruder[: len(intruder) // 2]  # it ends before ours does: after our BYE, following it is right
    datagrams = broadcast(ours, ssrc=1) + broadcast(intruder, ssrc=2, start_s=0.3)
    r = receiver()
    out = play(r, link(sorted(datagrams, key=lambda d: d.time_s)), until_s=1.5)
    assert np.array_equal(audible(out), ours)
    assert r.stats(1.5)["packets_foreign"] > 100


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
    assert r.lock.strangers.describe().startswith("ignoring SSRC 1234abcd from 10.0.0.66:40000")


def test_a_second_station_on_the_group_is_reported_not_mixed_in():
    source = tone_pcm(1.0)
    ours = from_station(link(broadcast(source)))
    other = [replace(d, source=("10.0.0.2", 50000)) for d in link(broadcast(tone_pcm(0.5, seed=2), ssrc=0x5555,
                                                                              start_s=0.3))]
    r = receiver()
    out = play(r, sorted(ours + other, key=lambda d: d.time_s), until_s=1.4)
    assert np.array_equal(audible(out), source)
    assert r.stats(1.4)["packets_foreign"] >= len(other)  # RTCP counts each packet of a compound
    assert r.lock.strangers.describe() == "ignoring SSRC 00005555 from 10.0.0.2:50000"


def test_an_announced_source_is_the_only_one_heard_from_the_start():
    """A stream joined through its description (a=source-filter) ignores whoever else sends first."""
    impostor = [replace(d, source=("10.0.0.66", 1)) for d in link(broadcast(tone_pcm(1.0, seed=2), ssrc=0x6666,
                                                                             start_s=0.05))]
    source = tone_pcm(1.0)
    r = Receiver(ReceiverConfig(L16_STEREO, LATENCY_S, WALL_OFFSET_S, source_ip="10.0.0.1"), 0.0)
    out = play(r, sorted(from_station(link(broadcast(source))) + impostor, key=lambda d: d.time_s), until_s=1.4)
    assert np.array_equal(audible(out), source)
    assert r.stats(1.4)["packets_foreign"] >= len(impostor)  # RTCP counts each packet of a compound


@pytest.mark.parametrize("fmt", [L16_STEREO, L16_MONO], ids=["stereo", "mono"])
def test_without_the_key_an_encrypted_stream_is_named_not_played_as_noise(fmt):
    """Mono SRTP payloads are whole frames: decoded, they would be noise. Two consecutive packets show what
    they are, samples plus a 10-byte tag."""
    source = tone_pcm(1.0)[:, :fmt.channels]
    sender = SrtpSender(SRTP_KEY)
    sealed = [replace(d, data=sender.protect(d.data) if d.is_rtp else sender.protect_rtcp(d.data))
              for d in link([d for d in transmit(source, fmt=fmt, bye=False) if d.is_rtp])]
    r = Receiver(ReceiverConfig(fmt, LATENCY_S, WALL_OFFSET_S), 0.0)
    out = play(r, sealed, until_s=2.0)
    assert not out.any()
    assert r.state(2.0) is State.ENCRYPTED
    assert r.stats(2.0)["packets_encrypted"] >= 190


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
