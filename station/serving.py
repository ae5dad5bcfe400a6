"""The station's services beside its real-time loop (the audience feed, the time service, the announcements): daemon
threads that notice the station stopping within POLL_S."""

from __future__ import annotations

import select
import socket
import threading
from collections.abc import Callable

from rtpwire.net import Address, drain

POLL_S = 0.2  # how soon the threads reading listeners' reports and time requests notice the station stopping


def serve(sock: socket.socket, stopping: threading.Event, handle: Callable[[bytes, float, Address], None],
          name: str) -> threading.Thread:
    """A daemon thread handing `handle` every datagram that arrives on `sock`, with its arrival time and sender,
    until `stopping` is set; it waits in select, never spinning, and notices `stopping` within POLL_S."""
    def run() -> None:
        while not stopping.is_set():
            readable, _, _ = select.select([sock], [], [], POLL_S)
            if readable:
                for data, arrival_s, sender in drain(sock):
                    handle(data, arrival_s, sender)

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread
