"""Sources and capture devices without sound cards, and what goes on the air built around them: for the tests of
the station's step (`station.onair`), its console facade (`station.control`) and its loop (`station.broadcaster`)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from rtpwire.audio import L16_STEREO
from rtpwire.srtp import SrtpSender
from sound.devices import DeviceError
from fake_media import make_source, pcm
from station.broadcaster import Broadcaster
from station.capture import CaptureFigures
from station.control import Station
from station.fec_encoder import FecEncoder
from station.onair import OnAir
from station.packetizer import Packetizer
from station.queue import PlayQueue
from station.reporter import Reporter
from station.schedule import Schedule

SPP = 220
SSRC = 0x5EED_CAFE
FIRST_SEQUENCE = 65530  # the sequence numbers wrap around within the first packets
WAIT_S = 5.0  # bound on every wait for a thread; the events normally come within milliseconds


class FakeSource:
    """A source sending a constant value, so packets tell which source they came from; as the files, its queue
    is one track."""

    def __init__(self, title: str, value: int, duration_s: float = 0.0) -> None:
        self.title = title
        self.queue = PlayQueue([Path(f"/music/{title}.wav")])
        self.value = value
        self.duration_s = duration_s
        self.finished = False
        self.failure: str | None = None
        self.reads = 0
        self.read_enough = threading.Event()  # set after `enough` reads
        self.enough = 10
        self.fail_after: int | None = None  # reads after which `failure` is set
        self.closes = 0
        self.closed = threading.Event()
        self.hold: threading.Event | None = None  # if set, close() takes until this event (a slow device)
        self.figures = CaptureFigures(underruns=value, samples_missing=220 * value, samples_discarded=0,
                                      samples_inserted=3, samples_dropped=0, drift_ppm=-12.5)

    def read(self, frames: int) -> np.ndarray | None:
        self.reads += 1
        if self.reads >= self.enough:
            self.read_enough.set()
        if self.fail_after is not None and self.reads >= self.fail_after:
            self.failure = f"capture device {self.title} stopped"
        return np.full((frames, 2), self.value, dtype=np.int16)

    def progress_s(self) -> tuple[float, float]:
        return self.reads * SPP / L16_STEREO.rate, self.duration_s

    def capture_figures(self) -> CaptureFigures:
        return self.figures

    def close(self) -> None:
        if self.hold is not None:
            self.hold.wait(WAIT_S)
        self.closes += 1
        self.closed.set()


class Opener:
    """open_live: a new FakeSource per device spec; specs listed in `missing` raise DeviceError."""

    def __init__(self, missing: tuple[str | None, ...] = ()) -> None:
        self.missing = missing
        self.specs: list[str | None] = []
        self.opened: list[FakeSource] = []

    def __call__(self, spec: str | None) -> FakeSource:
        self.specs.append(spec)
        if spec in self.missing:
            raise DeviceError(f"no capture device {spec!r}; see --list-devices")
        live = FakeSource(f"live: {spec or 'default'}", value=100 + len(self.opened))
        self.opened.append(live)
        return live


class Sent:
    """A socket keeping what is sent on it."""

    def __init__(self) -> None:
        self.datagrams: list[bytes] = []

    def send(self, data: bytes, /) -> int:
        self.datagrams.append(data)
        return len(data)


def console_station(files=None, live=None, opener=None, live_spec=None, audience=None
                    ) -> tuple[Station, OnAir, Broadcaster]:
    """A Station as the console drives it, its broadcaster's loop never started: commands are carried out
    between two slots, as the console's would be."""
    onair = on_air(files, live)
    broadcaster = Broadcaster(onair, Sent(), Sent(), notify=lambda _text: None)
    return Station(onair, broadcaster, opener or Opener(), live_spec=live_spec, audience=audience), onair, broadcaster


def queue_station(audience=None) -> tuple[Station, OnAir, Broadcaster]:
    """A Station on three tracks of a fake loader, started, looping: a.wav (1 s), b.wav and c.wav (0.5 s each);
    what it has on the air, and its broadcaster."""
    files, _, _ = make_source({"a.wav": pcm(0, 44100), "b.wav": pcm(0, 22050), "c.wav": pcm(0, 22050)},
                              repeat="queue")
    files.start()
    return console_station(files=files, audience=audience)


def on_air(files=None, live=None, *, start_s: float = 100.0, wall_offset_s: float = 1_700_000_000.0,
           interval_s: float = 1.0, srtp: SrtpSender | None = None, fec: FecEncoder | None = None) -> OnAir:
    """Stereo, SPP samples a packet from `start_s`, the sequence numbers from FIRST_SEQUENCE, timestamps from 0."""
    packetizer = Packetizer(L16_STEREO, SSRC, first_sequence=FIRST_SEQUENCE, first_timestamp=0,
                            clock_origin_s=start_s + wall_offset_s)
    schedule = Schedule(start_s=start_s, rate=L16_STEREO.rate, samples_per_packet=SPP)
    reporter = Reporter(packetizer, schedule, cname="test@localhost", name="Test Radio", interval_s=interval_s)
    return OnAir(files, live, packetizer, reporter, schedule, wall_offset_s, srtp=srtp, fec=fec)
