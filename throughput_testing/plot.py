"""The batch's plot: per-listener throughput, loss and CPU against the number of listeners, as a PNG.

matplotlib's Agg backend draws without a display, as on a server or in CI. Rounds that missed the bar are marked.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)

from throughput_testing.figures import (NOMINAL_BYTES_PER_S, Bar, Round, cpu_per_listener_percent,  # noqa: E402
                                        judge, mean)


def plot(rounds: Sequence[Round], path: Path, bar: Bar = Bar()) -> None:
    """Three panels against the listener count: kB/s per listener (slowest and mean, the nominal rate drawn),
    the packets lost (worst listener and mean, % of those sent, the bar drawn), and CPU (per listener and the
    station, % of one core; the machine, % of all its cores, on a scale of its own)."""
    clients = [r.clients for r in rounds]
    figure, (rate, loss, cpu) = plt.subplots(3, 1, figsize=(8, 10), sharex=True, constrained_layout=True)

    rate.plot(clients, [min((c.bytes_per_s for c in r.listeners), default=0) / 1e3 for r in rounds], "o-",
              label="slowest listener")
    rate.plot(clients, [mean([c.bytes_per_s for c in r.listeners]) / 1e3 for r in rounds], "s--",
              label="mean")
    nominal_bytes_per_s = max((r.nominal_bytes_per_s for r in rounds), default=NOMINAL_BYTES_PER_S)
    rate.axhline(nominal_bytes_per_s / 1e3, color="grey", linestyle=":", label="the stream's nominal rate")
    rate.set_ylabel("received per listener, kB/s")
    rate.set_ylim(0, 1.2 * nominal_bytes_per_s / 1e3)

    worst = [max((100 * (1 - c.delivered) for c in r.listeners), default=100) for r in rounds]
    loss.plot(clients, worst, "o-", label="worst listener")
    loss.plot(clients, [mean([100 * (1 - c.delivered) for c in r.listeners]) for r in rounds], "s--",
              label="mean")
    allowed = 100 * (1 - bar.min_delivered)
    loss.axhline(allowed, color="grey", linestyle=":", label="the bar")
    loss.set_ylabel("packets lost, %")
    loss.set_ylim(0, 1.2 * max([2 * allowed, *worst]))

    per_listener = [cpu_per_listener_percent(r) for r in rounds]
    station = [r.station.cpu_percent if r.station else float("nan") for r in rounds]
    cpu.plot(clients, per_listener, "o-", label="per listener")
    cpu.plot(clients, station, "s--", label="station")
    cpu.set_ylabel("CPU, % of one core")
    cpu.set_ylim(0, 1.3 * max([1.0, *per_listener, *(x for x in station if x == x)]))
    cpu.set_xlabel("listeners")
    machine = cpu.twinx()  # its own scale: the whole machine fills up as listeners are added
    machine.plot(clients, [r.busy_percent for r in rounds], "^-.", color="tab:green", label="machine (right)")
    machine.set_ylabel("machine CPU, % of all cores")
    machine.set_ylim(0, 105)

    degraded = [r.clients for r in rounds if not judge(r, bar).met]
    for axes in (rate, loss, cpu):
        axes.set_xticks(clients)
        for x in degraded:
            axes.axvline(x, color="red", alpha=0.3, linewidth=6)
        axes.grid(True, alpha=0.3)
    rate.legend(loc="lower left", fontsize="small")
    loss.legend(loc="upper left", fontsize="small")
    lines = cpu.get_legend_handles_labels()[0] + machine.get_legend_handles_labels()[0]
    cpu.legend(lines, [line.get_label() for line in lines], loc="upper left", fontsize="small")
    seconds = rounds[0].seconds if rounds else 0
    figure.suptitle(f"Multicast throughput: {seconds:g} s per round, {rounds[0].cores if rounds else 0} cores"
                    + (" (red: missed the bar)" if degraded else ""))
    figure.savefig(path, dpi=100)
    plt.close(figure)
