"""The listener's receiver reports and BYE, on fake time."""

import random

from listener.receiver_reports import LEAVING, ReceiverReporter
from rtpwire.audio import L16_STEREO
from rtpwire.listener_delay import reported_delay_ms
from rtpwire.rtcp import (SDES_CNAME, SDES_NAME, SDES_PRIV, Bye, ReceiverReport, ReportBlock, SdesChunk, SenderReport,
                          SourceDescription, compound, parse_compound)
from rtpwire.rtcp_timing import COMPENSATION, session_bandwidth_bytes_per_s

SSRC = 0x0BADCAFE
CNAME = "listener-0badcafe@host"
BLOCK = ReportBlock(0x1234ABCD, fraction_lost=3, packets_lost=7, highest_sequence=70000, jitter=12,
                    last_sr=0xF2A38000, delay_since_last_sr=0x8000)
SESSION_BW = session_bandwidth_bytes_per_s(L16_STEREO, 220)


def reporter(now: float = 0.0, seed: int = 1) -> ReceiverReporter:
    return ReceiverReporter(SSRC, CNAME, SESSION_BW, now, random.Random(seed))


def first_due(r: ReceiverReporter, start_s: float = 0.0, step_s: float = 0.01) -> float:
    now = start_s
    while not r.due(now):
        now += step_s
    return now


def test_report_is_an_rr_with_the_block_then_the_cname():
    packets = parse_compound(reporter().report(BLOCK, 1.0))
    assert packets == [ReceiverReport(SSRC, (BLOCK,)), SourceDescription((SdesChunk(SSRC, ((SDES_CNAME, CNAME),)),))]


def test_a_named_listener_with_a_delay_sends_cname_name_then_priv():
    r = ReceiverReporter(SSRC, CNAME, SESSION_BW, 0.0, random.Random(1), name="Living room", delay_ms=-12.5)
    for data in (r.report(BLOCK, 1.0), r.bye(BLOCK)):
        (chunk,) = parse_compound(data)[1].chunks
        assert [kind for kind, _ in chunk.items] == [SDES_CNAME, SDES_NAME, SDES_PRIV]
        assert (chunk.get(SDES_CNAME), chunk.get(SDES_NAME), reported_delay_ms(chunk)) == (CNAME, "Living room", -12.5)


def test_no_name_item_without_a_name_and_no_priv_without_a_delay():
    r = ReceiverReporter(SSRC, CNAME, SESSION_BW, 0.0, random.Random(1), name="Kitchen", delay_ms=0.0)
    (chunk,) = parse_compound(r.report(BLOCK, 1.0))[1].chunks
    assert chunk.items == ((SDES_CNAME, CNAME), (SDES_NAME, "Kitchen"))
    r = ReceiverReporter(SSRC, CNAME, SESSION_BW, 0.0, random.Random(1), delay_ms=50)
    (chunk,) = parse_compound(r.report(BLOCK, 1.0))[1].chunks
    assert chunk.get(SDES_NAME) is None and reported_delay_ms(chunk) == 50


def test_report_without_a_block_is_an_empty_rr():
    rr, sdes = parse_compound(reporter().report(None, 1.0))
    assert rr == ReceiverReport(SSRC, ()) and isinstance(sdes, SourceDescription)


def test_first_report_within_the_initial_interval_then_about_every_five_seconds():
    r = reporter(now=100.0)
    first_s = first_due(r, 100.0)
    assert 100.0 + 1.25 / COMPENSATION <= first_s <= 100.0 + 3.75 / COMPENSATION + 0.01
    r.report(BLOCK, first_s)
    assert not r.due(first_s + 2.5 / COMPENSATION - 0.01)
    assert first_due(r, first_s) <= first_s + 7.5 / COMPENSATION + 0.01


def test_seeds_make_listeners_report_at_different_times():
    assert len({round(first_due(reporter(seed=seed)), 2) for seed in range(10)}) > 5


def test_bye_after_reporting_is_rr_cname_bye():
    r = reporter()
    r.report(BLOCK, first_due(r))
    data = r.bye(BLOCK)
    assert data is not None
    rr, sdes, bye = parse_compound(data)
    assert rr == ReceiverReport(SSRC, (BLOCK,)) and isinstance(sdes, SourceDescription)
    assert bye == Bye((SSRC,), LEAVING)


def test_no_bye_from_a_listener_that_never_reported():
    assert reporter().bye(None) is None


def test_no_immediate_bye_in_a_large_audience():
    r = reporter()
    r.report(None, first_due(r))
    for ssrc in range(1, 60):
        r.on_rtcp(compound(ReceiverReport(ssrc)), 4.0)
    assert r.bye(None) is None


def test_other_members_make_reports_rarer_in_a_thin_session():
    lonely = ReceiverReporter(SSRC, CNAME, 2000.0, 0.0, random.Random(4))
    crowded = ReceiverReporter(SSRC, CNAME, 2000.0, 0.0, random.Random(4))
    crowded.on_rtcp(compound(SenderReport(1, 0, 0, 0, 0)), 0.0)
    for ssrc in range(2, 100):
        crowded.on_rtcp(compound(ReceiverReport(ssrc)), 0.0)
    assert first_due(crowded) > first_due(lonely) + 10


def test_malformed_datagrams_are_ignored():
    r = reporter()
    for garbage in (b"", b"\x00\x01", b"\x81\xc9\x00\x07" + bytes(8)):  # the last: an RR cut short
        r.on_rtcp(garbage, 0.1)
    assert parse_compound(r.report(None, first_due(r)))[0] == ReceiverReport(SSRC)
