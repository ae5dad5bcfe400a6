"""The L16 audio format of RFC 3551: big-endian signed 16-bit PCM, interleaved channels.

Both sides speak in numpy arrays of shape (frames, channels), dtype int16, native byte order; the wire form is
produced and checked here only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from rtpwire.errors import WireError

WIRE_DTYPE = np.dtype(">i2")
PCM_DTYPE = np.dtype(np.int16)


@dataclass(frozen=True, slots=True)
class AudioFormat:
    rate: int
    channels: int
    payload_type: int

    @property
    def bytes_per_frame(self) -> int:
        return 2 * self.channels

    def samples_for(self, duration_s: float) -> int:
        """Whole sample frames closest to a duration."""
        return round(duration_s * self.rate)

    def encode(self, pcm: np.ndarray) -> bytes:
        """Wire payload of `pcm` (frames, channels) int16."""
        return pcm.astype(WIRE_DTYPE, copy=False).tobytes()

    def decode(self, payload: bytes) -> np.ndarray:
        """PCM (frames, channels) int16 of a wire payload; raises WireError if it is not whole frames."""
        if len(payload) % self.bytes_per_frame:
            raise WireError(f"L16 payload of {len(payload)} bytes is not a whole number of "
                            f"{self.channels}-channel frames")
        wire = np.frombuffer(payload, dtype=WIRE_DTYPE).reshape(-1, self.channels)
        return wire.astype(PCM_DTYPE)

    def silence(self, frames: int) -> np.ndarray:
        return np.zeros((frames, self.channels), dtype=PCM_DTYPE)

    def describe(self) -> str:
        layout = {1: "mono", 2: "stereo"}.get(self.channels, f"{self.channels} channels")
        return f"L16 {self.rate} Hz {layout} (PT {self.payload_type})"


L16_STEREO = AudioFormat(rate=44100, channels=2, payload_type=10)
L16_MONO = AudioFormat(rate=44100, channels=1, payload_type=11)
STATIC_FORMATS = {f.payload_type: f for f in (L16_STEREO, L16_MONO)}


DYNAMIC_PAYLOAD_TYPES = range(96, 128)  # RFC 3551: their meaning is in the stream's description (SDP), not the packet


def format_for_payload_type(payload_type: int, formats: Mapping[int, AudioFormat] = STATIC_FORMATS) -> AudioFormat:
    """The L16 format of a payload type among `formats` (by default RFC 3551's static ones); raises WireError for
    any other type."""
    try:
        return formats[payload_type]
    except KeyError:
        expected = " or ".join(map(str, sorted(formats)))
        hint = (f"; dynamic type {payload_type} is described by the stream's SDP: python -m listener FILE.sdp"
                if payload_type in DYNAMIC_PAYLOAD_TYPES else "")
        raise WireError(f"unsupported RTP payload type {payload_type} (expected L16: {expected}{hint})") from None


def formats_playable_as(output: AudioFormat) -> dict[int, AudioFormat]:
    """The payload types a listener playing `output` decodes: its own, and the static L16 ones at its rate (other
    channel counts are converted; other rates would need resampling, and are refused)."""
    return {pt: f for pt, f in STATIC_FORMATS.items() if f.rate == output.rate} | {output.payload_type: output}
