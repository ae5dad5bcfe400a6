"""Playout (sans-IO): when each sample of the followed station plays, and exactly `frames` of them per read.

Each sample is scheduled by its timestamp, not by when it arrived: it plays at the station time the sender reports
assign it, plus the target latency, converted to local monotonic time; playout waits for the first report to know
that clock. The reader (a sound card) keeps its own clock: the small, steady difference is compensated sample by
sample, and only a large error (a stall, a step of the device's latency) makes the play position jump.

Listeners are in step when they all use one latency: the station announces it (RDIO), and a listener not told
otherwise on its command line adopts it. Station times map onto local ones through this host's wall clock, and,
when the listener runs the time-sync exchange with the station, through the measured difference between the two
hosts' clocks (`set_station_offset`). How far playout is from where a perfectly synchronized listener would be
(the station's time of the sample plus the shared latency) is measured at every read: the playout offset. A
listener asked for a delay (a speaker further away, a sink that adds its own latency) keeps that schedule shifted
by it, and is measured against the shifted schedule.

The target latency adapts to the network (`PlayoutDelay`), between the shared latency and a maximum. Samples that
did not arrive in time are made up from the audio before them (`Concealer`), and still counted as missing, so loss
stays visible; silence the station meant (a pause, the time before its first packet, what follows a BYE) stays
silence.

Opus packets are decoded in order, just in time (`OpusDecoding`): each as soon as those before it are, and at
each read, the lost ones whose turn has come are rebuilt from the next packet's in-band FEC, or concealed by the
codec itself rather than by `Concealer`; those still count as missing. Packets rebuilt by Reed-Solomon FEC are
written as any other, but tell nothing of the network's delay: the station's latency covers their wait.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
import numpy as np

from listener.concealment import Concealer
from listener.jitter_buffer import JitterBuffer, Write
from listener.opus_decoding import Decoded, Kind, OpusDecoding
from listener.playout_delay import PlayoutDelay
from listener.station_lock import Stream
from listener.timeline import Timeline
from rtpwire.audio import AudioFormat
from sound.drift import DriftCompensator, fit
from stats.histogram import Histogram

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
MIN_LATENCY_S = 0.001  # a negative delay brings playout no closer than this to the station's clock


class LatencySource(Enum):
    """Where the latency all listeners share (the floor of the target) came from."""

    STATION = "station"  # announced by the station
    COMMAND_LINE = "command line"  # --latency-ms: announcements are ignored
    DEFAULT = "default"  # nothing heard yet: the first announcement replaces it


@dataclass(frozen=True)
class PlayoutConfig:
    fmt: AudioFormat  # what the output plays
    latency_s: float  # target delay from the station's clock to playout: the least it adapts down to
    max_latency_s: float  # the most the target adapts up to, however bad the network (or the shared latency)
    latency_source: LatencySource  # DEFAULT: the station's announcement replaces it
    capacity_s: float  # jitter buffer size: the furthest ahead a packet may be and still be kept
    resync_s: float  # play position further than this from the schedule: jump to the schedule
    wall_offset_s: float  # local wall-clock minus local monotonic time: maps station times onto `now`
    delay_s: float = 0.0  # this listener plays this much later (- earlier) than the schedule all others keep


class Playout:
    def __init__(self, config: PlayoutConfig) -> None:
        self.config = config
        fmt = config.fmt
        self._capacity_samples = fmt.samples_for(config.capacity_s)
        self.latency = Histogram()  # station clock to playout: the target, plus any error in keeping it
        self.transit = Histogram()  # station clock to arrival: how much of the target the network leaves unused
        self.playout_offset = Histogram()  # |offset|: how far from a perfectly synchronized listener
        self._playout_offset_total_s = 0.0  # signed, for the mean: early (-) or late (+)
        self.playout_offset_s: float | None = None  # the latest measured
        self.packets_late = 0
        self.packets_too_far = 0
        self.underruns = 0
        self.samples_missing = 0
        self.samples_concealed = 0
        self.resyncs = 0
        self.first_audio_s: float | None = None  # when the first of any station's samples played
        self.latency_source = config.latency_source
        self.station_offset_s = 0.0  # the station's wall clock minus this host's, as applied to the schedule
        self._offset_estimate_s: float | None = None  # the latest from the time-sync exchange, not yet applied
        self._offset_estimated = False
        self.drift = DriftCompensator(fmt.rate, deadband_s=SYNC_DEADBAND_S, response_s=SYNC_RESPONSE_S,
                                      smoothing_s=SYNC_SMOOTHING_S, learning_s=SYNC_LEARNING_S,
                                      max_correction=SYNC_MAX_CORRECTION)
        self.delay = PlayoutDelay(fmt.rate, fmt.samples_for(config.latency_s), fmt.samples_for(config.max_latency_s))
        self.concealer = Concealer(fmt.rate, fmt.channels)

    # --- samples in ---------------------------------------------------------------------------------------

    def judge(self, stream: Stream, ext_ts: int, count: int) -> Write:
        """What writing `count` samples at `ext_ts` would do: judged once, before the packet is counted or moves
        any reference, so that one outside the window (counted here) disturbs nothing."""
        if stream.timeline is None:
            return Write.STORED  # the stream's first packet: its buffer is placed around it
        verdict = stream.timeline.buffer.judge(ext_ts, count)
        if verdict is Write.TOO_FAR:
            self.packets_too_far += 1
        return verdict

    def write(self, stream: Stream, ext_ts: int, audio: np.ndarray | bytes, samples: int, marker: bool,
              verdict: Write, now: float, rebuilt: bool = False) -> None:
        """A counted packet's audio (L16's samples, or an Opus payload) and its length, as `judge` found it
        (STORED or LATE), arrived at `now`, or `rebuilt` by FEC then."""
        fmt = self.config.fmt
        if stream.clock.synchronized and not rebuilt:
            self.transit.add(self._station_time(now) - stream.clock.wall_of(ext_ts))
        timeline = stream.timeline
        if timeline is None:
            buffer = JitterBuffer(self._capacity_samples, fmt.channels,
                                  position_ts=ext_ts - fmt.samples_for(self.config.capacity_s / 4))
            timeline = stream.timeline = Timeline(buffer, first_ts=ext_ts, first_arrival_s=now,
                                                  decoding=OpusDecoding(fmt.channels) if fmt.is_opus else None)
        elif marker:  # the station resumed: silence since its previous packet, even one that overtook it
            timeline.silence = (timeline.buffer.filled_until(ext_ts), ext_ts)
        if timeline.started and not rebuilt:
            self.delay.on_packet(ext_ts - timeline.buffer.position_ts)
        if verdict is Write.LATE:
            self.packets_late += 1
        elif isinstance(audio, bytes) and timeline.decoding is not None:
            self._store(timeline, timeline.decoding.push(ext_ts, audio, marker, samples))
        elif isinstance(audio, np.ndarray):
            timeline.buffer.store(ext_ts, audio)

    @staticmethod
    def _store(timeline: Timeline, decoded: list[Decoded]) -> None:
        """Opus's decoded frames into the buffer; what the codec concealed is kept as not arrived, its span noted."""
        for frame in decoded:
            concealed = frame.kind is Kind.CONCEALED
            timeline.buffer.store(frame.ts, frame.pcm, arrived=not concealed)
            if concealed:
                timeline.concealed.append((frame.ts, frame.ts + len(frame.pcm)))

    @staticmethod
    def _codec_concealed(stream: Stream, timeline: Timeline, position: int, count: int) -> np.ndarray | None:
        """Opus: the samples from `position` that the codec concealed (None for L16, or where it concealed
        none); the spans played are forgotten."""
        if timeline.decoding is None:
            return None
        Playout._store(timeline, timeline.decoding.decode_until(position, position + count,
                                                                ended=stream.paused or stream.left))
        if not timeline.concealed:
            return None
        mask = np.zeros(count, dtype=bool)
        end = position + count
        for start_ts, end_ts in timeline.concealed:
            mask[max(0, start_ts - position): max(0, min(end_ts, end) - position)] = True
        timeline.concealed = [span for span in timeline.concealed if span[1] > end]
        return mask

    def adopt_latency(self, stream: Stream, latency_us: int) -> None:
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
            timeline = stream.timeline
            at_once = (timeline is None or not timeline.started
                       or (timeline.unplaced(stream.clock) and floor < self.delay.target_samples))
            self.delay.set_floor(floor, at_once=at_once)

    def set_station_offset(self, offset_s: float) -> None:
        """The station's wall clock minus this host's, as the time-sync exchange measures it: station times map
        onto local ones through it from the next read on. The first estimate is a new clock, placed at once as
        the first sender report's is; later ones move only the schedule, which the drift compensation steers the
        play position to sample by sample, so an estimate that wanders never makes playout jump (one that moves
        by more than SYNC_STEP_S at once does, as any step that large). Safe to call from a thread other than
        the reader's: one assignment, taken up by `read`."""
        self._offset_estimate_s = offset_s

    def _take_offset_estimate(self, timeline: Timeline | None) -> None:
        estimate = self._offset_estimate_s
        if estimate is None or estimate == self.station_offset_s:
            return
        if not self._offset_estimated and timeline is not None:
            timeline.anchored = False
        self._offset_estimated = True
        self.station_offset_s = estimate

    def _station_time(self, local_s: float) -> float:
        """The station's wall-clock time at local monotonic time `local_s`."""
        return local_s + self.config.wall_offset_s + self.station_offset_s

    # --- samples out --------------------------------------------------------------------------------------

    def _scheduled_ts(self, stream: Stream, timeline: Timeline, now: float) -> int:
        """The timestamp that should be playing at local monotonic time `now`."""
        rate = self.config.fmt.rate
        latency_s = self.delay.target_samples / rate + self.listener_delay_s
        if stream.clock.synchronized:
            ts = stream.clock.ts_at(self._station_time(now) - latency_s)
        else:  # until the first SR: as if the first packet had arrived the instant it was sent
            ts = timeline.first_ts + (now - timeline.first_arrival_s - latency_s) * rate
        return round(ts)

    def read(self, stream: Stream | None, frames: int, now: float) -> np.ndarray:
        """Exactly `frames` samples of `stream` (None: none followed) to start playing at `now`: what did not
        arrive in time is made up from the audio before it (fading to silence if the gap lasts), and silence the
        station meant stays silence."""
        timeline = stream.timeline if stream is not None else None
        self._take_offset_estimate(timeline)
        fmt = self.config.fmt
        if stream is None or timeline is None:
            return fmt.silence(frames)
        buffer, clock = timeline.buffer, stream.clock
        scheduled = self._scheduled_ts(stream, timeline, now)
        # Playout starts on the station's clock, which its next sender report brings. Without one for
        # CLOCK_WAIT_S (reports lost, a sender that sends none) the schedule is a guess, the first packet's arrival
        # as if it took no time, milliseconds off; once a report comes, a position off by more than drift's dead
        # band moves to the real clock at once, crossfaded, instead of being steered for seconds.
        limit_s = self.config.resync_s if timeline.anchored or not clock.synchronized else self.drift.deadband_s
        if not timeline.started:
            if not clock.synchronized and now - timeline.first_arrival_s < CLOCK_WAIT_S:
                return fmt.silence(frames)  # no underrun: nothing was due yet
            buffer.seek(scheduled)
            timeline.silence = (scheduled, timeline.first_ts)  # waiting for the first packet's turn is no underrun
            timeline.started = True
            self.drift.restart()
        elif (abs(buffer.position_ts - scheduled) > limit_s * fmt.rate
              or abs(self.drift.smoothed_error_s) > SYNC_STEP_S):
            buffer.seek(scheduled)
            self.resyncs += 1
            self.drift.restart()
            self.concealer.splice()
        timeline.anchored = clock.synchronized
        position = buffer.position_ts
        taken = self.drift.take(position - scheduled, frames)
        change = self.delay.step(taken)  # the target grows by samples made up here, or shrinks by samples dropped
        added = max(0, change)  # made up before the buffer's samples, while the play position waits
        codec_concealed = self._codec_concealed(stream, timeline, position, taken - change)
        pcm, filled = buffer.read(taken - change)
        if timeline.first_audio_s is None and filled.any():
            timeline.first_audio_s = now + (added + int(np.argmax(filled))) / fmt.rate
            if self.first_audio_s is None:
                self.first_audio_s = timeline.first_audio_s
        missing = self._missing(stream, timeline, position, filled)
        if missing.any():
            self.underruns += 1
            self.samples_missing += int(np.count_nonzero(missing))
        elif filled.all() and clock.synchronized:
            first_played_s = now + added / fmt.rate
            latency_s = self._station_time(first_played_s) - clock.wall_of(position)
            self.latency.add(latency_s)
            self._measure_playout_offset(latency_s - self.delay.floor_samples / fmt.rate - self.listener_delay_s)
        synthesize = missing
        if codec_concealed is not None:
            pcm[codec_concealed & ~missing & ~filled] = 0  # the codec's concealment over silence the station meant
            synthesize = missing & ~codec_concealed
            self.samples_concealed += int(np.count_nonzero(missing & codec_concealed))
        if added:
            pcm = np.concatenate((fmt.silence(added), pcm))
            synthesize = np.concatenate((np.ones(added, dtype=bool), synthesize))
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

    @staticmethod
    def _missing(stream: Stream, timeline: Timeline, position: int, filled: np.ndarray) -> np.ndarray:
        """The samples from `position` that should have arrived: not those the station meant as silence (before
        a marker packet; after the last packet of a station that paused or left)."""
        missing = ~filled
        start, end = timeline.silence
        missing[max(0, start - position): max(0, end - position)] = False
        if stream.paused or stream.left:
            missing[max(0, timeline.buffer.end_ts - position):] = False
        return missing

    # --- what it knows ------------------------------------------------------------------------------------

    @property
    def listener_delay_s(self) -> float:
        """The delay asked for, or as much of a negative one as the shared latency leaves room for: samples
        cannot play before they were sent."""
        return max(self.config.delay_s, MIN_LATENCY_S - self.delay.floor_samples / self.config.fmt.rate)

    @property
    def playout_offset_mean_s(self) -> float:
        count = self.playout_offset.count
        return self._playout_offset_total_s / count if count else 0.0

    def buffered_s(self, stream: Stream | None) -> float:
        if stream is None or stream.timeline is None:
            return 0.0
        return stream.timeline.buffer.buffered_samples / self.config.fmt.rate

    def stats(self) -> dict[str, object]:
        """Its part of the listener's figures (`--stats-json` keys)."""
        rate = self.config.fmt.rate
        return {
            "packets_late": self.packets_late,
            "packets_too_far": self.packets_too_far,
            "underruns": self.underruns,
            "samples_missing": self.samples_missing,
            "samples_concealed": self.samples_concealed,
            "resyncs": self.resyncs,
            "drift_ppm": round(self.drift.drift_ppm, 1),
            "samples_inserted": self.drift.samples_inserted,
            "samples_dropped": self.drift.samples_dropped,
            "latency_ms": round(self.latency.mean_s * 1e3, 3),
            "latency_target_ms": round(self.delay.target_samples / rate * 1e3, 3),
            "latency_shared_ms": round(self.delay.floor_samples / rate * 1e3, 3),
            "latency_source": self.latency_source.value,
            "delay_ms": round(self.listener_delay_s * 1e3, 3),
            "latency_samples_added": self.delay.samples_added,
            "latency_samples_removed": self.delay.samples_removed,
            "latency_p99_ms": round(self.latency.percentile(0.99) * 1e3, 3),
            "transit_ms": round(self.transit.mean_s * 1e3, 3),
            "transit_p99_ms": round(self.transit.percentile(0.99) * 1e3, 3),
            "playout_offset_ms": round(self.playout_offset_mean_s * 1e3, 3),
            "playout_offset_p99_ms": round(self.playout_offset.percentile(0.99) * 1e3, 3),
        }
