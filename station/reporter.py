"""The station's RTCP (sans-IO): sender reports, source description, now-playing state and BYE."""

from __future__ import annotations

from dataclasses import replace

from rtpwire.nowplaying import NowPlaying
from rtpwire.rtcp import (SDES_CNAME, SDES_NAME, Bye, SdesChunk, SenderReport, SourceDescription, compound,
                          ntp_from_unix)
from station.packetizer import Packetizer
from station.schedule import Schedule


class Reporter:
    """Builds the compound RTCP packets the station sends about once a second, and at once on a state change.

    The SR maps the station's media clock to wall-clock time: the RTP timestamp the schedule shows at `now`,
    paired with its wall-clock time, from the one read at `now`. Listeners place every sample with it, plus the
    latency the station announces in every RDIO packet, so that all of them play each sample at the same time.
    """

    def __init__(self, packetizer: Packetizer, schedule: Schedule, cname: str, name: str,
                 interval_s: float = 1.0) -> None:
        """The latency announced is the one the packetizer carries with the clock."""
        self._packetizer = packetizer
        self._schedule = schedule
        self._description = SourceDescription(
            (SdesChunk(packetizer.ssrc, ((SDES_CNAME, cname), (SDES_NAME, name))),))
        self.interval_s = interval_s
        self._next_s = float("-inf")

    def due(self, now: float) -> bool:
        return now >= self._next_s

    def _sender_report(self, now: float, wall_s: float) -> SenderReport:
        """The timestamp the schedule shows at `now` (wall-clock `wall_s`), paired with the very time of that
        sample, a fraction of a sample before `now`: the pairing the packets carry too, to the bit."""
        stream_ts = self._schedule.stream_ts_at(now)
        return SenderReport(
            ssrc=self._packetizer.ssrc,
            ntp_timestamp=ntp_from_unix(wall_s - (now - self._schedule.time_s(stream_ts))),
            rtp_timestamp=self._packetizer.rtp_timestamp(stream_ts),
            packet_count=self._packetizer.packet_count,
            octet_count=self._packetizer.octet_count,
        )

    def report(self, now: float, wall_s: float, state: NowPlaying) -> bytes:
        self._next_s = now + self.interval_s
        return compound(self._sender_report(now, wall_s), self._description,
                        replace(state, latency_us=self._packetizer.latency_us).to_app(self._packetizer.ssrc))

    def bye(self, now: float, wall_s: float, reason: str) -> bytes:
        return compound(self._sender_report(now, wall_s), self._description,
                        Bye((self._packetizer.ssrc,), reason))
