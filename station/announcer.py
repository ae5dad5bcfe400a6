"""The station's SAP announcements (sans-IO): its SDP, with what is playing, every few seconds, and a deletion
when it stops (RFC 2974).

RFC 2974 spaces announcements by 300 s or more, to keep a whole scope's announcements under 4 kb/s; a listener
asked to list the stations on a local network wants them within seconds, so the station announces every
`SAP_INTERVAL_S` (a description of about 300 bytes: about 1 kb/s per station), and at once when the title
changes, as a new version of the description (its o= version one more, its SAP hash a new one).
"""

from __future__ import annotations

from dataclasses import replace

from rtpwire.sap import SapPacket
from rtpwire.sdp import StreamDescription

SAP_INTERVAL_S = 2.0  # `python -m listener --list` listens for three times as long


class Announcer:
    def __init__(self, description: StreamDescription, interval_s: float = SAP_INTERVAL_S) -> None:
        self._description = description
        self.interval_s = interval_s
        self._next_s = float("-inf")

    def description(self, title: str) -> StreamDescription:
        """The stream's description with `title`: a new version whenever the title differs from the last."""
        current = self._description
        if title != current.title:
            version = str(int(current.origin.version) + 1)
            self._description = replace(current, title=title, origin=replace(current.origin, version=version))
        return self._description

    def announcement(self, now: float, title: str) -> bytes | None:
        """The SAP packet to send at `now`, if one is due: the interval has passed, or the title changed."""
        if now < self._next_s and title == self._description.title:
            return None
        self._next_s = now + self.interval_s
        return self._packet(self.description(title), deletion=False)

    def deletion(self) -> bytes:
        """The packet that takes the announcement back: the station is off the air."""
        return self._packet(self._description, deletion=True)

    @staticmethod
    def _packet(description: StreamDescription, deletion: bool) -> bytes:
        return bytes(SapPacket.announcing(description.origin.address, str(description), deletion=deletion))
