"""How the station codes its stream: the codec (L16, bit-exact on a wired LAN; Opus, a tenth of the bandwidth, for
Wi-Fi), its bitrate and in-band FEC, and Reed-Solomon repair packets (`--fec K,N`). The command line's part of
it, and the stages it makes: the packetizer's encoder and the FEC encoder.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from cli.arguments import ranged
from rtpwire.audio import L16_MONO, L16_STEREO, OPUS_MONO, OPUS_STEREO, AudioFormat
from rtpwire.fec import MAX_BLOCK_PACKETS, REPAIR_PAYLOAD_TYPE, REPAIR_PORT_OFFSET
from rtpwire.opus import FRAME_MS_ALLOWED, OpusEncoder
from rtpwire.sdp import RepairFlow
from station.fec_encoder import FecEncoder

L16_FRAME_MS = 5.0  # L16's default packet: 1.2 kB of stereo, under any MTU
OPUS_FRAME_MS = 10.0  # Opus's default: its quality drops below 10 ms, and headers weigh more
OPUS_KBPS = {2: 128, 1: 64}  # Opus's default bitrate by channel count: transparent for music


def fec_blocks(text: str) -> tuple[int, int] | None:
    """An argparse type: `off`, or `K,N` (after every K packets, N−K repair packets; any K of the N rebuild)."""
    if text.strip().lower() == "off":
        return None
    k_text, comma, n_text = text.partition(",")
    if comma and k_text.strip().isdigit() and n_text.strip().isdigit():
        k, n = int(k_text), int(n_text)
        if 1 <= k < n <= MAX_BLOCK_PACKETS:
            return k, n
    raise argparse.ArgumentTypeError(f"expected off or K,N with 1 <= K < N <= {MAX_BLOCK_PACKETS} (for example "
                                     f"10,15), got {text!r}")


@dataclass(frozen=True)
class Coding:
    codec: str  # "l16" or "opus"
    channels: int
    frame_ms: float
    bitrate_kbps: int | None = None  # Opus only
    opus_fec_percent: int = 0  # Opus only: its in-band FEC, tuned for this expected loss; 0: off
    fec: tuple[int, int] | None = None  # Reed-Solomon K,N; None: off

    @property
    def fmt(self) -> AudioFormat:
        if self.codec == "opus":
            return OPUS_STEREO if self.channels == 2 else OPUS_MONO
        return L16_STEREO if self.channels == 2 else L16_MONO

    @property
    def samples_per_packet(self) -> int:
        return self.fmt.samples_for(self.frame_ms / 1000)

    @property
    def payload_bytes(self) -> int:
        """A packet's payload: L16's exactly, Opus's on average at its bitrate."""
        if self.bitrate_kbps is not None:
            return round(self.bitrate_kbps * 1000 / 8 * self.frame_ms / 1000)
        return self.samples_per_packet * self.fmt.bytes_per_frame

    @property
    def block_wait_ms(self) -> float:
        """How long after a block's first packet its repair packets leave: what a listener must wait, beyond the
        network, to rebuild that first packet; 0 without FEC."""
        return 0.0 if self.fec is None else (self.fec[0] - 1) * self.frame_ms

    def encoder(self) -> Callable[[np.ndarray], bytes] | None:
        """The packetizer's encoder: Opus's (which keeps state from packet to packet), None for L16's own."""
        if self.bitrate_kbps is None:
            return None
        return OpusEncoder(self.channels, self.bitrate_kbps, self.samples_per_packet,
                           fec_percent=self.opus_fec_percent).encode

    def fec_encoder(self, ssrc: int, first_sequence: int) -> FecEncoder | None:
        if self.fec is None:
            return None
        return FecEncoder(*self.fec, ssrc=ssrc, payload_type=REPAIR_PAYLOAD_TYPE, first_sequence=first_sequence)

    def repair_flow(self, port: int) -> RepairFlow | None:
        """The repair packets' flow, as the stream's description says it, for a stream on `port`."""
        if self.fec is None:
            return None
        return RepairFlow(port + REPAIR_PORT_OFFSET, REPAIR_PAYLOAD_TYPE, *self.fec)

    def describe(self) -> str:
        """What the format's own description (`AudioFormat.describe`) does not say: Opus's bitrate and in-band
        FEC, and Reed-Solomon FEC; empty for plain L16."""
        parts = [] if self.bitrate_kbps is None else [f"{self.bitrate_kbps} kbit/s"]
        parts += [f"in-band FEC for {self.opus_fec_percent} % loss"] if self.opus_fec_percent else []
        parts += [] if self.fec is None else [f"Reed-Solomon FEC {self.fec[0]},{self.fec[1]}"]
        return ", ".join(parts)


def add_coding_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--codec", choices=("l16", "opus"), default="l16",
                        help="l16: uncompressed, bit-exact, 1.4 Mbit/s in stereo (for a wired LAN); opus: 48 kHz, "
                             "a tenth of that, for Wi-Fi and lossy links (default l16)")
    parser.add_argument("--bitrate", type=ranged(int, 6, 510), metavar="KBPS",
                        help=f"Opus's bitrate (default {OPUS_KBPS[2]} for stereo, {OPUS_KBPS[1]} for mono)")
    parser.add_argument("--opus-fec", type=ranged(int, 0, 100), default=0, metavar="PERCENT",
                        help="Opus's own in-band FEC, tuned for this expected loss: a listener rebuilds a lost "
                             "packet from the next one (default 0: off)")
    parser.add_argument("--fec", type=fec_blocks, default=None, metavar="K,N|off",
                        help="Reed-Solomon repair packets on --port + 4: after every K packets, N-K repair "
                             "packets, any K of the N rebuild the block (for example 10,15; default off)")
    parser.add_argument("--frame-ms", type=ranged(float, 1, 50),
                        help=f"audio per packet in milliseconds (default {L16_FRAME_MS:g} for L16, "
                             f"{OPUS_FRAME_MS:g} for Opus, which takes {', '.join(map(str, FRAME_MS_ALLOWED))})")


def coding_from(parser: argparse.ArgumentParser, args: argparse.Namespace, channels: int) -> Coding:
    """The coding the arguments ask for; the parser's error for combinations that mean nothing."""
    opus = args.codec == "opus"
    if not opus:
        for flag, given in (("--bitrate", args.bitrate is not None), ("--opus-fec", args.opus_fec > 0)):
            if given:
                parser.error(f"{flag} is for --codec opus")
        return Coding("l16", channels, args.frame_ms or L16_FRAME_MS, fec=args.fec)
    frame_ms = args.frame_ms or OPUS_FRAME_MS
    if frame_ms not in FRAME_MS_ALLOWED:
        parser.error(f"--frame-ms {frame_ms:g} is no Opus frame; Opus takes "
                     f"{', '.join(f'{ms:g}' for ms in FRAME_MS_ALLOWED)}")
    return Coding("opus", channels, frame_ms, args.bitrate or OPUS_KBPS[channels], args.opus_fec, args.fec)
