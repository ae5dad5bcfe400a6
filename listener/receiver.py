"""The listener's core (sans-IO): datagrams in, exactly `frames` samples out, and the figures about both.

It follows one station (one SSRC) at a time, switching only when that station said BYE or went silent, so a
restarted station (new SSRC) is picked up and two stations on one group are not mixed. Each sample is scheduled
by its timestamp, not by when it arrived: it plays at the station time the sender reports assign it, plus the
target latency, converted to local monotonic time; playout waits for the first report to know that clock. The
reader (a sound card) keeps its own clock: the small, steady difference is compensated sample by sample, and only
a large error (a stall, a step of the device's latency) makes the play position jump.

Listeners are in step when they all use one latency: the station announces it (RDIO), and a listener not told
otherwise on its command line adopts it. Station times map onto local ones through this host's wall clock, and,
when the listener runs the time-sync exchange with the station, through the measured difference between the two
hosts' clocks (`set_station_offset`). How far playout is from where a perfectly synchronized listener would be
(the station's time of the sample plus the shared latency) is measured at every read: the playout offset.

The target latency adapts to the network (`PlayoutDelay`), between the shared latency and a maximum. Samples that did
not arrive in time are made up from the audio before them (`Concealer`), and still counted as missing, so loss
stays visible; silence the station meant (a pause, the time before its first packet, what follows a BYE) stays
silence. A packet whose timestamp falls outside the jitter buffer's window is ignored before it is counted or
can move any reference (sequence numbers, timestamp unwrapping): a flood of stray packets cannot disturb the
stream, and nothing the receiver holds grows with what arrives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from listener.concealment import Concealer
from listener.jitter_buffer import JitterBuffer, Write
from listener.playout_delay import PlayoutDelay
from listener.reception import ReceptionStats
from listener.sender_clock import SenderClock
from listener.strangers import Strangers
from rtpwire.audio import AudioFormat, format_for_payload_type, formats_playable_as
from rtpwire.errors import WireError
from stats.histogram import Histogram
from rtpwire.nowplaying import APP_NAME, NowPlaying
from rtpwire.rtcp import SDES_NAME, App, Bye, ReportBlock, SenderReport, SourceDescription, parse_compound
from rtpwire.net import Address
from rtpwire.rtp import RtpPacket
from rtpwire.srtp import SrtpReceiver, looks_encrypted
from rtpwire.seqnum import TS_BITS, Unwrapper
from sound.drift import DriftCompensator, fit

SOURCE_SILENT_S = 0.2  # a playing station that sent no RTP this long may be replaced by a new SSRC
SOURCE_TIMEOUT_S = 1.5  # a station that sent nothing at all this long may be replaced
LOST_SIGNAL_S = 2.0  # nothing heard this long: "lost signal"
AUDIO_STOPPED_S = 0.5  # a station that said neither pause nor BYE, and sent no audio this long: "lost signal" too
CLOCK_WAIT_S = 1.5  # how long playout waits for the station's clock (its sender reports come every second)
# Playout is steered onto the schedule to within a few samples, not left within the drift loop's usual 2 ms: two
# listeners each 1 ms off in opposite directions echo. What it steers by is smoothed first, since one sound card
# callback's DAC time scatters by a few tenths of a millisecond. A sound server moves a stream's latency in steps
# of a few milliseconds (when other streams join its sink): steering would leave the listener out of step for a
# second or more, so a step that large is jumped instead, crossfaded, like a stall.
SYNC_DEADBAND_S = 0.00005
SYNC_RESPONSE_S = 0.3
SYNC_SMOOTHING_S = 0.15
SYNC_LEARNING_S = 30.0
SYNC_MAX_CORRECTION = 0.005
SYNC_STEP_S = 0.002  # a smoothed error this large is a step (a device's latency changed), jumped, not steered


def _ssrcs(packet: object) -> tuple[int, ...]:
    """The sources an RTCP packet speaks for, or of."""
    if isinstance(packet, SourceDescription):
        return tuple(chunk.ssrc for chunk in packet.chunks)
    if isinstance(packet, Bye):
        return packet.ssrcs
    ssrc = getattr(packet, "ssrc", None)
    return (ssrc,) if isinstance(ssrc, int) else ()


class LatencySource(Enum):
    """Where the latency all listeners share (the floor of the target) came from."""

    STATION = "station"  # announced by the station
    COMMAND_LINE = "command line"  # --latency-ms: announcements are ignored
    DEFAULT = "default"  # nothing heard yet: the first announcement replaces it


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
    capacity_s: float = 3.0  # jitter buffer size: the furthest ahead a packet may be and still be kept
    resync_s: float = 0.03  # play position further than this from the schedule: jump to the schedule
    srtp_key: bytes | None = None  # SRTP's master key and salt: nothing unauthenticated is played
    source_ip: str | None = None  # the station's address, if its announcement says: no other is listened to

    def __post_init__(self) -> None:
        if not 0 < self.latency_s <= self.max_latency_s < self.capacity_s:
            raise ValueError(f"need 0 < latency ({self.latency_s} s) <= maximum latency ({self.max_latency_s} s) "
                             f"< buffer capacity ({self.capacity_s} s)")

    @property
    def latency_samples(self) -> int:
        return self.fmt.samples_for(self.latency_s)


@dataclass
class _Stream:
    """What the listener knows of the station it follows."""

    ssrc: int
    stats: ReceptionStats
    clock: SenderClock
    last_heard_s: float
    timestamps: Unwrapper = field(default_factory=lambda: Unwrapper(TS_BITS))
    buffer: JitterBuffer | None = None
    first_ts: int = 0  # extended timestamp and arrival time of its first packet: the schedule until an SR
    first_arrival_s: float = 0.0
    last_rtp_s: float = float("-inf")
    started: bool = False
    anchored: bool = False  # the play position was placed by the sender reports' clock, not the first arrival
    silence: tuple[int, int] = (0, 0)  # timestamps the station meant as silence: before a marker packet
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

    @property
    def unplaced(self) -> bool:
        """The next read places the play position on the schedule, wherever it was (its first read, or its first
        on the sender reports' clock): until then the schedule may move at no cost."""
        return not self.started or (not self.anchored and self.clock.synchronized)


@dataclass(frozen=True)
class _Totals:
    """Reception figures summed over streams: those followed before the current one are kept as sums, so that
    however many stations come and go (or stray SSRCs take over a silent group), memory does not grow."""

    received: int = 0
    lost: int = 0
    duplicates: int = 0
    payload_bytes: int = 0

    @classmethod
    def of(cls, stats: ReceptionStats) -> _Totals:
        return cls(stats.received, stats.lost, stats.duplicates, stats.payload_bytes)

    def __add__(self, other: _Totals) -> _Totals:
        return _Totals(self.received + other.received, self.lost + other.lost,
                       self.duplicates + other.duplicates, self.payload_bytes + other.payload_bytes)


class Receiver:
    def __init__(self, config: ReceiverConfig, now: float) -> None:
        self.config = config
        self.started_s = now
        self._stream: _Stream | None = None
        self._past = _Totals()
        self.latency = Histogram()  # station clock to playout: the target, plus any error in keeping it
        self.transit = Histogram()  # station clock to arrival: how much of the target the network leaves unused
        self.packets_late = 0
        self.packets_too_far = 0
        self.packets_malformed = 0
        self.packets_foreign = 0  # from other stations on the group
        self.packets_spoofed = 0  # with the followed station's SSRC, from another address
        self.packets_encrypted = 0  # SRTP heard without the key
        self.strangers = Strangers()
        self._srtp = SrtpReceiver(config.srtp_key) if config.srtp_key is not None else None
        self.last_wire_error = ""
        self.underruns = 0
        self.samples_missing = 0
        self.samples_concealed = 0
        self.resyncs = 0
        self.source_changes = 0
        self.latency_source = config.latency_source
        self.station_offset_s = 0.0  # the station's wall clock minus this host's, as applied to the schedule
        self._offset_estimate_s: float | None = None  # the latest from the time-sync exchange, not yet applied
        self._offset_estimated = False
        self.playout_offset = Histogram()  # |offset|: how far from a perfectly synchronized listener
        self._playout_offset_total_s = 0.0  # signed, for the mean: early (-) or late (+)
        self.playout_offset_s: float | None = None  # the latest measured
        self.drift = DriftCompensator(config.fmt.rate, deadband_s=SYNC_DEADBAND_S, response_s=SYNC_RESPONSE_S,
                                      smoothing_s=SYNC_SMOOTHING_S, learning_s=SYNC_LEARNING_S,
                                      max_correction=SYNC_MAX_CORRECTION)
        self.delay = PlayoutDelay(config.fmt.rate, config.latency_samples,
                                  config.fmt.samples_for(config.max_latency_s))
        self.concealer = Concealer(config.fmt.rate, config.fmt.channels)
        self._payload_formats = formats_playable_as(config.fmt)

    # --- datagrams in -------------------------------------------------------------------------------------

    def on_rtp(self, data: bytes, now: float, source: Address | None = None) -> None:
        """An RTP datagram that arrived at `now` from `source` (None: unknown, as in tests on fake time)."""
        if self._srtp is not None:
            try:
                data = self._srtp.unprotect(data)
            except WireError as e:  # counted by the SRTP receiver, by cause
                self.last_wire_error = str(e)
                return
        try:
            packet = RtpPacket.parse(data)
            fmt = format_for_payload_type(packet.payload_type, self._payload_formats)
        except WireError as e:
            self._malformed(e)
            return
        stream = self._stream_for(packet.ssrc, now, source, rtp=True)
        if stream is None:
            return
        if self._encrypted(stream, packet, fmt):
            self.packets_encrypted += 1
            return
        try:
            pcm = fmt.decode(packet.payload)
        except WireError as e:
            self._malformed(e)
            return
        ext_ts = stream.timestamps.peek(packet.timestamp)
        if stream.buffer is not None and stream.buffer.judge(ext_ts, len(pcm)) is Write.TOO_FAR:
            self.packets_too_far += 1
            return
        stream.timestamps.unwrap(packet.timestamp)
        stream.last_rtp_s = now
        if stream.stats.on_packet(packet.sequence, ext_ts, now, len(packet.payload)) is None:
            return
        if stream.clock.synchronized:
            self.transit.add(self._station_time(now) - stream.clock.wall_of(ext_ts))
        if stream.buffer is None:
            stream.buffer = JitterBuffer(self.config.fmt.samples_for(self.config.capacity_s),
                                         self.config.fmt.channels,
                                         position_ts=ext_ts - self.config.fmt.samples_for(self.config.capacity_s / 4))
            stream.first_ts, stream.first_arrival_s = ext_ts, now
        elif packet.marker:  # the station resumed: silence since its previous packet, even one that overtook it
            stream.silence = (stream.buffer.filled_until(ext_ts), ext_ts)
        if now > stream.paused_at_s:  # audio after the pause report (whose own resume report may be lost)
            stream.paused = False
        if stream.started:
            self.delay.on_packet(ext_ts - stream.buffer.position_ts)
        if stream.buffer.write(ext_ts, self._convert(pcm)) is Write.LATE:
            self.packets_late += 1

    def on_rtcp(self, data: bytes, now: float, source: Address | None = None) -> None:
        """An RTCP datagram that arrived at `now` from `source` (None: unknown). What it says of the followed
        station counts only if it comes from the station's own RTCP source: a stranger's BYE or pause does not."""
        if self._srtp is not None:
            try:
                data = self._srtp.unprotect_rtcp(data)
            except WireError as e:
                self.last_wire_error = str(e)
                return
        try:
            packets = parse_compound(data)
        except WireError as e:
            self._malformed(e)
            return
        current = self._stream
        about_station = current is not None and any(current.ssrc in _ssrcs(packet) for packet in packets)
        from_station = not about_station or current.admits(source, rtp=False)  # (others' reports lock nothing)
        for packet in packets:
            if isinstance(packet, SenderReport):
                stream = self._stream_for(packet.ssrc, now, source, rtp=False)
                if stream is not None:
                    stream.clock.update(packet, stream.timestamps.unwrap(packet.rtp_timestamp), now)
            elif isinstance(packet, SourceDescription):
                for chunk in packet.chunks:
                    if self._stream is not None and chunk.ssrc == self._stream.ssrc:
                        if from_station:
                            self._stream.name = chunk.get(SDES_NAME) or self._stream.name
                        else:
                            self._stranger(chunk.ssrc, source, spoofed=True)
            elif isinstance(packet, App) and packet.name == APP_NAME:
                stream = self._stream_for(packet.ssrc, now, source, rtp=False)
                if stream is not None:
                    try:
                        state = NowPlaying.from_app(packet)
                    except WireError as e:
                        self._malformed(e)
                        continue
                    if state.paused and not stream.paused:
                        stream.paused_at_s = now
                    stream.paused, stream.title = state.paused, state.title
                    if state.latency_us is not None:
                        self._adopt_latency(stream, state.latency_us)
            elif isinstance(packet, Bye) and self._stream is not None and self._stream.ssrc in packet.ssrcs:
                if from_station:
                    self._stream.left = True
                else:
                    self._stranger(self._stream.ssrc, source, spoofed=True)

    def _adopt_latency(self, stream: _Stream, latency_us: int) -> None:
        """The station's shared latency becomes the floor of the target, unless the command line set one.

        Before anything plays the target takes it at once. A listener that joined mid-stream may have played on
        the default for a moment: until its play position is placed on the station's clock, a shorter latency
        is taken at once too (the position skips ahead, crossfaded), but a longer one would jump back over
        samples already played, leaving a hole; like any change once placed, it is reached as the network's
        jitter is, by samples made up (or dropped) without a click."""
        if self.config.latency_source is LatencySource.COMMAND_LINE:
            return
        self.latency_source = LatencySource.STATION
        floor = max(1, self.config.fmt.samples_for(latency_us / 1e6))
        if floor != self.delay.floor_samples:
            at_once = not stream.started or (stream.unplaced and floor < self.delay.target_samples)
            self.delay.set_floor(floor, at_once=at_once)

    def set_station_offset(self, offset_s: float) -> None:
        """The station's wall clock minus this host's, as the time-sync exchange measures it: station times map
        onto local ones through it from the next read on. The first estimate is a new clock, placed at once as
        the first sender report's is; later ones move only the schedule, which the drift compensation steers the
        play position to sample by sample, so an estimate that wanders never makes playout jump (one that moves
        by more than SYNC_STEP_S at once does, as any step that large). Safe to call from a thread other than
        the reader's: one assignment, taken up by `read`."""
        self._offset_estimate_s = offset_s

    def _take_offset_estimate(self) -> None:
        estimate = self._offset_estimate_s
        if estimate is None or estimate == self.station_offset_s:
            return
        if not self._offset_estimated and self._stream is not None:
            self._stream.anchored = False
        self._offset_estimated = True
        self.station_offset_s = estimate

    def _station_time(self, local_s: float) -> float:
        """The station's wall-clock time at local monotonic time `local_s`."""
        return local_s + self.config.wall_offset_s + self.station_offset_s

    def _malformed(self, error: WireError) -> None:
        self.packets_malformed += 1
        self.last_wire_error = str(error)

    def _stream_for(self, ssrc: int, now: float, source: Address | None, rtp: bool) -> _Stream | None:
        """The stream a packet of `ssrc` from `source` belongs to, switching stations if the current one is gone;
        None for anyone else's packet: another station on the group (counted as foreign), or a packet of the
        station's SSRC from another address (spoofed), each remembered (`senders`)."""
        if not self._announced_source_admits(source):
            self._stranger(ssrc, source, spoofed=self._stream is not None and ssrc == self._stream.ssrc)
            return None
        current = self._stream
        if current is not None and current.ssrc == ssrc:
            if not current.admits(source, rtp):
                self._stranger(ssrc, source, spoofed=True)
                return None
            current.last_heard_s = now
            return current
        if current is not None:
            gone = (current.left or now - current.last_heard_s > SOURCE_TIMEOUT_S
                    or (rtp and not current.paused and now - current.last_rtp_s > SOURCE_SILENT_S))
            if not gone:
                self._stranger(ssrc, source, spoofed=False)
                return None
            self._past += _Totals.of(current.stats)
            self.source_changes += 1
        self._stream = _Stream(ssrc, ReceptionStats(self.config.fmt.rate), SenderClock(self.config.fmt.rate),
                               last_heard_s=now)
        self._stream.admits(source, rtp)  # locks this channel onto the packet's source
        return self._stream

    def _announced_source_admits(self, source: Address | None) -> bool:
        return self.config.source_ip is None or source is None or source[0] == self.config.source_ip

    def _stranger(self, ssrc: int, source: Address | None, spoofed: bool) -> None:
        if spoofed:
            self.packets_spoofed += 1
        else:
            self.packets_foreign += 1
        self.strangers.note(ssrc, source)

    def _encrypted(self, stream: _Stream, packet: RtpPacket, fmt: AudioFormat) -> bool:
        """Whether the stream is SRTP heard without the key (`looks_encrypted`, judged on each packet that
        follows another): its audio is dropped, not played as noise."""
        previous, stream.last_header = stream.last_header, (packet.sequence, packet.timestamp, len(packet.payload))
        if self._srtp is not None or previous is None or packet.sequence != (previous[0] + 1) & 0xFFFF:
            return stream.encrypted
        previous_samples = (packet.timestamp - previous[1]) & 0xFFFF_FFFF  # what the previous packet carried
        stream.encrypted = looks_encrypted(previous[2], previous_samples, fmt.bytes_per_frame)
        if stream.encrypted:
            stream.buffer = None  # what the first packet put there is noise too
        return stream.encrypted

    def _convert(self, pcm: np.ndarray) -> np.ndarray:
        channels = self.config.fmt.channels
        if pcm.shape[1] == channels:
            return pcm
        if channels == 1:
            return pcm.mean(axis=1, dtype=np.float64).round().astype(pcm.dtype).reshape(-1, 1)
        return np.repeat(pcm[:, :1], channels, axis=1)

    # --- samples out --------------------------------------------------------------------------------------

    def _scheduled_ts(self, stream: _Stream, now: float) -> int:
        """The timestamp that should be playing at local monotonic time `now`."""
        latency_s = self.delay.target_samples / self.config.fmt.rate
        if stream.clock.synchronized:
            ts = stream.clock.ts_at(self._station_time(now) - latency_s)
        else:  # until the first SR: as if the first packet had arrived the instant it was sent
            ts = stream.first_ts + (now - stream.first_arrival_s - latency_s) * self.config.fmt.rate
        return round(ts)

    def read(self, frames: int, now: float) -> np.ndarray:
        """Exactly `frames` samples to start playing at `now`: what did not arrive in time is made up from the
        audio before it (fading to silence if the gap lasts), and silence the station meant stays silence."""
        self._take_offset_estimate()
        stream = self._stream
        if stream is None or stream.buffer is None:
            return self.config.fmt.silence(frames)
        buffer = stream.buffer
        scheduled = self._scheduled_ts(stream, now)
        # Playout starts on the station's clock, which its next sender report brings. Without one for
        # CLOCK_WAIT_S (reports lost, a sender that sends none) the schedule is a guess, the first packet's arrival
        # as if it took no time, milliseconds off; once a report comes, a position off by more than drift's dead
        # band moves to the real clock at once, crossfaded, instead of being steered for seconds.
        limit_s = self.config.resync_s if stream.anchored or not stream.clock.synchronized else self.drift.deadband_s
        if not stream.started:
            if not stream.clock.synchronized and now - stream.first_arrival_s < CLOCK_WAIT_S:
                return self.config.fmt.silence(frames)  # no underrun: nothing was due yet
            buffer.seek(scheduled)
            stream.silence = (scheduled, stream.first_ts)  # waiting for the first packet's turn is no underrun
            stream.started = True
            self.drift.restart()
        elif (abs(buffer.position_ts - scheduled) > limit_s * self.config.fmt.rate
              or abs(self.drift.smoothed_error_s) > SYNC_STEP_S):
            buffer.seek(scheduled)
            self.resyncs += 1
            self.drift.restart()
            self.concealer.splice()
        stream.anchored = stream.clock.synchronized
        position = buffer.position_ts
        taken = self.drift.take(position - scheduled, frames)
        change = self.delay.step(taken)  # the target grows by samples made up here, or shrinks by samples dropped
        added = max(0, change)  # made up before the buffer's samples, while the play position waits
        pcm, filled = buffer.read(taken - change)
        missing = self._missing(stream, position, filled)
        if missing.any():
            self.underruns += 1
            self.samples_missing += int(np.count_nonzero(missing))
        elif filled.all() and stream.clock.synchronized:
            first_played_s = now + added / self.config.fmt.rate
            latency_s = self._station_time(first_played_s) - stream.clock.wall_of(position)
            self.latency.add(latency_s)
            self._measure_playout_offset(latency_s - self.delay.floor_samples / self.config.fmt.rate)
        synthesize = missing
        if added:
            pcm = np.concatenate((self.config.fmt.silence(added), pcm))
            synthesize = np.concatenate((np.ones(added, dtype=bool), missing))
        pcm, heard = self.concealer.fill(pcm, synthesize)
        self.samples_concealed += int(np.count_nonzero(heard[added:]))
        return fit(pcm, frames)

    def _measure_playout_offset(self, offset_s: float) -> None:
        """How much later (+) or earlier (-) than the shared latency after the station's clock a sample plays:
        what the drift loop has not taken back yet, a target grown for the network's jitter, and, with a sound
        card, any error in placing samples at its DAC time."""
        self.playout_offset_s = offset_s
        self.playout_offset.add(abs(offset_s))
        self._playout_offset_total_s += offset_s

    def _missing(self, stream: _Stream, position: int, filled: np.ndarray) -> np.ndarray:
        """The samples from `position` that should have arrived: not those the station meant as silence (before
        a marker packet; after the last packet of a station that paused or left)."""
        assert stream.buffer is not None
        missing = ~filled
        start, end = stream.silence
        missing[max(0, start - position): max(0, end - position)] = False
        if stream.paused or stream.left:
            missing[max(0, stream.buffer.end_ts - position):] = False
        return missing

    # --- what it knows ------------------------------------------------------------------------------------

    def state(self, now: float) -> State:
        stream = self._stream
        if stream is None:
            return State.WAITING
        if stream.encrypted:
            return State.ENCRYPTED
        if stream.buffer is not None and stream.buffer.buffered_samples > 0:
            return State.PLAYING  # what arrived before a pause or BYE is still being played
        if stream.left:
            return State.LEFT
        if now - stream.last_heard_s > LOST_SIGNAL_S:
            return State.LOST
        if stream.paused:
            return State.PAUSED
        if stream.buffer is None:
            return State.WAITING
        return State.LOST if now - stream.last_rtp_s > AUDIO_STOPPED_S else State.PLAYING

    @property
    def packets_unauthenticated(self) -> int:
        """SRTP packets that failed authentication: a wrong key, tampering, or a sender without the key."""
        return self._srtp.failed_authentication if self._srtp is not None else 0

    @property
    def station_name(self) -> str:
        return self._stream.name if self._stream else ""

    @property
    def title(self) -> str:
        return self._stream.title if self._stream else ""

    @property
    def ssrc(self) -> int | None:
        return self._stream.ssrc if self._stream else None

    def report_block(self, now: float) -> ReportBlock | None:
        """What a receiver report sent at `now` says of the followed station (RFC 3550 6.4.1); one call per report.
        None if no audio came from it since the previous one: the report then leaves the station out."""
        stream = self._stream
        if stream is None:
            return None
        stats = stream.stats
        fraction_lost = stats.fraction_lost_since_last()
        if fraction_lost is None or stats.highest_sequence is None:
            return None
        last_sr, delay_since_last_sr = stream.clock.last_report(now)
        return ReportBlock(stream.ssrc, fraction_lost, stats.lost, stats.highest_sequence & 0xFFFF_FFFF,
                           round(stats.jitter_samples), last_sr, delay_since_last_sr)

    @property
    def playout_offset_mean_s(self) -> float:
        count = self.playout_offset.count
        return self._playout_offset_total_s / count if count else 0.0

    def buffered_s(self) -> float:
        stream = self._stream
        if stream is None or stream.buffer is None:
            return 0.0
        return stream.buffer.buffered_samples / self.config.fmt.rate

    def stats(self, now: float) -> dict[str, object]:
        """The figures a run produced; keys are a public interface (`--stats-json`)."""
        current = self._stream.stats if self._stream else None
        totals = self._past + (_Totals.of(current) if current else _Totals())
        rate = self.config.fmt.rate
        return {
            "packets_received": totals.received,
            "packets_lost": totals.lost,
            "packets_late": self.packets_late,
            "packets_duplicate": totals.duplicates,
            "packets_too_far": self.packets_too_far,
            "packets_malformed": self.packets_malformed,
            "packets_foreign": self.packets_foreign,
            "packets_spoofed": self.packets_spoofed,
            "packets_encrypted": self.packets_encrypted,
            **(self._srtp.stats() if self._srtp is not None else {}),
            "other_senders": self.strangers.count,
            "bytes_received": totals.payload_bytes,
            "underruns": self.underruns,
            "samples_missing": self.samples_missing,
            "samples_concealed": self.samples_concealed,
            "resyncs": self.resyncs,
            "drift_ppm": round(self.drift.drift_ppm, 1),
            "samples_inserted": self.drift.samples_inserted,
            "samples_dropped": self.drift.samples_dropped,
            "jitter_ms": round(current.jitter_s * 1e3, 3) if current else 0.0,
            "latency_ms": round(self.latency.mean_s * 1e3, 3),
            "latency_target_ms": round(self.delay.target_samples / rate * 1e3, 3),
            "latency_shared_ms": round(self.delay.floor_samples / rate * 1e3, 3),
            "latency_source": self.latency_source.value,
            "latency_samples_added": self.delay.samples_added,
            "latency_samples_removed": self.delay.samples_removed,
            "latency_p99_ms": round(self.latency.percentile(0.99) * 1e3, 3),
            "transit_ms": round(self.transit.mean_s * 1e3, 3),
            "transit_p99_ms": round(self.transit.percentile(0.99) * 1e3, 3),
            "playout_offset_ms": round(self.playout_offset_mean_s * 1e3, 3),
            "playout_offset_p99_ms": round(self.playout_offset.percentile(0.99) * 1e3, 3),
            "duration_s": round(now - self.started_s, 3),
            "ssrc": self.ssrc,
            "source_changes": self.source_changes,
            "station_name": self.station_name,
            "state": self.state(now).value,
        }
