"""What the batch tells (sans-IO): the table on the terminal, the CSV and the JSON of every figure, as text; and
the rounds a JSON holds, read back.

The table has a row per round, listeners summed up (the worst of them where the bar is concerned); the CSV a row
per listener per round, with its round's station and machine figures; the JSON everything, verdicts included.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import asdict, fields

from throughput_testing.figures import (NOMINAL_BYTES_PER_S, Bar, ClientFigures, Missing, Round, StationFigures,
                                        cpu_per_listener_percent, judge, largest_met, mean)

MB = 1 << 20

COLUMNS = (  # header, width: the terminal table's
    ("clients", 7), ("rate min", 8), ("kB/s mean", 9), ("delivered min", 13), ("lost", 6), ("late", 5),
    ("dup", 4), ("underruns", 9), ("jitter ms", 9), ("latency ms", 10), ("CPU/listener", 12), ("RSS MB", 6),
    ("station CPU", 11), ("send p50 ms", 11), ("send p99 ms", 11), ("busy", 5), ("verdict", 8),
)
CSV_FIELDS = (
    "clients", "client", "window_s", "bytes_received", "bytes_per_s", "rate_percent", "packets_received",
    "packets_lost", "delivered_percent", "packets_late", "packets_duplicate", "underruns", "jitter_ms",
    "latency_ms", "cpu_percent", "rss_mb", "station_cpu_percent", "station_send_error_p50_ms",
    "station_send_error_p99_ms", "station_send_error_max_ms", "station_packets_sent", "station_slots_skipped",
    "machine_busy_percent", "round_met_bar",
)


def _row(r: Round) -> tuple[str, ...]:
    c = r.listeners
    station = r.station
    cpu, p50, p99 = (("n/a",) * 3 if station is None else
                     (f"{station.cpu_percent:.2f} %", f"{station.send_error_p50_ms:.2f}",
                      f"{station.send_error_p99_ms:.2f}"))
    return (
        f"{r.clients}",
        f"{min((x.rate_ratio for x in c), default=0):.2%}",
        f"{mean([x.bytes_per_s for x in c]) / 1e3:.1f}",
        f"{min((x.delivered for x in c), default=0):.3%}",
        f"{sum(x.packets_lost for x in c)}",
        f"{sum(x.packets_late for x in c)}",
        f"{sum(x.packets_duplicate for x in c)}",
        f"{sum(x.underruns for x in c)}",
        f"{max((x.jitter_ms for x in c), default=0):.3f}",
        f"{mean([x.latency_ms for x in c]):.1f}",
        f"{cpu_per_listener_percent(r):.2f} %",
        f"{mean([x.rss_bytes for x in c]) / MB:.0f}",
        cpu, p50, p99,
        f"{r.busy_percent:.0f} %",
        "met" if judge(r).met else "DEGRADED",
    )


def table(rounds: Sequence[Round], bar: Bar = Bar()) -> str:
    """A row per round: listeners' rate (the slowest, % of nominal; the mean), packets delivered (the worst
    listener), counts summed over listeners, the largest jitter, mean latency, CPU per listener (% of one core)
    and memory, the station's CPU and send error, the machine's CPUs busy (% of all); then why each degraded
    round fell short, and the closing note."""
    lines = ["  ".join(f"{header:>{width}}" for header, width in COLUMNS)]
    lines += ["  ".join(f"{cell:>{width}}" for cell, (_, width) in zip(_row(r), COLUMNS)) for r in rounds]
    for r in rounds:
        verdict = judge(r, bar)
        if not verdict.met:
            lines.append(f"{r.clients} listeners: {verdict.describe()}")
    lines.append(closing_note(rounds, bar))
    return "\n".join(lines)


def closing_note(rounds: Sequence[Round], bar: Bar = Bar()) -> str:
    """The largest listener count that met the bar, and what a listener cost there."""
    best = largest_met(rounds, bar)
    what = (f"every listener >= {bar.min_delivered:.1%} of packets at the nominal rate "
            f"±{bar.rate_tolerance:.0%}, station send error p99 <= {bar.max_send_error_p99_ms:g} ms")
    if best is None:
        return f"no round met the bar ({what})"
    return (f"largest listener count meeting the bar ({what}): {best.clients}, at "
            f"{cpu_per_listener_percent(best):.2f} % of a core per listener")


def csv_text(rounds: Sequence[Round]) -> str:
    """A row per listener per round, every figure, with its round's station and machine figures."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for r in rounds:
        station = r.station
        met = judge(r).met
        for c in r.listeners:
            writer.writerow({
                "clients": r.clients, "client": c.client, "window_s": f"{c.window_s:.3f}",
                "bytes_received": c.bytes_received, "bytes_per_s": f"{c.bytes_per_s:.1f}",
                "rate_percent": f"{c.rate_ratio * 100:.3f}", "packets_received": c.packets_received,
                "packets_lost": c.packets_lost, "delivered_percent": f"{c.delivered * 100:.3f}",
                "packets_late": c.packets_late, "packets_duplicate": c.packets_duplicate, "underruns": c.underruns,
                "jitter_ms": c.jitter_ms, "latency_ms": c.latency_ms, "cpu_percent": f"{c.cpu_percent:.2f}",
                "rss_mb": f"{c.rss_bytes / MB:.1f}",
                "station_cpu_percent": f"{station.cpu_percent:.2f}" if station else "",
                "station_send_error_p50_ms": f"{station.send_error_p50_ms:.3f}" if station else "",
                "station_send_error_p99_ms": f"{station.send_error_p99_ms:.3f}" if station else "",
                "station_send_error_max_ms": f"{station.send_error_max_ms:.3f}" if station else "",
                "station_packets_sent": station.packets_sent if station else "",
                "station_slots_skipped": station.slots_skipped if station else "",
                "machine_busy_percent": f"{r.busy_percent:.1f}", "round_met_bar": met,
            })
    return out.getvalue()


