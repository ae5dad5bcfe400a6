"""The listener's side of the time-sync exchange (sans-IO): when to ask, and what the answers say of the station's
clock.

Each answered request gives an offset (station clock minus ours) and a round trip (`rtpwire.timesync`). One
answer's offset is wrong by half the difference between the way there and the way back, and a round trip
lengthened by a queue, a busy host or a scheduling delay is almost always lengthened on one side only: the
answers that came back fastest are the ones whose two ways were most nearly equal. So, as NTP's clock filter
and Snapcast do, the estimate is the median offset of the fastest few of the last `window` answers: a burst of
slow, lopsided ones (a queue on the way back) does not move it, nor does an outlier either way.

Times are the local monotonic clock (`now`, as everywhere in the listener), turned into the listener's wall
clock through the same `wall_offset_s` the receiver maps station times with: the estimate is then exactly the
correction that mapping needs, whatever the system's wall clock does meanwhile.
"""

from __future__ import annotations

from collections import deque
from statistics import median

from rtpwire.errors import WireError
from rtpwire.rtcp import ntp_from_unix, unix_from_ntp
from rtpwire.timesync import TimeRequest, TimeResponse


class ClockSync:
    def __init__(self, wall_offset_s: float, *, interval_s: float = 1.0, burst: int = 8,
                 burst_interval_s: float = 0.1, window: int = 32, fastest: int = 8) -> None:
        """A request every `interval_s`, the first `burst` of them `burst_interval_s` apart so that an estimate
        worth having comes within a second (NTP's iburst); the estimate from the `fastest` of the last `window`
        answers (with the defaults: a quarter of the last half minute's)."""
        if not 0 < fastest <= window:
            raise ValueError(f"need 0 < fastest ({fastest}) <= window ({window})")
        self._wall_offset_s = wall_offset_s
        self._interval_s = interval_s
        self._burst = burst
        self._burst_interval_s = burst_interval_s
        self._fastest = fastest
        self._next_s = float("-inf")
        self._sent = 0
        self._awaited_ntp: int | None = None  # t0 of the latest request: only its answer is taken
        self._samples: deque[tuple[float, float]] = deque(maxlen=window)  # (round trip, offset) of the latest
        self.answers = 0
        self.packets_ignored = 0  # malformed, stale (answering an earlier request), duplicated, or impossible
        self.last_wire_error = ""

    def due(self, now: float) -> bool:
        return now >= self._next_s

    def request(self, now: float) -> bytes:
        """The request to send at `now` (read just before sending); the next is due an interval later."""
        self._sent += 1
        self._next_s = now + (self._burst_interval_s if self._sent < self._burst else self._interval_s)
        self._awaited_ntp = ntp_from_unix(now + self._wall_offset_s)
        return bytes(TimeRequest(self._awaited_ntp))

    def on_response(self, data: bytes, now: float) -> None:
        """A datagram that arrived at `now` from the station's time port."""
        try:
            response = TimeResponse.parse(data)
        except WireError as e:
            self.packets_ignored += 1
            self.last_wire_error = str(e)
            return
        if response.origin_ntp != self._awaited_ntp:
            self.packets_ignored += 1  # answers a request we no longer wait for, or one we never sent
            return
        self._awaited_ntp = None
        t0 = unix_from_ntp(response.origin_ntp)
        t1, t2 = unix_from_ntp(response.receive_ntp), unix_from_ntp(response.transmit_ntp)
        t3 = now + self._wall_offset_s
        round_trip_s = (t3 - t0) - (t2 - t1)
        if t2 < t1 or round_trip_s < 0:
            self.packets_ignored += 1  # no clock runs backwards: a broken responder
            return
        self.answers += 1
        self._samples.append((round_trip_s, ((t1 - t0) + (t2 - t3)) / 2))

    def _best(self) -> list[tuple[float, float]]:
        return sorted(self._samples)[:self._fastest]

    @property
    def offset_s(self) -> float | None:
        """The station's clock minus ours: the median offset of the fastest answers kept; None before any."""
        return median(offset for _, offset in self._best()) if self._samples else None

    @property
    def round_trip_s(self) -> float | None:
        """The median round trip of the answers the estimate uses: half of it bounds the estimate's error."""
        return median(rtt for rtt, _ in self._best()) if self._samples else None

    def stats(self) -> dict[str, object]:
        """The figures of the exchange; keys are a public interface (`--stats-json`)."""
        offset_s, round_trip_s = self.offset_s, self.round_trip_s
        return {
            "clock_offset_ms": None if offset_s is None else round(offset_s * 1e3, 4),
            "clock_rtt_ms": None if round_trip_s is None else round(round_trip_s * 1e3, 4),
            "clock_requests": self._sent,
            "clock_answers": self.answers,
            "clock_packets_ignored": self.packets_ignored,
        }
