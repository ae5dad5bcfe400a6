"""Who is listening (sans-IO): the station's table of listeners, from the receiver reports they send (RFC 3550).

A listener joins the table with its first receiver report, says how well it receives in each one (the report
block about this station), and leaves it with its BYE, or by timing out if it vanished without one (killed,
unplugged). The timeout is RFC 3550's five deterministic reporting intervals, but at least `EXPIRY_FLOOR_S`: each
member works its interval out from the members and packet sizes it has seen itself, so a listener's may be a
little longer than ours, and a floor above 5 × 5 s keeps a listener that is still there from blinking out of the
table, while one that vanished is gone within half a minute.

Names come from strangers on the network: what the table shows of a CNAME or NAME is its printable characters
only (no control characters, no terminal escapes, no line breaks), at most `MAX_SHOWN_CHARS` of them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from rtpwire.errors import WireError
from rtpwire.listener_delay import reported_delay_ms
from rtpwire.repair_report import APP_NAME as REPAIR_APP_NAME, RepairReport
from rtpwire.rtcp import (SDES_CNAME, SDES_NAME, App, Bye, ReceiverReport, ReportBlock, SdesChunk,
                          SourceDescription, ntp_from_unix, parse_compound)
from rtpwire.rtcp_timing import RTCP_BANDWIDTH_FRACTION, averaged_rtcp_bytes, member_timeout_s
from rtpwire.srtp import SrtpReceiver

EXPIRY_FLOOR_S = 30.0
MAX_SHOWN_CHARS = 40  # of a listener's CNAME or NAME: a table row stays one readable line
HISTORY_S = 300.0  # of each listener's reception, for the dashboard's plots
HISTORY_POINTS = 300  # a listener's history holds at most this many reports: one reporting far faster than RTCP
# allows (hostile, or broken) keeps only its latest, and the station's memory stays bounded
NO_LISTENERS = "no listeners reporting (a listener appears with its first receiver report, seconds after joining)"


@dataclass(frozen=True)
class Listener:
    """One listener as its latest report describes it; reception figures are None until it reports on us."""

    ssrc: int
    cname: str
    fraction_lost_pct: float | None  # of the packets expected between its last two reports
    packets_lost: int | None  # since it started receiving this station
    jitter_ms: float | None  # RFC 3550 interarrival jitter
    last_report_s_ago: float
    round_trip_ms: float | None  # None until it has received a sender report
    fraction_unrecovered_pct: float | None = None  # lost after FEC, as the loss; None: it hears no repair packets
    name: str = ""  # its SDES NAME ("": none)
    delay_ms: float | None = None  # its own playout delay, as it reports it; None: it reports none


@dataclass
class _Member:
    cname: str
    last_report_s: float
    block: ReportBlock | None = None  # the latest report block about this station
    round_trip_s: float | None = None
    repair: RepairReport | None = None  # the latest post-repair report about this station
    name: str = ""
    delay_ms: float | None = None
    history: deque[tuple[float, float, float]] = field(default_factory=lambda: deque(maxlen=HISTORY_POINTS))
    # (when, fraction lost in %, jitter in ms) of each report about this station


@dataclass(frozen=True)
class ReceptionHistory:
    """A listener's reports of the last HISTORY_S: (seconds ago, fraction lost in %, jitter in ms), oldest first."""

    ssrc: int
    cname: str
    name: str
    points: tuple[tuple[float, float, float], ...]


class Roster(Protocol):
    """What the console reads: an Audience, or the station's thread-safe view of one."""

    def listeners(self, now: float) -> list[Listener]: ...
    def count(self, now: float) -> int: ...
    def history(self, now: float) -> list[ReceptionHistory]: ...


