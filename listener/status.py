"""What a listener tells whoever runs it, on stderr: the one-line status (who, what, and how well), why nothing
plays when it can tell, and its messages.

`--quiet` hides the status line, never the reason nothing plays: a stream encrypted without the key, packets
failing authentication, or a payload type this listener cannot play is said once each all the same (as a lost
output device is, by the session).
"""

from __future__ import annotations

import sys
from enum import Enum

from listener.receiver import Receiver, State
from listener.room import Room

SILENCE_HINT_S = 3.0  # nothing heard this long: say where we are listening


class Silence(Enum):
    """Why nothing plays, as far as the listener can tell."""

    ENCRYPTED = "encrypted"  # SRTP, and no key to open it
    UNAUTHENTICATED = "unauthenticated"  # SRTP that fails authentication: a wrong key
    UNSUPPORTED = "unsupported"  # packets of a payload type this listener cannot play
    UNPLAYABLE = "unplayable"  # packets that are no RTP it can play
    NOTHING_HEARD = "nothing heard"


ALWAYS_SAID = (Silence.ENCRYPTED, Silence.UNAUTHENTICATED, Silence.UNSUPPORTED)  # even with --quiet, once each


def say(message: str) -> None:
    print(f"listener: {message}", file=sys.stderr, flush=True)


def _silent_too_long(receiver: Receiver, now: float) -> bool:
    return receiver.state(now) is State.WAITING and now - receiver.started_s >= SILENCE_HINT_S


def silence(receiver: Receiver, now: float, where: str) -> tuple[Silence, str] | None:
    """Why nothing plays, and the line that says so; None while the station plays (or may yet)."""
    if receiver.state(now) is State.ENCRYPTED:
        return Silence.ENCRYPTED, (f"stream is encrypted: {receiver.lock.packets_encrypted} packets not played; "
                                   "the station's key (--key-file) plays it")
    if not _silent_too_long(receiver, now):
        return None
    if receiver.packets_unauthenticated:
        return Silence.UNAUTHENTICATED, (f"authentication failed on {receiver.packets_unauthenticated} packets on "
                                         f"{where}: a wrong key (--key-file), or a sender without one; still waiting")
    if receiver.packets_malformed:  # something is sent there, but nothing this listener can play
        kind = Silence.UNSUPPORTED if receiver.last_wire_error == receiver.depacketizer.unsupported \
            else Silence.UNPLAYABLE
        return kind, (f"nothing playable heard for {now - receiver.started_s:.0f} s on {where}: "
                      f"{receiver.packets_malformed} packets refused, the last: {receiver.last_wire_error}")
    return Silence.NOTHING_HEARD, (f"nothing heard for {now - receiver.started_s:.0f} s on {where}: is the station "
                                   "running with the same --group, --port and --interface?")


def status_key(receiver: Receiver, now: float) -> str:
    """What the line is about, without its ever-changing figures: where no terminal can refresh a line in
    place, a new line is printed only when this changes: where the latency comes from is one of those things."""
    return (f"{receiver.state(now).value}|{receiver.station_name}|{receiver.title}|{_silent_too_long(receiver, now)}|"
            f"{receiver.packets_malformed > 0}|{receiver.lock.strangers.count > 0}|"
            f"{receiver.playout.latency_source.value}")


def status_line(receiver: Receiver, now: float, where: str) -> str:
    reason = silence(receiver, now, where)
    if reason is not None:
        return reason[1]
    stats = receiver.stats(now)
    name = receiver.station_name or "?"
    title = f" — {receiver.title}" if receiver.title else ""
    strangers = receiver.lock.strangers.describe()
    return (f"{name}{title} | {receiver.state(now).value} | buffer {receiver.buffered_s() * 1e3:.0f} ms | "
            f"{_lost(receiver, stats)} | {_latency(stats)}{_offset(receiver)}"
            + (f" | {strangers}" if strangers else ""))


def _lost(receiver: Receiver, stats: dict[str, object]) -> str:
    """Packets the network lost, and, with repair packets heard, how many of those FEC could not rebuild."""
    after = f" ({stats['packets_unrecovered']} after FEC)" if receiver.fec.heard_repair else ""
    return f"lost {stats['packets_lost']}{after}"


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
    offset_s = receiver.playout.playout_offset_s
    return "" if offset_s is None else f" | offset {round(offset_s * 1e3, 2) + 0.0:+.2f} ms"  # no -0.00


class StatusPrinter:
    """Refreshes one line in place on a terminal; elsewhere prints a line only when the state changes. With
    `quiet`, prints only why nothing plays (`ALWAYS_SAID`), once for each reason."""

    def __init__(self, quiet: bool, room: Room | None = None) -> None:
        self._quiet = quiet
        self._room = room  # its volume (keys change it) and channel, after the receiver's figures
        self._tty = sys.stderr.isatty()
        self._last_key = ""
        self._said: set[Silence] = set()

    def show(self, receiver: Receiver, now: float, where: str) -> None:
        """The line is made only if it is printed: it reads every figure, percentiles too, which is not free for
        a hundred listeners on one machine refreshing four times a second."""
        if self._quiet:
            self._say_why_silent(receiver, now, where)
            return
        room = f" | {self._room.describe()}" if self._room is not None else ""
        key = status_key(receiver, now) + room
        if self._tty:
            print(f"\r\x1b[K{status_line(receiver, now, where)}{room}", end="", file=sys.stderr, flush=True)
        elif key != self._last_key:
            print(status_line(receiver, now, where) + room, file=sys.stderr, flush=True)
        self._last_key = key

    def _say_why_silent(self, receiver: Receiver, now: float, where: str) -> None:
        reason = silence(receiver, now, where)
        if reason is not None and reason[0] in ALWAYS_SAID and reason[0] not in self._said:
            self._said.add(reason[0])
            say(reason[1])

    def close(self) -> None:
        if self._tty and not self._quiet:
            print(file=sys.stderr)
