"""How well a listener hears after FEC, told to the station in an RTCP APP packet named RPAR (RFC 3550 6.7).

A receiver report's block says what the network lost (RFC 3550), and must keep saying it: it is what every RTP
tool reads. What concealment had to fill is the figure an operator of a stream with repair packets wants, so a
listener that hears repair packets adds this to its reports, in the block's own form: the fraction of the packets
expected since its previous report that were neither received nor rebuilt, in 1/256 (8 bits), then such packets
since it started receiving the station (24 bits, unsigned). RFC 5725 defines a post-repair report block for RTCP
XR, of run lengths per packet; nothing here needs more than these two figures.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from rtpwire.errors import WireError
from rtpwire.rtcp import App

APP_NAME = b"RPAR"
BODY = struct.Struct("!II")  # the station's SSRC; fraction lost after repair (8 bits), packets unrecovered (24 bits)
MAX_UNRECOVERED = (1 << 24) - 1


@dataclass(frozen=True, slots=True)
class RepairReport:
    source_ssrc: int  # the station reported on
    fraction_unrecovered: int  # in 1/256, since the previous report
    packets_unrecovered: int  # since receiving began, saturated at 24 bits

    def to_app(self, ssrc: int) -> App:
        unrecovered = min(self.packets_unrecovered, MAX_UNRECOVERED)
        return App(ssrc=ssrc, name=APP_NAME,
                   data=BODY.pack(self.source_ssrc, self.fraction_unrecovered << 24 | unrecovered))

    @classmethod
    def from_app(cls, app: App) -> RepairReport:
        if app.name != APP_NAME:
            raise WireError(f"RTCP APP {app.name!r} is not a post-repair report")
        if len(app.data) != BODY.size:
            raise WireError(f"RTCP APP RPAR packet has {len(app.data)} bytes of data, expected {BODY.size}")
        source_ssrc, word = BODY.unpack(app.data)
        return cls(source_ssrc, word >> 24, word & MAX_UNRECOVERED)

    @property
    def fraction_unrecovered_pct(self) -> float:
        return self.fraction_unrecovered * 100 / 256
