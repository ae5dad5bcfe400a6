"""`python -m listener`: parse the command line into a config, wire sockets, receiver and output, and run."""

from __future__ import annotations

import argparse
import functools
import math
import random
import secrets
import select
import signal
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType

from listener.clock_sync import ClockSync
from listener.outputs import (SPEAKER_ADVICE, Inbox, NullOutput, OutputError, PacedOutput, Speaker, WavOutput,
                              open_speaker)
from listener.receiver import LatencySource, Receiver, ReceiverConfig
from listener.receiver_reports import ReceiverReporter
from listener.status import status_key, status_line
from listener.discovery import LIST_S, StationNotFound, find_station, listen, station_table, where
from rtpwire.audio import L16_STEREO, AudioFormat
from cli.arguments import DEFAULT_GROUP, DEFAULT_PORT, add_key_argument, add_network_arguments, ranged, read_key
from rtpwire.errors import WireError
from rtpwire.net import (Address, DatagramSender, NetworkError, SealedSender, drain, enable_arrival_times,
                         open_receiver, open_sender, open_unicast_client)
from rtpwire.nowplaying import DEFAULT_LATENCY_S
from rtpwire.rtcp_timing import session_bandwidth_bytes_per_s
from rtpwire.sdp import StreamDescription
from rtpwire.srtp import SrtpSender
from stats.file import StatsFile
from sound.wallclock import wall_minus_monotonic_s
from sound.devices import DeviceError, find_device, list_devices

PERIOD_S = 0.01  # playout period: what a sound card pulls at a time, and what paced outputs read at a time
PACED_WAKE_S = 0.1  # paced outputs wake this often and catch up on the periods due since, in time order
STATUS_PERIOD_S = 0.25
REPORT_TTL = 1  # receiver reports are for the station on this network, never beyond
TYPICAL_PACKET_S = 0.005  # the station's default --frame-ms: headers are 4 % of the stream, other sizes change little
DEFAULT_MAX_LATENCY_MS = 500.0
EXIT_NETWORK = 3
EXIT_OUTPUT = 4
EXIT_NOT_FOUND = 5


@dataclass(frozen=True)
class ListenerConfig:
    group: str
    port: int
    interface: str
    output: str  # "auto", "speaker", "null" or a .wav path
    device: str | None  # the speaker: a PortAudio index or name, or a PulseAudio sink; None for the default
    duration_s: float | None
    latency_ms: float  # to start with: the station's announcement replaces it unless it came from the command line
    latency_source: LatencySource
    max_latency_ms: float
    stats_json: Path | None
    quiet: bool
    time_sync_at: tuple[str, int | None] | None = None  # the time service asked for: host, port (None: default)
    fmt: AudioFormat = L16_STEREO  # what is played: a stream's SDP says, else L16 stereo at 44.1 kHz
    station: str | None = None  # join the station announced (SAP) by this name: group, port and format
    list_stations: bool = False  # only list the stations announced, and exit
    key: bytes | None = None  # SRTP's master key and salt: only what authenticates is played
    source_ip: str | None = None  # the one address the stream comes from, as its description says
    encrypted: bool = False  # its description says it is SRTP

    @property
    def time_sync(self) -> tuple[str, int] | None:
        """The station's time service (host, port), if asked: by default on the stream's port + 2, which an SDP
        file or a station's announcement may have chosen."""
        if self.time_sync_at is None:
            return None
        host, port = self.time_sync_at
        return host, self.port + 2 if port is None else port

    def where(self) -> str:
        return f"{self.group}:{self.port} via {self.interface}"

    def joining(self, description: StreamDescription) -> ListenerConfig:
        """This config, for the stream `description` describes: its group, port and format."""
        return replace(self, group=description.group, port=description.port, fmt=description.fmt,
                       source_ip=description.source, encrypted=description.encrypted)


def _output(text: str) -> str:
    if text in ("auto", "speaker", "null") or text.lower().endswith(".wav"):
        return text
    raise argparse.ArgumentTypeError(f"expected speaker, null or a FILE.wav, got {text!r}")


def _host_port(text: str) -> tuple[str, int | None]:
    """An argparse type: HOST or HOST:PORT (the port None if not given)."""
    host, colon, port = text.rpartition(":")
    if not colon:
        return text, None
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"expected HOST or HOST:PORT (a port from 1 to 65535), got {text!r}")
    return host, int(port)


