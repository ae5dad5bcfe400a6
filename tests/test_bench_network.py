"""The network benchmark's figures come from the receiver's own counts (a short run; the benchmark runs longer)."""

import pytest

from bench.network import CONDITIONS, L16, L16_FEC, OPUS, arrivals, measure, table
from relay.impairments import Impairments
from rtpwire.rtp import RtpPacket


def test_clean_network_delivers_everything_at_the_target_latency():
    row = measure("clean", Impairments(), seconds=3, latency_ms=60)
    assert row.delivered_pct == 100 and row.concealed_pct == 0 and row.underruns_per_min == 0
    assert row.lost == row.late == 0
    assert abs(row.latency_ms - 60) < 0.5


def test_lost_count_is_what_the_impairments_dropped():
    impairments = Impairments(loss=0.05)
    sent = {RtpPacket.parse(d.data).sequence for d in arrivals(3, Impairments())[0] if d.is_rtp}
    arrived = {RtpPacket.parse(d.data).sequence for d in arrivals(3, impairments)[0] if d.is_rtp}
    row = measure("5% loss", impairments, seconds=3, latency_ms=60)
    assert row.lost == len(sent - arrived) > 0
    assert 0 < row.concealed_pct <= 100 - row.delivered_pct


def test_table_has_a_row_per_condition():
    rows = [measure(name, impairments, 1.0, 60, stream) for name, impairments, stream in CONDITIONS]
    assert len(table(rows).splitlines()) == 2 + len(CONDITIONS)


def test_fec_rebuilds_what_random_loss_took_and_costs_what_it_sends():
    """FEC 10,15: half as much again on the wire, the latency raised by a block's wait (9 packets of 5 ms), and at
    5 % loss every lost packet rebuilt in time."""
    plain, protected = (measure("5% loss", Impairments(loss=0.05), 3, 60, stream) for stream in (L16, L16_FEC))
    assert plain.lost == protected.lost > 0 and protected.recovered == protected.lost
    assert protected.delivered_pct == 100 > plain.delivered_pct
    assert 49 < protected.fec_overhead_pct < 53 and plain.fec_overhead_pct == 0
    assert protected.latency_needed_ms == pytest.approx(60 + 9 * 220 / 44.1)


def test_opus_at_128_kbits_fits_in_170_on_the_wire_and_sounds_as_sent():
    row = measure("clean", Impairments(), 3, 60, OPUS)
    assert row.wire_kbps <= 170 < arrivals(3, Impairments(), L16)[1] / 8
    assert row.correlation >= 0.99 and row.delivered_pct == 100
