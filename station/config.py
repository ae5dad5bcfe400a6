"""The station's command line (`python -m station --help`) parsed into its config, checked as a whole: what
`station.app` wires the station from."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from cli.arguments import DEFAULT_INTERFACE, add_key_argument, add_network_arguments, http_address, ranged, read_key
from rtpwire.audio import AudioFormat
from rtpwire.fec import REPAIR_PORT_OFFSET
from rtpwire.net import interface_address
from rtpwire.nowplaying import DEFAULT_LATENCY_S, MAX_LATENCY_US
from rtpwire.rapid_sync import CLOCK_ID, LATENCY_ID
from rtpwire.sdp import Origin, StreamDescription
from rtpwire.srtp import generate_key
from sound.devices import list_devices
from station.coding import Coding, add_coding_arguments, coding_from
from station.icecast_target import IcecastTarget, parse_target
from station.web_api import TokenError, new_token, read_token

MAX_PAYLOAD_BYTES = 1200  # stays under any LAN's MTU with IP, UDP and RTP headers: never IP-fragmented
TOOL = "multicast-radio"  # the SDP's a=tool


@dataclass(frozen=True)
class StationConfig:
    paths: list[str]
    group: str
    port: int
    interface: str
    ttl: int
    name: str
    once: bool
    coding: Coding  # the codec, its packets and their FEC
    stats_json: Path | None
    mic: str | None  # broadcast this capture device first ("" for the default one), not the files
    latency_ms: float  # announced: every listener plays each sample this long after the station's clock
    time_port: int  # the time-sync service's UDP port on the interface's address; 0: none
    realtime: bool  # pace under real-time scheduling, the rest ahead of normal processes, if permitted
    sdp_path: Path | None = None  # write the stream's SDP description here
    sap: bool = True  # announce the stream (SAP) on its scope's announcement group
    key: bytes | None = None  # SRTP's master key and salt: the stream is encrypted and authenticated
    icecast: tuple[IcecastTarget, ...] = ()  # mounts fed the same programme (docs/icecast.md)
    icecast_bitrate_kbps: int = 128
    description: str = ""  # the station in a sentence, for Icecast's directory and players
    http: tuple[str, int] | None = None  # serve the HTTP API and dashboard here (docs/web.md)
    http_token: str = ""  # what every HTTP request must carry

    @property
    def fmt(self) -> AudioFormat:
        return self.coding.fmt

    @property
    def samples_per_packet(self) -> int:
        return self.coding.samples_per_packet

    @property
    def bitrate_kbps(self) -> float:
        """On the wire: payload plus RTP, UDP and IPv4 headers, at the packet rate (repair packets aside)."""
        packets_per_s = self.fmt.rate / self.samples_per_packet
        return packets_per_s * (self.coding.payload_bytes + 12 + 8 + 20) * 8 / 1000

    def codec(self) -> str:
        return ", ".join(filter(None, (self.fmt.describe(), self.coding.describe())))

    def link(self) -> str:
        repair = f", repair {self.port + REPAIR_PORT_OFFSET}" if self.coding.fec else ""
        return (f"{self.group}:{self.port} (RTCP {self.port + 1}{repair}) via {self.interface}, ttl {self.ttl}, "
                f"{self.codec()}, {self.samples_per_packet} samples "
                f"({1000 * self.samples_per_packet / self.fmt.rate:.2f} ms) per packet")

    def describe(self, session_id: int) -> StreamDescription:
        """The stream's SDP description (nothing playing yet): its origin, and its one source, are the sending
        interface's address."""
        address = interface_address(self.interface)
        origin = Origin(username="-", session_id=str(session_id), version="1", address=address)
        return StreamDescription(origin=origin, name=self.name, group=self.group, port=self.port, fmt=self.fmt,
                                 ttl=self.ttl, ptime_ms=self.coding.frame_ms, tool=TOOL, source=address,
                                 encrypted=self.key is not None, repair=self.coding.repair_flow(self.port),
                                 inband_fec=self.coding.opus_fec_percent > 0, clock_extension_id=CLOCK_ID,
                                 latency_extension_id=LATENCY_ID)


