"""The figures of one round (sans-IO): per listener and for the station, from the snapshots of their `--stats-json`
at the two ends of the measuring window, and whether the round met the bar, and if not, why.

A listener's figures are the difference of its two snapshots, so they cover exactly the window, however long
before it the listener started; its clock (`duration_s`) times the window, so that a listener slow to answer the
snapshot request does not skew its rate. Jitter and latency are as the end snapshot gives them (running figures
over the listener's whole run). The station's send-time percentiles come from the difference of its histogram
bins.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rtpwire.audio import L16_STEREO
from stats.histogram import Histogram

NOMINAL_BYTES_PER_S = L16_STEREO.rate * L16_STEREO.bytes_per_frame  # an L16 stream's audio payload per second
SATURATED_BUSY_PERCENT = 90.0  # the machine's CPUs this busy over the window: it could not keep up

Snapshot = Mapping[str, Any]  # a program's --stats-json, as read


@dataclass(frozen=True)
class Bar:
    """What a round must achieve: every listener gets the whole stream at its rate, and packets leave on time."""

    min_delivered: float = 0.999  # of the packets sent during the window, by sequence numbers
    rate_tolerance: float = 0.01  # bytes per second within this fraction of the nominal rate
    max_send_error_p99_ms: float = 2.0  # the station's send time against its deadlines


@dataclass(frozen=True)
class ClientFigures:
    client: int  # from 1, in the order listeners were started
    window_s: float  # as the listener's clock measured it
    bytes_received: int
    packets_received: int
    packets_lost: int
    packets_late: int
    packets_duplicate: int
    underruns: int
    jitter_ms: float
    latency_ms: float
    cpu_percent: float  # of one core
    rss_bytes: int
    packets_recovered: int = 0  # lost on the wire, rebuilt by FEC
    nominal_bytes_per_s: float = NOMINAL_BYTES_PER_S  # what the station sent: L16's, or a coded stream's measured

    @property
    def bytes_per_s(self) -> float:
        return self.bytes_received / self.window_s if self.window_s > 0 else 0.0

    @property
    def rate_ratio(self) -> float:
        """Received bytes per second over the nominal rate: 1.0 is the whole stream, in real time."""
        return self.bytes_per_s / self.nominal_bytes_per_s

    @property
    def delivered(self) -> float:
        """Of the packets sent while the window was open, the fraction received or rebuilt by FEC (0 if none was
        expected). Fewer recovered at the end than at the start is no loss: packets rebuilt before the window
        whose own copies arrived in it, late (received now, and rebuilt no more)."""
        expected = self.packets_received + self.packets_lost
        return (self.packets_received + max(0, self.packets_recovered)) / expected if expected else 0.0


@dataclass(frozen=True)
class StationFigures:
    packets_sent: int
    slots_skipped: int
    send_errors: int
    send_error_p50_ms: float
    send_error_p99_ms: float
    send_error_max_ms: float  # upper edge of the highest bin that counted a packet in the window
    cpu_percent: float  # of one core, its decoding process included


@dataclass(frozen=True)
class Missing:
    """A listener that gave no figures for the window, and why (it exited, or did not answer in time)."""

    client: int
    why: str


@dataclass(frozen=True)
class Round:
    clients: int  # listeners asked for
    seconds: float  # the window asked for
    listeners: tuple[ClientFigures, ...]
    missing: tuple[Missing, ...]
    station: StationFigures | None  # None: a station the batch did not start, which it cannot measure
    busy_percent: float  # all of the machine's CPUs together: 100 is every core busy all the window
    cores: int

    @property
    def nominal_bytes_per_s(self) -> float:
        return self.listeners[0].nominal_bytes_per_s if self.listeners else NOMINAL_BYTES_PER_S


@dataclass(frozen=True)
class Verdict:
    met: bool
    reasons: tuple[str, ...]  # what fell short of the bar
    cause: str  # what the machine says about it ("" when nothing stands out)

    def describe(self) -> str:
        if self.met:
            return "met the bar"
        return "degraded: " + "; ".join(self.reasons) + (f" ({self.cause})" if self.cause else "")


def _grown(start: Snapshot, end: Snapshot, key: str) -> int:
    """How much a count grew between two snapshots."""
    return int(end[key]) - int(start[key])


def client_figures(client: int, start: Snapshot, end: Snapshot, cpu_percent: float, rss_bytes: int,
                   nominal_bytes_per_s: float = NOMINAL_BYTES_PER_S) -> ClientFigures:
    """One listener's figures over the window between its snapshots `start` and `end`."""
    grown = functools.partial(_grown, start, end)
    return ClientFigures(
        client=client, window_s=float(end["duration_s"]) - float(start["duration_s"]),
        bytes_received=grown("bytes_received"), packets_received=grown("packets_received"),
        packets_lost=grown("packets_lost"), packets_late=grown("packets_late"),
        packets_duplicate=grown("packets_duplicate"), underruns=grown("underruns"),
        jitter_ms=float(end["jitter_ms"]), latency_ms=float(end["latency_ms"]),
        cpu_percent=cpu_percent, rss_bytes=rss_bytes,
        packets_recovered=int(end.get("packets_recovered", 0)) - int(start.get("packets_recovered", 0)),
        nominal_bytes_per_s=nominal_bytes_per_s)


