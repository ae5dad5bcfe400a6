"""Reporter: the compound RTCP (SR, SDES, RDIO APP) and the BYE, parsed back with rtpwire."""

from __future__ import annotations

import numpy as np
import pytest

from rtpwire.audio import L16_STEREO
from rtpwire.nowplaying import APP_NAME, DEFAULT_LATENCY_S, NowPlaying
from rtpwire.rtcp import (NTP_UNIX_EPOCH_OFFSET_S, SDES_CNAME, SDES_NAME, App, Bye, SenderReport,
                          SourceDescription, ntp_from_unix, parse_compound, unix_from_ntp)
from rtpwire.rapid_sync import CLOCK_ID, LATENCY_ID, packet_clock
from station.packetizer import Packetizer
from station.reporter import Reporter
from station.schedule import Schedule

SSRC = 0x11223344
FIRST_TS = 0xFFFF_FF00  # close to the wrap, so the SR's timestamp must wrap as the packets' do
START_S = 100.0
SPP = 220
CNAME = "station-11223344@host"
NAME = "Multicast Radio"
WALL_S = 1_700_000_000.25


def _station(first_timestamp: int = FIRST_TS, interval_s: float = 1.0):
    packetizer = Packetizer(L16_STEREO, SSRC, first_sequence=0, first_timestamp=first_timestamp)
    schedule = Schedule(start_s=START_S, rate=L16_STEREO.rate, samples_per_packet=SPP)
    reporter = Reporter(packetizer, schedule, cname=CNAME, name=NAME, interval_s=interval_s)
    return packetizer, schedule, reporter


def _send(packetizer: Packetizer, count: int) -> None:
    for slot in range(count):
        packetizer.packetize(np.zeros((SPP, 2), dtype=np.int16), slot * SPP)


def test_report_is_sr_sdes_app_in_that_order():
    _, _, reporter = _station()
    packets = parse_compound(reporter.report(102.0, WALL_S, NowPlaying(paused=False, title="Song")))
    assert [type(p) for p in packets] == [SenderReport, SourceDescription, App]


def test_sender_report_carries_the_packetizer_counters():
    packetizer, _, reporter = _station()
    _send(packetizer, 3)
    sr = parse_compound(reporter.report(102.0, WALL_S, NowPlaying(False, "x")))[0]
    assert isinstance(sr, SenderReport)
    assert sr.ssrc == SSRC
    assert sr.packet_count == 3
    assert sr.octet_count == 3 * SPP * 4
    assert sr.reports == ()


def test_counters_are_read_at_report_time():
    packetizer, _, reporter = _station()
    _send(packetizer, 2)
    first = parse_compound(reporter.report(101.0, WALL_S, NowPlaying(False)))[0]
    _send(packetizer, 5)
    second = parse_compound(reporter.report(102.0, WALL_S + 1, NowPlaying(False)))[0]
    assert (first.packet_count, second.packet_count) == (2, 7)
    assert (first.octet_count, second.octet_count) == (2 * SPP * 4, 7 * SPP * 4)


def test_sender_report_rtp_timestamp_is_the_schedule_clock_at_now():
    packetizer, schedule, reporter = _station()
    now = 102.0  # two seconds after slot 0: 88200 samples
    sr = parse_compound(reporter.report(now, WALL_S, NowPlaying(False)))[0]
    assert schedule.stream_ts_at(now) == 88200
    assert sr.rtp_timestamp == (FIRST_TS + 88200) % 2**32 == 87944
    assert sr.rtp_timestamp == packetizer.rtp_timestamp(schedule.stream_ts_at(now))


def test_sender_report_rtp_timestamp_before_the_first_slot():
    # the station's first SR is sent before slot 0 is due: the mapping must still be on the same line
    _, _, reporter = _station(first_timestamp=5)
    sr = parse_compound(reporter.report(START_S - 1.0, WALL_S, NowPlaying(False)))[0]
    assert sr.rtp_timestamp == (5 - 44100) % 2**32


def test_sender_report_rtp_timestamp_matches_a_packet_sent_at_the_same_clock():
    packetizer, schedule, reporter = _station()
    slot = 2205  # 2205 * 220 samples = 485100 = exactly 11.0 s
    packet = packetizer.packetize(np.zeros((SPP, 2), dtype=np.int16), schedule.stream_ts(slot))
    sr = parse_compound(reporter.report(START_S + 11.0, WALL_S, NowPlaying(False)))[0]
    assert sr.rtp_timestamp == packet.timestamp == (FIRST_TS + 485100) % 2**32


def test_sender_report_ntp_is_the_wall_time_given():
    _, _, reporter = _station()
    sr = parse_compound(reporter.report(102.0, WALL_S, NowPlaying(False)))[0]
    assert sr.ntp_timestamp == ntp_from_unix(WALL_S)
    assert sr.ntp_timestamp >> 32 == 1_700_000_000 + NTP_UNIX_EPOCH_OFFSET_S
    assert sr.ntp_timestamp & 0xFFFF_FFFF == 1 << 30  # .25 s
    assert unix_from_ntp(sr.ntp_timestamp) == pytest.approx(WALL_S, abs=1e-6)


def test_ntp_does_not_come_from_the_monotonic_clock():
    _, _, reporter = _station()
    a = parse_compound(reporter.report(102.0, 1_600_000_000.0, NowPlaying(False)))[0]
    b = parse_compound(reporter.report(102.0, 1_600_000_010.0, NowPlaying(False)))[0]
    assert a.rtp_timestamp == b.rtp_timestamp
    assert unix_from_ntp(b.ntp_timestamp) - unix_from_ntp(a.ntp_timestamp) == pytest.approx(10.0, abs=1e-6)


