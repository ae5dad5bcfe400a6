"""Opus on real music: `python -m bench.opus`.

1. What `--opus-fec` does at the station's bitrate: for each expected loss, the modes libopus codes in (CELT,
   hybrid, SILK, from each packet's TOC byte), how faithful every packet is (correlation of the clean decode with
   the original, past the codec's delay), and how well a lost packet comes back (every 23rd dropped, in turn):
   rebuilt from the next packet's in-band FEC, or concealed, each against the clean decode of that packet.
2. What a packet costs: encoding and decoding through `rtpwire.opus` (opuslib-next over the system's libopus),
   and through PyAV, the other binding considered, if it is installed (`pip install av`; it is no dependency).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from pydub import AudioSegment

from rtpwire.audio import OPUS_RATE
from rtpwire.opus import OpusDecoder, OpusEncoder

ROOT = Path(__file__).resolve().parent.parent
FRAME = 480  # 10 ms, the station's Opus packet
EVERY = 23  # one packet dropped in so many, each in a run of its own


def music(path: Path, seconds: float) -> np.ndarray:
    audio = AudioSegment.from_file(path).set_frame_rate(OPUS_RATE).set_channels(2).set_sample_width(2)
    pcm = np.array(audio.get_array_of_samples(), dtype=np.int16).reshape(-1, 2)
    return pcm[: round(seconds * OPUS_RATE) // FRAME * FRAME]


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-9))


def mode(packet: bytes) -> str:
    config = packet[0] >> 3  # RFC 6716 3.1
    return "SILK" if config < 12 else "hybrid" if config < 16 else "CELT"


def fec_row(pcm: np.ndarray, bitrate_kbps: int, loss_percent: int) -> str:
    encoder = OpusEncoder(2, bitrate_kbps, FRAME, fec_percent=loss_percent)
    packets = [encoder.encode(np.ascontiguousarray(pcm[i: i + FRAME])) for i in range(0, len(pcm), FRAME)]
    reference = OpusDecoder(2)
    clean = [reference.decode(p) for p in packets]
    decoded = np.concatenate(clean)
    delay = encoder.lookahead_samples
    faithful = correlation(decoded[delay:], pcm[: len(decoded) - delay])
    rebuilt, concealed = [], []
    for lost in range(20, len(packets) - 1, EVERY):
        decoders = OpusDecoder(2), OpusDecoder(2)
        for packet in packets[:lost]:
            for decoder in decoders:
                decoder.decode(packet)
        rebuilt.append(correlation(decoders[0].rebuild(packets[lost + 1], FRAME), clean[lost]))
        concealed.append(correlation(decoders[1].conceal(FRAME), clean[lost]))
    modes = ", ".join(f"{name} {count}" for name, count in sorted(Counter(map(mode, packets)).items()))
    return (f"| {loss_percent} | {modes} | {np.mean([len(p) for p in packets]):.0f} B | {faithful:.3f} | "
            f"{np.median(rebuilt):.3f} | {np.median(concealed):.3f} |")


def per_packet_us(work, items: list) -> float:
    started = time.perf_counter()
    for item in items:
        work(item)
    return (time.perf_counter() - started) / len(items) * 1e6


def cost_rows(pcm: np.ndarray, bitrate_kbps: int) -> list[str]:
    frames = [np.ascontiguousarray(pcm[i: i + FRAME]) for i in range(0, len(pcm), FRAME)]
    encoder = OpusEncoder(2, bitrate_kbps, FRAME)
    packets = [encoder.encode(f) for f in frames]
    encoder, decoder = OpusEncoder(2, bitrate_kbps, FRAME), OpusDecoder(2)
    rows = [f"| rtpwire.opus (opuslib-next) | {per_packet_us(encoder.encode, frames):.0f} µs | "
            f"{per_packet_us(decoder.decode, packets):.0f} µs | yes | yes |"]
    try:
        import av  # noqa: PLC0415  (optional: measured only where installed)
    except ImportError:
        return rows + ["| PyAV | not installed (`pip install av` to measure it) | | | |"]
    context = av.CodecContext.create("libopus", "w")
    context.sample_rate, context.layout, context.format = OPUS_RATE, "stereo", "s16"
    context.bit_rate, context.options = bitrate_kbps * 1000, {"frame_duration": "10", "application": "audio"}
    context.open()

    def av_encode(frame: np.ndarray) -> None:
        audio = av.AudioFrame.from_ndarray(frame.reshape(1, -1), format="s16", layout="stereo")
        audio.sample_rate = OPUS_RATE
        context.encode(audio)

    av_decoder = av.CodecContext.create("libopus", "r")
    av_decoder.sample_rate, av_decoder.layout = OPUS_RATE, "stereo"
    av_decoder.open()
    return rows + [f"| PyAV {av.__version__} | {per_packet_us(av_encode, frames):.0f} µs | "
                   f"{per_packet_us(lambda p: av_decoder.decode(av.Packet(p)), packets):.0f} µs | "
                   "no (an empty packet ends the stream) | no |"]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.opus", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--file", type=Path, default=ROOT / "media" / "03-lantern-waltz.ogg")
    parser.add_argument("--seconds", type=float, default=10.0, help="of the file (default 10)")
    parser.add_argument("--bitrate", type=int, default=128, help="kbit/s (default 128)")
    args = parser.parse_args()
    pcm = music(args.file, args.seconds)
    print(f"{args.file.name}, {len(pcm) / OPUS_RATE:g} s, stereo, {args.bitrate} kbit/s, 10 ms packets\n")
    print("| --opus-fec | packets coded as | mean payload | clean vs original | lost, rebuilt (in-band FEC) | "
          "lost, concealed |\n|---:|---|---:|---:|---:|---:|")
    for loss_percent in (0, 5, 8, 10, 20, 30):
        print(fec_row(pcm, args.bitrate, loss_percent), flush=True)
    print("\n| binding | encode a packet | decode a packet | loss concealment | in-band FEC decoding |\n"
          "|---|---:|---:|---|---|")
    print("\n".join(cost_rows(pcm, args.bitrate)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