def json_text(rounds: Sequence[Round], command: str, bar: Bar = Bar()) -> str:
    """Every figure, the derived ones too (rates, fractions delivered), each round's verdict, and the command."""
    best = largest_met(rounds, bar)
    document = {
        "command": command,
        "nominal_bytes_per_s": round(rounds[0].nominal_bytes_per_s, 1) if rounds else NOMINAL_BYTES_PER_S,
        "bar": asdict(bar),
        "largest_met": best.clients if best else None,
        "rounds": [_round_json(r, bar) for r in rounds],
    }
    return json.dumps(document, indent=2) + "\n"


def _round_json(r: Round, bar: Bar) -> dict[str, object]:
    verdict = judge(r, bar)
    return {
        "clients": r.clients, "seconds": r.seconds, "met": verdict.met, "reasons": list(verdict.reasons),
        "cause": verdict.cause, "busy_percent": round(r.busy_percent, 1), "cores": r.cores,
        "nominal_bytes_per_s": round(r.nominal_bytes_per_s, 1),
        "cpu_per_listener_percent": round(cpu_per_listener_percent(r), 3),
        "station": asdict(r.station) if r.station else None,
        "listeners": [asdict(c) | {"bytes_per_s": round(c.bytes_per_s, 1), "rate_ratio": round(c.rate_ratio, 5),
                                   "delivered": round(c.delivered, 6)} for c in r.listeners],
        "missing": [asdict(m) for m in r.missing],
    }


def rounds_from_json(text: str) -> list[Round]:
    """The rounds a batch's JSON holds (`json_text`), to tell them again, alone or with another run's; what is
    derived from them (rates, verdicts) is worked out anew."""
    client_fields = [f.name for f in fields(ClientFigures)]
    return [Round(clients=r["clients"], seconds=r["seconds"],
                  listeners=tuple(ClientFigures(**{name: c[name] for name in client_fields if name in c})
                                  for c in r["listeners"]),
                  missing=tuple(Missing(**m) for m in r["missing"]),
                  station=StationFigures(**r["station"]) if r["station"] else None,
                  busy_percent=r["busy_percent"], cores=r["cores"])
            for r in json.loads(text)["rounds"]]
