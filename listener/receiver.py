"""The listener's core (sans-IO): datagrams in, exactly `frames` samples out, and the figures about both.

A pipeline of stages, each owning its part of the figures:

    RTP:    SRTP → Depacketizer.parse → StationLock → Depacketizer.decode → Playout (jitter buffer) → read
            (the datagram as it came) → FecDecoder → packets rebuilt, back to SRTP, marked as rebuilt
    repair: SRTP → FecDecoder → packets rebuilt, as above
    RTCP:   SRTP → parse_compound → StationLock → the station's clock, name, now playing, latency, BYE

Repair packets (Reed-Solomon FEC, docs/fec.md) protect the datagrams as the station sent them, sealed if it
seals them: a rebuilt packet is authenticated as any other, and is played only if it is in time.

A packet whose timestamp falls outside the jitter buffer's window is ignored before it is counted or can move any
reference (sequence numbers, timestamp unwrapping): a flood of stray packets cannot disturb the stream, and
nothing the receiver holds grows with what arrives. This facade wires the stages, dispatches what the station's
RTCP says, and assembles the figures (`stats`, a public interface) from the stages that count them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np

from listener.depacketizer import Depacketizer
from listener.fec_decoder import FecDecoder
from listener.jitter_buffer import Write
from listener.playout import LatencySource, Playout, PlayoutConfig
from listener.station_lock import StationLock, Stream
from rtpwire.audio import AudioFormat
from rtpwire.errors import WireError
from rtpwire.net import Address
from rtpwire.nowplaying import APP_NAME, NowPlaying
from rtpwire.rapid_sync import CLOCK_ID, LATENCY_ID, packet_clock
from rtpwire.repair_report import RepairReport
from rtpwire.rtcp import App, Bye, ReportBlock, SenderReport, SourceDescription, parse_compound
from rtpwire.seqnum import wrap
from rtpwire.srtp import SrtpReceiver

LOST_SIGNAL_S = 2.0  # nothing heard this long: "lost signal"
AUDIO_STOPPED_S = 0.5  # a station that said neither pause nor BYE, and sent no audio this long: "lost signal" too


class Channel(Enum):
    """Where a datagram came: the stream's port, its RTCP port, or its repair port."""

    RTP = "rtp"
    RTCP = "rtcp"
    REPAIR = "repair"


class State(Enum):
    WAITING = "waiting for the station"
    PLAYING = "playing"
    PAUSED = "paused"
    LEFT = "station left"
    LOST = "lost signal"
    ENCRYPTED = "stream is encrypted"  # SRTP, and this listener has no key


@dataclass(frozen=True)
class ReceiverConfig:
    fmt: AudioFormat  # what the output plays; payload types of its rate are decoded, other channel counts converted
    latency_s: float  # target delay from the station's clock to playout: the least it adapts down to
    wall_offset_s: float  # local wall-clock minus local monotonic time: maps station times onto `now`
    max_latency_s: float = 0.5  # the most the target adapts up to, however bad the network (or the shared latency)
    latency_source: LatencySource = LatencySource.COMMAND_LINE  # DEFAULT: the station's announcement replaces it
    capacity_s: float = 3.0  # jitter buffer size: the furthest ahead a packet may be and still be kept (a delay's
    # samples are kept that much longer, in a buffer that much larger)
    resync_s: float = 0.03  # play position further than this from the schedule: jump to the schedule
    srtp_key: bytes | None = None  # SRTP's master key and salt: nothing unauthenticated is played
    source_ip: str | None = None  # the station's address, if its announcement says: no other is listened to
    encrypted: bool = False  # the stream's description says it is SRTP: what tells an Opus stream heard keyless
    clock_extension_id: int | None = CLOCK_ID  # the RTP header extensions carrying the station's clock (RFC 6051)
    latency_extension_id: int | None = LATENCY_ID  # and its latency (`rtpwire.rapid_sync`); None: not read
    delay_s: float = 0.0  # this listener plays this much later (- earlier) than the shared schedule

    def __post_init__(self) -> None:
        if not 0 < self.latency_s <= self.max_latency_s < self.capacity_s:
            raise ValueError(f"need 0 < latency ({self.latency_s} s) <= maximum latency ({self.max_latency_s} s) "
                             f"< buffer capacity ({self.capacity_s} s)")


