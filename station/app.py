"""`python -m station`: parse the command line into a config, wire the pieces together, run the console."""

from __future__ import annotations

import argparse
import functools
import json
import secrets
import select
import signal
import socket
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType

from rtpwire.audio import L16_MONO, L16_STEREO, AudioFormat
from rtpwire.cli import add_network_arguments, ranged
from rtpwire.net import NetworkError, open_receiver, open_sender
from rtpwire.rtcp_timing import session_bandwidth_bytes_per_s
from sound.devices import DeviceError, list_devices
from station.audience import Audience, Listener
from station.broadcaster import Broadcaster
from station.console import (ALIASES, COMMANDS, CommandError, argument_choices, execute, parse_command,
                             takes_paths)
from station.media import MediaLoader, expand_paths
from station.microphone import Microphone
from station.packetizer import Packetizer
from station.queue import PlayQueue
from station.reporter import Reporter
from station.schedule import Schedule
from station.source import FileSource, NothingPlayable
from station.terminal import PromptOptions, Vocabulary, run_console, toolbar_text

MAX_PAYLOAD_BYTES = 1200  # stays under any LAN's MTU with IP, UDP and RTP headers: never IP-fragmented
EXIT_NOTHING_PLAYABLE = 2
EXIT_NETWORK = 3
EXIT_DEVICE = 4
AUDIENCE_POLL_S = 0.2  # how soon the thread reading listeners' reports notices the station stopping
MAX_DATAGRAM_BYTES = 65536


@dataclass(frozen=True)
class StationConfig:
    paths: list[str]
    group: str
    port: int
    interface: str
    ttl: int
    name: str
    once: bool
    frame_ms: float
    channels: int
    stats_json: Path | None
    mic: str | None  # broadcast this capture device first ("" for the default one), not the files

    @property
    def fmt(self) -> AudioFormat:
        return L16_STEREO if self.channels == 2 else L16_MONO

    @property
    def samples_per_packet(self) -> int:
        return self.fmt.samples_for(self.frame_ms / 1000)

    @property
    def bitrate_kbps(self) -> float:
        """On the wire: payload plus RTP, UDP and IPv4 headers, at the packet rate."""
        packets_per_s = self.fmt.rate / self.samples_per_packet
        return packets_per_s * (self.samples_per_packet * self.fmt.bytes_per_frame + 12 + 8 + 20) * 8 / 1000

    def link(self) -> str:
        return (f"{self.group}:{self.port} (RTCP {self.port + 1}) via {self.interface}, ttl {self.ttl}, "
                f"{self.fmt.describe()}, {self.samples_per_packet} samples "
                f"({1000 * self.samples_per_packet / self.fmt.rate:.2f} ms) per packet")