def parse_args(argv: list[str] | None = None) -> ListenerConfig:
    parser = argparse.ArgumentParser(
        prog="python -m listener",
        description="Join a multicast radio station and play it (or record it) behind a jitter buffer: the "
                    "one on --group, one found by name (--station), or the stream an SDP file describes (our "
                    "station's --sdp, ffmpeg's -sdp_file): L16, 44.1 or 48 kHz, mono or stereo.")
    parser.add_argument("sdp", nargs="?", type=Path, metavar="FILE.sdp",
                        help="join the stream this SDP description describes (instead of --group and --port)")
    add_network_arguments(parser, "listen")
    parser.add_argument("--list", action="store_true",
                        help=f"list the stations announced (SAP) on the network within {LIST_S:g} s: name, "
                             "group:port, format, now playing; and exit")
    parser.add_argument("--station", metavar="NAME",
                        help="join the station announced by this name (as --list shows it; letter case aside)")
    parser.add_argument("--output", type=_output, default="auto", metavar="speaker|null|FILE.wav",
                        help="play through the sound card, discard, or record exactly what would be played "
                             "(default: speaker if there is an output device, else null)")
    parser.add_argument("--device", metavar="NAME|INDEX",
                        help="the output device for speaker: an index or name from --list-devices, or a "
                             "PulseAudio sink name (default: the system's default output)")
    parser.add_argument("--list-devices", action="store_true", help="list the audio output devices and exit")
    parser.add_argument("--duration", type=ranged(float, 0.01), metavar="SECONDS",
                        help="stop by itself after this long")
    parser.add_argument("--latency-ms", type=ranged(float, 1, 1000),
                        help="station clock to playout, the least the jitter buffer's target adapts down to; "
                             "given, it overrides the latency the station announces to keep all its listeners "
                             f"in step (default: the station's, {DEFAULT_LATENCY_S * 1000:g} until heard)")
    parser.add_argument("--max-latency-ms", type=ranged(float, 1, 2000),
                        help="the most the target grows to when the network's jitter needs it (default "
                             f"{DEFAULT_MAX_LATENCY_MS:g}, or the latency in use if that is more)")
    parser.add_argument("--time-sync", type=_host_port, metavar="HOST[:PORT]",
                        help="learn the station's clock from its time service at HOST (port: --port + 2 "
                             "unless given), for a listener on another machine whose clock is not kept in "
                             "step with the station's by NTP or PTP")
    parser.add_argument("--stats-json", type=Path, metavar="FILE",
                        help="write reception figures here at exit, and whenever SIGUSR1 asks (the figures so far)")
    parser.add_argument("--quiet", action="store_true", help="no status line")
    add_key_argument(parser)
    args = parser.parse_args(argv)
    if args.list_devices:
        print(list_devices("output"))
        parser.exit()
    output = "speaker" if args.output == "auto" and args.device is not None else args.output
    if args.device is not None and output != "speaker":
        parser.error(f"--device chooses the speaker; it does nothing with --output {output}")
    if args.latency_ms is None:
        latency_ms, latency_source = DEFAULT_LATENCY_S * 1000, LatencySource.DEFAULT
    else:
        latency_ms, latency_source = args.latency_ms, LatencySource.COMMAND_LINE
    max_latency_ms = max(DEFAULT_MAX_LATENCY_MS, latency_ms) if args.max_latency_ms is None \
        else args.max_latency_ms
    if max_latency_ms < latency_ms:
        parser.error(f"--max-latency-ms ({max_latency_ms:g}) must be at least --latency-ms ({latency_ms:g})")
    chosen = [text for text, given in (("FILE.sdp", args.sdp is not None), ("--station", args.station is not None),
                                       ("--list", args.list)) if given]
    if len(chosen) > 1:
        parser.error(f"{' and '.join(chosen)} each choose what to do; give one")
    if chosen and chosen != ["--list"] and (args.group, args.port) != (DEFAULT_GROUP, DEFAULT_PORT):
        parser.error(f"{chosen[0]} says where the stream is; --group and --port do not go with it")
    config = ListenerConfig(group=args.group, port=args.port, interface=args.interface, output=output,
                            device=args.device, duration_s=args.duration, latency_ms=latency_ms,
                            latency_source=latency_source, max_latency_ms=max_latency_ms,
                            stats_json=args.stats_json, quiet=args.quiet, time_sync_at=args.time_sync,
                            station=args.station, list_stations=args.list, key=read_key(parser, args.key_file))
    if args.sdp is not None:
        config = config.joining(_read_sdp(parser, args.sdp))
    return config


