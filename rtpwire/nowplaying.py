"""What the station is doing, told to listeners in an RTCP APP packet named RDIO (RFC 3550 6.7).

SDES NOTE could carry free text, but listeners need a state they can rely on, so it travels as data:
one flags byte (bit 0: paused) followed by the UTF-8 title, zero-padded to 32 bits by the APP packet.
"""

from __future__ import annotations

from dataclasses import dataclass

from rtpwire.errors import WireError
from rtpwire.rtcp import App, utf8_prefix

APP_NAME = b"RDIO"
FLAG_PAUSED = 0x01
MAX_TITLE_BYTES = 200


@dataclass(frozen=True, slots=True)
class NowPlaying:
    paused: bool
    title: str = ""

    def to_app(self, ssrc: int) -> App:
        title = utf8_prefix(self.title, MAX_TITLE_BYTES)
        return App(ssrc=ssrc, name=APP_NAME, data=bytes((FLAG_PAUSED if self.paused else 0,)) + title)

    @classmethod
    def from_app(cls, app: App) -> NowPlaying:
        if app.name != APP_NAME:
            raise WireError(f"RTCP APP {app.name!r} is not a station state packet")
        if not app.data:
            raise WireError("RTCP APP RDIO packet has no data")
        title = app.data[1:].rstrip(b"\0").decode("utf-8", "replace")
        return cls(paused=bool(app.data[0] & FLAG_PAUSED), title=title)
