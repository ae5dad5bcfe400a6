"""`python -m station`: the config (`station.config`) wired into a station, on the air until the console ends."""

from __future__ import annotations

import functools
import secrets
import signal
import socket
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from types import FrameType

from rtpwire.fec import REPAIR_PORT_OFFSET
from rtpwire.net import NetworkError, open_receiver, open_sender, open_unicast_server
from rtpwire.rtcp_timing import session_bandwidth_bytes_per_s
from rtpwire.sap import sap_address
from rtpwire.srtp import SrtpReceiver, SrtpSender
from stats.file import StatsFile
from sound.wallclock import wall_minus_monotonic_s
from sound.devices import DeviceError
from station.announcements import Announcements
from station.announcer import Announcer
from station.audience import Audience
from station.audience_feed import AudienceFeed
from station.broadcaster import Broadcaster
from station.config import StationConfig, parse_args
from station.console import ALIASES, COMMANDS, About, Commands, argument_choices, takes_paths
from station.control import Station
from station.status_document import Identity
from station.icecast import FeedSettings, IcecastFeeds
from station.media import MediaLoader, expand_paths
from station.microphone import Microphone
from station.onair import OnAir
from station.packetizer import Packetizer
from station.queue import PlayQueue
from sound.realtime import raise_priority
from station.reporter import Reporter
from station.schedule import Schedule
from station.serving import POLL_S
from station.source import FileSource, NothingPlayable
from station.time_service import TimeService

EXIT_NOTHING_PLAYABLE = 2
EXIT_NETWORK = 3
EXIT_DEVICE = 4
EXIT_SDP_FILE = 5


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
    if config.realtime and (note := raise_priority()):  # before any thread or process starts: they inherit it
        _error(note)
        config = replace(config, realtime=False)
    ssrc = secrets.randbits(32)  # names the stream in RTP and RTCP, and the session in its SDP
    try:
        announcer = Announcer(config.describe(session_id=ssrc))
    except NetworkError as e:
        _error(str(e))
        return EXIT_NETWORK
    if config.sdp_path is not None:
        try:
            config.sdp_path.write_text(str(announcer.description("")), newline="")
        except OSError as e:
            _error(f"cannot write the SDP to {config.sdp_path}: {e.strerror or e}")
            return EXIT_SDP_FILE
    loader = MediaLoader(config.fmt)
    try:
        return _run(config, files, loader, ssrc, announcer)
    finally:
        loader.close()


