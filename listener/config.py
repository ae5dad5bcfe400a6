"""What a listener run is asked to do: the command line (`listener.app`) made into one frozen config."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from listener.playout import LatencySource
from listener.room import ChannelChoice
from rtpwire.audio import L16_STEREO, AudioFormat
from rtpwire.fec import REPAIR_PORT_OFFSET
from rtpwire.rapid_sync import CLOCK_ID, LATENCY_ID
from rtpwire.sdp import StreamDescription


@dataclass(frozen=True)
class ListenerConfig:
    group: str
    port: int
    interface: str
    output: str  # "auto", "speaker", "null" or a .wav path
    device: str | None  # the speaker: a PortAudio index or name, or a PulseAudio sink; None for the default
    duration_s: float | None
    latency_ms: float  # to start with: the station's announcement replaces it unless it came from the command line
    latency_source: LatencySource
    max_latency_ms: float
    stats_json: Path | None
    quiet: bool
    time_sync_at: tuple[str, int | None] | None = None  # the time service asked for: host, port (None: default)
    fmt: AudioFormat = L16_STEREO  # what is played: a stream's SDP says, else L16 stereo at 44.1 kHz
    station: str | None = None  # join the station announced (SAP) by this name: group, port and format
    list_stations: bool = False  # only list the stations announced, and exit
    key: bytes | None = None  # SRTP's master key and salt: only what authenticates is played
    source_ip: str | None = None  # the one address the stream comes from, as its description says
    encrypted: bool = False  # its description says it is SRTP
    repair_port: int | None = None  # where its repair packets come, as its description says (None: the default)
    clock_extension_id: int | None = CLOCK_ID  # the header extensions carrying the station's clock and its
    latency_extension_id: int | None = LATENCY_ID  # latency (None: none): our station's, unless described
    delay_ms: float = 0.0  # play this much later (- earlier) than the station's schedule; told in the reports
    channels: ChannelChoice | None = None  # which channels play; None: stereo, or mono on a one-channel speaker
    volume: int = 100  # percent of the stream's amplitude
    name: str | None = None  # sent in the receiver reports' SDES NAME, for the station's LISTENERS

    @property
    def time_sync(self) -> tuple[str, int] | None:
        """The station's time service (host, port), if asked: by default on the stream's port + 2, which an SDP
        file or a station's announcement may have chosen."""
        if self.time_sync_at is None:
            return None
        host, port = self.time_sync_at
        return host, self.port + 2 if port is None else port

    @property
    def repair(self) -> int:
        """The repair packets' port: the description's, else the stream's port + REPAIR_PORT_OFFSET, where the
        station sends them with --fec (a stream without FEC sends none there)."""
        return self.port + REPAIR_PORT_OFFSET if self.repair_port is None else self.repair_port

    def where(self) -> str:
        return f"{self.group}:{self.port} via {self.interface}"

    def joining(self, description: StreamDescription) -> ListenerConfig:
        """This config, for the stream `description` describes: its group, port, format, repair flow and the
        header extension carrying its clock."""
        return replace(self, group=description.group, port=description.port, fmt=description.fmt,
                       source_ip=description.source, encrypted=description.encrypted,
                       repair_port=description.repair.port if description.repair else None,
                       clock_extension_id=description.clock_extension_id,
                       latency_extension_id=description.latency_extension_id)