def _read_sdp(parser: argparse.ArgumentParser, path: Path) -> StreamDescription:
    try:
        return StreamDescription.parse(path.read_bytes())
    except OSError as e:
        parser.error(f"cannot read {path}: {e.strerror or e}")
    except WireError as e:
        parser.error(f"{path}: {e}")


class StatusPrinter:
    """Refreshes one line in place on a terminal; elsewhere prints a line only when the state changes."""

    def __init__(self, quiet: bool) -> None:
        self._quiet = quiet
        self._tty = sys.stderr.isatty()
        self._last_key = ""

    def show(self, line: Callable[[], str], key: str) -> None:
        """`line` is made only if it is printed: it reads every figure, percentiles too, which is not free for
        a hundred listeners on one machine refreshing four times a second."""
        if self._quiet:
            return
        if self._tty:
            print(f"\r\x1b[K{line()}", end="", file=sys.stderr, flush=True)
        elif key != self._last_key:
            print(line(), file=sys.stderr, flush=True)
        self._last_key = key

    def close(self) -> None:
        if self._tty and not self._quiet:
            print(file=sys.stderr)


def _say(message: str) -> None:
    print(f"listener: {message}", file=sys.stderr, flush=True)


class Reports:
    """The listener's receiver reports on the wire, sent from the main thread: never from the sound card's, which
    must not block. With a speaker, the figures are read while that thread updates them, as the status line's
    are: a report may miss the packet being counted at that very instant, and the next one has it.

    The clock is read just before sending: the delay since the last SR a report carries must end when it leaves,
    or the station's round trip would include however long the loop slept since its own reading."""

    def __init__(self, reporter: ReceiverReporter, receiver: Receiver, sock: DatagramSender) -> None:
        self._reporter = reporter
        self._receiver = receiver
        self._sock = sock

    def on_rtcp(self, data: bytes, now: float) -> None:
        self._reporter.on_rtcp(data, now)

    def send_if_due(self) -> None:
        now = time.monotonic()
        if self._reporter.due(now):
            self._send(self._reporter.report(self._receiver.report_block(now), now))

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
    """The time-sync exchange on the wire, from the main thread: requests out when due, answers in, and each new
    estimate handed to the receiver (which takes it up at its next read, in whichever thread reads). The clock
    is read just before sending, as for receiver reports; answers carry the kernel's arrival stamp."""

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


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    try:
        if config.list_stations:
            return _list_stations(config)
        if config.station is not None:
            config = _find(config, config.station)
    except NetworkError as e:
        _say(str(e))
        return EXIT_NETWORK
    except StationNotFound as e:
        _say(str(e))
        return EXIT_NOT_FOUND
    except KeyboardInterrupt:
        return 130
    if config.encrypted and config.key is None:
        _say("the stream is encrypted (SRTP; its description says so): without its key (--key-file FILE) "
             "nothing can be played; listening all the same")
    try:
        rtp_sock = open_receiver(config.group, config.port, config.interface)
        rtcp_sock = open_receiver(config.group, config.port + 1, config.interface)
        report_sock = open_sender(config.group, config.port + 1, config.interface, ttl=REPORT_TTL)
        time_sock = open_unicast_client(*config.time_sync) if config.time_sync else None
    except NetworkError as e:
        _say(str(e))
        return EXIT_NETWORK
    for sock in (rtp_sock, rtcp_sock):
        enable_arrival_times(sock)
    wall_offset_s = wall_minus_monotonic_s()
    fmt = config.fmt
    receiver = Receiver(ReceiverConfig(fmt, config.latency_ms / 1000, wall_offset_s,
                                       max_latency_s=config.max_latency_ms / 1000,
                                       latency_source=config.latency_source, srtp_key=config.key,
                                       source_ip=config.source_ip), time.monotonic())
    time_sync = TimeSync(ClockSync(wall_offset_s), receiver, time_sock) if time_sock is not None else None
    ssrc = secrets.randbits(32)
    reporter = ReceiverReporter(ssrc, f"listener-{ssrc:08x}@{socket.gethostname()}",
                                session_bandwidth_bytes_per_s(fmt, fmt.samples_for(TYPICAL_PACKET_S)),
                                time.monotonic(), random.Random())
    reports = Reports(reporter, receiver, report_sock if config.key is None
                      else SealedSender(report_sock, SrtpSender(config.key).protect_rtcp))
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    def figures(now: float) -> dict[str, object]:
        return receiver.stats(now) | (time_sync.clock.stats() if time_sync else {})

    stats = StatsFile(config.stats_json, figures)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGUSR1, stats.ask)
    status = StatusPrinter(config.quiet)
    end_s = time.monotonic() + config.duration_s if config.duration_s else float("inf")
    extra_stats: dict[str, object] = {}
    try:
        output = _choose_output(config)
        if not config.quiet:
            latency = (f"latency {config.latency_ms:g} ms" if config.latency_source is LatencySource.COMMAND_LINE
                       else f"the station's latency ({config.latency_ms:g} ms until it says)")
            clock = f", its clock from {config.time_sync[0]}:{config.time_sync[1]}" if config.time_sync else ""
            _say(f"listening on {config.where()}, output {output}, {latency} "
                 f"(up to {config.max_latency_ms:g} ms on a network with jitter){clock}, "
                 f"reporting as {reporter.cname}")
        if output == "speaker":
            inbox = Inbox()
            speaker = open_speaker(fmt, config.device, feed=functools.partial(_deliver, inbox, receiver),
                                   pull=receiver.read, frames_per_buffer=fmt.samples_for(PERIOD_S))
            try:
                _run_speaker(end_s, receiver, speaker, inbox, rtp_sock, rtcp_sock, stop, status, config.where(),
                             reports, time_sync, stats)
            finally:
                speaker.close()
                extra_stats = speaker.stats()
            _deliver(inbox, receiver)  # what the device did not live to take
            output = "null"  # the device stopped: go on receiving, and counting, without it
        sink: PacedOutput = NullOutput() if output == "null" else WavOutput(Path(output), fmt)
        try:
            _run_paced(end_s, receiver, sink, rtp_sock, rtcp_sock, stop, status, config.where(), reports,
                       time_sync, stats)
        finally:
            sink.close()
    except (OutputError, DeviceError) as e:
        _say(str(e))
        return EXIT_OUTPUT
    finally:
        status.close()
        reports.leave()
        rtp_sock.close()
        rtcp_sock.close()
        report_sock.close()
        if time_sock is not None:
            time_sock.close()
    stats.write(time.monotonic(), extra_stats)
    return 0