def test_sdes_has_cname_and_name():
    _, _, reporter = _station()
    sdes = parse_compound(reporter.report(102.0, WALL_S, NowPlaying(False)))[1]
    assert isinstance(sdes, SourceDescription)
    assert len(sdes.chunks) == 1
    chunk = sdes.chunks[0]
    assert chunk.ssrc == SSRC
    assert chunk.get(SDES_CNAME) == CNAME
    assert chunk.get(SDES_NAME) == NAME


@pytest.mark.parametrize("paused, title", [(False, "Blue Monk"), (True, "Blue Monk"), (True, ""),
                                           (False, "Café — Ünïcødé ♫")])
def test_app_carries_now_playing(paused, title):
    _, _, reporter = _station()
    app = parse_compound(reporter.report(102.0, WALL_S, NowPlaying(paused=paused, title=title)))[2]
    assert isinstance(app, App)
    assert app.name == APP_NAME == b"RDIO"
    assert app.ssrc == SSRC
    state = NowPlaying.from_app(app)
    assert state.paused is paused
    assert state.title == title


def test_app_announces_the_default_latency():
    _, _, reporter = _station()
    app = parse_compound(reporter.report(102.0, WALL_S, NowPlaying(False)))[2]
    assert NowPlaying.from_app(app).latency_us == round(DEFAULT_LATENCY_S * 1e6)


@pytest.mark.parametrize("latency_s, latency_us", [(0.15, 150_000), (0.001, 1000), (1.0, 1_000_000),
                                                    (0.0605, 60_500)])
def test_app_announces_the_station_latency(latency_s, latency_us):
    packetizer = Packetizer(L16_STEREO, SSRC, first_sequence=0, first_timestamp=FIRST_TS, latency_s=latency_s)
    reporter = Reporter(packetizer, Schedule(START_S, L16_STEREO.rate, SPP), CNAME, NAME)
    app = parse_compound(reporter.report(102.0, WALL_S, NowPlaying(paused=True, title="x")))[2]
    assert NowPlaying.from_app(app) == NowPlaying(paused=True, title="x", latency_us=latency_us)


def test_due_at_start():
    _, _, reporter = _station()
    assert reporter.due(0.0)
    assert reporter.due(-1e9)
    assert reporter.due(START_S)


def test_due_after_interval():
    _, _, reporter = _station(interval_s=1.0)
    reporter.report(10.0, WALL_S, NowPlaying(False))
    assert not reporter.due(10.0)
    assert not reporter.due(10.5)
    assert not reporter.due(10.999)
    assert reporter.due(11.0)
    assert reporter.due(25.0)


def test_due_counts_from_the_last_report():
    _, _, reporter = _station(interval_s=0.5)
    reporter.report(10.0, WALL_S, NowPlaying(False))
    reporter.report(10.2, WALL_S, NowPlaying(True))  # an early report on a state change
    assert not reporter.due(10.5)
    assert reporter.due(10.7)


def test_bye_contains_sr_and_bye_with_reason():
    packetizer, _, reporter = _station()
    _send(packetizer, 4)
    packets = parse_compound(reporter.bye(103.0, WALL_S, "end of queue"))
    assert isinstance(packets[0], SenderReport)
    sr = packets[0]
    assert (sr.ssrc, sr.packet_count, sr.octet_count) == (SSRC, 4, 4 * SPP * 4)
    assert sr.rtp_timestamp == (FIRST_TS + 3 * 44100) % 2**32
    assert sr.ntp_timestamp == ntp_from_unix(WALL_S)
    byes = [p for p in packets if isinstance(p, Bye)]
    assert len(byes) == 1
    assert byes[0].ssrcs == (SSRC,)
    assert byes[0].reason == "end of queue"
    assert isinstance(packets[-1], Bye)


def test_bye_keeps_a_description():
    _, _, reporter = _station()
    packets = parse_compound(reporter.bye(103.0, WALL_S, "station stopped by the operator"))
    sdes = [p for p in packets if isinstance(p, SourceDescription)]
    assert len(sdes) == 1 and sdes[0].chunks[0].get(SDES_CNAME) == CNAME
    assert not any(isinstance(p, App) for p in packets)


def test_the_sr_pairs_its_timestamp_with_the_time_the_packets_carry_for_it():
    """The SR's pairing and the packets' (RFC 6051) agree to within an NTP unit or two: a listener switching
    from one to the other moves nothing."""
    schedule = Schedule(start_s=START_S, rate=L16_STEREO.rate, samples_per_packet=SPP)
    wall_offset_s = WALL_S - START_S
    packetizer = Packetizer(L16_STEREO, SSRC, 0, FIRST_TS, clock_origin_s=START_S + wall_offset_s)
    reporter = Reporter(packetizer, schedule, cname=CNAME, name=NAME)
    now = START_S + 2.000_013  # between two samples
    sr = parse_compound(reporter.report(now, now + wall_offset_s, NowPlaying(False)))[0]
    stream_ts = schedule.stream_ts_at(now)
    packetizer.clock_soon()
    ntp, _ = packet_clock(packetizer.packetize(np.zeros((SPP, 2), dtype=np.int16), stream_ts), CLOCK_ID, LATENCY_ID)
    assert sr.rtp_timestamp == packetizer.rtp_timestamp(stream_ts)
    assert abs(sr.ntp_timestamp - ntp) <= 2**32 * 1e-9  # a nanosecond
