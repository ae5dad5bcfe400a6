"""The listener's command line: the latency bounds it hands the receiver, where the latency comes from, and
where the station's time service is."""

import pytest

from listener.app import parse_args
from listener.receiver import LatencySource


def test_max_latency_defaults_to_500_ms():
    config = parse_args(["--output", "null"])
    assert (config.latency_ms, config.max_latency_ms) == (60, 500)


def test_max_latency_default_follows_a_higher_floor():
    assert parse_args(["--output", "null", "--latency-ms", "800"]).max_latency_ms == 800


def test_max_latency_below_the_floor_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_args(["--output", "null", "--latency-ms", "100", "--max-latency-ms", "80"])
    assert exit_info.value.code == 2
    assert "--max-latency-ms (80) must be at least --latency-ms (100)" in capsys.readouterr().err


def test_without_latency_the_station_decides():
    config = parse_args(["--output", "null"])
    assert config.latency_source is LatencySource.DEFAULT and config.latency_ms == 60


def test_a_latency_given_overrides_the_station():
    config = parse_args(["--output", "null", "--latency-ms", "150"])
    assert config.latency_source is LatencySource.COMMAND_LINE and config.latency_ms == 150


def test_no_time_sync_unless_asked():
    assert parse_args(["--output", "null"]).time_sync is None


@pytest.mark.parametrize("argv, expected", [
    (["--time-sync", "radio.local"], ("radio.local", 5006)),
    (["--time-sync", "192.168.1.20", "--port", "7000"], ("192.168.1.20", 7002)),
    (["--time-sync", "127.0.0.1:4321"], ("127.0.0.1", 4321)),
])
def test_time_sync_host_and_port(argv, expected):
    """The port defaults to the station's: its RTP port plus 2."""
    assert parse_args(["--output", "null", *argv]).time_sync == expected


@pytest.mark.parametrize("value", ["host:", ":5006", "host:0", "host:65536", "host:port"])
def test_time_sync_refuses_what_is_no_host_and_port(value, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_args(["--output", "null", "--time-sync", value])
    assert exit_info.value.code == 2
    assert "expected HOST or HOST:PORT" in capsys.readouterr().err