def parse_args(argv: list[str] | None = None) -> StationConfig:
    parser = argparse.ArgumentParser(
        prog="python -m station",
        description="Broadcast music files, or a microphone live, as RTP (L16) on an IP multicast group, in "
                    "real time, with an operator console (a play queue, volume, MIC/FILES: HELP lists them).",
        epilog="Traffic stays on this machine unless --interface names a real network interface.")
    parser.add_argument("paths", nargs="*", metavar="PATH", default=["media"],
                        help="music files or folders, played in order and looped (default: media/)")
    add_network_arguments(parser, "send")
    parser.add_argument("--ttl", type=ranged(int, 0, 255), default=1,
                        help="multicast TTL: 1 stays on the local network, 0 on this host (default 1)")
    parser.add_argument("--name", default="Multicast Radio", help="station name shown to listeners")
    parser.add_argument("--once", action="store_true",
                        help="play the queue once (REPEAT off), send BYE and exit")
    parser.add_argument("--frame-ms", type=ranged(float, 1, 50), default=5.0,
                        help="audio per packet in milliseconds (default 5)")
    parser.add_argument("--mono", action="store_true", help="send mono (payload type 11) instead of stereo")
    parser.add_argument("--stats-json", type=Path, metavar="FILE", help="write the station's figures here at exit")
    parser.add_argument("--mic", nargs="?", const="", metavar="DEVICE",
                        help="broadcast a capture device live instead of the files (which FILES switches back "
                             "to): an index or name from --list-devices, or a PulseAudio source such as "
                             "SINK.monitor to rebroadcast what this machine plays (default: the default input)")
    parser.add_argument("--list-devices", action="store_true", help="list the audio input devices and exit")
    args = parser.parse_args(argv)
    if args.list_devices:
        print(list_devices("input"))
        parser.exit()
    config = StationConfig(paths=args.paths, group=args.group, port=args.port, interface=args.interface,
                           ttl=args.ttl, name=args.name, once=args.once, frame_ms=args.frame_ms,
                           channels=1 if args.mono else 2, stats_json=args.stats_json, mic=args.mic)
    payload = config.samples_per_packet * config.fmt.bytes_per_frame
    if payload > MAX_PAYLOAD_BYTES:
        most_ms = 1000 * (MAX_PAYLOAD_BYTES // config.fmt.bytes_per_frame) / config.fmt.rate
        parser.error(f"--frame-ms {args.frame_ms:g} makes {payload}-byte payloads; at most {most_ms:.1f} ms "
                     f"keeps them within {MAX_PAYLOAD_BYTES} bytes, so no packet is IP-fragmented")
    return config


def _error(message: str) -> None:
    print(f"station: {message}", file=sys.stderr, flush=True)


def _say(message: str) -> None:
    print(message, flush=True)


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    files, problems = expand_paths(config.paths)
    for problem in problems:
        _error(problem)
    if not files and config.mic is None:
        _error("nothing to play: give music files or folders, or --mic (see --help)")
        return EXIT_NOTHING_PLAYABLE
    loader = MediaLoader(config.fmt)
    try:
        return _run(config, files, loader)
    finally:
        loader.close()


def _run(config: StationConfig, files: list[Path], loader: MediaLoader) -> int:
    queue = PlayQueue(files, repeat="off" if config.once else "queue")
    source: FileSource | None = FileSource(queue, loader, report=_error) if files else None
    try:
        if source is not None:
            source.start()
    except NothingPlayable as e:
        _error(f"{e}; check the files above")
        if config.mic is None:
            return EXIT_NOTHING_PLAYABLE
        source = None
    mic = None
    if config.mic is not None:
        try:
            mic = Microphone.open(config.mic or None, config.fmt)
        except DeviceError as e:
            _error(str(e))
            return EXIT_DEVICE
    try:
        rtp_sock = open_sender(config.group, config.port, config.interface, config.ttl)
        rtcp_sock = open_sender(config.group, config.port + 1, config.interface, config.ttl)
        reports_sock = open_receiver(config.group, config.port + 1, config.interface)
    except NetworkError as e:
        _error(str(e))
        if mic is not None:
            mic.close()
        return EXIT_NETWORK
    ssrc = secrets.randbits(32)
    packetizer = Packetizer(config.fmt, ssrc, first_sequence=secrets.randbits(16),
                            first_timestamp=secrets.randbits(32))
    schedule = Schedule(time.monotonic() + 0.05, config.fmt.rate, config.samples_per_packet)
    reporter = Reporter(packetizer, schedule, cname=f"station-{ssrc:08x}@{socket.gethostname()}",
                        name=config.name)
    audience = AudienceFeed(Audience(ssrc, config.fmt.rate,
                                     session_bandwidth_bytes_per_s(config.fmt, config.samples_per_packet),
                                     wall_offset_s=time.time() - time.monotonic()), reports_sock)
    broadcaster = Broadcaster(source, mic, functools.partial(Microphone.open, fmt=config.fmt), packetizer,
                              reporter, rtp_sock, rtcp_sock, config.samples_per_packet, notify=_error,
                              live_spec=config.mic or None, audience=audience)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        broadcaster.stop(f"station stopped ({signal.Signals(signum).name})")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    _say(f"on the air: {config.name!r} on {config.link()}")
    _say(f"now playing: {broadcaster.now_playing().title}")
    _say("type HELP for commands")
    broadcaster.start(schedule)
    audience.start(broadcaster.stopping)

    def handle(line: str) -> str | None:
        try:
            command = parse_command(line)
        except CommandError as e:
            return f"error: {e}"
        return execute(command, broadcaster, config.link()) if command else None

    interactive = sys.stdin is not None and sys.stdin.isatty() and sys.stdout.isatty()
    try:
        run_console(handle, broadcaster.stopping, interactive, PromptOptions(
            vocabulary=Vocabulary(names=(*COMMANDS, *ALIASES), choices=argument_choices, takes_paths=takes_paths),
            toolbar=lambda: toolbar_text(broadcaster.status(), broadcaster.listener_count(), config.bitrate_kbps,
                                         f"{config.group}:{config.port}")))
    finally:
        broadcaster.stop()
        broadcaster.join(timeout_s=2.0)
        broadcaster.close()
        audience.join(timeout_s=2 * AUDIENCE_POLL_S)
        rtp_sock.close()
        rtcp_sock.close()
        reports_sock.close()
    status = broadcaster.status()
    _say(f"off the air: {status.packets_sent} packets sent, send error p50 {status.send_error_p50_ms:.2f} ms, "
         f"p99 {status.send_error_p99_ms:.2f} ms")
    if config.stats_json:
        config.stats_json.write_text(json.dumps(asdict(status), indent=2) + "\n")
    return 0


class AudienceFeed:
    """The audience behind a lock: a daemon thread feeds it what arrives on the RTCP port (listeners' reports,
    and the station's own packets, which it ignores), while the console reads it."""

    def __init__(self, audience: Audience, sock: socket.socket) -> None:
        self._audience = audience
        self._sock = sock
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self, stopping: threading.Event) -> None:
        """Reads until `stopping` is set, and notices it within AUDIENCE_POLL_S."""
        self._thread = threading.Thread(target=self._run, args=(stopping,), name="audience", daemon=True)
        self._thread.start()

    def join(self, timeout_s: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout_s)

    def listeners(self, now: float) -> list[Listener]:
        with self._lock:
            return self._audience.listeners(now)

    def count(self, now: float) -> int:
        with self._lock:
            return self._audience.count(now)

    def _run(self, stopping: threading.Event) -> None:
        while not stopping.is_set():
            readable, _, _ = select.select([self._sock], [], [], AUDIENCE_POLL_S)
            if not readable:
                continue
            try:
                while True:  # the socket does not block: every datagram waiting, then BlockingIOError
                    data = self._sock.recv(MAX_DATAGRAM_BYTES)
                    with self._lock:
                        self._audience.on_rtcp(data, time.monotonic())
            except (BlockingIOError, InterruptedError):
                pass
