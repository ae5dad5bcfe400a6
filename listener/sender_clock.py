"""The station's clock as the listener knows it from RTCP sender reports and RTP packets that carry it (sans-IO).

An SR pairs an RTP timestamp with the station's wall-clock time; from it, any sample's station time follows.
Listeners on one machine (or on hosts kept in step by NTP/PTP) share wall-clock time, so they can all place a
sample at the same instant and measure how long it took from the station to the speaker. The station also puts
that pairing in some of its RTP packets (RFC 6051), so that a listener need not wait for its next SR, a second
away; only SRs answer in receiver reports (LSR, DLSR).
"""

from __future__ import annotations

from rtpwire.rtcp import SenderReport, compact_duration, compact_ntp, unix_from_ntp


class SenderClock:
    def __init__(self, rate: int) -> None:
        self._rate = rate
        self._ts: int | None = None
        self._wall_s = 0.0
        self._report_ntp = 0  # the last report's NTP timestamp, and when it arrived (local monotonic time)
        self._report_arrival_s = 0.0

    @property
    def synchronized(self) -> bool:
        return self._ts is not None

    def update(self, report: SenderReport, ext_ts: int, arrival_s: float) -> None:
        """Adopt the mapping of a report whose timestamp was already extended against the stream."""
        self.carried(report.ntp_timestamp, ext_ts)
        self._report_ntp = report.ntp_timestamp
        self._report_arrival_s = arrival_s

    def carried(self, ntp_timestamp: int, ext_ts: int) -> None:
        """Adopt the mapping an RTP packet carried (RFC 6051): its extended timestamp, taken at `ntp_timestamp`."""
        self._ts = ext_ts
        self._wall_s = unix_from_ntp(ntp_timestamp)

    def last_report(self, now: float) -> tuple[int, int]:
        """A receiver report's LSR and DLSR (RFC 3550 6.4.1): the middle 32 bits of the last SR's NTP timestamp,
        and the time since it arrived in 1/65536 s, from which the station works out the round trip; (0, 0)
        before any SR. Arrival times are the kernel's wall-clock stamps, mapped onto the monotonic clock: a report
        built an instant later may seem to precede it, which is no delay."""
        if not self._report_ntp:
            return 0, 0
        return compact_ntp(self._report_ntp), compact_duration(now - self._report_arrival_s)

    def wall_of(self, ext_ts: int) -> float:
        """Station wall-clock time (Unix seconds) at which sample `ext_ts` was produced."""
        assert self._ts is not None, "no sender report yet"
        return self._wall_s + (ext_ts - self._ts) / self._rate

    def ts_at(self, wall_s: float) -> float:
        """The stream timestamp the station's clock shows at wall-clock time `wall_s`."""
        assert self._ts is not None, "no sender report yet"
        return self._ts + (wall_s - self._wall_s) * self._rate
