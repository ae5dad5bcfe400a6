"""The one-line status a listener shows: who, what, and how well."""

from __future__ import annotations

from listener.receiver import Receiver, State

SILENCE_HINT_S = 3.0  # nothing heard this long: say where we are listening


def _silent_too_long(receiver: Receiver, now: float) -> bool:
    return receiver.state(now) is State.WAITING and now - receiver.started_s >= SILENCE_HINT_S


def status_key(receiver: Receiver, now: float) -> str:
    """What the line is about, without its ever-changing figures: where no terminal can refresh a line in
    place, a new line is printed only when this changes."""
    return f"{receiver.state(now).value}|{receiver.station_name}|{receiver.title}|{_silent_too_long(receiver, now)}"


def status_line(receiver: Receiver, now: float, where: str) -> str:
    state = receiver.state(now)
    if _silent_too_long(receiver, now):
        return (f"nothing heard for {now - receiver.started_s:.0f} s on {where}: is the station running with "
                "the same --group, --port and --interface?")
    stats = receiver.stats(now)
    name = receiver.station_name or "?"
    title = f" — {receiver.title}" if receiver.title else ""
    return (f"{name}{title} | {state.value} | buffer {receiver.buffered_s() * 1e3:.0f} ms | "
            f"lost {stats['packets_lost']} | latency {stats['latency_ms']:.1f} ms")
