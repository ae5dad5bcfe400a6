"""The station's real-time loop: one thread that paces packets onto the group against absolute deadlines."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from socket import socket

from rtpwire.histogram import Histogram
from rtpwire.nowplaying import NowPlaying
from station.packetizer import Packetizer
from station.reporter import Reporter
from station.schedule import Schedule
from station.source import FileSource

MAX_CATCH_UP_S = 0.2  # later than this (machine suspended, process stopped), skip ahead instead of bursting


@dataclass(frozen=True)
class StationStatus:
    paused: bool
    title: str
    position_s: float
    duration_s: float
    packets_sent: int
    octets_sent: int
    slots_skipped: int
    send_errors: int
    send_error_p50_ms: float
    send_error_p99_ms: float
    send_error_max_ms: float


class Broadcaster:
    def __init__(self, source: FileSource, packetizer: Packetizer, reporter: Reporter, rtp_sock: socket,
                 rtcp_sock: socket, samples_per_packet: int, notify: Callable[[str], None]) -> None:
        self._source = source
        self._packetizer = packetizer
        self._reporter = reporter
        self._rtp_sock = rtp_sock
        self._rtcp_sock = rtcp_sock
        self._samples_per_packet = samples_per_packet
        self._notify = notify
        self._lock = threading.Lock()
        self._paused = False
        self._state_changed = False
        self.stopping = threading.Event()  # set by stop(), or by the loop itself at the end of the queue
        self._stop_reason = "station stopped"
        self.send_error = Histogram()
        self.slots_skipped = 0
        self.send_errors = 0
        self._thread = threading.Thread(target=self._run, name="broadcaster", daemon=True)
        self._schedule: Schedule | None = None

    def start(self, schedule: Schedule) -> None:
        self._schedule = schedule
        self._thread.start()

    def pause(self) -> bool:
        """True if this paused the station, False if it was paused already."""
        return self._set_paused(True)

    def play(self) -> bool:
        """True if this resumed the station, False if it was playing already."""
        return self._set_paused(False)

    def _set_paused(self, paused: bool) -> bool:
        with self._lock:
            if self._paused == paused:
                return False
            self._paused = paused
            self._state_changed = True
            return True

    def stop(self, reason: str = "station stopped") -> None:
        if not self.stopping.is_set():  # the first reason is the one listeners hear
            self._stop_reason = reason
        self.stopping.set()

    def join(self, timeout_s: float | None = None) -> None:
        self._thread.join(timeout_s)

    def now_playing(self) -> NowPlaying:
        track = self._source.current
        return NowPlaying(paused=self._paused, title=track.title if track else "")

    def status(self) -> StationStatus:
        track = self._source.current
        rate = self._packetizer.fmt.rate
        return StationStatus(
            paused=self._paused,
            title=track.title if track else "",
            position_s=self._source.position_samples / rate,
            duration_s=len(track.pcm) / rate if track else 0.0,
            packets_sent=self._packetizer.packet_count,
            octets_sent=self._packetizer.octet_count,
            slots_skipped=self.slots_skipped,
            send_errors=self.send_errors,
            send_error_p50_ms=self.send_error.percentile(0.50) * 1e3,
            send_error_p99_ms=self.send_error.percentile(0.99) * 1e3,
            send_error_max_ms=self.send_error.max_s * 1e3,
        )

    def _send(self, sock: socket, data: bytes) -> None:
        try:
            sock.send(data)
        except OSError as e:  # e.g. the interface went down: keep pacing, the network may come back
            self.send_errors += 1
            if self.send_errors == 1 or self.send_errors % 1000 == 0:
                self._notify(f"send failed ({self.send_errors} so far): {e.strerror or e}")

    def _send_rtcp(self, now: float) -> None:
        self._send(self._rtcp_sock, self._reporter.report(now, time.time(), self.now_playing()))

    def _run(self) -> None:
        schedule = self._schedule
        assert schedule is not None
        slot = 0
        self._send_rtcp(time.monotonic())  # listeners get the clock mapping before the first packet
        while not self.stopping.is_set():
            deadline = schedule.deadline_s(slot)
            wait_s = deadline - time.monotonic()
            if wait_s > 0 and self.stopping.wait(wait_s):
                break
            now = time.monotonic()
            if now - deadline > MAX_CATCH_UP_S:
                skipped_to = schedule.slot_at(now)
                self.slots_skipped += skipped_to - slot
                slot = skipped_to
                deadline = schedule.deadline_s(slot)
            with self._lock:
                pcm = None if self._paused else self._source.read(self._samples_per_packet)
                state_changed, self._state_changed = self._state_changed, False
            if pcm is not None:
                packet = self._packetizer.packetize(pcm, schedule.stream_ts(slot))
                self._send(self._rtp_sock, bytes(packet))
                self.send_error.add(time.monotonic() - deadline)
            if state_changed or self._reporter.due(now):
                self._send_rtcp(now)
            if pcm is None and self._source.finished:
                self.stop("end of queue")
                break
            slot += 1
        now = time.monotonic()
        self._send(self._rtcp_sock, self._reporter.bye(now, time.time(), self._stop_reason))
