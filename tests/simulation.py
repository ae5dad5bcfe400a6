"""A station and a network on fake time, for driving the sans-IO listener deterministically.

The station side is the station's own step (`station.onair`: the real Packetizer, Schedule and Reporter), so
what the listener is tested against is what the station sends; the link delays, drops, duplicates and reorders
datagrams with the relay's seeded Impairer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from listener.playout import LatencySource
from listener.receiver import Channel, Receiver, ReceiverConfig
from relay.impairments import Impairer, Impairments
from rtpwire.audio import L16_STEREO, AudioFormat
from rtpwire.rapid_sync import CLOCK_ID
from rtpwire.rtp import RtpPacket
from station.fec_encoder import FecEncoder
from station.onair import OnAir
from station.packetizer import Packetizer
from station.reporter import Reporter
from station.schedule import Schedule

WALL_OFFSET_S = 1_800_000_000.0  # fake wall clock = fake monotonic clock + this
SPP = 220
PERIOD_FRAMES = 441


@dataclass(frozen=True)
class Datagram:
    time_s: float  # sent, or arrived once through a link
    is_rtp: bool
    data: bytes
    source: tuple[str, int] | None = None  # the sender's address; None: unknown (not checked)
    repair: bool = False  # a repair packet (FEC), on the repair port

    @property
    def channel(self) -> Channel:
        return Channel.REPAIR if self.repair else Channel.RTP if self.is_rtp else Channel.RTCP


def tone_pcm(seconds: float, seed: int = 1) -> np.ndarray:
    """Stereo noise that is never zero in channel 0, so silence in a recording is unambiguous."""
    rng = np.random.default_rng(seed)
    pcm = rng.integers(-20000, 20000, size=(L16_STEREO.samples_for(seconds), 2), dtype=np.int16)
    pcm[pcm[:, 0] == 0, 0] = 1
    return pcm


def sine_pcm(seconds: float, frequency_hz: float = 440.0, amplitude: int = 10000) -> np.ndarray:
    """A stereo sine: smooth, so that any click (a step the tone itself never takes) shows in its differences."""
    t_s = np.arange(L16_STEREO.samples_for(seconds)) / L16_STEREO.rate
    wave = np.rint(amplitude * np.sin(2 * np.pi * frequency_hz * t_s)).astype(np.int16)
    return np.stack([wave, wave], axis=1)


def music_pcm(seconds: float, rate: int = L16_STEREO.rate, seed: int = 3) -> np.ndarray:
    """Music-like stereo for a lossy codec: overlapping notes, one every 250 ms, a few decaying harmonics each,
    panned; never repeating within `seconds`, so that a recording lines up with it at one lag only. (Noise, which
    the other sources are, is what a perceptual codec is not made for.)"""
    rng = np.random.default_rng(seed)
    count = round(seconds * rate)
    out = np.zeros((count, 2))
    for start_s in np.arange(0.0, seconds, 0.25):
        first, last = round(start_s * rate), min(count, round((start_s + 0.5) * rate))
        t_s = np.arange(last - first) / rate
        frequency_hz = 110 * 2 ** (rng.integers(0, 36) / 12)
        note = np.exp(-6 * t_s) * sum(0.5 ** h * np.sin(2 * np.pi * frequency_hz * (h + 1) * t_s) for h in range(4))
        pan = rng.uniform(0.3, 0.7)
        out[first:last] += np.outer(note, (pan, 1 - pan))
    return np.rint(out / np.abs(out).max() * 12000).astype(np.int16)


def aligned_correlation(heard: np.ndarray, source: np.ndarray) -> float:
    """How alike a recording is to the `source` it played (Pearson's r of the channels' mean), once lined up: its
    silence before the first sound and after the last is cut, and the lag is where the cross-correlation peaks
    (a codec's own delay, a listener that joined late). `source` must cover the recording: tile a looped one."""
    sound = np.flatnonzero(np.any(heard != 0, axis=1))
    if len(sound) < 2:
        return 0.0
    a = heard[sound[0]: sound[-1] + 1].astype(np.float64).mean(axis=1)
    b = source.astype(np.float64).mean(axis=1)
    size = len(a) + len(b)
    lag = int(np.argmax(np.fft.irfft(np.fft.rfft(a, size) * np.conj(np.fft.rfft(b, size)), size)))
    lag = lag - size if lag > len(a) else lag  # heard[i + lag] is source[i]
    first, last = max(0, -lag), min(len(b), len(a) - lag)
    return float(np.corrcoef(a[first + lag: last + lag], b[first:last])[0, 1]) if last - first > 1 else 0.0


def largest_step(pcm: np.ndarray) -> int:
    """The largest difference between neighbouring samples of any channel: a click is a step far above the
    signal's own."""
    return int(np.abs(np.diff(pcm.astype(np.int32), axis=0)).max()) if len(pcm) > 1 else 0


class _Looped:
    """The music `transmit` sends: `pcm` looped until `total` samples were read; a read stops at the end of `pcm`,
    as a track does. `transmit` stops once all was read, before a read could find the end."""

    title = "t"
    finished = False

    def __init__(self, pcm: np.ndarray, total: int) -> None:
        self._pcm = pcm
        self._total = total
        self.position = 0

    @property
    def played_out(self) -> bool:
        return self.position >= self._total

    def read(self, frames: int) -> np.ndarray:
        start = self.position % len(self._pcm)
        chunk = self._pcm[start: start + min(frames, self._total - self.position)]
        self.position += len(chunk)
        return chunk


def transmit(pcm: np.ndarray, *, start_s: float = 0.1, pauses: tuple[tuple[float, float], ...] = (),
             ssrc: int = 0x1234ABCD, first_sequence: int = 1000, first_timestamp: int = 5000,
             bye: bool = True, report_interval_s: float = 1.0, seconds: float | None = None,
             samples_per_packet: int = SPP, latency_s: float = 0.06,
             fmt: AudioFormat = L16_STEREO, encode: Callable[[np.ndarray], bytes] | None = None,
             fec: FecEncoder | None = None) -> Iterator[Datagram]:
    """Everything a station sending `fmt` sends for `pcm` (looped for `seconds` of audio when given), paused
    during `pauses` (station times), announcing `latency_s`, with send times, one datagram at a time: the
    station's own step (`station.onair`), at each slot's deadline. `encode`: the payload's encoder (Opus's), if
    not L16's; `fec`: repair packets too."""
    packetizer = Packetizer(fmt, ssrc, first_sequence, first_timestamp, encode=encode,
                            clock_origin_s=start_s + WALL_OFFSET_S, latency_s=latency_s)
    schedule = Schedule(start_s, fmt.rate, samples_per_packet)
    reporter = Reporter(packetizer, schedule, cname="sim@test", name="Sim Radio", interval_s=report_interval_s)
    music = _Looped(pcm, len(pcm) if seconds is None else fmt.samples_for(seconds))
    onair = OnAir(music, None, packetizer, reporter, schedule, WALL_OFFSET_S, fec=fec)  # type: ignore[arg-type]
    while not music.played_out:
        now = onair.next_deadline_s
        if any(a <= now < b for a, b in pauses):
            onair.pause()
        else:
            onair.play()
        slot = onair.step(now)
        if slot.rtp is not None:
            yield Datagram(now, True, slot.rtp)
        if slot.rtcp is not None:
            yield Datagram(now, False, slot.rtcp)
        for repair in slot.repair:
            yield Datagram(now, False, repair, repair=True)
    if bye:
        now = onair.next_deadline_s
        yield Datagram(now, False, onair.bye(now, "end"))


def without_clock(datagrams: list[Datagram]) -> list[Datagram]:
    """The datagrams with no clock in the RTP packets (no header extensions): a station of before, or a sender
    that sends none (ffmpeg), whose clock and latency come in its reports only."""
    return [replace(d, data=bytes(replace(RtpPacket.parse(d.data), extensions=()))) if d.is_rtp and not d.repair
            else d for d in datagrams]


def broadcast(pcm: np.ndarray, **options: Any) -> list[Datagram]:
    """All of `transmit` at once, for links that reorder."""
    return list(transmit(pcm, **options))


def link(datagrams: list[Datagram], *, seed: int = 7, delay_s: float = 0.001, jitter_s: float = 0.0,
         loss: float = 0.0, duplicate: float = 0.0, drop_rtp: set[int] | None = None) -> list[Datagram]:
    """The datagrams as they arrive through the relay's Impairer: delayed (plus uniform jitter, which reorders),
    some lost or duplicated. `drop_rtp` names RTP packets to lose by their index among RTP packets."""
    impairer = Impairer(Impairments(loss=loss, delay_ms=delay_s * 1000, jitter_ms=jitter_s * 1000,
                                    duplicate=duplicate, seed=seed))
    arrived = []
    rtp_index = -1
    for d in datagrams:
        if d.is_rtp:
            rtp_index += 1
            if drop_rtp and rtp_index in drop_rtp:
                continue
        arrived += [replace(d, time_s=at_s, data=data) for at_s, data in impairer.process(d.data, d.time_s)]
    return sorted(arrived, key=lambda d: d.time_s)


class SoundCard:
    """Pulls 10 ms at a time (PERIOD_FRAMES at 44.1 kHz), delivering each datagram before the first read at or
    after its arrival, as the listener's paced loop does. It can be resumed (`until` again) without losing a
    datagram.

    `card_ppm` makes the reader's clock run that much fast (+) or slow (-) against the station's, as a sound
    card's crystal does: reads then come at intervals of frames / (rate * (1 + ppm / 1e6))."""

    def __init__(self, receiver: Receiver, arrivals: Iterable[Datagram], from_s: float = 0.0,
                 card_ppm: float = 0.0) -> None:
        self._receiver = receiver
        self._arrivals = iter(arrivals)
        self._next: Datagram | None = next(self._arrivals, None)
        self._from_s = from_s
        fmt = receiver.config.fmt
        self._frames = fmt.samples_for(PERIOD_FRAMES / L16_STEREO.rate)
        self._period_s = self._frames / (fmt.rate * (1 + card_ppm / 1e6))
        self._period = 0

    def until(self, until_s: float) -> np.ndarray:
        out = []
        while (now := self._from_s + self._period * self._period_s) < until_s:
            while self._next is not None and self._next.time_s <= now:
                d = self._next
                if d.time_s >= self._from_s:
                    self._receiver.on_datagram(d.channel, d.data, d.time_s, d.source)
                self._next = next(self._arrivals, None)
            out.append(self._receiver.read(self._frames, now))
            self._period += 1
        return np.concatenate(out) if out else np.zeros((0, self._receiver.config.fmt.channels), dtype=np.int16)


def play(receiver: Receiver, arrivals: list[Datagram], until_s: float, from_s: float = 0.0) -> np.ndarray:
    """One uninterrupted run of a SoundCard from `from_s` to `until_s`."""
    return SoundCard(receiver, arrivals, from_s).until(until_s)


def samples_skipped(heard: np.ndarray, source: np.ndarray) -> int | None:
    """How many samples of the end of `source` `heard` lacks, if it is that end with single samples dropped
    (as drift compensation does); None if it is not. Test sources are noise, so matching greedily is exact."""
    source_rows = [tuple(row) for row in source]
    position = len(source_rows) - 1
    for row in reversed([tuple(row) for row in heard]):
        while position >= 0 and source_rows[position] != row:
            position -= 1
        if position < 0:
            return None
        position -= 1
    return len(source_rows) - len(heard) - (position + 1)


def audible(pcm: np.ndarray) -> np.ndarray:
    """The recording without its silent frames (test sources are never silent)."""
    return pcm[np.any(pcm != 0, axis=1)]


# --- listeners, and where the station sends from -----------------------------------------------------------------

LATENCY_S = 0.06


def receiver(now: float = 0.0, fmt: AudioFormat = L16_STEREO, latency_s: float = LATENCY_S,
             clock_in_packets: bool = True, delay_s: float = 0.0) -> Receiver:
    """A listener's receiver with the latency on its command line (and its --delay-ms); `clock_in_packets` False:
    one that does not read the station's clock from its packets, only from its reports."""
    return Receiver(ReceiverConfig(fmt, latency_s, WALL_OFFSET_S, clock_extension_id=CLOCK_ID if clock_in_packets
                                   else None, delay_s=delay_s), now)


def first_sound(pcm: np.ndarray) -> int:
    """The index of the recording's first audible frame."""
    return int(np.argmax(np.any(pcm != 0, axis=1)))


def listener(now: float = 0.0, latency_s: float = LATENCY_S, source: LatencySource = LatencySource.DEFAULT,
             wall_offset_s: float = WALL_OFFSET_S) -> Receiver:
    """A listener's receiver taking the latency the station announces, unless `source` says otherwise."""
    return Receiver(ReceiverConfig(L16_STEREO, latency_s, wall_offset_s, latency_source=source), now)


SRTP_KEY = bytes(range(30))  # SRTP's master key and salt, shared by the station and its listeners
STATION_RTP = ("10.0.0.1", 40000)
STATION_RTCP = ("10.0.0.1", 40001)


def from_station(datagrams: list[Datagram]) -> list[Datagram]:
    """The datagrams as sent from the station's own addresses."""
    return [replace(d, source=STATION_RTP if d.is_rtp else STATION_RTCP) for d in datagrams]
