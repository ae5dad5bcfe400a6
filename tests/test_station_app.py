"""The station's command line: the latency it announces, its time port, its SDP."""

import pytest

from station.app import EXIT_SDP_FILE, main, parse_args


def test_announces_80_ms_unless_told():
    assert parse_args([]).latency_ms == 80
    assert parse_args(["--latency-ms", "150"]).latency_ms == 150


@pytest.mark.parametrize("value", ["0", "1001", "soon"])
def test_latency_out_of_range_refused(value, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_args(["--latency-ms", value])
    assert exit_info.value.code == 2
    assert "--latency-ms" in capsys.readouterr().err


def test_time_port_is_the_rtp_port_plus_2_unless_told():
    assert parse_args([]).time_port == 5006
    assert parse_args(["--port", "7000"]).time_port == 7002
    assert parse_args(["--port", "7000", "--time-port", "9999"]).time_port == 9999
    assert parse_args(["--time-port", "0"]).time_port == 0  # no time service


def test_describes_its_stream_in_sdp():
    config = parse_args(["--group", "239.255.3.4", "--port", "7000", "--name", "Night Owl", "--mono", "--ttl", "0",
                         "--frame-ms", "10"])
    description = config.describe(session_id=1234)
    assert str(description.origin) == "- 1234 1 IN IP4 127.0.0.1"
    assert (description.name, description.group, description.port, description.ttl) == (
        "Night Owl", "239.255.3.4", 7000, 0)
    assert (description.fmt, description.ptime_ms, description.title) == (config.fmt, 10.0, "")


def test_announces_unless_told_not_to():
    assert parse_args([]).sap
    assert not parse_args(["--no-sap"]).sap


def test_sdp_file_that_cannot_be_written_stops_the_station(tmp_path, capsys):
    """Before it goes on the air: a station whose description went nowhere would be one nobody can find."""
    assert main(["--sdp", str(tmp_path / "no" / "such" / "dir.sdp"), "--no-realtime"]) == EXIT_SDP_FILE
    assert f"cannot write the SDP to {tmp_path}/no/such/dir.sdp: No such file or directory" in capsys.readouterr().err