class Audience:
    """The listeners heard on the RTCP port, keyed by SSRC. Malformed datagrams are counted, never raised."""

    def __init__(self, own_ssrc: int, rate: int, session_bandwidth_bytes_per_s: float, wall_offset_s: float,
                 srtp: SrtpReceiver | None = None) -> None:
        """`wall_offset_s`: wall-clock minus monotonic time, to read the arrival of a report on the NTP clock
        the listener's round-trip figures refer to. `srtp`: reports are SRTCP, and only those that authenticate
        count."""
        self._srtp = srtp
        self._own_ssrc = own_ssrc
        self._rate = rate
        self._rtcp_bandwidth_bytes_per_s = session_bandwidth_bytes_per_s * RTCP_BANDWIDTH_FRACTION
        self._wall_offset_s = wall_offset_s
        self._avg_rtcp_bytes: float | None = None
        self._members: dict[int, _Member] = {}  # in the order they joined
        self.malformed = 0
        self.last_wire_error = ""

    def on_rtcp(self, data: bytes, now: float) -> None:
        try:
            packets = parse_compound(self._srtp.unprotect_rtcp(data) if self._srtp is not None else data)
        except WireError as e:
            self._count_malformed(e)
            return
        self._avg_rtcp_bytes = averaged_rtcp_bytes(self._avg_rtcp_bytes, len(data))
        for packet in packets:
            if isinstance(packet, ReceiverReport) and packet.ssrc != self._own_ssrc:
                member = self._members.setdefault(packet.ssrc, _Member(cname="", last_report_s=now))
                member.last_report_s = now
                for block in packet.reports:
                    if block.ssrc == self._own_ssrc:
                        member.block = block
                        member.round_trip_s = block.round_trip_s(ntp_from_unix(now + self._wall_offset_s))
                        member.history.append((now, _lost_pct(block), self._jitter_ms(block)))
            elif isinstance(packet, SourceDescription):  # ours, and other stations', describe no member
                for chunk in packet.chunks:
                    described = self._members.get(chunk.ssrc)
                    if described is not None:
                        self._on_description(described, chunk)
            elif isinstance(packet, Bye):
                for ssrc in packet.ssrcs:
                    self._members.pop(ssrc, None)
            elif isinstance(packet, App) and packet.name == REPAIR_APP_NAME:
                self._on_repair_report(packet)

    def _count_malformed(self, error: WireError) -> None:
        self.malformed += 1
        self.last_wire_error = str(error)

    def _on_description(self, member: _Member, chunk: SdesChunk) -> None:
        """An item a chunk leaves out keeps its last value: RFC 3550 6.3.9 lets a member send NAME (and the
        others) less often than CNAME. A delay that is no number is counted as malformed and changes nothing."""
        member.cname = _shown(chunk.get(SDES_CNAME)) or member.cname
        member.name = _shown(chunk.get(SDES_NAME)) or member.name
        try:
            delay_ms = reported_delay_ms(chunk)
        except WireError as e:
            self._count_malformed(e)
            return
        if delay_ms is not None:
            member.delay_ms = delay_ms

    def _on_repair_report(self, packet: App) -> None:
        member = self._members.get(packet.ssrc)
        try:
            report = RepairReport.from_app(packet)
        except WireError as e:
            self._count_malformed(e)
            return
        if member is not None and report.source_ssrc == self._own_ssrc:
            member.repair = report

    def _timeout_s(self) -> float:
        """How long a listener may stay silent before it is dropped."""
        members = len(self._members) + 1  # the listeners and the station, as the listeners count them
        rfc_s = member_timeout_s(members, 1, self._rtcp_bandwidth_bytes_per_s, self._avg_rtcp_bytes or 0.0)
        return max(rfc_s, EXPIRY_FLOOR_S)

    def _expire(self, now: float) -> None:
        timeout_s = self._timeout_s()
        for ssrc in [s for s, member in self._members.items() if now - member.last_report_s > timeout_s]:
            del self._members[ssrc]

    def listeners(self, now: float) -> list[Listener]:
        self._expire(now)
        return [self._listener(ssrc, member, now) for ssrc, member in self._members.items()]

    def count(self, now: float) -> int:
        self._expire(now)
        return len(self._members)

    def history(self, now: float) -> list[ReceptionHistory]:
        """Each listener's reception over the last HISTORY_S, in the order they joined."""
        self._expire(now)
        return [ReceptionHistory(ssrc, member.cname, member.name,
                                 tuple((now - at_s, lost, jitter) for at_s, lost, jitter in member.history
                                       if now - at_s <= HISTORY_S))
                for ssrc, member in self._members.items()]

    def _jitter_ms(self, block: ReportBlock) -> float:
        return block.jitter * 1e3 / self._rate  # RFC 3550 jitter is in timestamp units: samples

    def _listener(self, ssrc: int, member: _Member, now: float) -> Listener:
        block = member.block
        return Listener(
            ssrc=ssrc,
            cname=member.cname,
            fraction_lost_pct=_lost_pct(block) if block else None,
            packets_lost=block.packets_lost if block else None,
            jitter_ms=self._jitter_ms(block) if block else None,
            last_report_s_ago=now - member.last_report_s,
            round_trip_ms=member.round_trip_s * 1e3 if member.round_trip_s is not None else None,
            fraction_unrecovered_pct=member.repair.fraction_unrecovered_pct if member.repair else None,
            name=member.name,
            delay_ms=member.delay_ms,
        )


def _lost_pct(block: ReportBlock) -> float:
    return block.fraction_lost * 100 / 256  # RFC 3550's fraction lost is in 1/256


def format_listeners(entries: Sequence[Listener]) -> str:
    """The LISTENERS answer: one line per listener, in the order they joined."""
    if not entries:
        return NO_LISTENERS
    header = ("SSRC", "NAME", "CNAME", "DELAY", "LOSS", "AFTER FEC", "LOST", "JITTER", "RTT", "LAST REPORT")
    rows = [(f"{e.ssrc:08x}", e.name or "-", e.cname or "-", _figure(e.delay_ms, "{:+g} ms"),
             _figure(e.fraction_lost_pct, "{:.1f} %"),
             _figure(e.fraction_unrecovered_pct, "{:.1f} %"), _figure(e.packets_lost, "{}"),
             _figure(e.jitter_ms, "{:.2f} ms"), _figure(e.round_trip_ms, "{:.2f} ms"),
             f"{e.last_report_s_ago:.1f} s ago") for e in entries]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) if i < 3 else cell.rjust(width)
                       for i, (cell, width) in enumerate(zip(row, widths))) for row in [header, *rows]]
    count = f"{len(entries)} listener{'s' if len(entries) != 1 else ''}"
    return "\n".join([count, *lines])


def _shown(text: str | None) -> str:
    """What the table shows of a name a listener sent: its printable characters, cut to MAX_SHOWN_CHARS."""
    printable = "".join(c for c in text or "" if c.isprintable()).strip()
    return printable if len(printable) <= MAX_SHOWN_CHARS else printable[:MAX_SHOWN_CHARS - 1] + "…"


def _figure(value: float | None, pattern: str) -> str:
    return "-" if value is None else pattern.format(value)
