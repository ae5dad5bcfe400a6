"""RTCP intervals (RFC 3550 6.3, A.7) on fake time, with seeded random generators."""

import math
import random

import pytest

from rtpwire.audio import L16_MONO, L16_STEREO
from rtpwire.rtcp import (SDES_CNAME, Bye, ReceiverReport, SdesChunk, SenderReport, SourceDescription, compound,
                          parse_compound)
from rtpwire.rtcp_timing import (COMPENSATION, ReportTimer, averaged_rtcp_bytes, deterministic_interval_s,
                                 member_timeout_s, randomized_interval_s, session_bandwidth_bytes_per_s)

SESSION_BW = session_bandwidth_bytes_per_s(L16_STEREO, 220)
RTCP_BW = 0.05 * SESSION_BW
SHORTEST_S, LONGEST_S = 0.5 / COMPENSATION, 1.5 / COMPENSATION  # randomization factors, compensated


def rr(ssrc: int) -> bytes:
    """A listener's compound report: an empty RR and its CNAME."""
    return compound(ReceiverReport(ssrc), SourceDescription((SdesChunk(ssrc, ((SDES_CNAME, f"l-{ssrc}@h"),)),)))


def sr(ssrc: int) -> bytes:
    return compound(SenderReport(ssrc, 0, 0, 0, 0))


def hear(timer: ReportTimer, data: bytes, now: float) -> None:
    timer.on_rtcp(parse_compound(data), len(data), now)


def timer(now: float = 0.0, seed: int = 1, ssrc: int = 0xAAAA, session_bw: float = SESSION_BW) -> ReportTimer:
    return ReportTimer(ssrc, session_bw, len(rr(ssrc)), now, random.Random(seed))


# --- the formulas ------------------------------------------------------------------------------------------------

def test_session_bandwidth_is_the_l16_stream_with_its_headers():
    # 44100 / 220 packets per second, each 880 bytes of audio + 12 RTP + 8 UDP + 20 IPv4
    assert SESSION_BW == pytest.approx(44100 / 220 * 920)
    assert session_bandwidth_bytes_per_s(L16_MONO, 220) == pytest.approx(44100 / 220 * 480)


def test_compensation_is_e_minus_three_halves():
    assert COMPENSATION == pytest.approx(1.21828, abs=1e-5)


@pytest.mark.parametrize("members, senders, we_sent", [(1, 0, False), (2, 1, False), (2, 1, True), (30, 1, False)])
def test_small_sessions_report_at_the_minimum(members, senders, we_sent):
    assert deterministic_interval_s(members, senders, RTCP_BW, we_sent, 100, initial=False) == 5.0
    assert deterministic_interval_s(members, senders, RTCP_BW, we_sent, 100, initial=True) == 2.5


def test_receivers_share_three_quarters_when_senders_are_few():
    # 1000 members, one sender: 999 receivers share 75 % of the RTCP bandwidth
    interval_s = deterministic_interval_s(1000, 1, RTCP_BW, we_sent=False, avg_rtcp_bytes=100, initial=False)
    assert interval_s == pytest.approx(100 * 999 / (0.75 * RTCP_BW))
    assert interval_s > 10


def test_few_senders_share_a_quarter_among_themselves():
    # 4 senders among 1000 members: each sender's interval depends on the 4 only
    interval_s = deterministic_interval_s(1000, 4, 20.0, we_sent=True, avg_rtcp_bytes=100, initial=False)
    assert interval_s == pytest.approx(100 * 4 / (0.25 * 20.0))


def test_many_senders_share_the_whole_bandwidth_with_everyone():
    # senders above a quarter of the members: no split, all members share all of it
    interval_s = deterministic_interval_s(10, 5, 20.0, we_sent=False, avg_rtcp_bytes=100, initial=False)
    assert interval_s == pytest.approx(100 * 10 / 20.0)
    assert deterministic_interval_s(10, 5, 20.0, we_sent=True, avg_rtcp_bytes=100, initial=False) == interval_s


def test_randomization_spans_half_to_one_and_a_half_compensated():
    rng = random.Random(3)
    draws = [randomized_interval_s(5.0, rng) for _ in range(5000)]
    assert 5.0 * SHORTEST_S <= min(draws) < 5.0 * SHORTEST_S + 0.01
    assert 5.0 * LONGEST_S - 0.01 < max(draws) <= 5.0 * LONGEST_S
    assert sum(draws) / len(draws) == pytest.approx(5.0 / COMPENSATION, rel=0.02)


def test_randomization_is_deterministic_for_a_seed():
    assert [randomized_interval_s(5.0, random.Random(9)) for _ in range(3)] == \
        [randomized_interval_s(5.0, random.Random(9)) for _ in range(3)]


def test_members_time_out_after_five_receiver_intervals():
    assert member_timeout_s(2, 1, RTCP_BW, 100) == 25.0
    big = member_timeout_s(1000, 1, RTCP_BW, 100)
    assert big == pytest.approx(5 * deterministic_interval_s(1000, 1, RTCP_BW, False, 100, initial=False))


