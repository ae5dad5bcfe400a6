"""The station as the operator's console sees it (`station.console` carries its commands out on it): what goes on
the air, changed between two of the broadcaster's slots; the capture devices MIC opens; the listeners LISTENERS
tells of; and the figures STATUS, the toolbar and --stats-json show.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from rtpwire.nowplaying import NowPlaying
from sound.devices import DeviceError
from station.audience import Listener, ReceptionHistory, Roster, format_listeners
from station.broadcaster import Broadcaster
from station.capture import CaptureFigures
from station.icecast import IcecastFeeds
from station.onair import NO_FILES, LiveSource, OnAir
from station.queue import QueueListing
from station.source import FileSource

T = TypeVar("T")
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
    repair_packets_sent: int = 0  # FEC's repair packets (--fec), besides the audio's packets_sent


class Station:
    def __init__(self, onair: OnAir, broadcaster: Broadcaster, open_live: OpenLive, live_spec: str | None = None,
                 audience: Roster | None = None, icecast: IcecastFeeds | None = None) -> None:
        """`live_spec`: the device the live source on the air at start was opened from, which MIC without one
        opens again. `audience`: the listeners heard reporting, for LISTENERS and the toolbar. `icecast`: the
        Icecast mounts fed, for STATUS, LISTENERS and the toolbar."""
        self._onair = onair
        self._broadcaster = broadcaster
        self._lock = broadcaster.lock  # what goes on the air changes between two slots, never during one
        self._open_live = open_live
        self._live_spec = live_spec
        self._audience = audience
        self._icecast = icecast

    def play(self) -> bool:
        """True if this resumed the station, False if it was playing already."""
        with self._lock:
            return self._onair.play()

    def pause(self) -> bool:
        """True if this paused the station, False if it was paused already."""
        with self._lock:
            return self._onair.pause()

    def toggle(self) -> bool:
        """Pauses if playing, plays if paused; whether the station is paused now."""
        with self._lock:
            return self._onair.toggle()

    def stop(self, reason: str = "station stopped") -> None:
        self._broadcaster.stop(reason)

    def with_files(self, action: Callable[[FileSource], T]) -> T:
        """Runs `action` (a queue command) on the music files between two packets; QueueError if the station has
        none."""
        with self._lock:
            return self._onair.with_files(action)

    def set_volume(self, percent: int) -> int:
        """The volume (0 to 100 %) of whatever is on the air, files or live; the volume it was."""
        with self._lock:
            return self._onair.set_volume(percent)

    def use_live(self, spec: str | None) -> str:
        """Put the capture device `spec` names on the air (None: the last one asked for, else the default);
        the answer for the operator. A device that cannot be opened leaves the current source on."""
        spec = spec if spec is not None else self._live_spec
        try:
            live = self._open_live(spec)  # without the lock: opening a device may take a while
        except DeviceError as e:
            return f"error: {e}"
        self._live_spec = spec
        with self._lock:
            retired = self._onair.use_live(live)
        self._broadcaster.retire(retired)
        return f"on the air: {live.title}"

    def use_files(self) -> str:
        files = self._onair.files
        if files is None:
            return f"error: {NO_FILES}"
        with self._lock:
            if self._onair.live is None:
                return "already playing the files"
            retired = self._onair.use_files()
        self._broadcaster.retire(retired)
        return f"on the air: {files.title}"

    def listeners(self) -> list[Listener]:
        """The listeners heard reporting, as of now."""
        return self._audience.listeners(time.monotonic()) if self._audience else []

    def history(self) -> list[ReceptionHistory]:
        """Each listener's reception over the last minutes, for the dashboard's plots."""
        return self._audience.history(time.monotonic()) if self._audience else []

    def queue_listing(self) -> QueueListing | None:
        """The queue as of now; None if the station has no music files."""
        with self._lock:
            files = self._onair.files
            return files.listing() if files is not None else None

    def listeners_text(self) -> str:
        text = format_listeners(self.listeners())
        return "\n".join([text, *self._icecast.listeners_lines()]) if self._icecast else text

    def listener_count(self) -> int:
        return self._audience.count(time.monotonic()) if self._audience else 0

    def icecast_listener_count(self) -> int | None:
        """The listeners every Icecast mount fed reports, together; None without --icecast."""
        return self._icecast.listener_count() if self._icecast else None

    def icecast_figures(self) -> dict[str, dict[str, object]]:
        """--stats-json's and the HTTP status's `icecast`: per mount, its state and counts; {} without --icecast."""
        return self._icecast.figures() if self._icecast else {}

    def icecast_lines(self) -> list[str]:
        """STATUS's lines about the Icecast mounts: state, listeners, bytes sent, connections, the last error."""
        return self._icecast.lines() if self._icecast else []

    def now_playing(self) -> NowPlaying:
        with self._lock:
            return self._onair.now_playing()

    def status(self) -> StationStatus:
        """The figures as of one instant, between two slots: each packet counted sent has its send error in the
        bins. The percentiles are worked out after, without holding the loop up."""
        onair, broadcaster = self._onair, self._broadcaster
        with self._lock:
            source, live = onair.source, onair.live
            position_s, duration_s = source.progress_s() if source else (0.0, 0.0)
            queue = onair.files.queue if onair.files is not None else None
            send_error = broadcaster.send_error.copy()
            status = functools.partial(
                StationStatus,
                paused=onair.paused,
                live=live is not None,
                title=source.title if source else "",
                position_s=position_s,
                duration_s=duration_s,
                packets_sent=onair.packetizer.packet_count,
                octets_sent=onair.packetizer.octet_count,
                slots_skipped=onair.slots_skipped,
                send_errors=broadcaster.send_errors,
                volume_percent=onair.volume_percent,
                shuffle=queue.shuffle if queue else False,
                repeat=queue.repeat if queue else "",
                queue_position=queue.current_number if queue else 0,
                queue_length=len(queue.entries) if queue else 0,
                capture=live.capture_figures() if live is not None else None,
                repair_packets_sent=onair.fec.repair_packets if onair.fec is not None else 0,
            )
        return status(send_error_p50_ms=send_error.percentile(0.50) * 1e3,
                      send_error_p99_ms=send_error.percentile(0.99) * 1e3,
                      send_error_max_ms=send_error.max_s * 1e3,
                      send_error_bin_ms=send_error.resolution_s * 1e3,
                      send_error_bins=send_error.bins())
