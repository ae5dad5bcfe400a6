"""`python -m relay`: parse the command line into a config, wire sockets, impairers and delivery queues, and run.

One loop, one thread: wait (select) until a datagram arrives or the next held one is due, whichever is first;
take in whatever arrived, send whatever is due. The waiting is bounded, so a signal is noticed within
IDLE_WAIT_S, and never zero while nothing is due, so the loop never spins.
"""

from __future__ import annotations

import argparse
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

from relay.delivery import DeliveryQueue
from relay.impairments import BurstLoss, Impairer, Impairments
from cli.arguments import DEFAULT_GROUP, DEFAULT_PORT, add_network_arguments, multicast_group, ranged, rtp_port
from rtpwire.fec import REPAIR_PORT_OFFSET
from rtpwire.net import NetworkError, open_receiver, open_sender
from rtpwire.rtcp import COMMON_HEADER, SSRC
from rtpwire.rtp import HEADER as RTP_HEADER

RELAY_TTL = 1  # the relay is a test bench: what it sends stays on this network, whatever the interface
IDLE_WAIT_S = 0.25  # the longest wait: how soon a signal or --duration's end is noticed
MAX_DELAY_MS = 10_000.0
DEFAULT_BURST_PACKETS = 3.0  # 15 ms of the station's default stream: a burst, yet short enough to conceal
MAX_DATAGRAM_BYTES = 65536
EXIT_NETWORK = 3


@dataclass(frozen=True)
class RelayConfig:
    from_group: str  # where the relay listens (RTP on from_port, RTCP on from_port + 1, repair on + 4)
    from_port: int
    group: str  # where it sends (RTP on port, RTCP on port + 1, repair on + 4)
    port: int
    interface: str
    impairments: Impairments
    impair_rtcp: bool
    duration_s: float | None
    stats_json: Path | None

    def route(self) -> str:
        return (f"{self.from_group}:{self.from_port} -> {self.group}:{self.port} (RTCP on port+1, FEC repair on "
                f"port+{REPAIR_PORT_OFFSET}) "
                f"via {self.interface}, ttl {RELAY_TTL}")

    def rtcp_impairments(self) -> Impairments:
        """RTCP crosses the relay with the audio's fixed delay only, unless --impair-rtcp: see the README."""
        return self.impairments if self.impair_rtcp else self.impairments.delay_only()


