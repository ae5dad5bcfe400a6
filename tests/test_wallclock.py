"""Reading the wall clock's offset: the tightest of several bracketed readings wins."""

import time

import pytest

from sound.wallclock import wall_minus_monotonic_s


def test_a_preempted_reading_is_not_the_one_kept():
    """Three readings; the first is split by a 5 ms preemption after the wall clock was read, the last by 1 ms
    before it: the middle one, 2 µs wide, gives the offset (1000 s), to its midpoint."""
    monotonic = iter([10.0, 10.005, 20.0, 20.000002, 30.0, 30.001]).__next__
    wall = iter([1010.0, 1020.000001, 1030.001]).__next__
    assert wall_minus_monotonic_s(3, wall, monotonic) == pytest.approx(1000.0, abs=1e-9)


def test_agrees_with_the_system_clocks():
    assert wall_minus_monotonic_s() == pytest.approx(time.time() - time.monotonic(), abs=0.05)
