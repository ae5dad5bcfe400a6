"""A listener's own playout delay, told to the station in an SDES PRIV item of its reports (RFC 3550 6.5.8).

A listener that plays later or earlier than the station's shared latency (to line up with a loudspeaker farther
away, say) adds this item to the SDES chunk of every receiver report, so that the station's LISTENERS can show
who is out of step on purpose: prefix `x-delay-ms`, value the delay in milliseconds as ASCII decimal, signed when
negative (`50`, `-12.5`). A listener with no delay sends no item. A PRIV item, not an APP packet: it describes the
listener as NAME does, and tools that do not know the prefix skip it.
"""

from __future__ import annotations

import re

from rtpwire.errors import WireError
from rtpwire.rtcp import SdesChunk, priv_item

DELAY_PREFIX = "x-delay-ms"
_DECIMAL = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


def delay_item(delay_ms: float) -> tuple[int, str]:
    """The PRIV item saying `delay_ms`, to the microsecond, without an exponent or trailing zeros."""
    return priv_item(DELAY_PREFIX, f"{delay_ms:.3f}".rstrip("0").rstrip("."))


def reported_delay_ms(chunk: SdesChunk) -> float | None:
    """The delay a listener's SDES chunk reports, None if it reports none; WireError if its value is no decimal."""
    value = chunk.priv(DELAY_PREFIX)
    if value is None:
        return None
    if not _DECIMAL.fullmatch(value):
        raise WireError(f"RTCP SDES PRIV {DELAY_PREFIX} value {value[:20]!r} is not a decimal number")
    return float(value)