def _probability(text: str) -> float:
    """An argparse type: a fraction (0.05) or a percentage (5%)."""
    percent = text.endswith("%")
    try:
        value = float(text[:-1] if percent else text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a fraction (0.05) or a percentage (5%), got {text!r}") from None
    fraction = value / 100 if percent else value
    if not 0.0 <= fraction <= 1.0:
        raise argparse.ArgumentTypeError(
            f"expected a fraction from 0 to 1 (0.05) or a percentage from 0% to 100% (5%), got {text!r}")
    return fraction


def parse_args(argv: list[str] | None = None) -> RelayConfig:
    parser = argparse.ArgumentParser(
        prog="python -m relay",
        description="Join a station's multicast group and send its stream on to another group, impaired as a "
                    "bad network would: loss, burst loss, delay, jitter, reordering, duplication, corruption. "
                    "Every impairment is drawn from --seed, so a run can be repeated exactly. RTP (and FEC's "
                    f"repair packets, on port+{REPAIR_PORT_OFFSET}) is impaired; RTCP (the station's clock, pause "
                    "and BYE) only delayed, unless --impair-rtcp.",
        epilog="Probabilities are fractions (0.05) or percentages (5%). Example: python -m relay --group "
               "239.255.0.2 --loss 5% --jitter-ms 20, then python -m listener --group 239.255.0.2.")
    source = parser.add_argument_group("where the station sends (the relay's input)")
    source.add_argument("--from-group", type=multicast_group, default=DEFAULT_GROUP, metavar="GROUP",
                        help=f"the station's multicast group (default {DEFAULT_GROUP})")
    source.add_argument("--from-port", type=rtp_port, default=DEFAULT_PORT, metavar="PORT",
                        help=f"the station's RTP port; RTCP on the next one (default {DEFAULT_PORT})")
    output = parser.add_argument_group("where the relay sends (its listeners join here; it must differ from "
                                       "the input)")
    add_network_arguments(output, "listen and send")
    loss = parser.add_argument_group("impairments (of RTP; of RTCP too with --impair-rtcp)")
    loss.add_argument("--loss", type=_probability, default=0.0, metavar="P",
                      help="lose each packet independently with this probability (default 0)")
    loss.add_argument("--burst-loss", type=_probability, metavar="P",
                      help="lose this fraction of packets in bursts (Gilbert-Elliott), on top of --loss")
    loss.add_argument("--burst-length", type=ranged(float, 1), metavar="PACKETS",
                      help=f"mean length of a burst of losses (default {DEFAULT_BURST_PACKETS:g})")
    loss.add_argument("--delay-ms", type=ranged(float, 0, MAX_DELAY_MS), metavar="MS", default=0.0,
                      help="fixed delay of every packet (default 0)")
    loss.add_argument("--jitter-ms", type=ranged(float, 0, MAX_DELAY_MS), metavar="MS", default=0.0,
                      help="plus a random delay, uniform from 0 to this, drawn for each packet; packets may "
                           "overtake each other, as on a real network (default 0)")
    loss.add_argument("--reorder", type=_probability, default=0.0, metavar="P",
                      help="hold a packet back by --reorder-delay-ms with this probability (default 0)")
    loss.add_argument("--reorder-delay-ms", type=ranged(float, 0, MAX_DELAY_MS), metavar="MS",
                      default=Impairments.reorder_delay_ms,
                      help=f"how long a reordered packet is held back (default {Impairments.reorder_delay_ms:g})")
    loss.add_argument("--duplicate", type=_probability, default=0.0, metavar="P",
                      help="send a packet twice with this probability (default 0)")
    loss.add_argument("--corrupt", type=_probability, default=0.0, metavar="P",
                      help="change one byte after the RTP header with this probability (default 0)")
    loss.add_argument("--seed", type=int,
                      help="seed of every random choice: the same seed repeats a run (default: random, printed)")
    loss.add_argument("--impair-rtcp", action="store_true",
                      help="impair RTCP as RTP (default: RTCP is only delayed, so listeners keep the station's "
                           "clock, pause and BYE)")
    parser.add_argument("--duration", type=ranged(float, 0.01), metavar="SECONDS", help="stop by itself")
    parser.add_argument("--stats-json", type=Path, metavar="FILE",
                        help="write what was done to each port's datagrams here at exit")
    args = parser.parse_args(argv)
    if args.group == args.from_group and set(_ports(args.port)) & set(_ports(args.from_port)):
        parser.error(f"the relay would hear what it sends: it listens on {args.from_group} ports "
                     f"{', '.join(map(str, _ports(args.from_port)))}; give another --group (such as 239.255.0.2) "
                     f"or a --port whose own are none of these")
    if args.burst_length is not None and args.burst_loss is None:
        parser.error("--burst-length needs --burst-loss")
    try:
        burst = (None if args.burst_loss is None else
                 BurstLoss.from_mean(args.burst_loss, args.burst_length or DEFAULT_BURST_PACKETS))
    except ValueError as e:
        parser.error(f"--burst-loss: {e}")
    impairments = Impairments(loss=args.loss, burst=burst, delay_ms=args.delay_ms, jitter_ms=args.jitter_ms,
                              reorder=args.reorder, reorder_delay_ms=args.reorder_delay_ms,
                              duplicate=args.duplicate, corrupt=args.corrupt,
                              seed=secrets.randbits(32) if args.seed is None else args.seed)
    return RelayConfig(from_group=args.from_group, from_port=args.from_port, group=args.group, port=args.port,
                       interface=args.interface, impairments=impairments, impair_rtcp=args.impair_rtcp,
                       duration_s=args.duration, stats_json=args.stats_json)


def _ports(port: int) -> tuple[int, int, int]:
    """A stream's ports: RTP, RTCP and FEC's repair packets."""
    return port, port + 1, port + REPAIR_PORT_OFFSET


def _say(message: str) -> None:
    print(f"relay: {message}", file=sys.stderr, flush=True)


class Leg:
    """One port's way through the relay: what arrives on `source` is impaired, held until due, sent on `sink`."""

    def __init__(self, name: str, port: int, source: socket.socket, impairer: Impairer,
                 sink: socket.socket) -> None:
        self.name = name
        self.port = port
        self.source = source
        self.impairer = impairer
        self.sink = sink
        self.queue = DeliveryQueue()
        self.sent = 0
        self.send_errors = 0

    def receive(self) -> None:
        """Everything waiting on the (non-blocking) source, each stamped with the time it was taken in."""
        while True:
            try:
                data = self.source.recv(MAX_DATAGRAM_BYTES)
            except (BlockingIOError, InterruptedError):
                return
            self.queue.add(self.impairer.process(data, time.monotonic()))

    def send_due(self, now: float) -> None:
        for data in self.queue.due(now):
            try:
                self.sink.send(data)
                self.sent += 1
            except OSError:
                self.send_errors += 1  # as if lost on the way

    def stats(self) -> dict[str, object]:
        """The impairer's counts, and what became of what it let through: sent, failed, overflowed, held."""
        return {"port": self.port, **self.impairer.counts.as_dict(), "overflow": self.queue.overflow,
                "sent": self.sent, "send_errors": self.send_errors, "held_at_exit": len(self.queue)}

    def summary(self) -> str:
        counts = self.impairer.counts
        return (f"{self.name}: {counts.received} received, {counts.dropped} dropped ({counts.dropped_random} "
                f"random, {counts.dropped_burst} in bursts), {counts.duplicated} duplicated, {counts.reordered} "
                f"reordered, {counts.corrupted} corrupted, {self.sent} sent")


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    sockets: list[socket.socket] = []
    try:
        for from_port, port in zip(_ports(config.from_port), _ports(config.port)):
            sockets.append(open_receiver(config.from_group, from_port, config.interface))
            sockets.append(open_sender(config.group, port, config.interface, RELAY_TTL))
    except NetworkError as e:
        _say(str(e))
        for sock in sockets:
            sock.close()
        return EXIT_NETWORK
    rtp_in, rtp_out, rtcp_in, rtcp_out, repair_in, repair_out = sockets
    seed = config.impairments.seed
    legs = [Leg("RTP", config.from_port, rtp_in, Impairer(config.impairments, salt="rtp",
                                                          header_bytes=RTP_HEADER.size), rtp_out),
            Leg("RTCP", config.from_port + 1, rtcp_in, Impairer(config.rtcp_impairments(), salt="rtcp",
                                                                header_bytes=COMMON_HEADER.size + SSRC.size),
                rtcp_out),
            Leg("repair", config.from_port + REPAIR_PORT_OFFSET, repair_in,
                Impairer(config.impairments, salt="repair", header_bytes=RTP_HEADER.size), repair_out)]
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    started_s = time.monotonic()
    _say(f"relaying {config.route()}")
    _say(f"RTP: {config.impairments.describe()} (--seed {seed} repeats it)")
    _say("RTCP: impaired as RTP" if config.impair_rtcp else
         f"RTCP: not impaired, only delayed as RTP is ({config.impairments.delay_ms:g} ms)")
    try:
        _run(legs, started_s + config.duration_s if config.duration_s else float("inf"), stop)
    finally:
        for sock in sockets:
            sock.close()
    for leg in legs:
        _say(leg.summary())
    if config.stats_json:
        stats = {"impairments": asdict(config.impairments), "impair_rtcp": config.impair_rtcp,
                 "duration_s": round(time.monotonic() - started_s, 3),
                 **{leg.name.lower(): leg.stats() for leg in legs}}
        config.stats_json.write_text(json.dumps(stats, indent=2) + "\n")
    return 0


def _run(legs: list[Leg], end_s: float, stop: threading.Event) -> None:
    """Send what is due, then wait for input until the next datagram is due (at most IDLE_WAIT_S)."""
    by_source = {leg.source: leg for leg in legs}
    while not stop.is_set():
        now = time.monotonic()
        for leg in legs:
            leg.send_due(now)
        if now >= end_s:
            return
        wake_s = min([end_s, now + IDLE_WAIT_S, *(s for leg in legs if (s := leg.queue.next_s) is not None)])
        readable, _, _ = select.select(list(by_source), [], [], max(0.0, wake_s - now))
        for sock in readable:
            by_source[sock].receive()
