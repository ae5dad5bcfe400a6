"""What the listener sends the station besides listening, on the wire: its receiver reports (and BYE), and the
time-sync exchange. Both run in the session's main thread, never the sound card's, which must not block.

The clock is read just before sending: the delay since the last SR a report carries must end when it leaves, or
the station's round trip would include however long the loop slept since its own reading; a time request's send
time likewise. Answers carry the kernel's arrival stamp.
"""

from __future__ import annotations

import socket
import time

from listener.clock_sync import ClockSync
from listener.receiver import Receiver
from listener.receiver_reports import ReceiverReporter
from rtpwire.net import DatagramSender, drain


class Reports:
    """The listener's receiver reports. With a speaker, the figures are read while the sound card's thread
    updates them, as the status line's are: a report may miss the packet being counted at that very instant, and
    the next one has it."""

    def __init__(self, reporter: ReceiverReporter, receiver: Receiver, sock: DatagramSender) -> None:
        self._reporter = reporter
        self._receiver = receiver
        self._sock = sock

    @property
    def cname(self) -> str:
        return self._reporter.cname

    def on_rtcp(self, data: bytes, now: float) -> None:
        self._reporter.on_rtcp(data, now)

    def send_if_due(self) -> None:
        now = time.monotonic()
        if self._reporter.due(now):
            block = self._receiver.report_block(now)
            self._send(self._reporter.report(block, now, self._receiver.repair_report() if block else None))

    def leave(self) -> None:
        data = self._reporter.bye(self._receiver.report_block(time.monotonic()))
        if data is not None:
            self._send(data)

    def _send(self, data: bytes) -> None:
        try:
            self._sock.send(data)
        except OSError:
            pass  # as if lost on the way, which RTCP expects: the next report says it all again


class TimeSync:
    """The time-sync exchange: requests out when due, answers in, and each new estimate handed to the receiver
    (which takes it up at its next read, in whichever thread reads)."""

    def __init__(self, clock: ClockSync, receiver: Receiver, sock: socket.socket) -> None:
        self.clock = clock
        self._receiver = receiver
        self.sock = sock

    def on_readable(self) -> None:
        for data, arrival_s, _sender in drain(self.sock):
            self.clock.on_response(data, arrival_s)
        if self.clock.offset_s is not None:
            self._receiver.set_station_offset(self.clock.offset_s)

    def send_if_due(self) -> None:
        now = time.monotonic()
        if self.clock.due(now):
            try:
                self.sock.send(self.clock.request(now))
            except OSError:
                pass  # refused or unreachable for now: as if lost, the next request tries again
