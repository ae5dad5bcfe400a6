"""Opus (RFC 6716), the payload of RFC 7587: the codec through libopus, and the only module that touches it.

The binding is opuslib-next (ctypes over the system's libopus0), not PyAV: PyAV's decoder has no entry point for
a lost packet (an empty packet means end of stream) nor for in-band FEC, and both are what the listener needs.
Decoding calls opus_decode itself, into a numpy array, since the binding's own decode goes through a Python list
and costs more than twice the decoding.

Opus always runs at 48 kHz here. A packet's duration is read from its header (TOC byte and frame count), so a
packet can be judged before it is decoded; the decoder converts mono packets to stereo output and back itself.

In-band FEC (LBRR) exists only in the SILK layer: a CELT packet carries none, and the encoder asked for FEC at a
music bitrate leaves CELT for hybrid mode once the expected loss passes its threshold (about 8 % for music in
libopus 1.3 to 1.6), which costs some fidelity in the low band for every packet, lost or not.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from types import ModuleType

import numpy as np

from rtpwire.audio import OPUS_RATE, PCM_DTYPE
from rtpwire.errors import WireError

FRAME_MS_ALLOWED = (2.5, 5, 10, 20)
FRAME_SAMPLES_ALLOWED = tuple(round(ms * OPUS_RATE / 1000) for ms in FRAME_MS_ALLOWED)
PLC_STEP_SAMPLES = OPUS_RATE // 400  # libopus conceals and rebuilds in multiples of 2.5 ms only
MAX_PACKET_BYTES = 1276  # a TOC byte and the largest frame RFC 6716 allows: libopus makes no larger one-frame packet
_MAX_FRAMES_PER_PACKET = 48  # RFC 6716 3.2.5: 120 ms of 2.5 ms frames
MAX_PACKET_SAMPLES = OPUS_RATE * 120 // 1000  # the most audio one packet holds (RFC 6716 3.2.5)



@dataclass(frozen=True)
class _Binding:
    """What this module calls of libopus, through opuslib-next."""

    module: ModuleType
    c_int16_pointer: type
    decode: Callable[..., int]
    samples_per_frame: Callable[[bytes, int], int]
    strerror: Callable[[int], bytes]
    packet_parse: Callable[..., int]


@cache
def _opus() -> _Binding:
    """libopus and its binding, loaded on first use: only a station or listener of Opus pays for them."""
    import opuslib_next
    from opuslib_next.api import c_int16_pointer, libopus
    from opuslib_next.api.decoder import libopus_decode, packet_get_samples_per_frame
    from opuslib_next.api.info import strerror

    packet_parse = libopus.opus_packet_parse
    packet_parse.argtypes = (ctypes.c_char_p, ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p,
                             ctypes.POINTER(ctypes.c_int16), ctypes.POINTER(ctypes.c_int))
    packet_parse.restype = ctypes.c_int
    return _Binding(opuslib_next, c_int16_pointer, libopus_decode, packet_get_samples_per_frame, strerror,
                    packet_parse)


def _library_message(code: int) -> str:
    return _opus().strerror(code).decode("ascii", errors="replace")


def _parse(payload: bytes) -> tuple[int, int, int]:
    """(frames, first frame's offset, first frame's length) of a packet, every frame length checked against the
    payload (opus_packet_parse): what opus_packet_get_nb_samples reads and more, so that a truncated packet is
    refused before it is decoded. Raises WireError."""
    if not payload:
        raise WireError("empty Opus packet")
    sizes = (ctypes.c_int16 * _MAX_FRAMES_PER_PACKET)()
    offset = ctypes.c_int()
    frames = _opus().packet_parse(payload, len(payload), None, None, sizes, ctypes.byref(offset))
    if frames < 0:
        raise WireError(f"invalid Opus packet of {len(payload)} bytes (TOC 0x{payload[0]:02x}): "
                        f"{_library_message(frames)}")
    return frames, offset.value, sizes[0]


def packet_samples(payload: bytes) -> int:
    """The samples at 48 kHz a packet decodes to; raises WireError for an invalid packet."""
    frames, _, _ = _parse(payload)
    return frames * _opus().samples_per_frame(payload, OPUS_RATE)


def packet_has_fec(payload: bytes) -> bool:
    """Whether a packet carries in-band FEC (LBRR) for the packet before it; raises WireError for an invalid one.

    libopus 1.5's opus_packet_has_lbrr, for the 1.3 of Debian 12: the flags are the first range-coded bits of the
    SILK layer (per channel, a VAD bit per 20 ms then the LBRR bit), and an equiprobable first symbol is a plain
    bit of the first byte.
    """
    _, offset, size = _parse(payload)
    toc = payload[0]
    if toc >> 3 >= 16 or size == 0:  # configurations 16-31 are CELT only; an empty frame is a DTX gap
        return False
    silk_frames = max(1, _opus().samples_per_frame(payload, OPUS_RATE) // 960)
    first = payload[offset]
    lbrr = (first >> (7 - silk_frames)) & 1
    if toc & 0x04:  # stereo: the side channel's flags follow the mid channel's
        lbrr |= (first >> (6 - 2 * silk_frames)) & 1
    return bool(lbrr)


class OpusEncoder:
    """Frames of `frame_samples` at 48 kHz in, one packet each out (application AUDIO). Constrained VBR: the
    bitrate follows the music within a frame's budget, so that the stream's rate on the wire stays the one asked
    for, which a Wi-Fi multicast budget is planned by.

    `fec_percent` > 0 turns in-band FEC on and tells the encoder to expect that much loss: see the module's
    docstring for what that costs and when it actually adds FEC.
    """

    def __init__(self, channels: int, bitrate_kbps: int, frame_samples: int, fec_percent: int = 0) -> None:
        if frame_samples not in FRAME_SAMPLES_ALLOWED:
            raise ValueError(f"Opus frames of {frame_samples} samples: expected one of {FRAME_SAMPLES_ALLOWED} "
                             f"({', '.join(f'{ms:g}' for ms in FRAME_MS_ALLOWED)} ms at {OPUS_RATE} Hz)")
        if not 0 <= fec_percent <= 100:
            raise ValueError(f"expected packet loss of {fec_percent} %: expected 0 to 100")
        self.channels = channels
        self.frame_samples = frame_samples
        binding = _opus().module
        try:
            self._encoder = binding.Encoder(OPUS_RATE, channels, binding.APPLICATION_AUDIO)
            self._encoder.bitrate = bitrate_kbps * 1000
            self._encoder.vbr_constraint = 1
            if fec_percent:
                self._encoder.inband_fec = 1
                self._encoder.packet_loss_perc = fec_percent
        except binding.OpusError as error:
            raise ValueError(f"Opus encoder for {channels} channels at {bitrate_kbps} kbit/s: {error}") from None

    @property
    def lookahead_samples(self) -> int:
        """The codec's delay at 48 kHz (OPUS_GET_LOOKAHEAD): output sample n + lookahead is input sample n."""
        return self._encoder.lookahead

    def encode(self, pcm: np.ndarray) -> bytes:
        """One packet of `pcm`, (frame_samples, channels) int16."""
        if pcm.shape != (self.frame_samples, self.channels) or pcm.dtype != PCM_DTYPE:
            raise ValueError(f"Opus encoder takes ({self.frame_samples}, {self.channels}) int16 frames, "
                             f"got {pcm.shape} {pcm.dtype}")
        return self._encoder.encode(pcm.tobytes(), self.frame_samples)


