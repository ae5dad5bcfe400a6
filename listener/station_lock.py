"""Following one station (sans-IO): which packets are the station's, which a stranger's, and when to switch.

The listener follows one station (one SSRC) at a time, switching only when that station said BYE or went silent,
so a restarted station (new SSRC) is picked up and two stations on one group are not mixed. It locks onto the
station's addresses as it first hears them (its RTP and its RTCP, which must come from one address; only the
address its announcement names, if it has one): other stations count as foreign, packets of the station's SSRC
from elsewhere as spoofed, and both are remembered (`Strangers`), never played. A stream heard without its SRTP
key is recognised as such, so that its ciphertext is never played as noise.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, field

from listener.reception import ReceptionStats
from listener.sender_clock import SenderClock
from listener.strangers import Strangers
from listener.timeline import Timeline
from rtpwire.audio import AudioFormat
from rtpwire.net import Address
from rtpwire.rtcp import SDES_NAME, Bye, RtcpPacket, SourceDescription
from rtpwire.rtp import RtpPacket
from rtpwire.seqnum import TS_BITS, Unwrapper, seq_diff, ts_diff
from rtpwire.srtp import looks_encrypted

SOURCE_SILENT_S = 0.2  # a playing station that sent no RTP this long may be replaced by a new SSRC
SOURCE_TIMEOUT_S = 1.5  # a station that sent nothing at all this long may be replaced


@dataclass
class Stream:
    """What the listener knows of the station it follows: where it sends from, what it said, and its audio."""

    ssrc: int
    stats: ReceptionStats
    clock: SenderClock
    last_heard_s: float
    timestamps: Unwrapper = field(default_factory=lambda: Unwrapper(TS_BITS))
    timeline: Timeline | None = None  # where its samples play, from its first audio on
    last_rtp_s: float = float("-inf")
    paused: bool = False
    paused_at_s: float = float("-inf")  # arrival of the report that said so: only RTP arriving later resumes
    left: bool = False
    name: str = ""
    title: str = ""
    rtp_source: Address | None = None  # where its RTP comes from, and its RTCP: the first heard of each
    rtcp_source: Address | None = None
    last_header: tuple[int, int, int] | None = None  # sequence number, timestamp, payload bytes of its latest RTP
    encrypted: bool = False  # SRTP, heard without the key

    def admits(self, source: Address | None, rtp: bool) -> bool:
        """Whether a packet of this stream's SSRC from `source` is the station's: the first source heard on each
        channel (RTP, RTCP; both from one address) is the station's own, and no other is, whatever SSRC it
        claims."""
        if source is None:
            return True
        known, other = (self.rtp_source, self.rtcp_source) if rtp else (self.rtcp_source, self.rtp_source)
        if known is None:
            if other is not None and other[0] != source[0]:
                return False  # a station sends its RTP and its RTCP from one address
            if rtp:
                self.rtp_source = source
            else:
                self.rtcp_source = source
            return True
        return source == known

    def count(self, packet: RtpPacket, ext_ts: int, now: float, rebuilt: bool = False) -> bool:
        """Takes in an RTP packet of this station found within the jitter buffer's window (so it may move the
        references: timestamp unwrapping, sequence numbers); whether it is a new packet, to be played. A packet
        `rebuilt` by FEC moves nothing: it is counted as recovered, not received."""
        if rebuilt:
            return self.stats.on_recovered(packet.sequence) is not None
        self.timestamps.unwrap(packet.timestamp)
        self.last_rtp_s = now
        if self.stats.on_packet(packet.sequence, ext_ts, now, len(packet.payload)) is None:
            return False
        if now > self.paused_at_s:  # audio after the pause report (whose own resume report may be lost)
            self.paused = False
        return True


@dataclass(frozen=True)
class _Totals:
    """Reception figures summed over streams: those followed before the current one are kept as sums, so that
    however many stations come and go (or stray SSRCs take over a silent group), memory does not grow."""

    received: int = 0
    lost: int = 0
    recovered: int = 0
    unrecovered: int = 0
    duplicates: int = 0
    payload_bytes: int = 0

    @classmethod
    def of(cls, stats: ReceptionStats) -> _Totals:
        return cls(stats.received, stats.lost, stats.recovered, stats.unrecovered, stats.duplicates,
                   stats.payload_bytes)

    def __add__(self, other: _Totals) -> _Totals:
        return _Totals(*(mine + theirs for mine, theirs in zip(astuple(self), astuple(other))))


def _ssrcs(packet: RtcpPacket) -> tuple[int, ...]:
    """The sources an RTCP packet speaks for, or of."""
    if isinstance(packet, SourceDescription):
        return tuple(chunk.ssrc for chunk in packet.chunks)
    if isinstance(packet, Bye):
        return packet.ssrcs
    ssrc = getattr(packet, "ssrc", None)
    return (ssrc,) if isinstance(ssrc, int) else ()


class StationLock:
    def __init__(self, rate: int, source_ip: str | None = None, keyed: bool = False,
                 described_encrypted: bool = False) -> None:
        """`source_ip`: the station's address, if its announcement says: no other is listened to. `keyed`: the
        listener has the SRTP key (what it is given was authenticated), so nothing is judged encrypted.
        `described_encrypted`: the stream's description says SRTP, which is how an Opus stream is known as such
        (its packets' sizes say nothing)."""
        self._rate = rate
        self._source_ip = source_ip
        self._keyed = keyed
        self._described_encrypted = described_encrypted
        self.stream: Stream | None = None  # the station followed
        self._past = _Totals()
        self.packets_foreign = 0  # from other stations on the group
        self.packets_spoofed = 0  # with the followed station's SSRC, from another address
        self.packets_encrypted = 0  # SRTP heard without the key
        self.source_changes = 0
        self.strangers = Strangers()

    def follow(self, ssrc: int, now: float, source: Address | None, rtp: bool) -> Stream | None:
        """The stream a packet of `ssrc` from `source` (None: unknown, as in tests on fake time) belongs to,
        switching stations if the current one is gone; None for anyone else's packet: another station on the
        group (foreign), or a packet of the station's SSRC from another address (spoofed)."""
        current = self.stream
        if self._source_ip is not None and source is not None and source[0] != self._source_ip:
            self.stranger(ssrc, source, spoofed=current is not None and ssrc == current.ssrc)
            return None
        if current is not None and current.ssrc == ssrc:
            if not current.admits(source, rtp):
                self.stranger(ssrc, source, spoofed=True)
                return None
            current.last_heard_s = now
            return current
        if current is not None:
            gone = (current.left or now - current.last_heard_s > SOURCE_TIMEOUT_S
                    or (rtp and not current.paused and now - current.last_rtp_s > SOURCE_SILENT_S))
            if not gone:
                self.stranger(ssrc, source, spoofed=False)
                return None
            self._past += _Totals.of(current.stats)
            self.source_changes += 1
        self.stream = Stream(ssrc, ReceptionStats(self._rate), SenderClock(self._rate), last_heard_s=now)
        self.stream.admits(source, rtp)  # locks this channel onto the packet's source
        return self.stream

    def from_station(self, packets: list[RtcpPacket], source: Address | None) -> bool:
        """Whether what an RTCP datagram says of the followed station may be believed: it comes from the station's
        own RTCP source, or says nothing of it (others' reports lock nothing)."""
        current = self.stream
        about_station = current is not None and any(current.ssrc in _ssrcs(packet) for packet in packets)
        return not about_station or current.admits(source, rtp=False)

    def on_description(self, packet: SourceDescription, from_station: bool, source: Address | None) -> None:
        """The followed station's name (SDES NAME), believed only from the station itself."""
        stream = self.stream
        for chunk in packet.chunks:
            if stream is not None and chunk.ssrc == stream.ssrc:
                if from_station:
                    stream.name = chunk.get(SDES_NAME) or stream.name
                else:
                    self.stranger(chunk.ssrc, source, spoofed=True)

    def on_bye(self, packet: Bye, from_station: bool, source: Address | None) -> None:
        """The followed station leaving, believed only from the station itself."""
        stream = self.stream
        if stream is not None and stream.ssrc in packet.ssrcs:
            if from_station:
                stream.left = True
            else:
                self.stranger(stream.ssrc, source, spoofed=True)

    def stranger(self, ssrc: int, source: Address | None, spoofed: bool) -> None:
        if spoofed:
            self.packets_spoofed += 1
        else:
            self.packets_foreign += 1
        self.strangers.note(ssrc, source)

    def encrypted(self, stream: Stream, packet: RtpPacket, fmt: AudioFormat) -> bool:
        """Whether the stream is SRTP heard without the key (`looks_encrypted`, judged on each packet that
        follows another): its audio is dropped, counted, and not played as noise."""
        previous, stream.last_header = stream.last_header, (packet.sequence, packet.timestamp, len(packet.payload))
        if fmt.is_opus:
            stream.encrypted = self._described_encrypted and not self._keyed
        elif not self._keyed and previous is not None and seq_diff(packet.sequence, previous[0]) == 1:
            previous_samples = ts_diff(packet.timestamp, previous[1])  # what the previous packet carried
            stream.encrypted = looks_encrypted(previous[2], previous_samples, fmt.bytes_per_frame)
            if stream.encrypted:
                stream.timeline = None  # what the first packet put there is noise too
        if stream.encrypted:
            self.packets_encrypted += 1
        return stream.encrypted

    def stats(self) -> dict[str, object]:
        """Its part of the listener's figures (`--stats-json` keys): reception summed over the stations followed,
        the strangers refused, and who is followed now."""
        current = self.stream
        totals = self._past + (_Totals.of(current.stats) if current else _Totals())
        return {
            "packets_received": totals.received,
            "packets_lost": totals.lost,
            "packets_recovered": totals.recovered,
            "packets_unrecovered": totals.unrecovered,
            "packets_duplicate": totals.duplicates,
            "packets_foreign": self.packets_foreign,
            "packets_spoofed": self.packets_spoofed,
            "packets_encrypted": self.packets_encrypted,
            "other_senders": self.strangers.count,
            "bytes_received": totals.payload_bytes,
            "jitter_ms": round(current.stats.jitter_s * 1e3, 3) if current else 0.0,
            "ssrc": current.ssrc if current else None,
            "source_changes": self.source_changes,
            "station_name": current.name if current else "",
        }