def _list_stations(config: ListenerConfig) -> int:
    """--list: the stations announced within LIST_S, as a table on stdout (and why others are not in it)."""
    if not config.quiet:
        _say(f"listening for station announcements on {where(config.group, config.interface)} for {LIST_S:g} s")
    directory = listen(config.group, config.interface, LIST_S)
    stations = directory.stations()
    if stations:
        print(station_table(stations), flush=True)
    else:
        _say(f"no station announced on {where(config.group, config.interface)} within {LIST_S:g} s")
    if directory.unplayable:
        _say(f"{directory.unplayable} other announcement(s) not playable here, the last: "
             f"{directory.last_unplayable}")
    return 0


def _find(config: ListenerConfig, name: str) -> ListenerConfig:
    """--station NAME: the config joining the station announced by that name."""
    if not config.quiet:
        _say(f"looking for the station {name!r} on {where(config.group, config.interface)}")
    station, namesakes = find_station(name, config.group, config.interface)
    if namesakes:
        others = ", ".join(f"{s.description.group}:{s.description.port}" for s in namesakes)
        _say(f"other stations are named {name!r} too ({others}); joining the first heard")
    return config.joining(station.description)


def _choose_output(config: ListenerConfig) -> str:
    if config.output != "auto":
        return config.output
    try:
        find_device(None, "output", SPEAKER_ADVICE)
    except DeviceError:
        if not config.quiet:
            _say("no audio output device: receiving without playing (--output FILE.wav records)")
        return "null"
    return "speaker"


def _run_paced(end_s: float, receiver: Receiver, sink: PacedOutput, rtp_sock: socket.socket,
               rtcp_sock: socket.socket, stop: threading.Event, status: StatusPrinter, where: str,
               reports: Reports, time_sync: TimeSync | None, stats: StatsFile) -> None:
    """Pull each period's samples at its deadline, as a sound card would, after exactly the datagrams that had
    arrived by then. The loop wakes neither for each packet nor for each period but every PACED_WAKE_S, drains
    the sockets, and replays what happened meanwhile in time order: datagrams by the kernel's arrival stamps,
    interleaved with the periods' deadlines. What plays, and every figure (a packet that arrived after its
    deadline is late all the same), are those of a loop that woke at every deadline, for a tenth of the
    wake-ups: on a small machine a wake-up costs more than the work it brings (about 90 µs), and a hundred
    listeners on one machine are what the throughput batch runs. The last wake-up catches up to the end."""
    frames = receiver.config.fmt.samples_for(PERIOD_S)
    period_s = frames / receiver.config.fmt.rate
    next_s = next_status_s = time.monotonic()
    while True:
        now = time.monotonic()
        if time_sync is not None:
            time_sync.on_readable()
        waiting = _arrivals(rtp_sock, rtcp_sock)
        drained_s = time.monotonic()
        while next_s <= now and next_s < end_s:
            _hand_over(waiting, next_s, receiver, reports)
            sink.write(receiver.read(frames, next_s))
            next_s += period_s
        _hand_over(waiting, math.inf, receiver, reports)
        next_status_s = _send_due_and_show(drained_s, next_status_s, receiver, reports, time_sync, where, status,
                                           stats)
        if stop.is_set() or now >= end_s:
            return
        time.sleep(max(0.0, min(now + PACED_WAKE_S, end_s) - time.monotonic()))


