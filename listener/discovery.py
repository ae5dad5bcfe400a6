"""Finding stations by their SAP announcements, for `--list` and `--station NAME`: the socket side (what the
announcements say is `listener.directory`).

A listener listens on the announcement group of its `--group`'s scope (239.255.255.255:9875 for the default
239.255.0.0/16), on its `--interface`, for a few seconds: stations announce every two seconds.
"""

from __future__ import annotations

import select
import time
from collections.abc import Callable

from listener.directory import Directory, Station
from rtpwire.net import drain, open_receiver
from rtpwire.sap import sap_address

LIST_S = 6.0  # three of a station's announcement intervals: one lost announcement does not hide it
FIND_S = 10.0  # how long --station waits for the station it names


class StationNotFound(Exception):
    """No station of that name was announced; the message says which were."""


def listen(group: str, interface: str, seconds: float,
           done: Callable[[Directory], bool] = lambda _directory: False) -> Directory:
    """What was announced within `seconds` (or until `done` says enough) on the announcement group of `group`'s
    scope; raises NetworkError if that group cannot be joined."""
    sock = open_receiver(*sap_address(group), interface)
    directory = Directory()
    end_s = time.monotonic() + seconds
    try:
        while not done(directory) and (left_s := end_s - time.monotonic()) > 0:
            readable, _, _ = select.select([sock], [], [], left_s)
            if readable:
                for data, arrival_s, _sender in drain(sock):
                    directory.on_sap(data, arrival_s)
    finally:
        sock.close()
    return directory


def find_station(name: str, group: str, interface: str, seconds: float = FIND_S) -> tuple[Station, list[Station]]:
    """The first station heard called `name`, and any namesakes heard with it; raises StationNotFound."""
    directory = listen(group, interface, seconds, done=lambda directory: bool(directory.named(name)))
    found = directory.named(name)
    if not found:
        heard = ", ".join(repr(station.name) for station in directory.stations()) or "none"
        raise StationNotFound(f"no station named {name!r} announced on {where(group, interface)} within "
                              f"{seconds:g} s (heard: {heard}); `python -m listener --list` lists them")
    return found[0], found[1:]


def where(group: str, interface: str) -> str:
    """The announcement group listened to, in words."""
    sap_group, port = sap_address(group)
    return f"{sap_group}:{port} via {interface}"


def station_table(stations: list[Station]) -> str:
    """`--list`'s answer: a row a station, columns aligned."""
    rows = [("NAME", "GROUP:PORT", "FORMAT", "NOW PLAYING")]
    rows += [(station.name, f"{station.description.group}:{station.description.port}",
              station.description.fmt.describe() + (", SRTP" if station.description.encrypted else ""),
              station.description.title or "-") for station in stations]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[3]
                     for row in rows)