def parse_args(argv: list[str] | None = None) -> StationConfig:
    parser = argparse.ArgumentParser(
        prog="python -m station",
        description="Broadcast music files, or a microphone live, as RTP (L16 or Opus, optionally with "
                    "Reed-Solomon FEC) on an IP multicast group, in real time, with an operator console (a play "
                    "queue, volume, MIC/FILES: HELP lists them).",
        epilog="Traffic stays on this machine unless --interface names a real network interface.")
    parser.add_argument("paths", nargs="*", metavar="PATH", default=["media"],
                        help="music files or folders, played in order and looped (default: media/)")
    add_network_arguments(parser, "send")
    parser.add_argument("--ttl", type=ranged(int, 0, 255), default=1,
                        help="multicast TTL: 1 stays on the local network, 0 on this host (default 1)")
    parser.add_argument("--name", default="Multicast Radio", help="station name shown to listeners")
    parser.add_argument("--once", action="store_true",
                        help="play the queue once (REPEAT off), send BYE and exit")
    add_coding_arguments(parser)
    parser.add_argument("--mono", action="store_true", help="send mono instead of stereo")
    parser.add_argument("--stats-json", type=Path, metavar="FILE",
                        help="write the station's figures here at exit, and whenever SIGUSR1 asks (the figures "
                             "so far)")
    parser.add_argument("--mic", nargs="?", const="", metavar="DEVICE",
                        help="broadcast a capture device live instead of the files (which FILES switches back "
                             "to): an index or name from --list-devices, or a PulseAudio source such as "
                             "SINK.monitor to rebroadcast what this machine plays (default: the default input)")
    parser.add_argument("--list-devices", action="store_true", help="list the audio input devices and exit")
    add_key_argument(parser)
    parser.add_argument("--gen-key", action="store_true",
                        help="print a fresh SRTP key (base64) for --key-file, and exit")
    parser.add_argument("--latency-ms", type=ranged(float, 1, MAX_LATENCY_US / 1000),
                        help="announced to listeners: each plays every sample this long after the station's "
                             "clock produced it, so that all play in step (a listener's own --latency-ms "
                             f"overrides it; default {DEFAULT_LATENCY_S * 1000:g}, plus the wait for a block's "
                             "repair packets with --fec)"),
    parser.add_argument("--time-port", type=ranged(int, 0, 65535), metavar="PORT",
                        help="UDP port on the interface's address where listeners on other machines ask the "
                             "station's clock (their --time-sync); 0 for none (default: --port + 2)")
    parser.add_argument("--realtime", action=argparse.BooleanOptionalAction, default=True,
                        help="pace packets under real-time scheduling (SCHED_FIFO), and run the rest of the "
                             "station (decoding included) ahead of normal processes (nice -10), if the system "
                             "permits, so that a busy machine neither delays packets nor starves the stream; else "
                             "at normal priority, with a note (default: on)")
    parser.add_argument("--sdp", type=Path, metavar="FILE",
                        help="write the stream's SDP description to FILE, for ffplay, VLC or `python -m listener "
                             "FILE` (STATUS shows it too)")
    parser.add_argument("--sap", action=argparse.BooleanOptionalAction, default=True,
                        help="announce the station (name, stream, now playing) every few seconds with SAP on the "
                             "announcement group of its scope (239.255.255.255:9875 for 239.255.0.0/16), so that "
                             "`python -m listener --list` and VLC find it (default: on)")
    parser.add_argument("--description", default="", metavar="TEXT",
                        help="the station in a sentence, given to Icecast mounts (players and directories show it)")
    parser.add_argument("--icecast", action="append", default=[], type=_icecast_target, metavar="URL",
                        help="also feed this Icecast mount, icecast://source:PASSWORD@HOST:PORT/MOUNT (or http://); "
                             "the mount's extension picks the format: .ogg or .opus Ogg/Opus, .mp3 MP3; may be "
                             "given more than once (docs/icecast.md)")
    parser.add_argument("--icecast-bitrate", type=ranged(int, 8, 320), default=128, metavar="KBPS",
                        help="the Icecast feeds' bitrate (default 128)")
    parser.add_argument("--http", type=http_address, metavar="[ADDR:]PORT",
                        help="serve the HTTP control API and the dashboard on PORT (0: a free one) of ADDR (default "
                             f"{DEFAULT_INTERFACE}: this machine only); the station prints the dashboard's URL with "
                             "its access token (docs/web.md)")
    parser.add_argument("--http-token-file", type=Path, metavar="FILE",
                        help="the HTTP access token, from FILE (default: a new random one at each start)")
    args = parser.parse_args(argv)
    if args.list_devices:
        print(list_devices("input"))
        parser.exit()
    if args.gen_key:
        print(generate_key())
        parser.exit()
    coding = coding_from(parser, args, channels=1 if args.mono else 2)
    config = StationConfig(paths=args.paths, group=args.group, port=args.port, interface=args.interface,
                           ttl=args.ttl, name=args.name, once=args.once, coding=coding,
                           stats_json=args.stats_json, mic=args.mic,
                           latency_ms=(DEFAULT_LATENCY_S * 1000 + coding.block_wait_ms if args.latency_ms is None
                                       else args.latency_ms),
                           time_port=args.port + 2 if args.time_port is None else args.time_port,
                           realtime=args.realtime, sdp_path=args.sdp, sap=args.sap,
                           key=read_key(parser, args.key_file), icecast=tuple(args.icecast),
                           icecast_bitrate_kbps=args.icecast_bitrate, description=args.description,
                           http=args.http, http_token=_http_token(parser, args.http_token_file))
    payload = config.coding.payload_bytes
    if payload > MAX_PAYLOAD_BYTES:
        most_ms = 1000 * (MAX_PAYLOAD_BYTES // config.fmt.bytes_per_frame) / config.fmt.rate
        parser.error(f"--frame-ms {coding.frame_ms:g} makes {payload}-byte payloads; at most {most_ms:.1f} ms "
                     f"keeps them within {MAX_PAYLOAD_BYTES} bytes, so no packet is IP-fragmented")
    if args.latency_ms is not None and args.latency_ms < coding.block_wait_ms:
        parser.error(f"--latency-ms {args.latency_ms:g} is less than the {coding.block_wait_ms:g} ms a listener "
                     f"waits for a block's repair packets (--fec {coding.fec[0]},{coding.fec[1]} of "
                     f"{coding.frame_ms:g} ms packets): give more, or smaller blocks")
    return config


def _http_token(parser: argparse.ArgumentParser, path: Path | None) -> str:
    if path is None:
        return new_token()
    try:
        return read_token(path)
    except TokenError as e:
        parser.error(str(e))


def _icecast_target(text: str) -> IcecastTarget:
    """argparse's type for --icecast: its message, never the URL, which holds the password."""
    try:
        return parse_target(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
