"""The one-line status a listener shows: who, what, and how well."""

from __future__ import annotations

from listener.receiver import Receiver, State

SILENCE_HINT_S = 3.0  # nothing heard this long: say where we are listening


def _silent_too_long(receiver: Receiver, now: float) -> bool:
    return receiver.state(now) is State.WAITING and now - receiver.started_s >= SILENCE_HINT_S


def status_key(receiver: Receiver, now: float) -> str:
    """What the line is about, without its ever-changing figures: where no terminal can refresh a line in
    place, a new line is printed only when this changes: where the latency comes from is one of those things."""
    return (f"{receiver.state(now).value}|{receiver.station_name}|{receiver.title}|{_silent_too_long(receiver, now)}|"
            f"{receiver.packets_malformed > 0}|{receiver.strangers.count > 0}|{receiver.latency_source.value}")


def status_line(receiver: Receiver, now: float, where: str) -> str:
    state = receiver.state(now)
    if state is State.ENCRYPTED:
        return (f"stream is encrypted: {receiver.packets_encrypted} packets not played; the station's key "
                "(--key-file) plays it")
    if _silent_too_long(receiver, now):
        if receiver.packets_unauthenticated:
            return (f"authentication failed on {receiver.packets_unauthenticated} packets on {where}: a wrong key "
                    "(--key-file), or a sender without one; still waiting")
        if receiver.packets_malformed:  # something is sent there, but nothing this listener can play
            return (f"nothing playable heard for {now - receiver.started_s:.0f} s on {where}: "
                    f"{receiver.packets_malformed} packets refused, the last: {receiver.last_wire_error}")
        return (f"nothing heard for {now - receiver.started_s:.0f} s on {where}: is the station running with "
                "the same --group, --port and --interface?")
    stats = receiver.stats(now)
    name = receiver.station_name or "?"
    title = f" — {receiver.title}" if receiver.title else ""
    strangers = receiver.strangers.describe()
    return (f"{name}{title} | {state.value} | buffer {receiver.buffered_s() * 1e3:.0f} ms | "
            f"lost {stats['packets_lost']} | {_latency(stats)}{_offset(receiver)}"
            + (f" | {strangers}" if strangers else ""))


def _latency(stats: dict[str, object]) -> str:
    """The latency in use and where it came from; and the shared one, if the target is on its way to it or the
    network's jitter raised it above."""
    target, shared, source = stats["latency_target_ms"], stats["latency_shared_ms"], stats["latency_source"]
    if target == shared:
        return f"latency {target:.1f} ms ({source})"
    if target < shared:
        return f"latency {target:.1f} ms, moving to {shared:.1f} ({source})"
    return f"latency {target:.1f} ms ({source} {shared:.1f} + jitter)"


def _offset(receiver: Receiver) -> str:
    """How far playout is from where a perfectly synchronized listener plays: late (+) or early (-)."""
    offset_s = receiver.playout_offset_s
    return "" if offset_s is None else f" | offset {offset_s * 1e3:+.2f} ms"
