"""The station's real-time loop: one thread that paces packets onto the group against absolute deadlines.

What it sends comes from one source at a time, the music files or a live capture device, switched between two
packets: the timeline, the sequence numbers and the pacing go on untouched, so listeners hear the new source at
once, with no stall and no burst. A live source that fails hands over to the files.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

import numpy as np

from stats.histogram import Histogram
from rtpwire.net import DatagramSender
from rtpwire.nowplaying import NowPlaying
from sound.wallclock import wall_minus_monotonic_s
from sound.devices import DeviceError
from station.audience import Roster, format_listeners
from station.capture import CaptureFigures
from station.gain import Gain
from station.packetizer import Packetizer
from station.realtime import pace_in_real_time
from station.reporter import Reporter
from station.schedule import Schedule
from station.queue import QueueError
from station.source import FileSource

T = TypeVar("T")
MAX_CATCH_UP_S = 0.2  # later than this (machine suspended, process stopped), skip ahead instead of bursting
CLOSE_TIMEOUT_S = 5.0  # how long closing the devices switched away from may delay the station's exit
NO_FILES = "no playable music files (give some on the command line)"


class Source(Protocol):
    """What the broadcaster reads from: `read` gives up to `frames` samples, None when there is nothing now."""

    finished: bool  # nothing more will come: the station goes off the air
    failure: str | None  # why the source cannot go on (a device vanished), None while it works

    @property
    def title(self) -> str: ...
    def read(self, frames: int) -> np.ndarray | None: ...
    def progress_s(self) -> tuple[float, float]: ...


class LiveSource(Source, Protocol):
    def capture_figures(self) -> CaptureFigures: ...
    def close(self) -> None: ...


OpenLive = Callable[[str | None], LiveSource]  # a device spec (None: the default) to a source; DeviceError


@dataclass(frozen=True)
class StationStatus:
    paused: bool
    live: bool  # a capture device, not the files
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
    send_error_bin_ms: float
    send_error_bins: dict[int, int]  # send errors counted per bin, by bin index: two snapshots give the
    # percentiles of the span between them (`Histogram.from_bins` of the difference)
    volume_percent: int
    shuffle: bool
    repeat: str  # off, track or queue ("" without music files)
    queue_position: int  # the current track's number in the queue, from 1 (0: none)
    queue_length: int
    capture: CaptureFigures | None = None  # the capture device on the air, None on the files


class Broadcaster:
    def __init__(self, files: FileSource | None, live: LiveSource | None, open_live: OpenLive,
                 packetizer: Packetizer, reporter: Reporter, rtp_sock: DatagramSender, rtcp_sock: DatagramSender,
                 samples_per_packet: int, notify: Callable[[str], None], live_spec: str | None = None,
                 audience: Roster | None = None, realtime: bool = False) -> None:
        """On the air first: `live` if given (opened from `live_spec`), else `files`, which FILES and a failing
        live source come back to. `audience`: the listeners heard reporting, for LISTENERS and the toolbar.
        `realtime`: pace under real-time scheduling if the system permits (`station.realtime`)."""
        self._files = files
        self._live = live
        self._source: Source | None = live if live is not None else files
        self._open_live = open_live
        self._live_spec = live_spec
        self._packetizer = packetizer
        self._reporter = reporter
        self._rtp_sock = rtp_sock
        self._rtcp_sock = rtcp_sock
        self._samples_per_packet = samples_per_packet
        self._notify = notify
        self._audience = audience
        self._realtime = realtime
        self._lock = threading.Lock()
        self._gain = Gain(packetizer.fmt.rate)
        self._paused = False
        self._state_changed = False
        self.stopping = threading.Event()  # set by stop(), or by the loop itself at the end of the queue
        self._stop_reason = "station stopped"
        self.send_error = Histogram()
        self._counting = threading.Lock()  # a packet enters packets_sent and send_error together
        self.slots_skipped = 0
        self.send_errors = 0
        self._thread = threading.Thread(target=self._run, name="broadcaster", daemon=True)
        self._closing: list[threading.Thread] = []  # live sources being closed off the loop's thread
        self._schedule: Schedule | None = None
        # A report's wall-clock time is derived from the monotonic time its RTP timestamp is computed for,
        # through one offset, not read separately later: a late read (the loop busy reading a source) would
        # shift the NTP/RTP mapping that listeners schedule playout by. The time service tells listeners the
        # station's clock through the same offset, so that it is the clock of that mapping.
        self.wall_offset_s = wall_minus_monotonic_s()

    def start(self, schedule: Schedule) -> None:
        self._schedule = schedule
        self._thread.start()

    def pause(self) -> bool:
        """True if this paused the station, False if it was paused already."""
        return self._set_paused(True)

    def play(self) -> bool:
        """True if this resumed the station, False if it was playing already."""
        return self._set_paused(False)

    def toggle(self) -> bool:
        """Pauses if playing, plays if paused; whether the station is paused now."""
        with self._lock:
            self._paused = not self._paused
            self._state_changed = True
            return self._paused

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

    def use_live(self, spec: str | None) -> str:
        """Put the capture device `spec` names on the air (None: the last one asked for, else the default);
        the answer for the operator. A device that cannot be opened leaves the current source on."""
        spec = spec if spec is not None else self._live_spec
        try:
            live = self._open_live(spec)
        except DeviceError as e:
            return f"error: {e}"
        self._live_spec = spec
        self._switch(live)
        return f"on the air: {live.title}"

    def use_files(self) -> str:
        if self._files is None:
            return f"error: {NO_FILES}"
        if self._live is None:
            return "already playing the files"
        self._switch(None)
        return f"on the air: {self._files.title}"

    def with_files(self, action: Callable[[FileSource], T]) -> T:
        """Runs `action` (a queue command) on the music files between two packets: the loop reads them under
        this lock. QueueError if the station has none. A new title goes to the listeners at once."""
        if self._files is None:
            raise QueueError(NO_FILES)
        with self._lock:
            title = self._files.title
            result = action(self._files)
            self._state_changed = self._state_changed or self._files.title != title
        return result

    def set_volume(self, percent: int) -> int:
        """The volume (0 to 100 %) of whatever is on the air, files or live; the volume it was."""
        with self._lock:
            before = self._gain.percent
            self._gain.set_percent(percent)
        return before

    def _switch(self, live: LiveSource | None, replacing: Source | None = None) -> bool:
        """To `live`, or back to the files, between two packets; with `replacing`, only if that is still the
        live source. The live source left is closed off this thread: closing a device may take a while, and
        must not delay a packet."""
        with self._lock:
            if replacing is not None and replacing is not self._live:
                return False
            old, self._live = self._live, live
            self._source = live if live is not None else self._files
            self._state_changed = True
        if old is not None:
            closing = threading.Thread(target=old.close, name="close source", daemon=True)
            closing.start()
            with self._lock:
                self._closing = [t for t in self._closing if t.is_alive()] + [closing]
        return True

    def close(self, timeout_s: float = CLOSE_TIMEOUT_S) -> None:
        """After the loop ended: release the live source still on the air, and wait (bounded) for those
        switched away from to be closed. A device still closing when the process exits runs its driver's code
        (PortAudio, ALSA, libpulse) while the interpreter and those libraries are being torn down."""
        if self._live is not None:
            self._live.close()
        deadline = time.monotonic() + timeout_s
        with self._lock:
            closing = list(self._closing)
        for thread in closing:
            thread.join(max(0.0, deadline - time.monotonic()))

    def listeners_text(self) -> str:
        return format_listeners(self._audience.listeners(time.monotonic()) if self._audience else [])

    def listener_count(self) -> int:
        return self._audience.count(time.monotonic()) if self._audience else 0

    def now_playing(self) -> NowPlaying:
        return NowPlaying(paused=self._paused, title=self._source.title if self._source else "")

    def status(self) -> StationStatus:
        source, live = self._source, self._live
        position_s, duration_s = source.progress_s() if source else (0.0, 0.0)
        queue = self._files.queue if self._files is not None else None
        with self._lock:  # the loop moves the queue on at the end of a track
            queue_position = queue.current_number if queue else 0
            queue_length = len(queue.entries) if queue else 0
        with self._counting:  # the packets and their send errors as of one instant: a snapshot is whole
            packets_sent, octets_sent = self._packetizer.packet_count, self._packetizer.octet_count
            send_error = self.send_error.copy()
        return StationStatus(
            paused=self._paused,
            live=live is not None,
            title=source.title if source else "",
            position_s=position_s,
            duration_s=duration_s,
            packets_sent=packets_sent,
            octets_sent=octets_sent,
            slots_skipped=self.slots_skipped,
            send_errors=self.send_errors,
            send_error_p50_ms=send_error.percentile(0.50) * 1e3,
            send_error_p99_ms=send_error.percentile(0.99) * 1e3,
            send_error_max_ms=send_error.max_s * 1e3,
            send_error_bin_ms=send_error.resolution_s * 1e3,
            send_error_bins=send_error.bins(),
            volume_percent=self._gain.percent,
            shuffle=queue.shuffle if queue else False,
            repeat=queue.repeat if queue else "",
            queue_position=queue_position,
            queue_length=queue_length,
            capture=live.capture_figures() if live is not None else None,
        )

    def _send(self, sock: DatagramSender, data: bytes) -> None:
        try:
            sock.send(data)
        except OSError as e:  # e.g. the interface went down: keep pacing, the network may come back
            self.send_errors += 1
            if self.send_errors == 1 or self.send_errors % 1000 == 0:
                self._notify(f"send failed ({self.send_errors} so far): {e.strerror or e}")

    def _send_rtcp(self, now: float) -> None:
        self._send(self._rtcp_sock, self._reporter.report(now, now + self.wall_offset_s, self.now_playing()))

    def _read(self, source: Source) -> np.ndarray | None:
        """The next packet's samples, at the station's volume; none while paused. A live source is read all the
        same and its samples dropped, so that its backlog stays current and PLAY resumes live, not with what was
        said meanwhile."""
        if not self._paused:
            pcm = source.read(self._samples_per_packet)
            return None if pcm is None else self._gain.apply(pcm)
        if source is self._live:
            source.read(self._samples_per_packet)
        return None

    def _fall_back(self, failed: Source, failure: str) -> None:
        if self._switch(None, replacing=failed):  # unless the operator switched away from it meanwhile
            self._notify(f"{failure}: back to the files" if self._files is not None
                         else f"{failure}: nothing on the air until MIC or FILES")

    def _run(self) -> None:
        schedule = self._schedule
        assert schedule is not None
        slot = 0
        note = pace_in_real_time() if self._realtime else None
        if note:
            self._notify(note)
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
                source = self._source
                pcm = None if source is None else self._read(source)
                state_changed, self._state_changed = self._state_changed, False
            if pcm is not None:
                with self._counting:
                    packet = self._packetizer.packetize(pcm, schedule.stream_ts(slot))
                    self._send(self._rtp_sock, bytes(packet))
                    self.send_error.add(time.monotonic() - deadline)
            if state_changed or self._reporter.due(now):
                self._send_rtcp(now)
            if source is not None and source.failure:
                self._fall_back(source, source.failure)
            if pcm is None and source is not None and source.finished:
                self.stop("end of queue")
                break
            slot += 1
        now = time.monotonic()
        self._send(self._rtcp_sock, self._reporter.bye(now, now + self.wall_offset_s, self._stop_reason))
