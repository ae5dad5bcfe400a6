"""The listener's command line: the latency bounds it hands the receiver, where the latency comes from, where the
station's time service is, and how the stream is found."""

import subprocess
import sys

import pytest
from test_sdp import FFMPEG_44K_MONO, FFMPEG_48K_STEREO

from listener.app import parse_args
from listener.playout import LatencySource
from rtpwire.audio import L16_MONO, L16_STEREO, AudioFormat


def test_max_latency_defaults_to_500_ms():
    config = parse_args(["--output", "null"])
    assert (config.latency_ms, config.max_latency_ms) == (80, 500)


def test_max_latency_default_follows_a_higher_floor():
    assert parse_args(["--output", "null", "--latency-ms", "800"]).max_latency_ms == 800


def test_max_latency_below_the_floor_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_args(["--output", "null", "--latency-ms", "100", "--max-latency-ms", "80"])
    assert exit_info.value.code == 2
    assert "--max-latency-ms (80) must be at least --latency-ms (100)" in capsys.readouterr().err


def test_without_latency_the_station_decides():
    config = parse_args(["--output", "null"])
    assert config.latency_source is LatencySource.DEFAULT and config.latency_ms == 80


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


def test_an_sdp_file_says_group_port_and_format(tmp_path):
    (tmp_path / "s.sdp").write_text(FFMPEG_48K_STEREO)
    config = parse_args([str(tmp_path / "s.sdp"), "--output", "null", "--time-sync", "radio.local"])
    assert (config.group, config.port) == ("239.255.77.7", 5990)
    assert config.fmt == AudioFormat(rate=48000, channels=2, payload_type=97)
    assert config.time_sync == ("radio.local", 5992)  # the stream's port + 2


def test_without_an_sdp_file_the_format_is_the_stations():
    assert parse_args(["--output", "null"]).fmt == L16_STEREO


def test_a_mono_sdp_is_played_mono(tmp_path):
    (tmp_path / "m.sdp").write_text(FFMPEG_44K_MONO)
    assert parse_args([str(tmp_path / "m.sdp")]).fmt == L16_MONO


@pytest.mark.parametrize(("content", "message"), [
    (None, "cannot read {path}: No such file or directory"),
    ("hello", "{path}: not an SDP description: it must begin with v=0"),
    ("v=0\no=- 1 1 IN IP4 1.2.3.4\ns=x\nc=IN IP4 239.1.1.1/1\nm=audio 5004 RTP/AVP 0\n",
     "{path}: SDP offers no L16 or Opus audio (offered: payload type 0); this listener plays those only"),
])
def test_a_bad_sdp_file_is_refused_with_the_reason(tmp_path, capsys, content, message):
    path = tmp_path / "bad.sdp"
    if content is not None:
        path.write_text(content)
    with pytest.raises(SystemExit) as exit_info:
        parse_args([str(path)])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip().endswith(message.format(path=path))


@pytest.mark.parametrize(("argv", "message"), [
    (["x.sdp", "--station", "Radio"], "FILE.sdp and --station each choose what to do; give one"),
    (["--station", "Radio", "--list"], "--station and --list each choose what to do; give one"),
    (["--station", "Radio", "--group", "239.255.9.9"],
     "--station says where the stream is; --group and --port do not go with it"),
    (["--station", "Radio", "--port", "6000"],
     "--station says where the stream is; --group and --port do not go with it"),
])
def test_ways_to_find_the_stream_do_not_mix(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_args(argv)
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip().endswith(message)


def test_list_takes_the_scope_from_the_group():
    config = parse_args(["--list", "--group", "239.192.0.7"])
    assert config.list_stations and config.group == "239.192.0.7"


def test_station_by_name():
    assert parse_args(["--station", "Radio Alpha"]).station == "Radio Alpha"


def test_name_for_the_reports():
    assert parse_args(["--name", "Living room"]).name == "Living room"
    assert parse_args(["--name", "é" * 127]).name == "é" * 127  # 254 bytes
    assert parse_args([]).name is None


@pytest.mark.parametrize("name, message", [
    ("x" * 256, "argument --name: a name is 1 to 255 bytes of UTF-8, not 256"),
    ("é" * 128, "argument --name: a name is 1 to 255 bytes of UTF-8, not 256"),
    ("", "argument --name: a name is 1 to 255 bytes of UTF-8, not 0"),
    ("K\udce9che", "argument --name: a name is UTF-8 text; 'K\\udce9che' is not"),  # undecodable argv bytes
])
def test_a_name_that_does_not_fit_an_sdes_item_is_refused(name, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_args(["--name", name])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip().endswith(message)


def test_a_listener_of_l16_loads_no_codec_fec_portaudio_or_openssl():
    """What a listener of a plain stream never uses stays unloaded (libopus, zfec, PortAudio, OpenSSL behind
    `secrets`): each costs resident memory in every one of a hundred listeners, and start-up time."""
    code = ("import sys; import listener.app, listener.session, listener.outputs, listener.receiver; "
            "print(' '.join(sorted(name for name in ('opuslib_next', 'zfec', 'pyaudio', '_hashlib', 'hmac') "
            "if name in sys.modules)))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert loaded.stdout.split() == []
