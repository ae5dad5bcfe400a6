"""The station's clock from sender reports, and the LSR/DLSR a receiver report echoes."""

import pytest

from listener.sender_clock import SenderClock
from rtpwire.rtcp import SenderReport, ntp_from_unix


def test_no_report_means_no_lsr_nor_dlsr():
    clock = SenderClock(44100)
    assert not clock.synchronized
    assert clock.last_report(5.0) == (0, 0)


def test_lsr_is_the_middle_of_the_ntp_timestamp_and_dlsr_the_time_held():
    clock = SenderClock(44100)
    report = SenderReport(1, 0xE6A1F2A3_80000000, 1000, 0, 0)
    clock.update(report, 1000, arrival_s=10.0)
    assert clock.last_report(11.5) == (0xF2A38000, int(1.5 * 65536))


def test_a_later_report_replaces_the_earlier():
    clock = SenderClock(44100)
    clock.update(SenderReport(1, ntp_from_unix(1_700_000_000.0), 0, 0, 0), 0, arrival_s=1.0)
    clock.update(SenderReport(1, ntp_from_unix(1_700_000_001.0), 44100, 0, 0), 44100, arrival_s=2.0)
    last_sr, delay = clock.last_report(2.25)
    assert last_sr == (ntp_from_unix(1_700_000_001.0) >> 16) & 0xFFFF_FFFF
    assert delay == 0x4000  # a quarter of a second in 1/65536 s


def test_sample_times_follow_the_report():
    clock = SenderClock(44100)
    clock.update(SenderReport(1, ntp_from_unix(1_700_000_000.0), 0, 0, 0), 1000, arrival_s=1.0)
    assert clock.wall_of(1000 + 44100) == pytest.approx(1_700_000_001.0)
    assert clock.ts_at(1_700_000_000.5) == pytest.approx(1000 + 22050)


def test_a_report_built_an_instant_before_the_stamped_arrival_has_no_delay():
    clock = SenderClock(44100)
    clock.update(SenderReport(1, ntp_from_unix(1_700_000_000.0), 0, 0, 0), 0, arrival_s=5.0)
    assert clock.last_report(4.9999)[1] == 0