class OpusDecoder:
    """Packets in, (frames, channels) int16 out, `channels` whatever the packets carry. Stateful: packets must
    come in order, and a lost one is replaced by `rebuild` or `conceal` in its place, so the state follows."""

    def __init__(self, channels: int) -> None:
        self.channels = channels
        self._opus = _opus()
        self._decoder = self._opus.module.Decoder(OPUS_RATE, channels)
        # decoded into one buffer, its pointer made once: numpy's ctypes pointer costs more than a copy out
        self._out = np.empty((MAX_PACKET_SAMPLES, channels), dtype=PCM_DTYPE)
        self._out_pointer = self._out.ctypes.data_as(self._opus.c_int16_pointer)

    def _decode(self, payload: bytes | None, frame_samples: int, fec: bool) -> np.ndarray:
        decoded = self._opus.decode(self._decoder.decoder_state, payload, len(payload) if payload else 0,
                                 self._out_pointer, frame_samples, int(fec))
        if decoded < 0:
            size = f"{len(payload)} bytes" if payload else "no data"
            raise WireError(f"Opus packet ({size}) not decodable: {_library_message(decoded)}")
        return self._out[:decoded].copy()

    def decode(self, payload: bytes) -> np.ndarray:
        """The PCM of a packet; raises WireError for a corrupt one (and nothing else): libopus checks the packet
        as `packet_samples` does, and decodes what it holds, up to the longest a packet may hold."""
        if not payload:  # no data would mean "conceal" to libopus
            raise WireError("empty Opus packet")
        return self._decode(payload, MAX_PACKET_SAMPLES, fec=False)

    def rebuild(self, next_payload: bytes, frame_samples: int) -> np.ndarray:
        """The `frame_samples` lost just before `next_payload`, from the in-band FEC it carries; libopus conceals
        instead (as `conceal`) where it carries none. The next packet is still to be decoded after it."""
        _check_plc_length(frame_samples)
        packet_samples(next_payload)  # an empty payload would silently mean "conceal" to libopus
        return self._decode(next_payload, frame_samples, fec=True)

    def conceal(self, frame_samples: int) -> np.ndarray:
        """`frame_samples` in place of lost ones, made up by the codec from what it decoded last (PLC)."""
        _check_plc_length(frame_samples)
        return self._decode(None, frame_samples, fec=False)

    def reset(self) -> None:
        """Forget the audio decoded so far: what follows is decoded as if it began a stream."""
        self._decoder.reset_state()


def _check_plc_length(frame_samples: int) -> None:
    if frame_samples <= 0 or frame_samples % PLC_STEP_SAMPLES:
        raise ValueError(f"libopus conceals and rebuilds multiples of {PLC_STEP_SAMPLES} samples (2.5 ms), "
                         f"not {frame_samples}")