def _run(config: StationConfig, files: list[Path], loader: MediaLoader, ssrc: int, announcer: Announcer) -> int:
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
        repair_sock = (open_sender(config.group, config.port + REPAIR_PORT_OFFSET, config.interface, config.ttl)
                       if config.coding.fec else None)
        reports_sock = open_receiver(config.group, config.port + 1, config.interface)
        time_sock = _open_time_port(config)
        sap_sock = open_sender(*sap_address(config.group), config.interface, config.ttl) if config.sap else None
    except NetworkError as e:
        _error(str(e))
        if mic is not None:
            mic.close()
        return EXIT_NETWORK
    schedule = Schedule(time.monotonic() + 0.05, config.fmt.rate, config.samples_per_packet)
    wall_offset_s = wall_minus_monotonic_s()  # the station's clock: its packets', its reports', its time service's
    packetizer = Packetizer(config.fmt, ssrc, first_sequence=secrets.randbits(16),
                            first_timestamp=secrets.randbits(32), encode=config.coding.encoder(),
                            clock_origin_s=schedule.start_s + wall_offset_s, latency_s=config.latency_ms / 1000)
    reporter = Reporter(packetizer, schedule, cname=f"station-{ssrc:08x}@{socket.gethostname()}",
                        name=config.name)
    audience = AudienceFeed(Audience(ssrc, config.fmt.rate,
                                     session_bandwidth_bytes_per_s(config.fmt, config.samples_per_packet,
                                                                   config.coding.payload_bytes),
                                     wall_offset_s=wall_offset_s,
                                     srtp=SrtpReceiver(config.key) if config.key is not None else None),
                            reports_sock)
    onair = OnAir(source, mic, packetizer, reporter, schedule, wall_offset_s,
                  srtp=SrtpSender(config.key) if config.key is not None else None,
                  fec=config.coding.fec_encoder(ssrc=secrets.randbits(32), first_sequence=secrets.randbits(16)))
    icecast = IcecastFeeds(list(config.icecast), FeedSettings(
        rate=config.fmt.rate, channels=config.fmt.channels, slot_frames=config.samples_per_packet,
        bitrate_kbps=config.icecast_bitrate_kbps, name=config.name, description=config.description),
        notify=_error) if config.icecast else None
    broadcaster = Broadcaster(onair, rtp_sock, rtcp_sock, notify=_error, realtime=config.realtime,
                              repair_sock=repair_sock, programme=icecast.offer if icecast is not None else None)
    station = Station(onair, broadcaster, functools.partial(Microphone.open, fmt=config.fmt),
                      live_spec=config.mic or None, audience=audience, icecast=icecast)
    time_service = TimeService(time_sock, wall_offset_s) if time_sock is not None else None
    announcements = Announcements(announcer, title=lambda: station.now_playing().title)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        station.stop(f"station stopped ({signal.Signals(signum).name})")

    def figures(_now: float) -> dict[str, object]:
        return (asdict(station.status()) | (time_service.stats() if time_service is not None else {})
                | {"icecast": station.icecast_figures()})

    commands = Commands(station, About(config.link(), announcements.description))
    web = None
    if config.http is not None:
        from station.web_server import serve  # aiohttp only when asked for: a fifth of a second to import
        try:
            web, url = serve(station, commands, Identity(config.name, config.group, config.port, config.codec()),
                             config.http_token, config.http)
        except NetworkError as e:
            _error(str(e))
            broadcaster.close()
            return EXIT_NETWORK
    if sap_sock is not None:
        announcements.start(sap_sock, broadcaster.stopping)
    stats = StatsFile(config.stats_json, figures)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGUSR1, stats.write_soon)
    _say(f"on the air: {config.name!r} on {config.link()}"
         + (", encrypted (SRTP)" if config.key is not None else ""))
    _say(f"listeners play {config.latency_ms:g} ms after the station's clock" + (
        f"; time service on {time_sock.getsockname()[0]}:{config.time_port} (for listeners' --time-sync)"
        if time_sock is not None else ""))
    _say(f"now playing: {station.now_playing().title}")
    if web is not None:
        _say(f"dashboard: {url}")
    _say("type HELP for commands")
    if icecast is not None:
        icecast.start()
    broadcaster.start()
    audience.start(broadcaster.stopping)
    if time_service is not None:
        time_service.start(broadcaster.stopping)
    # the console's terminal library (prompt_toolkit: a tenth of a second to import) once the station is on the air
    from station.terminal import PromptOptions, Vocabulary, run_console, toolbar_text

    interactive = sys.stdin is not None and sys.stdin.isatty() and sys.stdout.isatty()
    try:
        run_console(commands.answer, broadcaster.stopping, interactive, PromptOptions(
            vocabulary=Vocabulary(names=(*COMMANDS, *ALIASES), choices=argument_choices, takes_paths=takes_paths),
            toolbar=lambda: toolbar_text(station.status(), station.listener_count(), config.bitrate_kbps,
                                         f"{config.group}:{config.port}", station.icecast_listener_count())))
    finally:
        broadcaster.stop()
        broadcaster.join(timeout_s=2.0)
        broadcaster.close()
        if icecast is not None:
            icecast.close()
        if web is not None:
            web.close()
        audience.join(timeout_s=2 * POLL_S)
        if time_service is not None:
            time_service.join(timeout_s=2 * POLL_S)
        announcements.join(2 * POLL_S)
        for sock in (rtp_sock, rtcp_sock, repair_sock, reports_sock, time_sock, sap_sock):
            if sock is not None:
                sock.close()
    status = station.status()
    _say(f"off the air: {status.packets_sent} packets sent, send error p50 {status.send_error_p50_ms:.2f} ms, "
         f"p99 {status.send_error_p99_ms:.2f} ms")
    stats.write(time.monotonic())
    return 0


def _open_time_port(config: StationConfig) -> socket.socket | None:
    """The time service's socket, None if --time-port 0 asked for none."""
    if not config.time_port:
        return None
    try:
        return open_unicast_server(config.interface, config.time_port)
    except NetworkError as e:
        raise NetworkError(f"{e} (is another station using it? --time-port chooses another port, 0 none)") from None
