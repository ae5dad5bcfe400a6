"""The L16 audio format of RFC 3551: big-endian signed 16-bit PCM, interleaved channels.

Both sides speak in numpy arrays of shape (frames, channels), dtype int16, native byte order; the wire form is
produced and checked here only.
"""

from __future__ import annotations

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


def format_for_payload_type(payload_type: int) -> AudioFormat:
    """The static RFC 3551 L16 format of a payload type; raises WireError for any other type."""
    try:
        return STATIC_FORMATS[payload_type]
    except KeyError:
        raise WireError(f"unsupported RTP payload type {payload_type} (expected L16: 10 or 11)") from None
