"""One round of the batch: N listeners running, then a measuring window opened and closed by snapshots.

Listeners carry over from one round to the next (a round of 20 after one of 10 starts 10 more), all of them
started, and playing, before the window opens; the window's figures are the differences of the snapshots at its
two ends, and its CPU figures the differences of the processes' CPU times over the same span.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import psutil
from tqdm import tqdm

from throughput_testing.figures import (NOMINAL_BYTES_PER_S, Missing, Round, Snapshot, busy_percent, client_figures,
                                        sent_bytes_per_s, station_figures)
from throughput_testing.fleet import Child, Fleet, FleetError, client_number, cpu_seconds, rss_bytes

SETTLE_S = 2.0  # after the last listener started and before the window opens: the CPU burst of starts is over
PLAYING_TIMEOUT_S = 30.0  # for listeners to start playing; one that does not shows in its figures
SNAPSHOT_TIMEOUT_S = 30.0  # for a process to write its figures when asked: generous, for a saturated machine
TICK_S = 0.5  # the progress bar's refresh, and how soon a station that stopped is noticed


def measure_round(fleet: Fleet, clients: int, seconds: float, label: str) -> Round:
    """Bring the fleet to `clients` listeners, then measure a window of `seconds`. FleetError if the station
    stops."""
    fleet.check_station()
    with tqdm(total=clients, initial=min(clients, len(fleet.listeners)), desc=f"{label}: starting listeners",
              unit="listener", leave=False, disable=None) as bar:
        failed = fleet.resize(clients, on_started=bar.update)
    fleet.wait_playing(PLAYING_TIMEOUT_S)
    time.sleep(SETTLE_S)
    children = fleet.children()
    start = _Reading.take(fleet, children)
    with tqdm(total=seconds, desc=f"{label}: measuring", unit="s", leave=False, disable=None,
              bar_format="{desc}: {bar} {n:.0f}/{total:.0f} s") as bar:
        opened_s = time.monotonic()
        while (elapsed_s := time.monotonic() - opened_s) < seconds:
            bar.update(elapsed_s - bar.n)
            time.sleep(min(TICK_S, seconds - elapsed_s))
            fleet.check_station()
    end = _Reading.take(fleet, children)
    return _round(fleet, clients, seconds, failed, start, end)


@dataclass(frozen=True)
class _Reading:
    """What is read at one end of the window: the machine's and each process's CPU times, then its figures."""

    wall_s: float
    machine: dict[str, float]
    cpu: dict[Child, dict[int, float]]
    figures: dict[Child, Snapshot | str]

    @classmethod
    def take(cls, fleet: Fleet, children: list[Child]) -> _Reading:
        wall_s = time.monotonic()
        machine = psutil.cpu_times()._asdict()
        cpu = {child: cpu_seconds(child, descendants=child is fleet.station) for child in children}
        return cls(wall_s, machine, cpu, fleet.snapshot(children, SNAPSHOT_TIMEOUT_S))


def _cpu_percent(child: Child, start: _Reading, end: _Reading) -> float:
    """The CPU a process (with its own children) used over the window, in % of one core."""
    before = start.cpu.get(child, {})
    used_s = sum(seconds - before.get(pid, 0.0) for pid, seconds in end.cpu.get(child, {}).items())
    return 100 * used_s / (end.wall_s - start.wall_s)


def _round(fleet: Fleet, clients: int, seconds: float, failed: list[tuple[int, str]], start: _Reading,
           end: _Reading) -> Round:
    station, nominal_bytes_per_s = None, NOMINAL_BYTES_PER_S
    if fleet.station is not None:
        first, last = start.figures[fleet.station], end.figures[fleet.station]
        if not (isinstance(first, dict) and isinstance(last, dict)):
            raise FleetError(f"the station gave no figures: {last if isinstance(first, dict) else first}")
        station = station_figures(first, last, _cpu_percent(fleet.station, start, end))
        nominal_bytes_per_s = sent_bytes_per_s(first, last, fleet.packets_per_s)
    listeners = []
    missing = [Missing(client, why) for client, why in failed]
    for child in fleet.listeners:
        first, last = start.figures.get(child), end.figures.get(child)
        if isinstance(first, dict) and isinstance(last, dict):
            listeners.append(client_figures(client_number(child), first, last, _cpu_percent(child, start, end),
                                            rss_bytes(child), nominal_bytes_per_s))
        else:
            missing.append(Missing(client_number(child), str(last if isinstance(first, dict) else first)))
    return Round(clients=clients, seconds=seconds, listeners=tuple(sorted(listeners, key=lambda c: c.client)),
                 missing=tuple(sorted(missing, key=lambda m: m.client)), station=station,
                 busy_percent=busy_percent(start.machine, end.machine), cores=psutil.cpu_count() or 1)
