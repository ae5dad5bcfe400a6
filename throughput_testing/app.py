"""`python -m throughput_testing`: parse the command line into a config, run the rounds, write what they measured.

Without `--group` or `--port` the batch starts its own station on the bundled media, on a random group in
239.255.0.0/16 and a random port, so that it never mixes with a station already running; with either, it
measures the station sending there (whose own CPU and send error it then cannot measure).
"""

from __future__ import annotations

import argparse
import random
import shlex
import signal
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from cli.arguments import DEFAULT_GROUP, DEFAULT_PORT, add_network_arguments, ranged
from station.coding import fec_blocks
from throughput_testing.batch import measure_round
from throughput_testing.figures import Round, judge
from throughput_testing.fleet import ROOT, Fleet, FleetError
from throughput_testing.plot import plot
from throughput_testing.report import csv_text, json_text, rounds_from_json, table

DEFAULT_CLIENTS = (1, 5, 10, 20, 35, 50, 75, 100)  # the original batch's rounds
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class BatchConfig:
    clients: tuple[int, ...]  # listeners in each round, in order
    seconds: float  # each round's measuring window
    group: str
    port: int
    interface: str
    own_station: bool  # start a station (on group:port), or measure the one already there
    out: Path  # where the table, CSV, JSON and PNG go
    command: str  # as typed, for the JSON
    sources: tuple[Path, ...] = ()  # earlier runs' JSON to tell again instead of measuring
    codec: str = "l16"  # the batch's own station's: l16 or opus
    fec: tuple[int, int] | None = None  # and its Reed-Solomon K,N; None: off


def client_counts(text: str) -> tuple[int, ...]:
    """An argparse type: listener counts separated by commas, each at least 1."""
    try:
        counts = tuple(int(part) for part in text.split(","))
    except ValueError:
        counts = ()
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"expected listener counts separated by commas (1,5,10), got {text!r}")
    return counts


def parse_args(argv: list[str] | None = None) -> BatchConfig:
    parser = argparse.ArgumentParser(
        prog="python -m throughput_testing",
        description="Throughput batch: rounds of N real listener processes (--output null) on one multicast "
                    "stream, each measured over a window: per listener the bytes per second received against "
                    "the stream's nominal rate, packets lost, late and duplicated, jitter, latency, underruns, "
                    "CPU and memory; the station's CPU and send-time error. A table on the terminal, and a CSV, "
                    "a JSON and a PNG plot in --out.",
        epilog="Without --group and --port it starts its own station on media/ (random group and port); with "
               "either, it measures the station already sending there.")
    parser.add_argument("--clients", type=client_counts, default=DEFAULT_CLIENTS, metavar="N,N,...",
                        help="listeners in each round (default: "
                             f"{','.join(map(str, DEFAULT_CLIENTS))})")
    parser.add_argument("--seconds", type=ranged(float, 1), default=20.0,
                        help="each round's measuring window (default 20)")
    add_network_arguments(parser, "listen")
    parser.set_defaults(group=None, port=None)  # given: a running station; not given: the batch's own
    parser.add_argument("--codec", choices=("l16", "opus"), default="l16",
                        help="the batch's own station sends this (its listeners join through its SDP; default l16)")
    parser.add_argument("--fec", type=fec_blocks, default=None, metavar="K,N|off",
                        help="the batch's own station sends Reed-Solomon repair packets, K,N (default off)")
    parser.add_argument("--out", type=Path, default=Path("out/throughput"), metavar="DIR",
                        help="where throughput.txt, .csv, .json and .png go (default out/throughput)")
    parser.add_argument("--from", dest="sources", type=Path, nargs="+", default=(), metavar="JSON",
                        help="measure nothing: tell again the rounds of earlier runs' throughput.json, in order "
                             "(a default run and a push to 200, in one table and one plot)")
    args = parser.parse_args(argv)
    own_station = args.group is None and args.port is None
    if not own_station and (args.codec != "l16" or args.fec is not None):
        parser.error("--codec and --fec are for the batch's own station; a station already running sends what "
                     "it sends")
    rng = random.Random()
    group = args.group or (f"239.255.{rng.randrange(1, 255)}.{rng.randrange(1, 255)}" if own_station
                           else DEFAULT_GROUP)
    port = args.port or (rng.randrange(20000, 60000, 2) if own_station else DEFAULT_PORT)
    argv = sys.argv[1:] if argv is None else argv
    return BatchConfig(clients=args.clients, seconds=args.seconds, group=group, port=port,
                       interface=args.interface, own_station=own_station, codec=args.codec, fec=args.fec,
                       out=args.out,
                       command=shlex.join(["python", "-m", "throughput_testing", *argv]),
                       sources=tuple(args.sources))


def _say(message: str) -> None:
    print(f"throughput: {message}", file=sys.stderr, flush=True)


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    """SIGTERM ends the batch as Ctrl-C does: its processes stopped, the rounds done reported."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    if config.sources:
        _write(config, [r for path in config.sources for r in rounds_from_json(path.read_text())])
        return 0
    signal.signal(signal.SIGTERM, _interrupt)
    rounds: list[Round] = []
    status = 0
    with tempfile.TemporaryDirectory(prefix="throughput-") as workdir:
        fleet = Fleet(Path(workdir), config.group, config.port, config.interface, codec=config.codec,
                      fec=config.fec)
        try:
            if config.own_station:
                note = fleet.start_station([ROOT / "media"])
                _say(f"station on {config.group}:{config.port} via {config.interface}"
                     + (f"; it says: {note}" if note else ""))
            for number, clients in enumerate(config.clients, 1):
                rounds.append(measure_round(fleet, clients, config.seconds, f"round {number}/{len(config.clients)}"))
                _say(f"{clients} listeners: {judge(rounds[-1]).describe()}")
        except FleetError as e:
            _say(f"stopped: {e}")
            status = EXIT_FAILED
        except KeyboardInterrupt:
            _say(f"interrupted after {len(rounds)} of {len(config.clients)} rounds")
            status = EXIT_INTERRUPTED
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not leave processes behind
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            fleet.stop_all()
    if rounds:
        _write(config, rounds)
    return status


def _write(config: BatchConfig, rounds: list[Round]) -> None:
    text = table(rounds)
    print(text, flush=True)
    config.out.mkdir(parents=True, exist_ok=True)
    (config.out / "throughput.txt").write_text(f"$ {config.command}\n{text}\n")
    (config.out / "throughput.csv").write_text(csv_text(rounds))
    (config.out / "throughput.json").write_text(json_text(rounds, config.command))
    plot(rounds, config.out / "throughput.png")
    _say(f"wrote throughput.txt, .csv, .json and .png to {config.out}/")