Arrival = tuple[float, bool, bytes, Address]  # arrival time, RTP (or RTCP), the datagram, its sender


def _arrivals(rtp_sock: socket.socket, rtcp_sock: socket.socket) -> deque[Arrival]:
    """Every datagram waiting on the stream's sockets, in order of arrival."""
    waiting = [(arrival_s, True, data, sender) for data, arrival_s, sender in drain(rtp_sock)]
    waiting += [(arrival_s, False, data, sender) for data, arrival_s, sender in drain(rtcp_sock)]
    waiting.sort(key=lambda arrival: arrival[0])
    return deque(waiting)


def _hand_over(waiting: deque[Arrival], until_s: float, receiver: Receiver, reports: Reports) -> None:
    """Hand the receiver (and the reports, RTCP) the datagrams waiting that arrived by `until_s`, in order."""
    while waiting and waiting[0][0] <= until_s:
        arrival_s, is_rtp, data, sender = waiting.popleft()
        if is_rtp:
            receiver.on_rtp(data, arrival_s, sender)
        else:
            receiver.on_rtcp(data, arrival_s, sender)
            reports.on_rtcp(data, arrival_s)


def _deliver(inbox: Inbox, receiver: Receiver) -> None:
    """Run by the sound card's thread before it pulls: hand the receiver the datagrams that arrived."""
    for is_rtp, data, arrival_s, sender in inbox.items():
        (receiver.on_rtp if is_rtp else receiver.on_rtcp)(data, arrival_s, sender)


def _run_speaker(end_s: float, receiver: Receiver, speaker: Speaker, inbox: Inbox, rtp_sock: socket.socket,
                 rtcp_sock: socket.socket, stop: threading.Event, status: StatusPrinter, where: str,
                 reports: Reports, time_sync: TimeSync | None, stats: StatsFile) -> None:
    """The sound card pulls in its stream's thread (libpulse's writer, or PortAudio's callback); this thread only
    moves datagrams into its inbox (and runs the time-sync exchange), and returns early if the device stops
    pulling."""
    next_status_s = 0.0
    waited = [rtp_sock, rtcp_sock] + ([time_sync.sock] if time_sync is not None else [])
    while not stop.is_set() and (now := time.monotonic()) < end_s:
        if speaker.stalled(now):
            _say(f"audio output {speaker.device.describe()} stopped (device gone?); still receiving, not playing")
            return
        readable, _, _ = select.select(waited, [], [], STATUS_PERIOD_S)
        for sock in readable:
            if time_sync is not None and sock is time_sync.sock:
                time_sync.on_readable()
                continue
            for data, arrival_s, sender in drain(sock):
                inbox.put(sock is rtp_sock, data, arrival_s, sender)
                if sock is rtcp_sock:
                    reports.on_rtcp(data, arrival_s)
        next_status_s = _send_due_and_show(now, next_status_s, receiver, reports, time_sync, where, status, stats)


def _send_due_and_show(now: float, next_status_s: float, receiver: Receiver, reports: Reports,
                       time_sync: TimeSync | None, where: str, status: StatusPrinter, stats: StatsFile) -> float:
    """What both loops do at every wake-up: send the reports and time requests that are due, write the figures
    if SIGUSR1 asked, and refresh the status line when its time has come; when it is next due."""
    reports.send_if_due()
    stats.write_if_asked(now)
    if time_sync is not None:
        time_sync.send_if_due()
    if now < next_status_s:
        return next_status_s
    status.show(functools.partial(status_line, receiver, now, where), key=status_key(receiver, now))
    return now + STATUS_PERIOD_S
