"""What goes on the air (sans-IO): the station's step for one packet slot, from the source on the air to the
datagrams that slot sends, and the operator's commands that change what goes on the air between two steps.

One source is on the air at a time, the music files or a live capture device, switched between two packets: the
timeline, the sequence numbers and the pacing go on untouched, so listeners hear the new source at once, with no
stall and no burst. A live source that fails hands over to the files.

The stages: source → gain → packetizer (which encodes the PCM, L16 or Opus) → SRTP → FEC (Reed-Solomon repair
packets over the datagrams as sent, on a port of their own). Nothing here reads the clock, sleeps,
locks or touches a socket: the broadcaster (`station.broadcaster`) steps each slot at its deadline and sends what
the step gives, the console (`station.control`) changes what goes on the air between two steps, and tests drive
both on fake time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

import numpy as np

from rtpwire.nowplaying import NowPlaying
from rtpwire.srtp import SrtpSender
from station.capture import CaptureFigures
from station.fec_encoder import FecEncoder
from station.gain import Gain
from station.packetizer import Packetizer
from station.queue import QueueError
from station.reporter import Reporter
from station.schedule import Schedule
from station.source import FileSource

T = TypeVar("T")
MAX_CATCH_UP_S = 0.2  # later than this (machine suspended, process stopped), skip ahead instead of bursting
NO_FILES = "no playable music files (give some on the command line)"


class Source(Protocol):
    """What goes on the air: `read` gives up to `frames` samples, None when there is nothing now."""

    finished: bool  # nothing more will come: the station goes off the air
    failure: str | None  # why the source cannot go on (a device vanished), None while it works

    @property
    def title(self) -> str: ...
    def read(self, frames: int) -> np.ndarray | None: ...
    def progress_s(self) -> tuple[float, float]: ...


class LiveSource(Source, Protocol):
    def capture_figures(self) -> CaptureFigures: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class Slot:
    """What one slot sends, and what the edge must see to besides."""

    deadline_s: float  # when the slot was due: how late its packet leaves is measured from here
    rtp: bytes | None  # its packet, sealed; None while paused, or with nothing to send now
    rtcp: bytes | None  # the report due, sealed: at once after a change of state, else once per interval
    repair: tuple[bytes, ...] = ()  # the repair packets its packet completed a block with, sealed
    retired: LiveSource | None = None  # a live source that failed, taken off the air: to be closed off the loop
    note: str | None = None  # for the operator: a live source failed, and what is on the air instead
    finished: bool = False  # the end of the queue: the station goes off the air
    programme: np.ndarray | None = None  # the slot's PCM as it went on the air, silence while paused or between
    # tracks: what Icecast's listeners hear (`station.icecast`)
    title: str = ""  # what was on the air


class OnAir:
    """The source on the air (or none), paused or not, at the station's volume, packetized slot by slot against
    the schedule, with the reports due.

    A report's wall-clock time is derived from the monotonic time its RTP timestamp is computed for, through one
    offset (`wall_offset_s`, wall-clock minus monotonic time), not read separately later: a late read (the loop busy
    reading a source) would shift the NTP/RTP mapping that listeners schedule playout by. The time service tells
    listeners the station's clock through the same offset, so that it is the clock of that mapping.
    """

    def __init__(self, files: FileSource | None, live: LiveSource | None, packetizer: Packetizer,
                 reporter: Reporter, schedule: Schedule, wall_offset_s: float, srtp: SrtpSender | None = None,
                 fec: FecEncoder | None = None) -> None:
        """On the air first: `live` if given, else `files`, which FILES and a failing live source come back to.
        `srtp`: seal every packet and report (SRTP, SRTCP) on its way out. `fec`: protect the packets, as sent,
        with repair packets (sealed too)."""
        self.files = files
        self._live = live
        self.packetizer = packetizer
        self._reporter = reporter
        self._schedule = schedule
        self._wall_offset_s = wall_offset_s
        self._srtp = srtp
        self.fec = fec
        self._gain = Gain(packetizer.fmt.rate)
        self._paused = False
        self._state_changed = False  # the next step sends a report, whether one is due or not
        self._slot = 0  # the next one to step
        self._title = ""  # what the last step sent
        self._silence = np.zeros((schedule.samples_per_packet, packetizer.fmt.channels), dtype=np.int16)
        self._silence.flags.writeable = False
        self.slots_skipped = 0

    @property
    def live(self) -> LiveSource | None:
        return self._live

    @property
    def source(self) -> Source | None:
        return self._live if self._live is not None else self.files

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def volume_percent(self) -> int:
        return self._gain.percent

    @property
    def next_deadline_s(self) -> float:
        """When the next slot is due: the broadcaster steps it then."""
        return self._schedule.deadline_s(self._slot)

    def step(self, now: float) -> Slot:
        """The next slot, at `now` (its deadline or later): a slot more than MAX_CATCH_UP_S late skips ahead to
        the one due now, counting the slots skipped, rather than sending them all at once."""
        slot = self._slot
        if now - self._schedule.deadline_s(slot) > MAX_CATCH_UP_S:
            skipped_to = self._schedule.slot_at(now)
            self.slots_skipped += skipped_to - slot
            slot = skipped_to
        self._slot = slot + 1
        source, live = self.source, self._live
        pcm = None if source is None else self._read(source)
        title = "" if source is None else source.title
        if title != self._title:  # a new track or source: listeners tuning in for it get the clock at once
            self._title = title
            self.packetizer.clock_soon()
        rtp = None if pcm is None else self._packet(pcm, slot)
        repair = () if rtp is None or self.fec is None else tuple(self._seal(r) for r in self.fec.add(rtp))
        state_changed, self._state_changed = self._state_changed, False
        rtcp = self.report(now) if state_changed or self._reporter.due(now) else None
        failed, note = None, None
        if live is not None and live.failure:
            failed, note = live, self._fall_back(live.failure)
        return Slot(self._schedule.deadline_s(slot), rtp, rtcp, repair, retired=failed, note=note,
                    finished=pcm is None and source is not None and source.finished,
                    programme=self._silence if pcm is None else pcm, title=title)

    def _read(self, source: Source) -> np.ndarray | None:
        """The next packet's samples, at the station's volume; none while paused. A live source is read all the
        same and its samples dropped, so that its backlog stays current and PLAY resumes live, not with what was
        said meanwhile."""
        frames = self._schedule.samples_per_packet
        if not self._paused:
            pcm = source.read(frames)
            if pcm is None:
                return None
            if len(pcm) < frames and self.packetizer.fmt.is_opus:  # an Opus packet is a whole frame: a short
                # read (the end of the queue, the next track not decoded yet) is made whole with silence
                pcm = np.concatenate((pcm, np.zeros((frames - len(pcm), pcm.shape[1]), dtype=pcm.dtype)))
            return self._gain.apply(pcm)
        if source is self._live:
            source.read(frames)
        return None

    def _fall_back(self, failure: str) -> str:
        """Takes the failing live source off the air; the note for the operator."""
        self._switch(None)
        return (f"{failure}: back to the files" if self.files is not None
                else f"{failure}: nothing on the air until MIC or FILES")

    def report(self, now: float) -> bytes:
        """The report (sender report, description, now playing) for `now`, sealed: the broadcaster sends the
        first before the first packet, so that listeners have the clock mapping before any audio."""
        return self._seal_rtcp(self._reporter.report(now, now + self._wall_offset_s, self.now_playing()))

    def bye(self, now: float, reason: str) -> bytes:
        return self._seal_rtcp(self._reporter.bye(now, now + self._wall_offset_s, reason))

    def _packet(self, pcm: np.ndarray, slot: int) -> bytes:
        """`pcm` as the packet of `slot`, sealed."""
        return self._seal(bytes(self.packetizer.packetize(pcm, self._schedule.stream_ts(slot))))

    def _seal(self, rtp: bytes) -> bytes:
        return rtp if self._srtp is None else self._srtp.protect(rtp)

    def _seal_rtcp(self, rtcp: bytes) -> bytes:
        return rtcp if self._srtp is None else self._srtp.protect_rtcp(rtcp)

    # --- the operator's commands, between two steps: each change of state goes to the listeners at once ----------

    def pause(self) -> bool:
        """True if this paused the station, False if it was paused already."""
        return self._set_paused(True)

    def play(self) -> bool:
        """True if this resumed the station, False if it was playing already."""
        return self._set_paused(False)

    def toggle(self) -> bool:
        """Pauses if playing, plays if paused; whether the station is paused now."""
        self._set_paused(not self._paused)
        return self._paused

    def _set_paused(self, paused: bool) -> bool:
        if self._paused == paused:
            return False
        self._paused = paused
        self._state_changed = True
        return True

    def use_live(self, live: LiveSource) -> LiveSource | None:
        """Puts `live` on the air; the live source it replaces, to be closed, if any."""
        return self._switch(live)

    def use_files(self) -> LiveSource | None:
        """Back to the files (or to nothing, without files); the live source taken off the air, if any."""
        return self._switch(None)

    def _switch(self, live: LiveSource | None) -> LiveSource | None:
        retired, self._live = self._live, live
        self._state_changed = True
        return retired

    def with_files(self, action: Callable[[FileSource], T]) -> T:
        """Runs `action` (a queue command) on the music files; QueueError if the station has none. A new title
        goes to the listeners at once, a listing does not."""
        if self.files is None:
            raise QueueError(NO_FILES)
        title = self.files.title
        result = action(self.files)
        self._state_changed = self._state_changed or self.files.title != title
        return result

    def set_volume(self, percent: int) -> int:
        """The volume (0 to 100 %) of whatever is on the air, files or live; the volume it was."""
        before = self._gain.percent
        self._gain.set_percent(percent)
        return before

    def now_playing(self) -> NowPlaying:
        source = self.source
        return NowPlaying(paused=self._paused, title=source.title if source else "")
