"""Receiving datagrams with the kernel's arrival time, so a listener can drain its sockets once per playout
period (one wake-up for many packets) and still measure jitter from true arrival times."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterator

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux value; Python does not always export it
TIMESPEC = struct.Struct("@qq")
MAX_DATAGRAM_BYTES = 65536


def enable_arrival_times(sock: socket.socket) -> bool:
    """Ask the kernel to stamp each datagram on arrival; False where it cannot (times then come from recv)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        return True
    except OSError:
        return False


def drain(sock: socket.socket, wall_offset_s: float) -> Iterator[tuple[bytes, float]]:
    """Every datagram waiting on a non-blocking socket, with its arrival time on the monotonic clock."""
    ancillary_size = socket.CMSG_SPACE(TIMESPEC.size)
    while True:
        try:
            data, ancillary, _flags, _address = sock.recvmsg(MAX_DATAGRAM_BYTES, ancillary_size)
        except (BlockingIOError, InterruptedError):
            return
        arrival_s = time.monotonic()
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(payload) >= TIMESPEC.size:
                seconds, nanoseconds = TIMESPEC.unpack_from(payload)
                arrival_s = seconds + nanoseconds * 1e-9 - wall_offset_s
        yield data, arrival_s
