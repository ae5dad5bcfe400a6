"""The listener on a bad network, on fake time: `python -m bench.network`.

For each condition, a minute of music-like audio from a station (the real packetizer, Opus encoder, FEC encoder
and reporter) crosses the relay's impairments (the same seeded Impairer `python -m relay` uses: audio and repair
packets impaired, reports only delayed, as the relay does by default) into the listener's receiver, read 10 ms at
a time as its paced output does. Streams: L16 and Opus (128 kbit/s, 10 ms packets), each bare or with
Reed-Solomon FEC 10,15 (and 20,30, the same overhead in longer blocks, against bursts); with FEC the listener's
latency covers a block's wait for its repair packets. Seeds are
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

import numpy as np  # noqa: E402
from simulation import Datagram, SoundCard, aligned_correlation, music_pcm, transmit  # noqa: E402

from listener.receiver import Receiver, ReceiverConfig  # noqa: E402
from relay.impairments import BurstLoss, Impairer, Impairments  # noqa: E402
from rtpwire.audio import L16_STEREO, OPUS_STEREO, AudioFormat  # noqa: E402
from rtpwire.fec import REPAIR_PAYLOAD_TYPE  # noqa: E402
from rtpwire.opus import OpusEncoder  # noqa: E402
from station.coding import OPUS_KBPS  # noqa: E402
from station.fec_encoder import FecEncoder  # noqa: E402

SIMULATION_WALL_OFFSET_S = 1_800_000_000.0
UDP_IPV4_BYTES = 8 + 20  # what each datagram (its RTP header included) costs on the wire besides itself
SOURCE_S = 2.0  # the music the station loops: a recording lines up with it at one lag


@dataclass(frozen=True)
class Stream:
    """What the station sends: the codec, its packet, and Reed-Solomon FEC (K, N) or none."""

    name: str
    opus: bool = False
    fec: tuple[int, int] | None = None

    @property
    def fmt(self) -> AudioFormat:
        return OPUS_STEREO if self.opus else L16_STEREO

    @property
    def samples_per_packet(self) -> int:
        return 480 if self.opus else 220  # Opus's 10 ms; L16's 5 ms at 44.1 kHz (the simulation's packet)

    def source(self) -> np.ndarray:
        """The music looped: whole packets of it, so that no packet is cut short at the loop's end (which would
        leave a hole in the stream's timeline, and the recording out of line with the loop)."""
        pcm = music_pcm(SOURCE_S, self.fmt.rate)
        return pcm[: len(pcm) // self.samples_per_packet * self.samples_per_packet]

    def block_wait_ms(self) -> float:
        """What a listener waits beyond the network for a block's first packet: K - 1 packets."""
        return 0.0 if self.fec is None else (self.fec[0] - 1) * self.samples_per_packet / self.fmt.rate * 1000


L16 = Stream("L16")
L16_FEC = Stream("L16, FEC 10,15", fec=(10, 15))
OPUS = Stream(f"Opus {OPUS_KBPS[2]}", opus=True)
OPUS_FEC = Stream(f"Opus {OPUS_KBPS[2]}, FEC 10,15", opus=True, fec=(10, 15))
# Longer blocks for bursts, at the same overhead: a burst of losses is spread over more packets of its block
L16_LONG_FEC = Stream("L16, FEC 20,30", fec=(20, 30))
OPUS_LONG_FEC = Stream(f"Opus {OPUS_KBPS[2]}, FEC 20,30", opus=True, fec=(20, 30))
FIVE_PERCENT_BURSTS = Impairments(burst=BurstLoss.from_mean(0.05, 4))
CONDITIONS = (
    ("clean", Impairments(), L16),
    ("1% loss", Impairments(loss=0.01), L16),
    ("5% loss", Impairments(loss=0.05), L16),
    ("10% loss", Impairments(loss=0.10), L16),
    ("20% loss", Impairments(loss=0.20), L16),
    ("5% burst loss (runs of 4)", FIVE_PERCENT_BURSTS, L16),
    ("10 ms jitter", Impairments(jitter_ms=10), L16),
    ("30 ms jitter", Impairments(jitter_ms=30), L16),
    ("50 ms jitter", Impairments(jitter_ms=50), L16),
    ("5% reordering", Impairments(reorder=0.05), L16),
    ("5% duplication", Impairments(duplicate=0.05), L16),
    ("5% loss", Impairments(loss=0.05), L16_FEC),
    ("10% loss", Impairments(loss=0.10), L16_FEC),
    ("5% burst loss (runs of 4)", FIVE_PERCENT_BURSTS, L16_FEC),
    ("5% burst loss (runs of 4)", FIVE_PERCENT_BURSTS, L16_LONG_FEC),
    ("clean", Impairments(), OPUS),
    ("5% loss", Impairments(loss=0.05), OPUS),
    ("clean", Impairments(), OPUS_FEC),
    ("5% loss", Impairments(loss=0.05), OPUS_FEC),
    ("10% loss", Impairments(loss=0.10), OPUS_FEC),
    ("5% burst loss (runs of 4)", FIVE_PERCENT_BURSTS, OPUS_FEC),
    ("5% burst loss (runs of 4)", FIVE_PERCENT_BURSTS, OPUS_LONG_FEC),
)


@dataclass(frozen=True)
class Row:
    condition: str
    stream: str
    wire_kbps: float  # what the station sends, repair packets and RTP/UDP/IPv4 headers included
    fec_overhead_pct: float  # repair bytes over audio bytes, on the wire
    latency_needed_ms: float  # the listener's latency: the base, plus the wait for a block's repair packets
    delivered_pct: float  # of the samples sent, played from packets that arrived (or were rebuilt) in time
    concealed_pct: float  # bridged by concealment (the codec's, or from the surrounding audio)
    underruns_per_min: float  # reads that found samples missing (concealed or not)
    latency_ms: float  # station clock to playout, mean
    latency_p99_ms: float
    lost: int  # on the wire
    recovered: int  # of those, rebuilt by FEC in time
    late: int
    correlation: float  # of what played with what was sent, lined up


def arrivals(pcm_seconds: float, impairments: Impairments, stream: Stream = L16) -> tuple[list[Datagram], float]:
    """What the station sends for `pcm_seconds`, as it arrives through the impairments (1 ms base delay: audio
    and repair packets impaired, reports only delayed, as the relay does); and the stream's kbit/s on the wire."""
    on_the_wire = dataclasses.replace(impairments, delay_ms=1.0, seed=1)
    audio, reports = Impairer(on_the_wire, salt="rtp"), Impairer(on_the_wire.delay_only(), salt="rtcp")
    repair = Impairer(on_the_wire, salt="repair")
    fmt = stream.fmt
    encode = OpusEncoder(2, OPUS_KBPS[2], stream.samples_per_packet).encode if stream.opus else None
    fec = (FecEncoder(*stream.fec, ssrc=0x5EED, payload_type=REPAIR_PAYLOAD_TYPE, first_sequence=1)
           if stream.fec else None)
    arrived, wire_bytes = [], 0
    for datagram in transmit(stream.source(), seconds=pcm_seconds, fmt=fmt, encode=encode, fec=fec,
                             samples_per_packet=stream.samples_per_packet):
        leg = repair if datagram.repair else audio if datagram.is_rtp else reports
        if datagram.is_rtp or datagram.repair:
            wire_bytes += len(datagram.data) + UDP_IPV4_BYTES
        arrived += [dataclasses.replace(datagram, time_s=at_s, data=data)
                    for at_s, data in leg.process(datagram.data, datagram.time_s)]
    return sorted(arrived, key=lambda d: d.time_s), wire_bytes * 8 / pcm_seconds / 1000


def measure(condition: str, impairments: Impairments, seconds: float, latency_ms: float,
            stream: Stream = L16) -> Row:
    fmt = stream.fmt
    latency_ms += stream.block_wait_ms()
    receiver = Receiver(ReceiverConfig(fmt, latency_ms / 1000, SIMULATION_WALL_OFFSET_S), 0.0)
    datagrams, wire_kbps = arrivals(seconds, impairments, stream)
    _, plain_kbps = arrivals(seconds, Impairments(), dataclasses.replace(stream, fec=None)) if stream.fec else \
        (None, wire_kbps)
    card = SoundCard(receiver, datagrams)
    heard = np.concatenate([card.until(float(second)) for second in range(1, int(seconds) + 2)])
    figures = {key: value for key, value in receiver.stats(seconds + 1).items() if isinstance(value, (int, float))}
    sent = fmt.samples_for(seconds)
    return Row(condition, stream.name, wire_kbps, 100 * (wire_kbps / plain_kbps - 1), latency_ms,
               100 * (sent - figures["samples_missing"]) / sent, 100 * figures["samples_concealed"] / sent,
               figures["underruns"] * 60 / seconds, figures["latency_ms"], figures["latency_p99_ms"],
               int(figures["packets_lost"]), int(figures["packets_recovered"]), int(figures["packets_late"]),
               aligned_correlation(heard, np.tile(stream.source(), (int(seconds / SOURCE_S) + 2, 1))))


def table(rows: list[Row]) -> str:
    lines = ["| stream | condition | on the wire | FEC overhead | latency set | delivered | concealed | "
             "underruns/min | latency mean | latency p99 | lost | recovered | late | correlation |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r.stream} | {r.condition} | {r.wire_kbps:.0f} kbit/s | {r.fec_overhead_pct:.0f} % | "
              f"{r.latency_needed_ms:.0f} ms | {r.delivered_pct:.2f} % | {r.concealed_pct:.2f} % | "
              f"{r.underruns_per_min:.1f} | {r.latency_ms:.1f} ms | {r.latency_p99_ms:.1f} ms | {r.lost} | "
              f"{r.recovered} | {r.late} | {r.correlation:.4f} |" for r in rows]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.network", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="audio per condition (default 60)")
    parser.add_argument("--latency-ms", type=float, default=60.0,
                        help="the listener's --latency-ms, plus a block's wait with FEC (default 60)")
    args = parser.parse_args()
    rows = []
    for i, (condition, impairments, stream) in enumerate(CONDITIONS):
        print(f"\rbench.network: {i + 1}/{len(CONDITIONS)} {stream.name}, {condition:<28}", end="", file=sys.stderr,
              flush=True)
        rows.append(measure(condition, impairments, args.seconds, args.latency_ms, stream))
    print(file=sys.stderr)
    print(f"{args.seconds:g} s of audio per condition, listener --latency-ms {args.latency_ms:g} (plus a FEC "
          "block's wait), seed 1:\n")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
