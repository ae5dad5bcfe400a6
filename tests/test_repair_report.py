"""The post-repair report (RTCP APP RPAR): what a listener hears after FEC, as the station reads it."""

import pytest

from rtpwire.errors import WireError
from rtpwire.repair_report import MAX_UNRECOVERED, RepairReport
from rtpwire.rtcp import App, parse_compound

GOLDEN = bytes.fromhex("80cc0004" "0000beef" "52504152" "1234abcd" "1a000007")  # APP RPAR of listener 0xbeef


def test_golden_packet():
    report = RepairReport(source_ssrc=0x1234ABCD, fraction_unrecovered=26, packets_unrecovered=7)
    assert bytes(report.to_app(0xBEEF)) == GOLDEN
    (app,) = parse_compound(GOLDEN)
    assert RepairReport.from_app(app) == report
    assert report.fraction_unrecovered_pct == pytest.approx(10.16, abs=0.01)


def test_unrecovered_saturates_at_24_bits():
    app = RepairReport(1, 0, MAX_UNRECOVERED + 5).to_app(2)
    assert RepairReport.from_app(app).packets_unrecovered == MAX_UNRECOVERED


@pytest.mark.parametrize(("app", "message"), [
    (App(1, b"RDIO", 0, bytes(8)), r"^RTCP APP b'RDIO' is not a post-repair report$"),
    (App(1, b"RPAR", 0, bytes(4)), r"^RTCP APP RPAR packet has 4 bytes of data, expected 8$"),
])
def test_malformed_is_a_wire_error(app, message):
    with pytest.raises(WireError, match=message):
        RepairReport.from_app(app)
