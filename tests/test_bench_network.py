"""The network benchmark's figures come from the receiver's own counts (a short run; the benchmark runs longer)."""

from bench.network import CONDITIONS, arrivals, measure, table
from relay.impairments import Impairments
from rtpwire.rtp import RtpPacket


def test_clean_network_delivers_everything_at_the_target_latency():
    row = measure("clean", Impairments(), seconds=3, latency_ms=60)
    assert row.delivered_pct == 100 and row.concealed_pct == 0 and row.underruns_per_min == 0
    assert row.lost == row.late == 0
    assert abs(row.latency_ms - 60) < 0.5


def test_lost_count_is_what_the_impairments_dropped():
    impairments = Impairments(loss=0.05)
    sent = {RtpPacket.parse(d.data).sequence for d in arrivals(3, Impairments()) if d.is_rtp}
    arrived = {RtpPacket.parse(d.data).sequence for d in arrivals(3, impairments) if d.is_rtp}
    row = measure("5% loss", impairments, seconds=3, latency_ms=60)
    assert row.lost == len(sent - arrived) > 0
    assert 0 < row.concealed_pct <= 100 - row.delivered_pct


def test_table_has_a_row_per_condition():
    rows = [measure(name, impairments, seconds=0.5, latency_ms=60) for name, impairments in CONDITIONS]
    assert len(table(rows).splitlines()) == 2 + len(CONDITIONS)
