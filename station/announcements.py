"""The station's SAP announcements on their own thread; `station.announcer` makes them."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

from station.announcer import Announcer
from station.serving import POLL_S


class Announcements:
    """The announcer behind a lock: a daemon thread sends the announcements while the station is on the air, and
    the console (STATUS) reads the stream's description; either moves the description on when the title
    changes."""

    def __init__(self, announcer: Announcer, title: Callable[[], str]) -> None:
        """`title`: what is playing now."""
        self._announcer = announcer
        self._title = title
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def description(self, title: str) -> str:
        """The stream's SDP description with `title`."""
        with self._lock:
            return str(self._announcer.description(title))

    def start(self, sock: socket.socket, stopping: threading.Event) -> None:
        """Announces on `sock` until `stopping` is set (noticing a new title within POLL_S), then sends the
        deletion that takes the announcements back."""
        self._thread = threading.Thread(target=self._run, args=(sock, stopping), name="announcements", daemon=True)
        self._thread.start()

    def join(self, timeout_s: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _run(self, sock: socket.socket, stopping: threading.Event) -> None:
        while True:
            title = self._title()
            with self._lock:
                data = self._announcer.announcement(time.monotonic(), title)
            if data is not None:
                _send(sock, data)
            if stopping.wait(POLL_S):
                break
        with self._lock:
            data = self._announcer.deletion()
        _send(sock, data)


def _send(sock: socket.socket, data: bytes) -> None:
    try:
        sock.send(data)
    except OSError:
        pass  # as if lost on the way: the next announcement says it all again