def test_average_size_starts_with_the_first_datagram_and_moves_a_sixteenth():
    first = averaged_rtcp_bytes(None, 72)
    assert first == 100.0  # with 28 bytes of UDP/IPv4 headers
    assert averaged_rtcp_bytes(first, 232) == pytest.approx(100 + (260 - 100) / 16)


# --- the timer ----------------------------------------------------------------------------------------------------

def test_first_report_within_the_halved_initial_interval():
    for seed in range(50):
        t = timer(now=10.0, seed=seed)
        assert 10.0 + 2.5 * SHORTEST_S <= t.next_s <= 10.0 + 2.5 * LONGEST_S
        assert not t.due(t.next_s - 0.001)


def test_reports_then_come_every_randomized_five_seconds():
    t = timer()
    now, sent_at = 0.0, []
    while now < 300:
        if t.due(now):
            t.sent(60, now)
            sent_at.append(now)
        now = round(now + 0.01, 2)
    gaps = [b - a for a, b in zip(sent_at, sent_at[1:])]
    assert sent_at[0] <= 2.5 * LONGEST_S + 0.01
    assert all(5.0 * SHORTEST_S - 0.01 <= gap <= 5.0 * LONGEST_S + 0.01 for gap in gaps)
    assert sum(gaps) / len(gaps) == pytest.approx(5.0, rel=0.15)  # reconsideration undoes the compensation


def test_counts_members_from_sender_and_receiver_reports():
    t = timer()
    hear(t, sr(1), 0.1)
    hear(t, rr(2), 0.2)
    hear(t, rr(2), 0.3)
    hear(t, rr(3), 0.4)
    assert (t.members, t.senders) == (4, 1)


def test_own_reports_looped_back_are_not_members_nor_averaged_twice():
    t = timer(ssrc=7)
    avg = t.avg_rtcp_bytes
    hear(t, rr(7), 0.1)
    assert (t.members, t.avg_rtcp_bytes) == (1, avg)


def test_other_datagrams_move_the_average_size():
    t = timer()
    avg = t.avg_rtcp_bytes
    data = sr(1)
    hear(t, data, 0.1)
    assert t.avg_rtcp_bytes == averaged_rtcp_bytes(avg, len(data))


def test_bye_removes_a_member_and_brings_the_next_report_forward():
    t = timer(session_bw=500.0)  # a thin session: 40 members make the interval longer than the minimum
    for ssrc in range(1, 40):
        hear(t, rr(ssrc), 0.0)
    t.sent(len(rr(0xAAAA)), 1.0)
    before_s = t.next_s
    for ssrc in range(1, 20):
        hear(t, compound(ReceiverReport(ssrc), Bye((ssrc,))), 2.0)
    assert t.members == 21
    # reverse reconsideration: the time left shrinks in proportion to the members left
    assert t.next_s == pytest.approx(2.0 + 21 / 40 * (before_s - 2.0))


def test_bye_of_an_unknown_member_changes_nothing():
    t = timer()
    next_s = t.next_s
    hear(t, compound(ReceiverReport(5), Bye((5,))), 0.5)
    assert (t.members, t.next_s) == (1, next_s)


def test_forward_reconsideration_defers_the_report_when_the_session_grew():
    t = timer(session_bw=500.0)
    expiry_s = t.next_s
    for ssrc in range(1, 200):  # a crowd joins before the timer expires
        hear(t, rr(ssrc), 0.5)
    assert not t.due(expiry_s)
    assert t.next_s > expiry_s + 10


def test_silent_members_time_out():
    t = timer()
    hear(t, rr(2), 0.0)
    hear(t, rr(3), 20.0)
    now = 0.0
    while not t.due(now):
        now += 0.1
    t.sent(60, now)
    while now < 26.0 or not t.due(now):  # 2 silent for longer than 5 x 5 s, 3 not yet
        now += 0.1
    assert t.members == 2


def test_bye_only_after_reporting_and_in_a_small_session():
    t = timer()
    assert not t.may_leave_at_once  # never sent anything: RFC 3550 forbids a BYE
    t.sent(60, 3.0)
    assert t.may_leave_at_once
    for ssrc in range(1, 51):
        hear(t, rr(ssrc), 3.5)
    assert t.members == 51 and not t.may_leave_at_once


def test_a_crowd_stays_within_its_share_of_the_bandwidth():
    """40 listeners and a station on a thin session: the receivers' reports use about 75 % of 5 % of it."""
    session_bw = 2000.0
    station = 0x5
    listeners = [timer(seed=i, ssrc=100 + i, session_bw=session_bw) for i in range(40)]
    sent_bytes = 0
    now = 0.0
    while now < 900.0:
        for t in listeners:
            if t.due(now):
                data = rr(t.ssrc)
                t.sent(len(data), now)
                if now >= 300.0:  # past the start-up burst
                    sent_bytes += len(data) + 28
                for other in listeners:
                    if other is not t:
                        hear(other, data, now)
        if math.isclose(now % 1.0, 0.0, abs_tol=1e-6):
            for t in listeners:
                hear(t, sr(station), now)
        now = round(now + 0.1, 1)
    assert listeners[0].members == 41
    rate = sent_bytes / 600.0
    assert rate == pytest.approx(0.75 * 0.05 * session_bw, rel=0.1)
