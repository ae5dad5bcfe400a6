"""The listener's RTCP (sans-IO): receiver reports about the station it follows, and a BYE when it leaves.

Reports go to the whole group (RFC 3550 6): the station learns who listens and how well each one receives
(its LISTENERS command), and the other listeners count them, so that every member reports less often as the
audience grows and the reports stay within their share of the bandwidth. The SDES chunk names the listener:
its CNAME, the NAME it was given, and its own delay if it has one (`rtpwire.listener_delay`).
"""

from __future__ import annotations

import random

from rtpwire.errors import WireError
from rtpwire.listener_delay import delay_item
from rtpwire.repair_report import RepairReport
from rtpwire.rtcp import (SDES_CNAME, SDES_NAME, Bye, ReceiverReport, ReportBlock, SdesChunk, SourceDescription,
                          compound, parse_compound)
from rtpwire.rtcp_timing import ReportTimer

LEAVING = "listener quit"


class ReceiverReporter:
    """Builds the compound packets a listener sends, RR then SDES (RFC 3550 6.1), and says when."""

    def __init__(self, ssrc: int, cname: str, session_bandwidth_bytes_per_s: float, now: float,
                 rng: random.Random, name: str | None = None, delay_ms: float = 0.0) -> None:
        """`name`: the NAME item, for the station's LISTENERS (none if None); `delay_ms`: this listener's own
        delay, in a PRIV item when it is not 0."""
        self.ssrc = ssrc
        self.cname = cname
        items = [(SDES_CNAME, cname)]
        if name:
            items.append((SDES_NAME, name))
        if delay_ms:
            items.append(delay_item(delay_ms))
        self._description = SourceDescription((SdesChunk(ssrc, tuple(items)),))
        probable_first = len(compound(ReceiverReport(ssrc, (ReportBlock(0, 0, 0, 0, 0, 0, 0),)), self._description))
        self._timer = ReportTimer(ssrc, session_bandwidth_bytes_per_s, probable_first, now, rng)

    def on_rtcp(self, data: bytes, now: float) -> None:
        """Counts the members a datagram on the RTCP port shows (the receiver counts malformed ones)."""
        try:
            packets = parse_compound(data)
        except WireError:
            return
        self._timer.on_rtcp(packets, len(data), now)

    def due(self, now: float) -> bool:
        return self._timer.due(now)

    def report(self, block: ReportBlock | None, now: float, repair: RepairReport | None = None) -> bytes:
        """The receiver report to send now, with `block` about the station if it sent audio since the last one,
        and `repair`, what the block says after FEC, if the station sends repair packets."""
        extra = () if repair is None else (repair.to_app(self.ssrc),)
        data = compound(self._receiver_report(block), self._description, *extra)
        self._timer.sent(len(data), now)
        return data

    def bye(self, block: ReportBlock | None) -> bytes | None:
        """The last report and BYE, so the station drops this listener at once; None where RFC 3550 wants no
        immediate BYE (nothing sent yet, or a large audience), and the station times the listener out."""
        if not self._timer.may_leave_at_once:
            return None
        return compound(self._receiver_report(block), self._description, Bye((self.ssrc,), LEAVING))

    def _receiver_report(self, block: ReportBlock | None) -> ReceiverReport:
        return ReceiverReport(self.ssrc, (block,) if block is not None else ())
