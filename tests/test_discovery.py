"""Finding stations on loopback: the table `--list` prints, and `--station` finding (or not) a name."""

import dataclasses
import random
import threading

import pytest
from test_directory import announce, station

from listener.directory import Station
from listener.discovery import StationNotFound, find_station, listen, station_table, where
from rtpwire.net import open_sender
from rtpwire.sap import sap_address


def test_table_golden():
    stations = [Station(dataclasses.replace(station("Radio Alpha", "1"), title="01-tide-pool"), 1.0),
                Station(station("Beta", "2", group="239.255.41.22"), 2.0)]
    assert station_table(stations) == (
        "NAME         GROUP:PORT          FORMAT                       NOW PLAYING\n"
        "Radio Alpha  239.255.41.1:6100   L16 44100 Hz stereo (PT 10)  01-tide-pool\n"
        "Beta         239.255.41.22:6100  L16 44100 Hz stereo (PT 10)  -")


def test_where():
    assert where("239.255.0.1", "127.0.0.1") == "239.255.255.255:9875 via 127.0.0.1"


class Announcing:
    """Announcements of stations called `names`, on loopback, every 0.1 s, until stopped."""

    def __init__(self, *names: str) -> None:
        self._packets = [announce(station(name, str(random.randrange(10**9)))) for name in names]
        self._sock = open_sender(*sap_address("239.255.0.1"), "127.0.0.1", ttl=0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            for packet in self._packets:
                self._sock.send(packet)

    def __enter__(self) -> "Announcing":
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(2.0)
        self._sock.close()


def test_find_returns_as_soon_as_the_name_is_heard():
    name = f"Found {random.randrange(10**6)}"
    with Announcing(f"{name} twin", name, name):
        found, namesakes = find_station(name.lower(), "239.255.0.1", "127.0.0.1", seconds=10.0)
    assert found.name == name
    assert all(other.name == name for other in namesakes)


def test_not_found_says_which_were_heard():
    tag = random.randrange(10**6)
    with Announcing(f"Heard {tag}"), pytest.raises(StationNotFound) as error:
        find_station(f"Missing {tag}", "239.255.0.1", "127.0.0.1", seconds=0.5)
    message = str(error.value)
    assert message.startswith(f"no station named 'Missing {tag}' announced on 239.255.255.255:9875 via 127.0.0.1 "
                              "within 0.5 s (heard: ")
    assert f"'Heard {tag}'" in message
    assert message.endswith("); `python -m listener --list` lists them")


def test_listen_collects_for_the_time_given():
    tag = random.randrange(10**6)
    with Announcing(f"One {tag}", f"Two {tag}"):
        directory = listen("239.255.0.1", "127.0.0.1", seconds=0.5)
    assert {f"One {tag}", f"Two {tag}"} <= {s.name for s in directory.stations()}
