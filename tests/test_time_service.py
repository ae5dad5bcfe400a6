"""TimeService on loopback: it tells the station's clock, and ignores what is no request."""

import random
import select
import threading
import time

import pytest

from listener.clock_sync import ClockSync
from rtpwire.net import open_unicast_client, open_unicast_server
from station.time_service import TimeService

TIMEOUT_S = 2.0


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
