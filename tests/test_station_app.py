"""The station's command line (the latency it announces, its time port, its SDP) and its time service on loopback."""

import random
import select
import threading
import time

import pytest

from listener.clock_sync import ClockSync
from rtpwire.net import open_unicast_client, open_unicast_server
from station.app import EXIT_SDP_FILE, TimeService, main, parse_args

TIMEOUT_S = 2.0


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


class Running:
    """A time service on a random loopback port, answering with a station clock 2.5 s ahead of this host's
    wall clock."""

    def __init__(self) -> None:
        self.port = random.Random().randrange(20000, 61000)
        self._sock = open_unicast_server("127.0.0.1", self.port)
        self._stopping = threading.Event()
        self.wall_offset_s = time.time() - time.monotonic()
        self.service = TimeService(self._sock, self.wall_offset_s + 2.5)
        self.service.start(self._stopping)

    def stop(self) -> TimeService:
        """Stops the thread (so that its counts are final) and closes its socket; the service."""
        self._stopping.set()
        self.service.join(timeout_s=TIMEOUT_S)
        self._sock.close()
        return self.service


@pytest.fixture
def running():
    running = Running()
    yield running
    running.stop()


def ask(running: Running, *datagrams: bytes) -> bytes:
    """Sends the datagrams to the service; the first answer."""
    client = open_unicast_client("127.0.0.1", running.port)
    try:
        for data in datagrams:
            client.send(data)
        assert select.select([client], [], [], TIMEOUT_S)[0], "no answer"
        return client.recv(64)
    finally:
        client.close()


def test_the_time_service_tells_the_station_clock(running):
    clock = ClockSync(running.wall_offset_s)
    for _ in range(5):
        answer = ask(running, clock.request(time.monotonic()))
        clock.on_response(answer, time.monotonic())
    assert clock.answers == 5 and running.stop().answered == 5
    assert clock.offset_s == pytest.approx(2.5, abs=0.05)  # loose: recv times here are not the kernel's stamps


def test_the_time_service_ignores_what_is_no_request(running):
    ask(running, b"x" * 32, ClockSync(0.0).request(0.0))  # a real one after it, to know the first was handled
    service = running.stop()
    assert service.ignored == 1 and service.answered == 1
