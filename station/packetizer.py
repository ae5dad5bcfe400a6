"""PCM to RTP packets (sans-IO): the payload's encoding, sequence numbers, timestamps, marker bits, the station's
clock in-band (RFC 6051) and the sender's counters."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rtpwire.audio import AudioFormat
from rtpwire.nowplaying import DEFAULT_LATENCY_S
from rtpwire.rapid_sync import clock_elements
from rtpwire.rtcp import ntp_from_unix
from rtpwire.rtp import RtpPacket
from rtpwire.seqnum import SEQ_BITS, TS_BITS, wrap

CLOCK_PACKETS = 3  # after a start, a resume or a new track, this many packets in a row carry the clock (one lost)
CLOCK_EVERY_S = 0.025  # and one at least this often: a listener joining plays after its latency, not a report's wait


class Packetizer:
    """Stamps PCM with RTP headers.

    `stream_ts` (samples since the stream started) runs with the station's clock, paused or not, so a resume
    after a pause shows as a timestamp gap: such a packet, like the very first, gets the marker bit (RFC 3551 4.1:
    first packet of a talkspurt). Sequence numbers have no gaps: listeners count loss from them.

    Packets carry the wall-clock time of their first sample and the station's latency (`rtpwire.rapid_sync`) on
    the CLOCK_PACKETS after a marker or `clock_soon` (a new track), and every CLOCK_EVERY_S of stream: 20 bytes
    on one packet in five at 5 ms per packet.
    """

    def __init__(self, fmt: AudioFormat, ssrc: int, first_sequence: int, first_timestamp: int,
                 encode: Callable[[np.ndarray], bytes] | None = None, clock_origin_s: float = 0.0,
                 latency_s: float = DEFAULT_LATENCY_S) -> None:
        """`encode`: a packet's samples to its payload; by default L16's (Opus's encoder keeps state between
        packets: `rtpwire.opus.OpusEncoder.encode`). `clock_origin_s`: the station's wall-clock time (Unix
        seconds) of stream position 0, which its sender reports map timestamps onto too; `latency_s`: the
        latency it announces, carried with the clock."""
        self.fmt = fmt
        self.clock_origin_s = clock_origin_s
        self.latency_us = round(latency_s * 1e6)
        self._encode = encode or fmt.encode
        self.ssrc = ssrc
        self.first_timestamp = first_timestamp
        self._next_sequence = first_sequence
        self._expected_ts: int | None = None
        self._clock_every_samples = fmt.samples_for(CLOCK_EVERY_S)
        self._clock_packets = 0  # packets still to carry the clock in a row
        self._clock_ts = 0  # the stream position of the last packet that carried it
        self.packet_count = 0
        self.octet_count = 0

    def rtp_timestamp(self, stream_ts: int) -> int:
        """The wire timestamp of a stream position; the reporter uses it too, so SRs and packets agree."""
        return wrap(self.first_timestamp + stream_ts, TS_BITS)

    def clock_soon(self) -> None:
        """The next CLOCK_PACKETS packets carry the clock (a new track: listeners tuning in then)."""
        self._clock_packets = CLOCK_PACKETS

    def packetize(self, pcm: np.ndarray, stream_ts: int) -> RtpPacket:
        payload = self._encode(pcm)
        marker = stream_ts != self._expected_ts
        if marker:
            self.clock_soon()
        extensions = ()
        if self._clock_packets or stream_ts + len(pcm) - self._clock_ts > self._clock_every_samples:
            extensions = clock_elements(ntp_from_unix(self.clock_origin_s + stream_ts / self.fmt.rate),
                                        self.latency_us)
            self._clock_packets = max(0, self._clock_packets - 1)
            self._clock_ts = stream_ts
        packet = RtpPacket(
            payload_type=self.fmt.payload_type,
            sequence=self._next_sequence,
            timestamp=self.rtp_timestamp(stream_ts),
            ssrc=self.ssrc,
            payload=payload,
            marker=marker,
            extensions=extensions,
        )
        self._next_sequence = wrap(self._next_sequence + 1, SEQ_BITS)
        self._expected_ts = stream_ts + len(pcm)
        self.packet_count += 1
        self.octet_count += len(payload)
        return packet
