"""`python -m listener`: parse the command line into a config, and start the session (or list the stations)."""

from __future__ import annotations

import argparse
import signal
from pathlib import Path
from types import FrameType

from cli.arguments import DEFAULT_GROUP, DEFAULT_PORT, add_key_argument, add_network_arguments, ranged, read_key
from listener.config import ListenerConfig
from listener.discovery import LIST_S, StationNotFound, find_station, listen, station_table, where
from listener.playout import LatencySource
from listener.room import VOLUME_STEP, ChannelChoice
from listener.session import Session, Sockets
from listener.status import say
from rtpwire.errors import WireError
from rtpwire.net import NetworkError
from rtpwire.nowplaying import DEFAULT_LATENCY_S
from rtpwire.rtcp import MAX_ITEM_BYTES
from rtpwire.sdp import StreamDescription
from sound.devices import list_devices

DEFAULT_MAX_LATENCY_MS = 500.0
EXIT_NETWORK = 3
EXIT_NOT_FOUND = 5


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


def _sdes_name(text: str) -> str:
    """An argparse type: a name that fits in the SDES NAME item of the receiver reports, refused if it would be cut."""
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise argparse.ArgumentTypeError(f"a name is UTF-8 text; {text!r} is not") from None
    if not 1 <= size <= MAX_ITEM_BYTES:
        raise argparse.ArgumentTypeError(f"a name is 1 to {MAX_ITEM_BYTES} bytes of UTF-8, not {size}")
    return text


def parse_args(argv: list[str] | None = None) -> ListenerConfig:
    parser = argparse.ArgumentParser(
        prog="python -m listener",
        description="Join a multicast radio station and play it (or record it) behind a jitter buffer: the "
                    "one on --group, one found by name (--station), or the stream an SDP file describes (our "
                    "station's --sdp, ffmpeg's -sdp_file): L16 (44.1 or 48 kHz, mono or stereo) or Opus, whose "
                    "dynamic payload type only its SDP or announcement describes; with the station's repair "
                    "packets (FEC) whenever they come.")
    parser.add_argument("sdp", nargs="?", type=Path, metavar="FILE.sdp",
                        help="join the stream this SDP description describes (instead of --group and --port)")
    add_network_arguments(parser, "listen")
    parser.add_argument("--list", action="store_true",
                        help=f"list the stations announced (SAP) on the network within {LIST_S:g} s: name, "
                             "group:port, format, now playing; and exit")
    parser.add_argument("--station", metavar="NAME",
                        help="join the station announced by this name (as --list shows it; letter case aside)")
    parser.add_argument("--name", type=_sdes_name, metavar="NAME",
                        help="this listener's name, sent with its receiver reports (RTCP SDES NAME) for the "
                             f"station's LISTENERS, e.g. the room it plays in; UTF-8, at most {MAX_ITEM_BYTES} bytes "
                             "(default: none, the station shows its CNAME only)")
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
    parser.add_argument("--delay-ms", type=ranged(float, -1000, 1000), default=0.0, metavar="MS",
                        help="play this much later than the other listeners (a speaker further away), or, "
                             "negative, earlier (a sink that adds latency of its own), down to 1 ms after the "
                             "station's clock; it stays exactly that far from them (default 0)")
    parser.add_argument("--channel", choices=[choice.value for choice in ChannelChoice],
                        help="play the stream's left or right channel on every output channel, or their average "
                             "(mono), or both as sent (default: stereo; mono on a speaker with one channel)")
    parser.add_argument("--volume", type=ranged(int, 0, 100), default=100, metavar="0-100",
                        help="in percent of the stream's amplitude; 100 leaves the samples untouched (default). "
                             f"On a terminal, + and - change it by {VOLUME_STEP} and m mutes")
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
                            station=args.station, list_stations=args.list, key=read_key(parser, args.key_file),
                            delay_ms=args.delay_ms, volume=args.volume, name=args.name,
                            channels=ChannelChoice(args.channel) if args.channel else None)
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


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    try:
        if config.list_stations:
            return _list_stations(config)
        if config.station is not None:
            config = _find(config, config.station)
    except NetworkError as e:
        say(str(e))
        return EXIT_NETWORK
    except StationNotFound as e:
        say(str(e))
        return EXIT_NOT_FOUND
    except KeyboardInterrupt:
        return 130
    if config.encrypted and config.key is None:
        say("the stream is encrypted (SRTP; its description says so): without its key (--key-file FILE) "
            "nothing can be played; listening all the same")
    try:
        session = Session(config, Sockets.open(config))
    except NetworkError as e:
        say(str(e))
        return EXIT_NETWORK

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        session.stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGUSR1, session.stats.ask)
    return session.run()


def _list_stations(config: ListenerConfig) -> int:
    """--list: the stations announced within LIST_S, as a table on stdout (and why others are not in it)."""
    if not config.quiet:
        say(f"listening for station announcements on {where(config.group, config.interface)} for {LIST_S:g} s")
    directory = listen(config.group, config.interface, LIST_S)
    stations = directory.stations()
    if stations:
        print(station_table(stations), flush=True)
    else:
        say(f"no station announced on {where(config.group, config.interface)} within {LIST_S:g} s")
    if directory.unplayable:
        say(f"{directory.unplayable} other announcement(s) not playable here, the last: "
             f"{directory.last_unplayable}")
    return 0


def _find(config: ListenerConfig, name: str) -> ListenerConfig:
    """--station NAME: the config joining the station announced by that name."""
    if not config.quiet:
        say(f"looking for the station {name!r} on {where(config.group, config.interface)}")
    station, namesakes = find_station(name, config.group, config.interface)
    if namesakes:
        others = ", ".join(f"{s.description.group}:{s.description.port}" for s in namesakes)
        say(f"other stations are named {name!r} too ({others}); joining the first heard")
    return config.joining(station.description)
