"""The stream's audio formats: L16 (RFC 3551: big-endian signed 16-bit PCM, interleaved channels), and Opus
(RFC 7587: 48 kHz, a dynamic payload type, coded by `rtpwire.opus`).

Both sides speak in numpy arrays of shape (frames, channels), dtype int16, native byte order; L16's wire form is
produced and checked here only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from rtpwire.errors import WireError

L16, OPUS = "L16", "opus"  # encoding names, as SDP's a=rtpmap writes them
OPUS_RATE = 48000  # RFC 7587: Opus's RTP clock, whatever the audio's bandwidth
OPUS_PAYLOAD_TYPE = 96  # the dynamic type the station sends Opus as; its SDP says so
WIRE_DTYPE = np.dtype(">i2")
PCM_DTYPE = np.dtype(np.int16)


@dataclass(frozen=True, slots=True)
class AudioFormat:
    rate: int
    channels: int
    payload_type: int
    encoding: str = L16

    @property
    def bytes_per_frame(self) -> int:
        """PCM bytes of one sample frame: L16's payload, and what a sound card plays of any encoding."""
        return 2 * self.channels

    @property
    def is_opus(self) -> bool:
        return self.encoding == OPUS

    def samples_for(self, duration_s: float) -> int:
        """Whole sample frames closest to a duration."""
        return round(duration_s * self.rate)

    def encode(self, pcm: np.ndarray) -> bytes:
        """L16 wire payload of `pcm` (frames, channels) int16 (Opus is coded by `rtpwire.opus`, with state)."""
        return pcm.astype(WIRE_DTYPE, copy=False).tobytes()

    def decode(self, payload: bytes) -> np.ndarray:
        """PCM (frames, channels) int16 of an L16 wire payload; raises WireError if it is not whole frames."""
        if len(payload) % self.bytes_per_frame:
            raise WireError(f"L16 payload of {len(payload)} bytes is not a whole number of "
                            f"{self.channels}-channel frames")
        wire = np.frombuffer(payload, dtype=WIRE_DTYPE).reshape(-1, self.channels)
        return wire.astype(PCM_DTYPE)

    def silence(self, frames: int) -> np.ndarray:
        return np.zeros((frames, self.channels), dtype=PCM_DTYPE)

    def describe(self) -> str:
        layout = {1: "mono", 2: "stereo"}.get(self.channels, f"{self.channels} channels")
        return f"{self.encoding.capitalize() if self.is_opus else self.encoding} {self.rate} Hz {layout} " \
               f"(PT {self.payload_type})"


L16_STEREO = AudioFormat(rate=44100, channels=2, payload_type=10)
L16_MONO = AudioFormat(rate=44100, channels=1, payload_type=11)
OPUS_STEREO = AudioFormat(rate=OPUS_RATE, channels=2, payload_type=OPUS_PAYLOAD_TYPE, encoding=OPUS)
OPUS_MONO = AudioFormat(rate=OPUS_RATE, channels=1, payload_type=OPUS_PAYLOAD_TYPE, encoding=OPUS)
STATIC_FORMATS = {f.payload_type: f for f in (L16_STEREO, L16_MONO)}


DYNAMIC_PAYLOAD_TYPES = range(96, 128)  # RFC 3551: their meaning is in the stream's description (SDP), not the packet


def format_for_payload_type(payload_type: int, formats: Mapping[int, AudioFormat] = STATIC_FORMATS) -> AudioFormat:
    """The format of a payload type among `formats` (by default RFC 3551's static L16 ones); raises WireError for
    any other type."""
    try:
        return formats[payload_type]
    except KeyError:
        encodings = " or ".join(sorted({f.encoding for f in formats.values()}, key=str.lower))
        expected = f"{encodings}: " + " or ".join(map(str, sorted(formats)))
        hint = (f"; dynamic type {payload_type} is described by the stream's SDP: python -m listener FILE.sdp"
                if payload_type in DYNAMIC_PAYLOAD_TYPES else "")
        raise WireError(f"unsupported RTP payload type {payload_type} (expected {expected}{hint})") from None


def formats_playable_as(output: AudioFormat) -> dict[int, AudioFormat]:
    """The payload types a listener playing `output` decodes: its own (L16 or Opus), and the static L16 ones at
    its rate (other channel counts are converted; other rates would need resampling, and are refused)."""
    return {pt: f for pt, f in STATIC_FORMATS.items() if f.rate == output.rate} | {output.payload_type: output}
