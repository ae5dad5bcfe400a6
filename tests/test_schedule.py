"""Schedule: absolute deadlines, the stream clock and the slot at a given time."""

from __future__ import annotations

import pytest

from station.schedule import Schedule

RATE = 44100
SPP = 220  # 5 ms at 44.1 kHz: the station's default
SLOT_S = SPP / RATE


def test_slot_zero_is_due_at_start():
    schedule = Schedule(start_s=1234.5, rate=RATE, samples_per_packet=SPP)
    assert schedule.deadline_s(0) == 1234.5


def test_deadlines_are_absolute():
    start = 12345.678
    schedule = Schedule(start_s=start, rate=RATE, samples_per_packet=SPP)
    k = 10**7
    # computed from k, not by adding SLOT_S k times
    assert schedule.deadline_s(k) == start + k * SPP / RATE
    assert schedule.deadline_s(k) == start + k * SPP / RATE  # and the same on every call


def test_deadline_does_not_depend_on_earlier_calls():
    fresh = Schedule(50.25, RATE, SPP)
    used = Schedule(50.25, RATE, SPP)
    for k in range(1000):
        used.deadline_s(k)
    assert used.deadline_s(10**6) == fresh.deadline_s(10**6) == 50.25 + 10**6 * SPP / RATE


def test_deadlines_exact_on_a_dyadic_schedule():
    # 256 samples at 32768 Hz: 1/128 s, exact in binary floating point, so no rounding at all
    schedule = Schedule(start_s=64.0, rate=32768, samples_per_packet=256)
    assert schedule.deadline_s(128) == 65.0
    assert schedule.deadline_s(128 * 3600) == 64.0 + 3600.0


def test_deadlines_increase_by_one_slot():
    schedule = Schedule(100.0, RATE, SPP)
    for k in (1, 10, 1000, 10**6):
        assert schedule.deadline_s(k) - schedule.deadline_s(k - 1) == pytest.approx(SPP / RATE, abs=1e-9)


def test_stream_ts_of_a_slot():
    schedule = Schedule(100.0, RATE, SPP)
    assert schedule.stream_ts(0) == 0
    assert schedule.stream_ts(1) == SPP
    assert schedule.stream_ts(10**7) == 10**7 * SPP


def test_stream_ts_at():
    schedule = Schedule(start_s=100.0, rate=RATE, samples_per_packet=SPP)
    assert schedule.stream_ts_at(100.0) == 0
    assert schedule.stream_ts_at(101.0) == RATE
    assert schedule.stream_ts_at(100.5) == RATE // 2
    assert schedule.stream_ts_at(100.0 + 3600.0) == 3600 * RATE


def test_stream_ts_at_counts_whole_samples():
    schedule = Schedule(start_s=0.0, rate=32768, samples_per_packet=256)
    sample = 1 / 32768
    assert schedule.stream_ts_at(10 * sample) == 10
    assert schedule.stream_ts_at(10.5 * sample) == 10
    assert schedule.stream_ts_at(10.999 * sample) == 10


def test_stream_ts_at_runs_on_before_start():
    # the first SR is sent before slot 0 is due: the clock is extrapolated backwards, linearly
    schedule = Schedule(start_s=100.0, rate=RATE, samples_per_packet=SPP)
    assert schedule.stream_ts_at(99.0) == -RATE


# the monotonic clock counts from boot: a machine up for 11.6 days reads 10**6 s, one up for 100 days 8.64e6 s
SMALL_STARTS = [0.0, 100.0, 98765.4321]
LARGE_STARTS = [1_000_000.123, 8_640_000.5]


@pytest.mark.parametrize("start", SMALL_STARTS)
@pytest.mark.parametrize("rate, spp", [(RATE, SPP), (RATE, 221), (48000, 240)])
def test_stream_ts_at_exact_deadline(start, rate, spp):
    # the SR's timestamp at a packet's deadline must be that packet's timestamp: never one sample early
    schedule = Schedule(start_s=start, rate=rate, samples_per_packet=spp)
    wrong = [k for k in range(2000) if schedule.stream_ts_at(schedule.deadline_s(k)) != k * spp]
    assert wrong == []  # once k=9 at start 0.0 gave 1979, not 1980


@pytest.mark.parametrize("start", LARGE_STARTS)
def test_stream_ts_at_exact_deadline_after_days_of_uptime(start):
    schedule = Schedule(start_s=start, rate=RATE, samples_per_packet=SPP)
    wrong = [k for k in range(2000) if schedule.stream_ts_at(schedule.deadline_s(k)) != k * SPP]
    assert wrong == []  # e.g. start 1000000.123, k=1: 219, not 220


def test_slot_at_start_and_just_after():
    schedule = Schedule(start_s=100.0, rate=RATE, samples_per_packet=SPP)
    assert schedule.slot_at(100.0) == 0
    assert schedule.slot_at(100.0 + 0.25 * SPP / RATE) == 0


def test_slot_at_exact_deadlines_of_a_dyadic_schedule():
    schedule = Schedule(start_s=64.0, rate=32768, samples_per_packet=256)
    for k in (0, 1, 2, 127, 128, 10**6):
        assert schedule.slot_at(schedule.deadline_s(k)) == k


@pytest.mark.parametrize("start", SMALL_STARTS + LARGE_STARTS)
@pytest.mark.parametrize("rate, spp", [(RATE, SPP), (RATE, 221), (48000, 240)])
def test_slot_at_exact_deadline(start, rate, spp):
    # "the latest deadline not after now": at a deadline, that deadline's slot, not the one before
    schedule = Schedule(start_s=start, rate=rate, samples_per_packet=spp)
    wrong = [k for k in range(2000) if schedule.slot_at(schedule.deadline_s(k)) != k]
    assert wrong == []  # once k=9 at start 0.0 (44100 Hz, 220 samples) gave slot 8


@pytest.mark.parametrize("start", SMALL_STARTS + LARGE_STARTS)
def test_slot_at_between_deadlines(start):
    schedule = Schedule(start_s=start, rate=RATE, samples_per_packet=SPP)
    for k in (0, 1, 9, 1000, 10**6):
        middle = schedule.deadline_s(k) + SLOT_S / 2
        assert schedule.slot_at(middle) == k
        quarter_before_next = schedule.deadline_s(k + 1) - SLOT_S / 4
        assert schedule.slot_at(quarter_before_next) == k


def test_slot_at_just_before_a_deadline_is_the_previous_slot():
    schedule = Schedule(start_s=100.0, rate=RATE, samples_per_packet=SPP)
    assert schedule.slot_at(schedule.deadline_s(10) - 1e-6) == 9


def test_slot_at_is_never_negative():
    schedule = Schedule(start_s=100.0, rate=RATE, samples_per_packet=SPP)
    assert schedule.slot_at(100.0 - 1e-9) == 0
    assert schedule.slot_at(99.0) == 0
    assert schedule.slot_at(0.0) == 0
    assert schedule.slot_at(-1e9) == 0


def test_slot_at_far_in_the_future():
    schedule = Schedule(start_s=100.0, rate=RATE, samples_per_packet=SPP)
    # a day later: 86400 * 44100 / 220 slots, computed, not counted
    day = 86400 * RATE // SPP
    assert schedule.slot_at(100.0 + 86400.0 + SLOT_S / 2) == (86400 * RATE + SPP // 2) // SPP
    assert schedule.slot_at(schedule.deadline_s(day) + SLOT_S / 2) == day
