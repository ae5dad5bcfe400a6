"""PCM to RTP packets (sans-IO): the payload's encoding, sequence numbers, timestamps, marker bits and the
sender's counters."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rtpwire.audio import AudioFormat
from rtpwire.rtp import RtpPacket
from rtpwire.seqnum import SEQ_BITS, TS_BITS, wrap


class Packetizer:
    """Stamps PCM with RTP headers.

    `stream_ts` (samples since the stream started) runs with the station's clock, paused or not, so a resume
    after a pause shows as a timestamp gap: such a packet, like the very first, gets the marker bit (RFC 3551 4.1:
    first packet of a talkspurt). Sequence numbers have no gaps: listeners count loss from them.
    """

    def __init__(self, fmt: AudioFormat, ssrc: int, first_sequence: int, first_timestamp: int,
                 encode: Callable[[np.ndarray], bytes] | None = None) -> None:
        """`encode`: a packet's samples to its payload; by default L16's (Opus's encoder keeps state between
        packets: `rtpwire.opus.OpusEncoder.encode`)."""
        self.fmt = fmt
        self._encode = encode or fmt.encode
        self.ssrc = ssrc
        self.first_timestamp = first_timestamp
        self._next_sequence = first_sequence
        self._expected_ts: int | None = None
        self.packet_count = 0
        self.octet_count = 0

    def rtp_timestamp(self, stream_ts: int) -> int:
        """The wire timestamp of a stream position; the reporter uses it too, so SRs and packets agree."""
        return wrap(self.first_timestamp + stream_ts, TS_BITS)

    def packetize(self, pcm: np.ndarray, stream_ts: int) -> RtpPacket:
        payload = self._encode(pcm)
        packet = RtpPacket(
            payload_type=self.fmt.payload_type,
            sequence=self._next_sequence,
            timestamp=self.rtp_timestamp(stream_ts),
            ssrc=self.ssrc,
            payload=payload,
            marker=stream_ts != self._expected_ts,
        )
        self._next_sequence = wrap(self._next_sequence + 1, SEQ_BITS)
        self._expected_ts = stream_ts + len(pcm)
        self.packet_count += 1
        self.octet_count += len(payload)
        return packet
