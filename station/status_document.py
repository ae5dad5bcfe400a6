"""The station's status as one JSON document (sans-IO): what `GET /api/status` answers and `/api/events` streams
to the dashboard, and when the stream sends it again.

Names in it come from strangers on the network (listeners' NAME and CNAME): the dashboard sets them as text, never
as markup. Figures that are not finite numbers become null, as JSON has no NaN.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass

from station.control import Station

# At least twice a second, as a player's position bar and the listeners' plots need; less than half a second so
# that a sender's tick a little late still makes it.
EVENT_INTERVAL_S = 0.4
SEND_FIGURES = ("packets_sent", "octets_sent", "slots_skipped", "send_errors", "send_error_p50_ms",
                "send_error_p99_ms", "send_error_max_ms", "repair_packets_sent")
# What always moves, and so is no change worth an event of its own: the position, the counters, report ages.
MOVING = ("position_s", "send", "capture", "icecast")


@dataclass(frozen=True)
class Identity:
    """What the status says of the stream, which never changes while the station runs."""

    name: str
    group: str
    port: int
    codec: str


def status_document(station: Station, identity: Identity) -> dict[str, object]:
    status = station.status()
    listing = station.queue_listing()
    return finite({
        **asdict(identity),
        "state": "paused" if status.paused else "playing",
        "source": "live" if status.live else "files",
        "title": status.title,
        "position_s": status.position_s,
        "duration_s": status.duration_s,
        "volume_percent": status.volume_percent,
        "queue": None if listing is None else {
            "repeat": listing.repeat, "shuffle": listing.shuffle,
            "tracks": [asdict(item) for item in listing.items]},
        "listeners": [asdict(listener) for listener in station.listeners()],
        "send": {name: getattr(status, name) for name in SEND_FIGURES},
        "capture": asdict(status.capture) if status.capture is not None else None,
        "icecast": station.icecast_figures(),
    })


def history_document(station: Station) -> dict[str, object]:
    """`GET /api/history`: each listener's reports of the last minutes, which a dashboard opened now plots from
    (the status carries only the present)."""
    return finite({"listeners": [{"ssrc": entry.ssrc, "cname": entry.cname, "name": entry.name,
                                  "points": [list(point) for point in entry.points]}
                                 for entry in station.history()]})


def encode(document: dict[str, object]) -> bytes:
    return json.dumps(document, ensure_ascii=False, allow_nan=False).encode()


def finite(value: object) -> object:
    """`value` with every float that is not finite (NaN, ±inf) as None, in its dicts and lists too."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [finite(item) for item in value]
    return value


class StatusPacer:
    """When the event stream sends the status: as soon as something the dashboard shows changes (a command's
    effect, a track change, a listener joining or reporting new figures), and at least every `interval_s`
    otherwise, for the position and the counters."""

    def __init__(self, interval_s: float = EVENT_INTERVAL_S) -> None:
        self._interval_s = interval_s
        self._last_key: str | None = None
        self._last_sent_s = -math.inf

    def due(self, document: dict[str, object], now: float) -> bool:
        """Whether to send `document`, seen at `now`; a True counts as sent."""
        key = _steady_key(document)
        if key == self._last_key and now - self._last_sent_s < self._interval_s:
            return False
        self._last_key, self._last_sent_s = key, now
        return True


def _steady_key(document: dict[str, object]) -> str:
    steady = {key: value for key, value in document.items() if key not in MOVING}
    listeners = steady.get("listeners")
    if isinstance(listeners, list):
        steady["listeners"] = [{key: value for key, value in listener.items() if key != "last_report_s_ago"}
                               for listener in listeners]
    return json.dumps(steady, sort_keys=True)
