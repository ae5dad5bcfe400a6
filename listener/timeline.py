"""Where one station's samples play (sans-IO): its jitter buffer, and what placed the play position on the
schedule. Part of the stream record the station lock keeps (`listener.station_lock`), made and read by playout
(`listener.playout`); a new station starts a new one."""

from __future__ import annotations

from dataclasses import dataclass, field

from listener.jitter_buffer import JitterBuffer
from listener.opus_decoding import OpusDecoding
from listener.sender_clock import SenderClock


@dataclass
class Timeline:
    """Where one station's samples play: its jitter buffer, and what placed the play position on the schedule."""

    buffer: JitterBuffer
    first_ts: int  # extended timestamp and arrival time of its first packet: the schedule until an SR
    first_arrival_s: float
    started: bool = False
    anchored: bool = False  # the play position was placed by the sender reports' clock, not the first arrival
    silence: tuple[int, int] = (0, 0)  # timestamps the station meant as silence: before a marker packet
    decoding: OpusDecoding | None = None  # Opus: packets held and decoded in order, just in time
    concealed: list[tuple[int, int]] = field(default_factory=list)  # spans the codec concealed, not yet played
    first_audio_s: float | None = None  # when its first sample that arrived played (local monotonic time)

    def unplaced(self, clock: SenderClock) -> bool:
        """The next read places the play position on the schedule, wherever it was (its first read, or its first
        on the sender reports' clock): until then the schedule may move at no cost."""
        return not self.started or (not self.anchored and clock.synchronized)
