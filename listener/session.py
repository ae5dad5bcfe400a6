"""One listener's run (the edge): its sockets, receiver, reports, time sync, status line and stats file, and the
loops that drive them.

Two loops, by output. A speaker pulls in its own stream's thread (libpulse's writer, or PortAudio's callback):
the session's thread only moves datagrams into its inbox, runs the exchanges with the station, and shows the
status. Null and WAV outputs are paced by the session's thread itself (`Paced`), as a sound card would pull. A
speaker whose device is lost gives way to the paced loop playing into nothing, which tries the device again
every RETRY_S (`Retry`) and gives way back to it once it opens.
"""

from __future__ import annotations

import contextlib
import functools
import math
import random
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from listener.clock_sync import ClockSync
from listener.config import ListenerConfig
from listener.keys import VolumeKeys
from listener.outputs import (SPEAKER_ADVICE, Inbox, NullOutput, OutputError, PacedOutput, Speaker, SpeakerLives,
                              WavOutput, open_speaker)
from listener.playout import LatencySource
from listener.receiver import Channel, Receiver, ReceiverConfig
from listener.receiver_reports import ReceiverReporter
from listener.room import ChannelChoice, Room, Volume
from listener.station_link import Reports, TimeSync
from listener.status import StatusPrinter, say
from rtpwire.net import (Address, SealedSender, drain, enable_arrival_times, open_receiver, open_sender,
                         open_unicast_client)
from rtpwire.rtcp_timing import session_bandwidth_bytes_per_s
from rtpwire.srtp import SrtpSender
from sound.devices import DeviceError, find_device
from sound.pulse_stream import PulseError
from sound.wallclock import wall_minus_monotonic_s
from stats.file import StatsFile

PERIOD_S = 0.01  # playout period: what a sound card pulls at a time, and what paced outputs read at most at a time
PACED_WAKE_S = 0.1  # paced outputs wake this often and catch up on the periods due since, in time order
STATUS_PERIOD_S = 0.25
RETRY_S = 2.0  # a lost speaker's device is tried again this often: soon back, and each attempt costs milliseconds
REPORT_TTL = 1  # receiver reports are for the station on this network, never beyond
TYPICAL_PACKET_S = 0.005  # the station's default --frame-ms: headers are 4 % of the stream, other sizes change little
EXIT_OUTPUT = 4

Arrival = tuple[float, Channel, bytes, Address]  # arrival time, where it came, the datagram, its sender


@dataclass
class Sockets:
    rtp: socket.socket
    rtcp: socket.socket
    repair: socket.socket  # the stream's repair packets (FEC), if it sends any
    reports: socket.socket
    time: socket.socket | None  # the station's time service, if asked

    @classmethod
    def open(cls, config: ListenerConfig) -> Sockets:
        """The stream's sockets (arrival-stamped), the reports' and the time service's; NetworkError if one cannot
        be opened, and then none is left open."""
        with contextlib.ExitStack() as opened:
            rtp = opened.enter_context(open_receiver(config.group, config.port, config.interface))
            rtcp = opened.enter_context(open_receiver(config.group, config.port + 1, config.interface))
            repair = opened.enter_context(open_receiver(config.group, config.repair, config.interface))
            reports = opened.enter_context(open_sender(config.group, config.port + 1, config.interface,
                                                       ttl=REPORT_TTL))
            time_sock = opened.enter_context(open_unicast_client(*config.time_sync)) if config.time_sync else None
            opened.pop_all()
        for sock in (rtp, rtcp, repair):
            enable_arrival_times(sock)
        return cls(rtp, rtcp, repair, reports, time_sock)

    @property
    def stream(self) -> dict[socket.socket, Channel]:
        """The sockets the stream's datagrams come on, and which of its channels each is."""
        return {self.rtp: Channel.RTP, self.rtcp: Channel.RTCP, self.repair: Channel.REPAIR}

    def close(self) -> None:
        for sock in (self.rtp, self.rtcp, self.repair, self.reports, self.time):
            if sock is not None:
                sock.close()