class Receiver:
    def __init__(self, config: ReceiverConfig, now: float) -> None:
        self.config = config
        self.started_s = now
        self._srtp = SrtpReceiver(config.srtp_key) if config.srtp_key is not None else None
        self.depacketizer = Depacketizer(config.fmt)
        self.lock = StationLock(config.fmt.rate, config.source_ip, keyed=self._srtp is not None,
                                described_encrypted=config.encrypted)
        self.fec = FecDecoder()
        self.packets_rebuilt_late = 0  # rebuilt by FEC after their time: not played
        self.playout = Playout(PlayoutConfig(config.fmt, config.latency_s, config.max_latency_s,
                                             config.latency_source, config.capacity_s + max(0.0, config.delay_s),
                                             config.resync_s, config.wall_offset_s, config.delay_s))
        self.packets_malformed = 0
        self.last_wire_error = ""

    # --- datagrams in -------------------------------------------------------------------------------------

    def on_datagram(self, channel: Channel, data: bytes, now: float, source: Address | None = None) -> None:
        if channel is Channel.RTP:
            self.on_rtp(data, now, source)
        elif channel is Channel.RTCP:
            self.on_rtcp(data, now, source)
        else:
            self.on_repair(data, now, source)

    def on_rtp(self, data: bytes, now: float, source: Address | None = None, rebuilt: bool = False) -> None:
        """An RTP datagram that arrived at `now` from `source` (None: unknown, as in tests on fake time), or that
        FEC `rebuilt` then."""
        opened = self._open(data, rtcp=False)
        if opened is None:
            return
        try:
            packet, fmt = self.depacketizer.parse(opened)
            clock, latency_us = packet_clock(packet, self.config.clock_extension_id, self.config.latency_extension_id)
        except WireError as e:
            self._malformed(e)
            return
        stream = self.lock.follow(packet.ssrc, now, source, rtp=True)
        if stream is None or self.lock.encrypted(stream, packet, fmt):
            return
        try:
            audio, samples = self.depacketizer.audio(packet, fmt)
        except WireError as e:
            self._malformed(e)
            return
        ext_ts = stream.timestamps.peek(packet.timestamp)
        verdict = self.playout.judge(stream, ext_ts, samples)
        if verdict is Write.TOO_FAR:
            return
        if rebuilt and verdict is Write.LATE:
            self.packets_rebuilt_late += 1
        elif stream.count(packet, ext_ts, now, rebuilt):
            if latency_us is not None:
                self.playout.adopt_latency(stream, latency_us)
            if clock is not None:
                stream.clock.carried(clock, ext_ts)
            self.playout.write(stream, ext_ts, audio, samples, packet.marker, verdict, now, rebuilt)
        if not rebuilt:
            self._rebuilt(self.fec.on_source(data, packet), now, source)

    def on_repair(self, data: bytes, now: float, source: Address | None = None) -> None:
        """A repair datagram that arrived at `now` from `source`: taken only from the followed station's address;
        the packets it rebuilds are played as if they had arrived now."""
        stream = self.lock.stream
        if stream is None or (source is not None and stream.rtp_source is not None
                              and source[0] != stream.rtp_source[0]):
            self.fec.repair_foreign += 1
            return
        opened = self._open(data, rtcp=False)
        if opened is not None:
            self._rebuilt(self.fec.on_repair(opened), now, stream.rtp_source)

    def _rebuilt(self, datagrams: list[bytes], now: float, source: Address | None) -> None:
        for datagram in datagrams:
            self.on_rtp(datagram, now, source, rebuilt=True)

    def on_rtcp(self, data: bytes, now: float, source: Address | None = None) -> None:
        """An RTCP datagram that arrived at `now` from `source` (None: unknown). What it says of the followed
        station counts only if it comes from the station's own RTCP source: a stranger's BYE or pause does not."""
        opened = self._open(data, rtcp=True)
        if opened is None:
            return
        try:
            packets = parse_compound(opened)
        except WireError as e:
            self._malformed(e)
            return
        from_station = self.lock.from_station(packets, source)
        for packet in packets:
            if isinstance(packet, SenderReport):
                stream = self.lock.follow(packet.ssrc, now, source, rtp=False)
                if stream is not None:
                    stream.clock.update(packet, stream.timestamps.unwrap(packet.rtp_timestamp), now)
            elif isinstance(packet, App) and packet.name == APP_NAME:
                stream = self.lock.follow(packet.ssrc, now, source, rtp=False)
                if stream is not None:
                    self._on_now_playing(stream, packet, now)
            elif isinstance(packet, SourceDescription):
                self.lock.on_description(packet, from_station, source)
            elif isinstance(packet, Bye):
                self.lock.on_bye(packet, from_station, source)

    def _on_now_playing(self, stream: Stream, packet: App, now: float) -> None:
        """What the station says it plays (RDIO): its title, whether it is paused, the latency it announces."""
        try:
            state = NowPlaying.from_app(packet)
        except WireError as e:
            self._malformed(e)
            return
        if state.paused and not stream.paused:
            stream.paused_at_s = now
        stream.paused, stream.title = state.paused, state.title
        if state.latency_us is not None:
            self.playout.adopt_latency(stream, state.latency_us)

    def _open(self, data: bytes, rtcp: bool) -> bytes | None:
        """SRTP's stage: the datagram authenticated and decrypted, None if it fails (counted by the SRTP receiver,
        by cause); without a key, the datagram as it came."""
        if self._srtp is None:
            return data
        try:
            return self._srtp.unprotect_rtcp(data) if rtcp else self._srtp.unprotect(data)
        except WireError as e:
            self.last_wire_error = str(e)
            return None

    def _malformed(self, error: WireError) -> None:
        self.packets_malformed += 1
        self.last_wire_error = str(error)

    # --- samples out --------------------------------------------------------------------------------------

    def read(self, frames: int, now: float) -> np.ndarray:
        """Exactly `frames` samples to start playing at `now` (`Playout.read`)."""
        return self.playout.read(self.lock.stream, frames, now)

    def set_station_offset(self, offset_s: float) -> None:
        """The station's wall clock minus this host's (`Playout.set_station_offset`); safe from another thread."""
        self.playout.set_station_offset(offset_s)

    # --- what it knows ------------------------------------------------------------------------------------

    def state(self, now: float) -> State:
        stream = self.lock.stream
        if stream is None:
            return State.WAITING
        if stream.encrypted:
            return State.ENCRYPTED
        if stream.timeline is not None and stream.timeline.buffer.buffered_samples > 0:
            return State.PLAYING  # what arrived before a pause or BYE is still being played
        if stream.left:
            return State.LEFT
        if now - stream.last_heard_s > LOST_SIGNAL_S:
            return State.LOST
        if stream.paused:
            return State.PAUSED
        if stream.timeline is None:
            return State.WAITING
        return State.LOST if now - stream.last_rtp_s > AUDIO_STOPPED_S else State.PLAYING

    @property
    def packets_unauthenticated(self) -> int:
        """SRTP packets that failed authentication: a wrong key, tampering, or a sender without the key."""
        return self._srtp.failed_authentication if self._srtp is not None else 0

    @property
    def station_name(self) -> str:
        return self.lock.stream.name if self.lock.stream else ""

    @property
    def title(self) -> str:
        return self.lock.stream.title if self.lock.stream else ""

    def buffered_s(self) -> float:
        return self.playout.buffered_s(self.lock.stream)

    def report_block(self, now: float) -> ReportBlock | None:
        """What a receiver report sent at `now` says of the followed station (RFC 3550 6.4.1); one call per report.
        None if no audio came from it since the previous one: the report then leaves the station out."""
        stream = self.lock.stream
        if stream is None:
            return None
        stats = stream.stats
        fraction_lost = stats.fraction_lost_since_last()
        if fraction_lost is None or stats.highest_sequence is None:
            return None
        last_sr, delay_since_last_sr = stream.clock.last_report(now)
        return ReportBlock(stream.ssrc, fraction_lost, stats.lost, wrap(stats.highest_sequence, 32),
                           round(stats.jitter_samples), last_sr, delay_since_last_sr)

    def repair_report(self) -> RepairReport | None:
        """What the report block just made (`report_block`) says after FEC, if repair packets were heard: the
        station shows it as the loss after FEC."""
        stream = self.lock.stream
        if stream is None or not self.fec.heard_repair:
            return None
        return RepairReport(stream.ssrc, stream.stats.fraction_unrecovered, stream.stats.unrecovered)

    def stats(self, now: float) -> dict[str, object]:
        """The figures a run produced, from the stages that count them; keys are a public interface
        (`--stats-json`)."""
        return {
            **self.lock.stats(),
            **self.playout.stats(),
            "packets_malformed": self.packets_malformed,
            "packets_rebuilt_late": self.packets_rebuilt_late,
            **self.fec.stats(),
            **(self._srtp.stats() if self._srtp is not None else {}),
            "duration_s": round(now - self.started_s, 3),
            "state": self.state(now).value,
            **self._first_audio(),
        }

    def _first_audio(self) -> dict[str, float | None]:
        """How soon audio came: from the listener's start, and from the first packet of the station followed now
        (a restarted station's); None until it plays."""
        first_s = self.playout.first_audio_s
        stream = self.lock.stream
        timeline = stream.timeline if stream is not None else None
        after_packet_s = (timeline.first_audio_s - timeline.first_arrival_s
                          if timeline is not None and timeline.first_audio_s is not None else None)
        return {"first_audio_ms": None if first_s is None else round((first_s - self.started_s) * 1e3, 1),
                "first_audio_after_packet_ms": None if after_packet_s is None else round(after_packet_s * 1e3, 1)}
