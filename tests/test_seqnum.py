"""Wraparound arithmetic of RTP sequence numbers (16 bits) and timestamps (32 bits)."""

import pytest

from rtpwire.seqnum import SEQ_BITS, TS_BITS, Unwrapper, seq_diff, ts_diff, wrap, wrap_diff


def test_seq_wraparound():
    assert seq_diff(0, 65535) == 1
    assert seq_diff(65535, 0) == -1
    assert seq_diff(5, 65530) == 11
    assert seq_diff(65530, 5) == -11


def test_seq_diff_without_wrap():
    assert seq_diff(100, 90) == 10
    assert seq_diff(90, 100) == -10
    assert seq_diff(1234, 1234) == 0


def test_wrap_diff_range_is_half_open():
    # Exactly half the circle away is reported as negative: the range is [-2**(bits-1), 2**(bits-1)).
    assert seq_diff(32768, 0) == -32768
    assert seq_diff(0, 32768) == -32768
    assert seq_diff(32767, 0) == 32767
    assert wrap_diff(8, 0, 4) == -8
    assert wrap_diff(7, 0, 4) == 7
    assert wrap_diff(0, 15, 4) == 1


@pytest.mark.parametrize("a, b", [(0, 0), (1, 65535), (65535, 1), (40000, 100), (100, 40000), (32768, 32767)])
def test_seq_diff_is_consistent_with_modular_addition(a, b):
    d = seq_diff(a, b)
    assert -32768 <= d < 32768
    assert (b + d) % 65536 == a


def test_timestamp_32bit_wrap():
    assert ts_diff(0, 0xFFFF_FFFF) == 1
    assert ts_diff(0xFFFF_FFFF, 0) == -1
    assert ts_diff(219, 0xFFFF_FFFF) == 220
    assert ts_diff(0xFFFF_FF00, 0x0000_0100) == -0x200
    # A 16-bit reading of the same numbers would be wrong: the widths really differ.
    assert ts_diff(0x1_0000, 0) == 0x1_0000
    assert seq_diff(0x1_0000, 0) == 0


def test_wrap():
    assert wrap(65536, SEQ_BITS) == 0
    assert wrap(65537, SEQ_BITS) == 1
    assert wrap(-1, SEQ_BITS) == 65535
    assert wrap((1 << 32) + 220, TS_BITS) == 220
    assert wrap(12345, SEQ_BITS) == 12345


def test_unwrapper_first_value_as_is():
    u = Unwrapper(SEQ_BITS)
    assert u.unwrap(65530) == 65530


def test_unwrapper_forward_wrap():
    u = Unwrapper(SEQ_BITS)
    values = [65533, 65534, 65535, 0, 1, 2]
    assert [u.unwrap(v) for v in values] == [65533, 65534, 65535, 65536, 65537, 65538]


def test_unwrapper_many_wraps_grow_without_bound():
    u = Unwrapper(SEQ_BITS)
    extended = [u.unwrap(i % 65536) for i in range(0, 3 * 65536 + 10, 1000)]
    assert extended == list(range(0, 3 * 65536 + 10, 1000))


def test_unwrapper_backward_across_wrap():
    """A packet reordered across the wrap (65535 arriving after 0) unwraps to just below the newer one."""
    u = Unwrapper(SEQ_BITS)
    assert u.unwrap(65534) == 65534
    assert u.unwrap(0) == 65536
    assert u.unwrap(65535) == 65535
    assert u.unwrap(1) == 65537


def test_unwrapper_backward_below_zero():
    """Starting just after a wrap, a late packet from before it unwraps to a negative extended value."""
    u = Unwrapper(SEQ_BITS)
    assert u.unwrap(2) == 2
    assert u.unwrap(65535) == -1
    assert u.unwrap(3) == 3


def test_unwrapper_peek_does_not_move_reference():
    u = Unwrapper(SEQ_BITS)
    assert u.peek(7) == 7  # nothing seen yet: as it is
    assert u.unwrap(65535) == 65535
    assert u.peek(40000) == 40000
    assert u.peek(0) == 65536
    assert u.peek(30000) == 65536 + 30000
    # Relative to 65535, wire value 32767 is 32768 back (32767); had a peek moved the reference to 65536
    # or 95536, it would unwrap forward to 98303 instead.
    assert u.unwrap(32767) == 32767


def test_unwrapper_peek_before_first_unwrap_does_not_set_reference():
    u = Unwrapper(SEQ_BITS)
    u.peek(65535)
    assert u.unwrap(10) == 10  # first real value is taken as it is, not unwrapped next to the peeked one


def test_unwrapper_32bit_timestamps():
    u = Unwrapper(TS_BITS)
    assert u.unwrap(0xFFFF_FF00) == 0xFFFF_FF00
    assert u.unwrap(0x0000_00DC) == (1 << 32) + 0xDC
    assert u.unwrap(0xFFFF_FFF0) == 0xFFFF_FFF0  # late one from before the wrap
    assert u.unwrap(0x0001_0000) == (1 << 32) + 0x1_0000
    assert wrap(u.peek(0x10), TS_BITS) == 0x10