def sent_bytes_per_s(start: Snapshot, end: Snapshot, packets_per_s: float) -> float:
    """The audio payload per second the station sent between two of its snapshots: its mean payload per packet
    at its packet rate (a coded stream's payloads vary with the music; L16's do not)."""
    packets = _grown(start, end, "packets_sent")
    return _grown(start, end, "octets_sent") / packets * packets_per_s if packets else NOMINAL_BYTES_PER_S


def station_figures(start: Snapshot, end: Snapshot, cpu_percent: float) -> StationFigures:
    """The station's figures over the window between its snapshots `start` and `end`."""
    before, after = start["send_error_bins"], end["send_error_bins"]
    bins = {int(index): n - before.get(index, 0) for index, n in after.items()}
    window = Histogram.from_bins(bins, resolution_s=float(end["send_error_bin_ms"]) / 1e3)

    grown = functools.partial(_grown, start, end)
    return StationFigures(packets_sent=grown("packets_sent"), slots_skipped=grown("slots_skipped"),
                          send_errors=grown("send_errors"),
                          send_error_p50_ms=window.percentile(0.50) * 1e3,
                          send_error_p99_ms=window.percentile(0.99) * 1e3,
                          send_error_max_ms=window.max_s * 1e3, cpu_percent=cpu_percent)


def mean(values: Sequence[float]) -> float:
    """The mean; 0 of nothing (a round whose listeners all failed)."""
    return sum(values) / len(values) if values else 0.0


def cpu_per_listener_percent(round_: Round) -> float:
    """The mean CPU of the round's listeners, in % of one core."""
    return mean([c.cpu_percent for c in round_.listeners])


def busy_percent(start: Mapping[str, float], end: Mapping[str, float]) -> float:
    """How busy the machine's CPUs were between two readings of their times (Linux's /proc/stat fields, as
    psutil names them), in % of all of them: idle and waiting for I/O are not busy; time a hypervisor stole is
    (it was not available)."""
    fields = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")  # guest time is in user's
    total = sum(end.get(f, 0.0) - start.get(f, 0.0) for f in fields)
    idle = sum(end.get(f, 0.0) - start.get(f, 0.0) for f in ("idle", "iowait"))
    return 100 * (total - idle) / total if total > 0 else 0.0


def judge(round_: Round, bar: Bar = Bar()) -> Verdict:
    """Whether every listener got the whole stream at its rate and the station sent on time; if not, what fell
    short, worst case named, and whether the machine's CPUs were saturated, the usual reason."""
    reasons: list[str] = []
    if round_.missing:
        first = round_.missing[0]
        reasons.append(f"{len(round_.missing)} of {round_.clients} listeners gave no figures "
                       f"(client {first.client}: {first.why})")
    if not round_.listeners and not round_.missing:
        reasons.append("no listener ran")
    short = [c for c in round_.listeners if c.delivered < bar.min_delivered]
    if short:
        worst = min(short, key=lambda c: c.delivered)
        reasons.append(f"{len(short)} listeners received under {bar.min_delivered:.1%} of packets "
                       f"(worst: client {worst.client}, {worst.delivered:.2%}, {worst.packets_lost} lost)")
    off_rate = [c for c in round_.listeners if abs(c.rate_ratio - 1) > bar.rate_tolerance]
    if off_rate:
        worst = max(off_rate, key=lambda c: abs(c.rate_ratio - 1))
        reasons.append(f"{len(off_rate)} listeners off the nominal rate by over {bar.rate_tolerance:.0%} "
                       f"(worst: client {worst.client}, {worst.rate_ratio:.2%} of it)")
    station = round_.station
    if station is not None and station.send_error_p99_ms > bar.max_send_error_p99_ms:
        reasons.append(f"station send error p99 {station.send_error_p99_ms:.2f} ms "
                       f"> {bar.max_send_error_p99_ms:g} ms")
    cause = ""
    if reasons and round_.busy_percent >= SATURATED_BUSY_PERCENT:
        cause = (f"CPU saturated: {round_.busy_percent:.0f} % of {round_.cores} cores busy, "
                 f"{cpu_per_listener_percent(round_):.2f} % of a core per listener")
    return Verdict(met=not reasons, reasons=tuple(reasons), cause=cause)


def largest_met(rounds: Sequence[Round], bar: Bar = Bar()) -> Round | None:
    """The round with the most listeners that met the bar, if any did."""
    met = [r for r in rounds if judge(r, bar).met]
    return max(met, key=lambda r: r.clients) if met else None
