"""The station's command line: the latency it announces, its time port, its SDP, its codecs, its HTTP API."""

import pytest

from rtpwire.audio import OPUS_STEREO
from rtpwire.fec import REPAIR_PAYLOAD_TYPE
from rtpwire.sdp import RepairFlow
from station.config import parse_args


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


def test_opus_defaults_and_its_description():
    """Opus: 48 kHz, 10 ms packets, 128 kbit/s in stereo (64 in mono), opus/48000/2 in the SDP; FEC's repair flow
    on --port + 4, and the latency announced covering a block's wait: 80 + (10 - 1) x 10 ms."""
    config = parse_args(["--codec", "opus", "--fec", "10,15", "--port", "7000"])
    assert (config.fmt, config.samples_per_packet, config.coding.bitrate_kbps) == (OPUS_STEREO, 480, 128)
    assert parse_args(["--codec", "opus", "--mono"]).coding.bitrate_kbps == 64
    assert config.latency_ms == 80 + 90
    description = config.describe(session_id=1)
    assert (description.fmt, description.ptime_ms) == (OPUS_STEREO, 10.0)
    assert description.repair == RepairFlow(7004, REPAIR_PAYLOAD_TYPE, 10, 15)
    assert 150 < config.bitrate_kbps < 170  # 128 kbit/s and a header per packet
    assert "opus/48000/2" in str(description) and "m=application 7004" in str(description)


def test_l16_latency_with_fec_covers_a_block_of_5_ms_packets():
    assert parse_args(["--fec", "10,15"]).latency_ms == 80 + 45
    assert parse_args(["--fec", "off"]).coding.fec is None


@pytest.mark.parametrize(("args", "message"), [
    (["--bitrate", "96"], "--bitrate is for --codec opus"),
    (["--opus-fec", "10"], "--opus-fec is for --codec opus"),
    (["--codec", "opus", "--frame-ms", "7"], "--frame-ms 7 is no Opus frame; Opus takes 2.5, 5, 10, 20"),
    (["--fec", "15,10"], "expected off or K,N with 1 <= K < N <= 255"),
    (["--fec", "ten"], "expected off or K,N with 1 <= K < N <= 255"),
    (["--fec", "10,15", "--latency-ms", "20"], "--latency-ms 20 is less than the 45 ms a listener waits"),
])
def test_coding_flags_that_mean_nothing_are_refused(args, message, capsys):
    with pytest.raises(SystemExit):
        parse_args(args)
    assert message in capsys.readouterr().err


def test_http_is_off_unless_asked_and_binds_loopback_without_an_address():
    assert parse_args([]).http is None
    assert parse_args(["--http", "8080"]).http == ("127.0.0.1", 8080)
    assert parse_args(["--http", "0"]).http == ("127.0.0.1", 0)
    assert parse_args(["--http", "0.0.0.0:8080"]).http == ("0.0.0.0", 8080)
    assert parse_args(["--http", "[::1]:8080"]).http == ("::1", 8080)


@pytest.mark.parametrize("value", ["", ":80", "host:", "80a", "host:65536", "a b:80", "８０"])
def test_http_address_that_is_no_address_refused(value, capsys):
    with pytest.raises(SystemExit):
        parse_args(["--http", value])
    assert "expected [ADDR:]PORT, PORT from 0 (a free one) to 65535" in capsys.readouterr().err


def test_http_token_new_at_each_start_unless_a_file_gives_it(tmp_path):
    assert parse_args([]).http_token != parse_args([]).http_token
    (tmp_path / "token").write_text("a-fixed-token-for-the-tests\n")
    assert parse_args(["--http-token-file", str(tmp_path / "token")]).http_token == "a-fixed-token-for-the-tests"


def test_http_token_file_that_cannot_serve_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        parse_args(["--http-token-file", str(tmp_path / "missing")])
    assert f"cannot read the HTTP token from {tmp_path / 'missing'}" in capsys.readouterr().err
