"""The station's real-time loop: one thread that paces packets onto the group against absolute deadlines.

What each slot sends is what `station.onair` steps it to; this thread only sleeps until the slot is due, steps it,
sends its datagrams and measures how late they left. The console's commands and its status snapshots take the lock
a slot is stepped and sent under, so they happen between two slots, and a snapshot is whole: every packet counted
in the packets sent has its send error counted too.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np

from rtpwire.net import DatagramSender
from station.onair import LiveSource, OnAir
from sound.realtime import pace_in_real_time
from stats.histogram import Histogram

CLOSE_TIMEOUT_S = 5.0  # how long closing the devices switched away from may delay the station's exit


class Broadcaster:
    def __init__(self, onair: OnAir, rtp_sock: DatagramSender, rtcp_sock: DatagramSender,
                 notify: Callable[[str], None], realtime: bool = False,
                 repair_sock: DatagramSender | None = None,
                 programme: Callable[[np.ndarray, str], None] | None = None) -> None:
        """`notify`: tells the operator what went wrong (sending, a live source). `realtime`: pace under real-time
        scheduling if the system permits (`sound.realtime`). `repair_sock`: where FEC's repair packets go.
        `programme`: takes each slot's PCM as it went on the air, and its title, once the slot is sent (the Icecast
        feeds' queues): it must never block."""
        self._onair = onair
        self._rtp_sock = rtp_sock
        self._rtcp_sock = rtcp_sock
        self._repair_sock = repair_sock
        self._notify = notify
        self._programme = programme
        self._realtime = realtime
        self.lock = threading.Lock()  # held while a slot is stepped and sent; the console takes it between two
        self.stopping = threading.Event()  # set by stop(), or by the loop itself at the end of the queue
        self._stop_reason = "station stopped"
        self.send_error = Histogram()  # how late each packet left: sent minus due
        self.send_errors = 0  # datagrams the network refused
        self._thread = threading.Thread(target=self._run, name="broadcaster", daemon=True)
        self._closing: list[threading.Thread] = []  # live sources being closed off the loop's thread

    def start(self) -> None:
        self._thread.start()

    def stop(self, reason: str = "station stopped") -> None:
        if not self.stopping.is_set():  # the first reason is the one listeners hear
            self._stop_reason = reason
        self.stopping.set()

    def join(self, timeout_s: float | None = None) -> None:
        self._thread.join(timeout_s)

    def retire(self, live: LiveSource | None) -> None:
        """Closes a live source taken off the air (None: there is none) on a thread of its own: closing a device
        may take a while, and must not delay a packet. Called without the lock."""
        if live is None:
            return
        closing = threading.Thread(target=live.close, name="close source", daemon=True)
        closing.start()
        with self.lock:
            self._closing = [t for t in self._closing if t.is_alive()] + [closing]

    def close(self, timeout_s: float = CLOSE_TIMEOUT_S) -> None:
        """After the loop ended: release the live source still on the air, and wait (bounded) for those
        switched away from to be closed. A device still closing when the process exits runs its driver's code
        (PortAudio, ALSA, libpulse) while the interpreter and those libraries are being torn down."""
        live = self._onair.live
        if live is not None:
            live.close()
        deadline = time.monotonic() + timeout_s
        with self.lock:
            closing = list(self._closing)
        for thread in closing:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _send(self, sock: DatagramSender, data: bytes) -> None:
        try:
            sock.send(data)
        except OSError as e:  # e.g. the interface went down: keep pacing, the network may come back
            self.send_errors += 1
            if self.send_errors == 1 or self.send_errors % 1000 == 0:
                self._notify(f"send failed ({self.send_errors} so far): {e.strerror or e}")

    def _run(self) -> None:
        """The loop; should it fail (a bug), the station says so and goes off the air rather than fall silent
        while its console still answers."""
        try:
            self._loop()
        except Exception as e:
            self._notify(f"the broadcast loop failed, going off the air: {type(e).__name__}: {e}")
            self.stop("station failed")
            raise

    def _loop(self) -> None:
        note = pace_in_real_time() if self._realtime else None
        if note:
            self._notify(note)
        with self.lock:  # listeners get the clock mapping before the first packet
            self._send(self._rtcp_sock, self._onair.report(time.monotonic()))
        while not self.stopping.is_set():
            wait_s = self._onair.next_deadline_s - time.monotonic()  # the slots move on in this thread only
            if wait_s > 0 and self.stopping.wait(wait_s):
                break
            with self.lock:
                slot = self._onair.step(time.monotonic())
                if slot.rtp is not None:
                    self._send(self._rtp_sock, slot.rtp)
                    self.send_error.add(time.monotonic() - slot.deadline_s)
                if slot.rtcp is not None:
                    self._send(self._rtcp_sock, slot.rtcp)
                if self._repair_sock is not None:
                    for repair in slot.repair:
                        self._send(self._repair_sock, repair)
            if self._programme is not None and slot.programme is not None:
                self._programme(slot.programme, slot.title)
            self.retire(slot.retired)
            if slot.note:
                self._notify(slot.note)
            if slot.finished:
                self.stop("end of queue")
                break
        with self.lock:
            self._send(self._rtcp_sock, self._onair.bye(time.monotonic(), self._stop_reason))
