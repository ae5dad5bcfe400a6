"""RTP datagrams to samples (sans-IO), the listener's half of the station's Packetizer: the packet, the audio
format its payload type names, and its payload decoded to PCM in the output's channel count (L16), or the number
of samples it codes (Opus, which is decoded later, in order, by `listener.opus_decoding`: its decoder keeps
state from packet to packet).

The payload types decoded are those the output's rate allows (`formats_playable_as`): the static L16 types at its
rate, and the type a stream's SDP gave. Anything else is refused with a WireError saying what was expected, and
the last such refusal is kept (`unsupported`): a stream of the wrong type is why a listener plays nothing, and it
must be able to say so.
"""

from __future__ import annotations

import numpy as np

from rtpwire.audio import AudioFormat, format_for_payload_type, formats_playable_as
from rtpwire.errors import WireError
from rtpwire.opus import packet_samples
from rtpwire.rtp import RtpPacket


class Depacketizer:
    def __init__(self, output: AudioFormat) -> None:
        self._output = output
        self._formats = formats_playable_as(output)
        self.unsupported = ""  # why the last packet of a payload type not played here was refused

    def parse(self, data: bytes) -> tuple[RtpPacket, AudioFormat]:
        """The packet and the format of its payload; WireError if it is no RTP, or of a type not played here."""
        packet = RtpPacket.parse(data)
        try:
            return packet, format_for_payload_type(packet.payload_type, self._formats)
        except WireError as e:
            self.unsupported = str(e)
            raise

    def audio(self, packet: RtpPacket, fmt: AudioFormat) -> tuple[np.ndarray | bytes, int]:
        """The packet's audio as playout takes it, and how many samples it is: L16 decoded (`decode`); an Opus
        payload as it came, measured from its header; WireError if it is neither."""
        if fmt.is_opus:
            return packet.payload, packet_samples(packet.payload)
        pcm = self.decode(packet, fmt)
        return pcm, len(pcm)

    def decode(self, packet: RtpPacket, fmt: AudioFormat) -> np.ndarray:
        """The packet's samples, (frames, output channels) int16: mono played on every channel, stereo averaged
        to mono (rounded); WireError if the payload is not whole frames."""
        pcm = fmt.decode(packet.payload)
        channels = self._output.channels
        if pcm.shape[1] == channels:
            return pcm
        if channels == 1:
            return pcm.mean(axis=1, dtype=np.float64).round().astype(pcm.dtype).reshape(-1, 1)
        return np.repeat(pcm[:, :1], channels, axis=1)
