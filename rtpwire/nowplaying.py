"""What the station is doing, told to listeners in an RTCP APP packet named RDIO (RFC 3550 6.7).

SDES NOTE could carry free text, but listeners need a state they can rely on, so it travels as data:
one flags byte (bit 0: paused; bit 1: a latency follows), then, if bit 1 is set, the latency all listeners
share as a 32-bit unsigned count of microseconds, then the UTF-8 title, zero-padded to 32 bits by the APP
packet. Packets from stations that announce no latency (bit 1 clear) read as they always did; a listener older
than the field would take its four bytes for the start of the title: a garbled title, its playout unaffected.

The latency is the station's to announce because listeners are in step only if they all play each sample the
same time after the station's clock produced it; a listener told nothing uses `DEFAULT_LATENCY_S`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from rtpwire.errors import WireError
from rtpwire.rtcp import App, utf8_prefix

APP_NAME = b"RDIO"
FLAG_PAUSED = 0x01
FLAG_LATENCY = 0x02
MAX_TITLE_BYTES = 200
LATENCY = struct.Struct("!I")
MAX_LATENCY_US = 1_000_000  # what a station may announce: a jitter buffer of a second is already a lot
# Before (or without) an announcement; the station's own default. What a listener behind a sound server needs with
# a home network's jitter: the card's lead (~30 ms through PulseAudio), 20 ms of jitter, a read period and a
# margin, about 65 ms; below that its target would grow beyond the shared latency, out of step with the others.
DEFAULT_LATENCY_S = 0.080


@dataclass(frozen=True, slots=True)
class NowPlaying:
    paused: bool
    title: str = ""
    latency_us: int | None = None  # station clock to playout, for every listener; None: not announced

    def __post_init__(self) -> None:
        if self.latency_us is not None and not 0 < self.latency_us <= MAX_LATENCY_US:
            raise ValueError(f"an announced latency is 1 to {MAX_LATENCY_US} µs, not {self.latency_us}")

    def to_app(self, ssrc: int) -> App:
        title = utf8_prefix(self.title, MAX_TITLE_BYTES)
        flags = (FLAG_PAUSED if self.paused else 0) | (0 if self.latency_us is None else FLAG_LATENCY)
        latency = b"" if self.latency_us is None else LATENCY.pack(self.latency_us)
        return App(ssrc=ssrc, name=APP_NAME, data=bytes((flags,)) + latency + title)

    @classmethod
    def from_app(cls, app: App) -> NowPlaying:
        if app.name != APP_NAME:
            raise WireError(f"RTCP APP {app.name!r} is not a station state packet")
        if not app.data:
            raise WireError("RTCP APP RDIO packet has no data")
        flags = app.data[0]
        latency_us = None
        title_at = 1
        if flags & FLAG_LATENCY:
            if len(app.data) < 1 + LATENCY.size:
                raise WireError(f"RTCP APP RDIO packet announces a latency but has only {len(app.data)} bytes")
            (latency_us,) = LATENCY.unpack_from(app.data, 1)
            if not 0 < latency_us <= MAX_LATENCY_US:
                raise WireError(f"RTCP APP RDIO latency of {latency_us} µs is out of range "
                                f"(1 to {MAX_LATENCY_US} µs)")
            title_at += LATENCY.size
        title = app.data[title_at:].rstrip(b"\0").decode("utf-8", "replace")
        return cls(paused=bool(flags & FLAG_PAUSED), title=title, latency_us=latency_us)
