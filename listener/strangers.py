"""Who else sends to the group (sans-IO): other stations, and packets forged with the station's SSRC. They are
ignored, not mixed in; this remembers enough to report them, and no more, however many there are."""

from __future__ import annotations

from rtpwire.net import Address

REMEMBERED = 16  # distinct senders kept; beyond, only counted


class Strangers:
    def __init__(self) -> None:
        self._seen: dict[tuple[int, Address | None], None] = {}  # in order of first packet
        self.overflow = False  # more than REMEMBERED were heard

    def note(self, ssrc: int, source: Address | None) -> None:
        key = (ssrc, source)
        if key in self._seen:
            return
        if len(self._seen) < REMEMBERED:
            self._seen[key] = None
        else:
            self.overflow = True

    @property
    def count(self) -> int:
        """Distinct senders heard (SSRC and address), at most REMEMBERED."""
        return len(self._seen)

    def describe(self) -> str:
        """The first one heard and how many there are, for the status line; "" if none."""
        if not self._seen:
            return ""
        ssrc, source = next(iter(self._seen))
        where = f" from {source[0]}:{source[1]}" if source is not None else ""
        more = f" and {self.count - 1}{'+' if self.overflow else ''} more" if self.count > 1 else ""
        return f"ignoring SSRC {ssrc:08x}{where}{more}"
