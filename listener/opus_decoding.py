"""Opus decoding for the listener (sans-IO): packets decoded in timestamp order, each as soon as it can be.

An Opus decoder is stateful: every packet is decoded in the state the one before it left, and a lost packet must be
replaced in its place (rebuilt or concealed), so packets reach the decoder in timestamp order, once each. They
arrive in any order: reordered by the network, and lost ones rebuilt later by the Reed-Solomon FEC. So packets that
come early are held, and whatever is contiguous with what was decoded is decoded at once: nothing waits when
nothing is missing. A missing frame is resolved only when the play position needs it (`decode_until`), as late as
possible, so that a packet that is merely late, or rebuilt by the FEC, still arrives in time: it is rebuilt from
the in-band FEC of the packet after it if that one is here, else concealed by the codec.

Concealment is capped: the codec's PLC fades to silence within about 100 ms anyway, and a longer gap is an outage,
not loss. After the cap nothing is produced for the gap (the jitter buffer leaves silence, and the listener's own
concealment, where it was missing), and decoding starts afresh (decoder reset) at the next packet, as it does
after the play position jumped ahead: the decoder's memory then holds audio unrelated to what follows.

Missing frames are resolved in frames of the last packet's size, from where decoding stopped, so that they line
up with the packets still to come. libopus conceals and rebuilds multiples of 2.5 ms only: a gap of another length
(which no packet sizes of one stream make; a pause without a marker might) is concealed rounded up, the output
cut to the gap's exact length.

A packet with the marker bit after a gap starts a talkspurt (RFC 3551): the station paused and resumed, the gap is
silence meant, not loss, so it is skipped without concealment, as soon as that packet is the next one held. A
packet from before the pause that comes after it is then too late.

Memory is bounded: packets are held only up to HOLD_S ahead of what was decoded, and at most MAX_HELD_PACKETS of
them (as many 2.5 ms packets as make HOLD_S); when full, the furthest ahead is dropped first, so a flood of future
timestamps cannot push out the packets about to play. The caller resolves gaps by calling `decode_until` as the
play position moves: until then, a gap keeps every packet after it held.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from enum import Enum

import numpy as np

from rtpwire.errors import WireError
from rtpwire.opus import (
    OPUS_RATE,
    PLC_STEP_SAMPLES,
    OpusDecoder,
    packet_has_fec,
    packet_samples,
)

HOLD_S = 3.0
HOLD_SAMPLES = round(HOLD_S * OPUS_RATE)
MAX_HELD_PACKETS = HOLD_SAMPLES // PLC_STEP_SAMPLES


class Kind(Enum):
    RECEIVED = "received"  # decoded from its own packet
    REBUILT = "rebuilt"  # from the in-band FEC of the packet after it
    CONCEALED = "concealed"  # made up by the codec (PLC)


@dataclass(frozen=True)
class Decoded:
    ts: int  # extended timestamp of its first sample
    pcm: np.ndarray  # (frames, channels) int16
    kind: Kind


@dataclass(frozen=True, slots=True)
class _Held:
    payload: bytes
    samples: int
    marker: bool


class OpusDecoding:
    def __init__(self, channels: int, max_concealed_s: float = 0.1) -> None:
        self._decoder = OpusDecoder(channels)
        self._max_concealed_samples = round(max_concealed_s * OPUS_RATE)
        self._held: dict[int, _Held] = {}
        self._held_ts: list[int] = []  # the keys of _held, in order
        self._next_ts: int | None = None  # the decoded point: where the next output starts; None before a packet
        self._frame_samples = 0  # the last packet's size: what missing audio is resolved in
        self._concealed_run_samples = 0  # concealed since the last packet decoded or rebuilt
        self._restart = True  # no audio to conceal from: reset before the next packet, produce nothing until it
        self.packets_decoded = 0
        self.frames_rebuilt_inband = 0
        self.frames_concealed_codec = 0
        self.packets_dropped = 0  # late, duplicate, corrupt, too far ahead, or pushed out of a full hold

    @property
    def held_packets(self) -> int:
        """Packets waiting for the ones before them."""
        return len(self._held)

    def push(self, ts: int, payload: bytes, marker: bool, samples: int | None = None) -> list[Decoded]:
        """Take a packet; returns what could be decoded with it, in order (often just it, or nothing). `samples`:
        its length, if the caller measured it already (the listener did, to judge it); else measured here."""
        if samples is None:
            try:
                samples = packet_samples(payload)
            except WireError:
                self.packets_dropped += 1
                return []
        if self._next_ts is None:  # the first packet starts the sequence
            self._next_ts = ts
            self._frame_samples = samples
        if ts < self._next_ts or ts in self._held or ts >= self._next_ts + HOLD_SAMPLES:
            self.packets_dropped += 1
            return []
        if len(self._held_ts) >= MAX_HELD_PACKETS and ts != self._next_ts:  # the next due is decoded at once
            if ts > self._held_ts[-1]:
                self.packets_dropped += 1
                return []
            self._drop(self._held_ts.pop())
        bisect.insort(self._held_ts, ts)
        self._held[ts] = _Held(payload, samples, marker)
        return self._decode_ready()

    def decode_until(self, start_ts: int, end_ts: int, ended: bool = False) -> list[Decoded]:
        """Everything up to `end_ts` the play position, now at `start_ts`, needs: missing frames whose time has
        come are rebuilt or concealed (or skipped, past the cap), and the packets after them decoded. Nothing
        before `start_ts` is returned: a jump ahead skips what it passed, unconcealed. `ended`: the station
        paused or left, so that what follows the last packet held is silence meant, not loss to conceal."""
        if self._next_ts is None:
            return []
        if start_ts - self._next_ts >= self._frame_samples:
            self._skip_to(start_ts)
        out = self._decode_ready()
        while self._next_ts < end_ts and not (ended and not self._held_ts):
            out += self._resolve_missing()
            out += self._decode_ready()
        return [_from(start_ts, decoded) for decoded in out if decoded.ts + len(decoded.pcm) > start_ts]

    def _skip_to(self, start_ts: int) -> None:
        """Move the decoded point to the start of the frame that holds `start_ts`, on the grid of the last
        packet's size, so that a packet straddling `start_ts` is still decoded (and cut)."""
        self._next_ts += (start_ts - self._next_ts) // self._frame_samples * self._frame_samples
        self._restart = True
        self._drop_passed()

    def _decode_ready(self) -> list[Decoded]:
        """Decode the held packets contiguous with the decoded point, and a talkspurt's first after a pause."""
        out: list[Decoded] = []
        self._drop_passed()
        while self._held_ts and (self._held_ts[0] == self._next_ts or self._held[self._held_ts[0]].marker):
            out += self._decode(self._held_ts.pop(0))
            self._drop_passed()
        return out

    def _decode(self, ts: int) -> list[Decoded]:
        held = self._held.pop(ts)
        if self._restart:
            self._decoder.reset()
            self._restart = False
        try:
            pcm = self._decoder.decode(held.payload)
        except WireError:  # lost, then: its time is resolved like any missing frame's
            self.packets_dropped += 1
            return []
        self._next_ts = ts + len(pcm)
        self._frame_samples = len(pcm)
        self._concealed_run_samples = 0
        self.packets_decoded += 1
        return [Decoded(ts, pcm, Kind.RECEIVED)]

    def _resolve_missing(self) -> list[Decoded]:
        """The next missing stretch from the decoded point, at most a frame: rebuilt if it is exactly what the
        next held packet's in-band FEC covers, else concealed, up to where that FEC can take over."""
        ts = self._next_ts
        length = self._frame_samples
        following = self._held[self._held_ts[0]] if self._held_ts else None
        if following is not None:
            gap = self._held_ts[0] - ts
            fec = not self._restart and packet_has_fec(following.payload)
            if fec and gap == following.samples:
                try:
                    pcm = self._decoder.rebuild(following.payload, gap)
                except WireError:
                    pass  # the packet is corrupt after all: concealed, and counted when its turn comes
                else:
                    self._next_ts += gap
                    self._concealed_run_samples = 0
                    self.frames_rebuilt_inband += 1
                    return [Decoded(ts, pcm, Kind.REBUILT)]
            length = min(length, gap - following.samples if fec and gap > following.samples else gap)
        left = self._max_concealed_samples - self._concealed_run_samples
        if self._restart or left <= 0:
            self._restart = True
            self._next_ts += length
            return []
        length = min(length, left)
        plc_samples = -(-length // PLC_STEP_SAMPLES) * PLC_STEP_SAMPLES
        pcm = self._decoder.conceal(plc_samples)[:length]
        self._next_ts += length
        self._concealed_run_samples += length
        self.frames_concealed_codec += 1
        return [Decoded(ts, pcm, Kind.CONCEALED)]

    def _drop_passed(self) -> None:
        """Drop held packets that start before the decoded point: overtaken by a skip or an overlapping packet."""
        while self._held_ts and self._held_ts[0] < self._next_ts:
            self._drop(self._held_ts.pop(0))

    def _drop(self, ts: int) -> None:
        del self._held[ts]
        self.packets_dropped += 1


def _from(start_ts: int, decoded: Decoded) -> Decoded:
    """`decoded` without its samples before `start_ts`."""
    if decoded.ts >= start_ts:
        return decoded
    return Decoded(start_ts, decoded.pcm[start_ts - decoded.ts:], decoded.kind)