@dataclass
class Paced:
    """The paced outputs' reading (sans-IO but for the receiver's own figures): each period's samples at its
    deadline, after exactly the datagrams that had arrived by then.

    The loop wakes neither for each packet nor for each period but every PACED_WAKE_S, drains the sockets, and
    replays what happened meanwhile in time order: datagrams by the kernel's arrival stamps, interleaved with the
    periods' deadlines. What plays, and every figure (a packet that arrived after its deadline is late all the
    same), are those of a loop that woke at every deadline, for a tenth of the wake-ups: on a small machine a
    wake-up costs more than the work it brings (about 90 µs), and a hundred listeners on one machine are what
    the throughput batch runs."""

    receiver: Receiver
    on_rtcp: Callable[[bytes, float], None]  # what else hears the station's RTCP (the reports' member count)
    write: Callable[[np.ndarray], None]  # where each period's samples go
    next_s: float  # the next period's deadline
    end_s: float  # no period is read from here on
    most_frames: int = field(init=False)

    def __post_init__(self) -> None:
        self.most_frames = self.receiver.config.fmt.samples_for(PERIOD_S)

    @property
    def frames(self) -> int:
        """The next period's length: PERIOD_S, or half the shared latency if that is less. A read at its deadline
        takes what plays until the period's end, which left the station a latency before: a period as long as
        the latency would wait for packets not sent yet (10 ms at 10 ms, on loopback: 5 ms made up each time)."""
        return max(1, min(self.most_frames, self.receiver.playout.delay.floor_samples // 2))

    def catch_up(self, waiting: deque[Arrival], now: float) -> None:
        """Reads every period due by `now`, each after the datagrams of `waiting` (in order of arrival) that had
        arrived by its deadline; then hands over the rest."""
        rate = self.receiver.config.fmt.rate
        while self.next_s <= now and self.next_s < self.end_s:
            self._hand_over(waiting, self.next_s)
            frames = self.frames
            self.write(self.receiver.read(frames, self.next_s))
            self.next_s += frames / rate
        self._hand_over(waiting, math.inf)

    def _hand_over(self, waiting: deque[Arrival], until_s: float) -> None:
        while waiting and waiting[0][0] <= until_s:
            arrival_s, channel, data, sender = waiting.popleft()
            self.receiver.on_datagram(channel, data, arrival_s, sender)
            if channel is Channel.RTCP:
                self.on_rtcp(data, arrival_s)


@dataclass
class Retry:
    """When to try a lost device again (sans-IO): every `period_s`, from `next_s` on."""

    period_s: float
    next_s: float

    def due(self, now: float) -> bool:
        """Whether an attempt is due at `now`; if it is, the next is a period from now: a loop held up does not
        make up for the attempts it missed."""
        if now < self.next_s:
            return False
        self.next_s = now + self.period_s
        return True


class Session:
    def __init__(self, config: ListenerConfig, sockets: Sockets) -> None:
        self.config = config
        self.sockets = sockets
        wall_offset_s = wall_minus_monotonic_s()
        fmt = config.fmt
        self.receiver = Receiver(ReceiverConfig(fmt, config.latency_ms / 1000, wall_offset_s,
                                                max_latency_s=config.max_latency_ms / 1000,
                                                latency_source=config.latency_source, srtp_key=config.key,
                                                source_ip=config.source_ip, encrypted=config.encrypted,
                                                clock_extension_id=config.clock_extension_id,
                                                latency_extension_id=config.latency_extension_id,
                                                delay_s=config.delay_ms / 1000),
                                 time.monotonic())
        self.room = Room(config.channels or ChannelChoice.STEREO, Volume(config.volume, fmt.rate))
        ssrc = random.SystemRandom().getrandbits(32)  # the OS's randomness, as `secrets`, without its OpenSSL
        reporter = ReceiverReporter(ssrc, f"listener-{ssrc:08x}@{socket.gethostname()}",
                                    session_bandwidth_bytes_per_s(fmt, fmt.samples_for(TYPICAL_PACKET_S)),
                                    time.monotonic(), random.Random(), name=config.name, delay_ms=config.delay_ms)
        self.reports = Reports(reporter, self.receiver, sockets.reports if config.key is None
                               else SealedSender(sockets.reports, SrtpSender(config.key).protect_rtcp))
        self.time_sync = (TimeSync(ClockSync(wall_offset_s), self.receiver, sockets.time)
                          if sockets.time is not None else None)
        self.stats = StatsFile(config.stats_json, self._figures)
        self.status = StatusPrinter(config.quiet, self.room)
        self.keys = VolumeKeys(self.room.volume)
        self.stopping = threading.Event()  # set by a signal: end the run
        self._next_status_s = 0.0

    def _figures(self, now: float) -> dict[str, object]:
        return self.receiver.stats(now) | (self.time_sync.clock.stats() if self.time_sync else {})

    def run(self) -> int:
        """Listen until the duration is over or `stopping` is set; the exit status. The sockets are closed when
        it returns."""
        end_s = time.monotonic() + self.config.duration_s if self.config.duration_s else math.inf
        extra_stats: dict[str, object] = {}
        try:
            output = self._choose_output()
            self._introduce(output)
            self.keys.start()
            if output == "speaker":
                extra_stats = self._play_speaker(end_s)
            else:
                sink: PacedOutput = NullOutput() if output == "null" else WavOutput(Path(output), self.config.fmt)
                try:
                    self._play_paced(sink, end_s)
                finally:
                    sink.close()
        except (OutputError, DeviceError) as e:
            say(str(e))
            return EXIT_OUTPUT
        finally:
            self.keys.close()
            self.status.close()
            self.reports.leave()
            self.sockets.close()
        self.stats.write(time.monotonic(), extra_stats)
        return 0

    def _choose_output(self) -> str:
        if self.config.output != "auto":
            return self.config.output
        try:
            find_device(None, "output", SPEAKER_ADVICE)
        except DeviceError:
            if not self.config.quiet:
                say("no audio output device: receiving without playing (--output FILE.wav records)")
            return "null"
        return "speaker"

    def _introduce(self, output: str) -> None:
        config = self.config
        if config.quiet:
            return
        latency = (f"latency {config.latency_ms:g} ms" if config.latency_source is LatencySource.COMMAND_LINE
                   else f"the station's latency ({config.latency_ms:g} ms until it says)")
        clock = f", its clock from {config.time_sync[0]}:{config.time_sync[1]}" if config.time_sync else ""
        say(f"listening on {config.where()}, output {output}, {latency} "
            f"(up to {config.max_latency_ms:g} ms on a network with jitter){clock}, "
            f"reporting as {self.reports.cname}")

    def _play_paced(self, sink: PacedOutput, end_s: float, reopen: Callable[[float], Speaker | None] | None = None,
                    start_s: float = 0.0) -> Speaker | None:
        """Wakes every PACED_WAKE_S and catches up (`Paced`), from now or `start_s` if later (where a lost speaker
        stopped reading: nothing is read twice); the last wake-up catches up to the end. With `reopen` (a lost
        speaker tried again), returns the speaker it opens, as soon as it does: that speaker pulls from then on,
        and nothing here reads the receiver any more."""
        paced = Paced(self.receiver, self.reports.on_rtcp, lambda pcm: sink.write(self.room.apply(pcm)),
                      next_s=max(time.monotonic(), start_s), end_s=end_s)
        self._next_status_s = time.monotonic()
        while True:
            now = time.monotonic()
            if self.time_sync is not None:
                self.time_sync.on_readable()
            waiting = self._arrivals()
            drained_s = time.monotonic()
            paced.catch_up(waiting, now)
            self._on_wake_up(drained_s)
            if self.stopping.is_set() or now >= end_s:
                return None
            if reopen is not None and (speaker := reopen(now)) is not None:
                return speaker
            time.sleep(max(0.0, min(now + PACED_WAKE_S, end_s) - time.monotonic()))

    def _arrivals(self) -> deque[Arrival]:
        """Every datagram waiting on the stream's sockets, in order of arrival."""
        waiting = [(arrival_s, channel, data, sender) for sock, channel in self.sockets.stream.items()
                   for data, arrival_s, sender in drain(sock)]
        waiting.sort(key=lambda arrival: arrival[0])
        return deque(waiting)

    def _play_speaker(self, end_s: float) -> dict[str, object]:
        """Plays on the speaker until the end; the device's figures over all its lives.

        A device that stops pulling (unplugged, its sound server restarted) is said once, even with --quiet: the
        listener goes on receiving and counting, playing into nothing, and tries the same device (or the default)
        again every RETRY_S, silently; once it opens, that is said once too, and it plays on, back in step as a
        listener joining is: where each sample plays follows the station's clock and the new stream's own DAC
        times, so the play position lands back on the schedule by itself (a resync, as after any stall)."""
        inbox = Inbox()
        opener = functools.partial(open_speaker, self.config.fmt, self.config.device,
                                   feed=functools.partial(_deliver, inbox, self.receiver), pull=self._pull,
                                   frames_per_buffer=self.config.fmt.samples_for(PERIOD_S))
        lives = SpeakerLives()
        speaker: Speaker | None = opener()
        while speaker is not None:
            self._suit_room(speaker)
            self._play_until_stalled(speaker, inbox, end_s)
            lives.add(speaker)
            if self.stopping.is_set() or time.monotonic() >= end_s:
                break
            say(f"audio output {speaker.device.describe()} stopped (device gone?); still receiving, not playing; "
                f"trying it again every {RETRY_S:g} s")
            reopen = functools.partial(_open_if_due, Retry(RETRY_S, time.monotonic() + RETRY_S),
                                       functools.partial(opener, kind=type(speaker)))
            speaker = self._play_paced(NullOutput(), end_s, reopen, start_s=speaker.read_until_s)
            if speaker is not None:
                say(f"audio output {speaker.device.describe()} is back: playing again")
        return lives.stats()

    def _play_until_stalled(self, speaker: Speaker, inbox: Inbox, end_s: float) -> None:
        """Plays until the end, or until the device stops pulling; then closes it. The receiver is the speaker's
        from its start: what arrived before, as it opened, goes first into its inbox."""
        try:
            self._move_to(inbox, list(self.sockets.stream))
            speaker.start()
            waited = [*self.sockets.stream] + ([self.sockets.time] if self.sockets.time else [])
            while not self.stopping.is_set() and (now := time.monotonic()) < end_s and not speaker.stalled(now):
                readable, _, _ = select.select(waited, [], [], STATUS_PERIOD_S)
                self._move_to(inbox, readable)
                self._on_wake_up(now)
        finally:
            speaker.close()
        _deliver(inbox, self.receiver)  # what the device did not live to take

    def _suit_room(self, speaker: Speaker) -> None:
        """A speaker of one channel plays both, averaged, unless --channel says otherwise (before it starts)."""
        if self.config.channels is None:
            self.room.channels = ChannelChoice.MONO if speaker.device.channels == 1 else ChannelChoice.STEREO

    def _pull(self, frames: int, now: float) -> np.ndarray:
        """What a speaker plays: the receiver's samples, as this room wants them."""
        return self.room.apply(self.receiver.read(frames, now))

    def _move_to(self, inbox: Inbox, readable: list[socket.socket]) -> None:
        """The datagrams that arrived, into the sound card's inbox (the reports count the RTCP members now)."""
        channels = self.sockets.stream
        for sock in readable:
            if self.time_sync is not None and sock is self.time_sync.sock:
                self.time_sync.on_readable()
                continue
            for data, arrival_s, sender in drain(sock):
                inbox.put(channels[sock], data, arrival_s, sender)
                if channels[sock] is Channel.RTCP:
                    self.reports.on_rtcp(data, arrival_s)

    def _on_wake_up(self, now: float) -> None:
        """What both loops do at every wake-up: send the reports and time requests that are due, write the figures
        if SIGUSR1 asked, and refresh the status line when its time has come."""
        self.reports.send_if_due()
        self.stats.write_if_asked(now)
        if self.time_sync is not None:
            self.time_sync.send_if_due()
        if now >= self._next_status_s:
            self.status.show(self.receiver, now, self.config.where())
            self._next_status_s = now + STATUS_PERIOD_S


def _open_if_due(retry: Retry, opener: Callable[[], Speaker], now: float) -> Speaker | None:
    """A lost speaker, if an attempt is due and it opens; a failed attempt says nothing."""
    if not retry.due(now):
        return None
    try:
        return opener()
    except (PulseError, DeviceError):
        return None


def _deliver(inbox: Inbox, receiver: Receiver) -> None:
    """Run by the sound card's thread before it pulls: hand the receiver the datagrams that arrived."""
    for channel, data, arrival_s, sender in inbox.items():
        receiver.on_datagram(channel, data, arrival_s, sender)
