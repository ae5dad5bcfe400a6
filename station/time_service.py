"""The station's time service: listeners on other machines ask it the station's clock (`rtpwire.timesync`)."""

from __future__ import annotations

import socket
import threading
import time

from rtpwire.errors import WireError
from rtpwire.net import Address
from rtpwire.timesync import TimeRequest
from station.serving import serve


class TimeService:
    """Answers listeners' time-sync requests (`rtpwire.timesync`) on a daemon thread. The station's times are
    its sender reports' clock, the monotonic clock plus the wall-clock offset those reports are made with
    (`station.onair`), so that what a listener learns is the very clock that places the samples; the receive time
    is the kernel's stamp, so that the thread's waking up late (the GIL, a busy machine) adds nothing but to the
    round trip. Requests that do not parse get no answer."""

    def __init__(self, sock: socket.socket, wall_offset_s: float) -> None:
        self._sock = sock
        self._wall_offset_s = wall_offset_s
        self._thread: threading.Thread | None = None
        self.answered = 0
        self.ignored = 0

    def start(self, stopping: threading.Event) -> None:
        """Answers until `stopping` is set, and notices it within POLL_S."""
        self._thread = serve(self._sock, stopping, self._on_datagram, "time service")

    def join(self, timeout_s: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout_s)

    def stats(self) -> dict[str, int]:
        return {"time_requests_answered": self.answered, "time_requests_ignored": self.ignored}

    def _on_datagram(self, data: bytes, arrival_s: float, sender: Address) -> None:
        try:
            request = TimeRequest.parse(data)
        except WireError:
            self.ignored += 1
            return
        response = request.answer(arrival_s + self._wall_offset_s, time.monotonic() + self._wall_offset_s)
        try:
            self._sock.sendto(bytes(response), sender)
            self.answered += 1
        except OSError:
            pass  # as if lost on the way: the listener asks again
