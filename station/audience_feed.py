"""The station's audience on its own thread: what arrives on the RTCP port fed to `station.audience`."""

from __future__ import annotations

import socket
import threading

from rtpwire.net import Address
from station.audience import Audience, Listener, ReceptionHistory
from station.serving import serve


class AudienceFeed:
    """The audience behind a lock: a daemon thread feeds it what arrives on the RTCP port (listeners' reports,
    and the station's own packets, which it ignores), while the console reads it."""

    def __init__(self, audience: Audience, sock: socket.socket) -> None:
        self._audience = audience
        self._sock = sock
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self, stopping: threading.Event) -> None:
        """Reads until `stopping` is set, and notices it within POLL_S."""
        self._thread = serve(self._sock, stopping, self._on_datagram, "audience")

    def join(self, timeout_s: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout_s)

    def listeners(self, now: float) -> list[Listener]:
        with self._lock:
            return self._audience.listeners(now)

    def count(self, now: float) -> int:
        with self._lock:
            return self._audience.count(now)

    def history(self, now: float) -> list[ReceptionHistory]:
        with self._lock:
            return self._audience.history(now)

    def _on_datagram(self, data: bytes, arrival_s: float, _sender: Address) -> None:
        with self._lock:
            self._audience.on_rtcp(data, arrival_s)
