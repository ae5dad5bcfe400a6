"""All 16/32-bit wraparound arithmetic lives here: RTP sequence numbers and timestamps wrap, comparisons must not.

`Unwrapper` turns a wrapping counter into an ever-growing integer ("extended" value, RFC 3550 A.1), choosing for
each new value the unwrapped number closest to the last one, so late or reordered packets unwrap correctly too.
"""

SEQ_BITS = 16
TS_BITS = 32


def wrap_diff(a: int, b: int, bits: int) -> int:
    """Signed distance a - b on a circle of 2**bits values, in [-2**(bits-1), 2**(bits-1))."""
    modulus = 1 << bits
    half = modulus >> 1
    return ((a - b + half) % modulus) - half


def seq_diff(a: int, b: int) -> int:
    """Signed distance between two 16-bit RTP sequence numbers."""
    return wrap_diff(a, b, SEQ_BITS)


def ts_diff(a: int, b: int) -> int:
    """Signed distance between two 32-bit RTP timestamps, in samples."""
    return wrap_diff(a, b, TS_BITS)


def wrap(value: int, bits: int) -> int:
    """The on-the-wire form of an extended (unwrapped) counter."""
    return value & ((1 << bits) - 1)


class Unwrapper:
    """Extends a wrapping counter to an unbounded integer, relative to the values already seen."""

    def __init__(self, bits: int) -> None:
        self.bits = bits
        self._last: int | None = None

    def unwrap(self, value: int) -> int:
        """The extended value nearest to the last one returned; the first value is returned as it is."""
        self._last = self.peek(value)
        return self._last

    def peek(self, value: int) -> int:
        """Like `unwrap` without moving the reference, for values that may be discarded."""
        if self._last is None:
            return value
        return self._last + wrap_diff(value, wrap(self._last, self.bits), self.bits)
