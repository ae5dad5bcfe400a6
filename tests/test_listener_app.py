"""The listener's command line: the latency bounds it hands the receiver."""

import pytest

from listener.app import parse_args


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
