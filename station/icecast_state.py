"""A feed's connection to its Icecast mount (sans-IO): what state it is in, when to try again, and what the operator
is told, on fake time in the tests.

A server that is down or went away is tried again with an exponential backoff, short at first (a restarted server
is back within seconds) and capped, so that a long outage costs one attempt every half-minute. A refusal that
trying again will not cure is not retried in a storm: wrong credentials (401) are not retried at all, and a mount
held by another source (403) is retried only every minute, in case it leaves. The operator hears of a fault once,
when it starts, and once when the feed is back, never per attempt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

State = Literal["connecting", "connected", "retrying", "mount in use", "unauthorized"]
Kind = Literal["unauthorized", "mount in use", "refused", "lost"]
FIRST_RETRY_S = 0.5
MAX_RETRY_S = 30.0
MOUNT_IN_USE_RETRY_S = 60.0


@dataclass(frozen=True)
class Fault:
    kind: Kind
    text: str  # for the operator, one line, without the password


def classify(stderr: str) -> Fault:
    """What ffmpeg's Icecast client said as it ended (its stderr, already redacted) to a fault: Icecast answers 401 to
    wrong credentials, 403 to a mount that already has a source, and nothing at all when it is not there."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    last = re.sub(r"\S+://\S+: ", "", lines[-1]) if lines else "the encoder exited"
    if re.search(r"\b401\b", stderr):
        return Fault("unauthorized", "wrong user or password (401 Unauthorized): not retrying; fix --icecast")
    if re.search(r"\b403\b", stderr):
        return Fault("mount in use", f"mount in use, or refused (403 Forbidden): retrying every "
                                     f"{MOUNT_IN_USE_RETRY_S:.0f} s")
    if "Connection refused" in stderr:
        return Fault("refused", "connection refused: retrying")
    return Fault("lost", f"{last}: retrying")


class Backoff:
    """The wait before each attempt after a failure: FIRST_RETRY_S, doubling, at most MAX_RETRY_S; back to the
    start once a connection held."""

    def __init__(self, first_s: float = FIRST_RETRY_S, cap_s: float = MAX_RETRY_S) -> None:
        self._first_s = first_s
        self._cap_s = cap_s
        self._next_s = first_s

    def next_wait_s(self) -> float:
        wait_s = self._next_s
        self._next_s = min(self._cap_s, self._next_s * 2)
        return wait_s

    def reset(self) -> None:
        self._next_s = self._first_s


class Connection:
    """The state of one feed's connection, driven by what the edge sees (`connected`, `failed`), each
    with `now`; `due(now)` says when to attempt again. Each transition returns the line for the operator, if any."""

    def __init__(self, where: str) -> None:
        self._where = where  # HOST:PORT/MOUNT
        self.state: State = "connecting"
        self.connects = 0  # connections made (the first, and each reconnection)
        self.last_error = ""
        self._backoff = Backoff()
        self._retry_at_s: float | None = 0.0  # None: never again
        self._down_since_s: float | None = None  # when the current outage began: the reconnect time
        self._told = False  # the operator has heard of the current outage

    def due(self, now: float) -> bool:
        """Whether to attempt a connection now (the edge starts one only when none is open)."""
        return self._retry_at_s is not None and now >= self._retry_at_s

    def connected(self, now: float) -> str:
        """The connection held: its line for the operator (with how long the outage lasted, if there was one)."""
        self.connects += 1
        self.state = "connected"
        self._backoff.reset()
        down_since_s, self._down_since_s, self._told = self._down_since_s, None, False
        outage = "" if down_since_s is None else f" after {now - down_since_s:.1f} s"
        return f"icecast {self._where}: connected{outage}" if self.connects == 1 \
            else f"icecast {self._where}: connected again{outage}"

    def failed(self, now: float, fault: Fault) -> str | None:
        """The connection failed or was lost; the line for the operator the first time in an outage, else None."""
        self.last_error = fault.text
        if self._down_since_s is None:
            self._down_since_s = now
        if fault.kind == "unauthorized":
            self.state, self._retry_at_s = "unauthorized", None
        elif fault.kind == "mount in use":
            self.state, self._retry_at_s = "mount in use", now + MOUNT_IN_USE_RETRY_S
        else:
            self.state, self._retry_at_s = "retrying", now + self._backoff.next_wait_s()
        if self._told:
            return None
        self._told = True
        return f"icecast {self._where}: {fault.text}"
