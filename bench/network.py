"""The listener on a bad network, on fake time: `python -m bench.network`.

For each condition, a minute of audio from a station (the real packetizer and reporter) crosses the relay's
impairments (the same seeded Impairer `python -m relay` uses: audio impaired, reports only delayed, as the
relay does by default) into the listener's receiver, read 10 ms at a time as its paced output does. Seeds are
fixed, so the table is the same on every run and every machine: it measures the listener's logic, not this
machine's timing (the loopback benchmark, `python -m bench`, does that).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from simulation import Datagram, SoundCard, sine_pcm, transmit  # noqa: E402  (the fake-time station and reader)

from listener.receiver import Receiver, ReceiverConfig  # noqa: E402
from relay.impairments import BurstLoss, Impairer, Impairments  # noqa: E402
from rtpwire.audio import L16_STEREO  # noqa: E402

SIMULATION_WALL_OFFSET_S = 1_800_000_000.0
CONDITIONS = (
    ("clean", Impairments()),
    ("1% loss", Impairments(loss=0.01)),
    ("5% loss", Impairments(loss=0.05)),
    ("10% loss", Impairments(loss=0.10)),
    ("20% loss", Impairments(loss=0.20)),
    ("5% burst loss (runs of 4)", Impairments(burst=BurstLoss.from_mean(0.05, 4))),
    ("10 ms jitter", Impairments(jitter_ms=10)),
    ("30 ms jitter", Impairments(jitter_ms=30)),
    ("50 ms jitter", Impairments(jitter_ms=50)),
    ("5% reordering", Impairments(reorder=0.05)),
    ("5% duplication", Impairments(duplicate=0.05)),
)


@dataclass(frozen=True)
class Row:
    condition: str
    delivered_pct: float  # of the samples sent, played from packets that arrived in time
    concealed_pct: float  # bridged by concealment from the surrounding audio
    underruns_per_min: float  # reads that found samples missing (concealed or not)
    latency_ms: float  # station clock to playout, mean
    latency_p99_ms: float
    lost: int
    late: int


def arrivals(pcm_seconds: float, impairments: Impairments) -> list[Datagram]:
    """What the station sends for `pcm_seconds`, as it arrives through the impairments (1 ms base delay)."""
    on_the_wire = dataclasses.replace(impairments, delay_ms=1.0, seed=1)
    audio, reports = Impairer(on_the_wire, salt="rtp"), Impairer(on_the_wire.delay_only(), salt="rtcp")
    arrived = []
    for datagram in transmit(sine_pcm(1.0), seconds=pcm_seconds):
        leg = audio if datagram.is_rtp else reports
        arrived += [Datagram(at_s, datagram.is_rtp, data) for at_s, data in leg.process(datagram.data,
                                                                                        datagram.time_s)]
    return sorted(arrived, key=lambda d: d.time_s)


def measure(condition: str, impairments: Impairments, seconds: float, latency_ms: float) -> Row:
    receiver = Receiver(ReceiverConfig(L16_STEREO, latency_ms / 1000, SIMULATION_WALL_OFFSET_S), 0.0)
    card = SoundCard(receiver, arrivals(seconds, impairments))
    for second in range(1, int(seconds) + 2):  # a second at a time: the output is not kept
        card.until(float(second))
    figures = {key: value for key, value in receiver.stats(seconds + 1).items() if isinstance(value, (int, float))}
    sent = L16_STEREO.samples_for(seconds)
    return Row(condition, 100 * (sent - figures["samples_missing"]) / sent, 100 * figures["samples_concealed"] / sent,
               figures["underruns"] * 60 / seconds, figures["latency_ms"], figures["latency_p99_ms"],
               int(figures["packets_lost"]), int(figures["packets_late"]))


def table(rows: list[Row]) -> str:
    lines = ["| condition | delivered | concealed | underruns/min | latency mean | latency p99 | lost | late |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r.condition} | {r.delivered_pct:.2f} % | {r.concealed_pct:.2f} % | {r.underruns_per_min:.1f} | "
              f"{r.latency_ms:.1f} ms | {r.latency_p99_ms:.1f} ms | {r.lost} | {r.late} |" for r in rows]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.network", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="audio per condition (default 60)")
    parser.add_argument("--latency-ms", type=float, default=60.0, help="the listener's --latency-ms (default 60)")
    args = parser.parse_args()
    rows = []
    for i, (condition, impairments) in enumerate(CONDITIONS):
        print(f"\rbench.network: {i + 1}/{len(CONDITIONS)} {condition:<28}", end="", file=sys.stderr, flush=True)
        rows.append(measure(condition, impairments, args.seconds, args.latency_ms))
    print(file=sys.stderr)
    print(f"{args.seconds:g} s of audio per condition, listener --latency-ms {args.latency_ms:g}, seed 1:\n")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
