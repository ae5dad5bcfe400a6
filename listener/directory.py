"""The stations announced on the network (sans-IO): what SAP says is on the air, for `--list` and `--station`.

Each announcement carries a station's SDP; announcements of one session (the SDP's origin: username, session
id, address) replace each other, newest version first, and a deletion removes it. Announcements this listener
could not play (another tool's video, an encoding other than L16, a malformed packet) are counted, with the
reason of the last, so that `--list` can say why a station someone sees in VLC is not in its list.
"""

from __future__ import annotations

from dataclasses import dataclass

from rtpwire.errors import WireError
from rtpwire.sap import SDP_TYPE, SapPacket
from rtpwire.sdp import Origin, StreamDescription


@dataclass(frozen=True)
class Station:
    description: StreamDescription
    heard_s: float  # when first heard: stations are listed, and chosen among namesakes, in that order

    @property
    def name(self) -> str:
        return self.description.name


class Directory:
    def __init__(self) -> None:
        self._stations: dict[tuple[str, str, str], Station] = {}
        self.unplayable = 0  # announcements that are not of a stream this listener plays, or not SAP at all
        self.last_unplayable = ""

    def on_sap(self, data: bytes, now: float) -> None:
        try:
            packet = SapPacket.parse(data)
            if packet.payload_type != SDP_TYPE:
                raise WireError(f"SAP payload of type {packet.payload_type!r} is not an SDP description")
            if packet.deletion:
                self._stations.pop(_deleted_origin(packet.payload).key, None)
                return
            description = StreamDescription.parse(packet.payload)
        except WireError as e:
            self.unplayable += 1
            self.last_unplayable = str(e)
            return
        key = description.origin.key
        known = self._stations.get(key)
        self._stations[key] = Station(description, known.heard_s if known is not None else now)

    def stations(self) -> list[Station]:
        """Every station on the air, in the order they were first heard."""
        return sorted(self._stations.values(), key=lambda station: station.heard_s)

    def named(self, name: str) -> list[Station]:
        """The stations called `name` (letter case aside), first heard first."""
        return [station for station in self.stations() if station.name.casefold() == name.casefold()]


def _deleted_origin(payload: bytes) -> Origin:
    """The origin a deletion names: its payload is the deleted description, or at least its o= line."""
    for line in payload.decode("utf-8", "replace").splitlines():
        if line.startswith("o="):
            return Origin.parse(line[2:])
    raise WireError("SAP deletion names no session: its payload has no o= line")
