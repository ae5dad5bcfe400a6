"""The adaptive target latency alone: packets' slack in, target changes out, on counted samples (no clock)."""

import pytest

from listener.playout_delay import PlayoutDelay

RATE = 44100
READ = 441  # 10 ms reads
FLOOR = 882  # 20 ms
MAX = 22050  # 500 ms


def ms(samples: int) -> float:
    return samples / RATE * 1e3


def run(delay: PlayoutDelay, seconds: float, late_by: float = 0.0, packets_per_read: int = 2) -> list[int]:
    """Reads for `seconds`, each after `packets_per_read` packets that needed the latency `late_by` (ms); returns
    each read's change of the target."""
    changes = []
    for _ in range(round(seconds * RATE / READ)):
        for _ in range(packets_per_read):
            delay.on_packet(delay.target_samples - round(late_by * RATE / 1e3))
        changes.append(delay.step(READ))
    return changes


def test_target_stays_at_the_floor_while_packets_come_in_time():
    delay = PlayoutDelay(RATE, FLOOR, MAX)
    assert not any(run(delay, 60, late_by=10))  # needs 10 ms + 5 ms of margin: below the 20 ms floor
    assert delay.target_samples == FLOOR and delay.samples_added == delay.samples_removed == 0


def test_no_packet_yet_means_the_floor():
    delay = PlayoutDelay(RATE, FLOOR, MAX)
    assert delay.needed_samples == FLOOR and delay.step(READ) == 0


def test_target_grows_quickly_in_bounded_steps():
    delay = PlayoutDelay(RATE, FLOOR, MAX)
    changes = run(delay, 1.0, late_by=45)
    grown_at = [i for i, change in enumerate(changes) if change]
    assert all(0 < changes[i] <= 441 for i in grown_at)  # 10 ms at most at a time
    assert all(b - a >= 5 for a, b in zip(grown_at, grown_at[1:]))  # a step at most every 50 ms
    assert ms(delay.target_samples) == pytest.approx(50, abs=0.1)  # 45 ms needed, plus the 5 ms margin
    assert grown_at[-1] * READ / RATE < 0.2  # 30 ms of growth within 200 ms
    assert delay.samples_added == delay.target_samples - FLOOR


def test_one_straggler_does_not_move_the_target():
    delay = PlayoutDelay(RATE, FLOOR, MAX)
    run(delay, 2.0, late_by=5)
    delay.on_packet(delay.target_samples - round(0.3 * RATE))  # 300 ms late, once
    assert not any(run(delay, 2.0, late_by=5))


def test_target_never_beyond_the_maximum():
    delay = PlayoutDelay(RATE, FLOOR, MAX)
    run(delay, 5.0, late_by=2000)
    assert delay.target_samples == MAX


def test_target_shrinks_slowly_once_the_need_has_fallen():
    delay = PlayoutDelay(RATE, FLOOR, MAX)
    run(delay, 1.0, late_by=45)
    run(delay, 3.0, late_by=10)  # until the window (512 packets) has forgotten the late ones
    shrinking_from = delay.target_samples
    changes = run(delay, 10.0, late_by=10)
    assert all(-1 <= change <= 0 for change in changes)  # single samples, dropped
    assert shrinking_from - delay.target_samples == pytest.approx(10 * RATE * 500e-6, abs=1)  # 500 ppm
    run(delay, 120.0, late_by=10)
    assert delay.target_samples == FLOOR


def test_a_small_fall_of_the_need_does_not_shrink_the_target():
    """Within the hysteresis (5 ms), a target that just grew stays: no churn on a steady network."""
    delay = PlayoutDelay(RATE, FLOOR, MAX)
    run(delay, 1.0, late_by=45)
    assert not any(run(delay, 10.0, late_by=41))


def test_shrinking_stops_short_of_the_need():
    delay = PlayoutDelay(RATE, FLOOR, MAX)
    run(delay, 1.0, late_by=95)
    run(delay, 200.0, late_by=40)
    assert ms(delay.target_samples) == pytest.approx(40 + 5 + 5, abs=0.05)  # the need, its margin, the hysteresis


def test_memory_fixed_whatever_arrives():
    delay = PlayoutDelay(RATE, FLOOR, MAX, window_packets=64)
    for slack in range(-100_000, 100_000, 7):
        delay.on_packet(slack)
    assert delay._required.shape == (64,)


@pytest.mark.parametrize("floor, maximum", [(0, MAX), (MAX + 1, MAX), (-5, MAX)])
def test_bounds_must_make_sense(floor, maximum):
    with pytest.raises(ValueError):
        PlayoutDelay(RATE, floor, maximum)


# --- a new floor: the station announced another shared latency --------------------------------------------------

def test_a_new_floor_at_once_is_the_target_now():
    delay = PlayoutDelay(RATE, FLOOR, MAX)
    delay.set_floor(6615, at_once=True)  # 150 ms
    assert delay.target_samples == delay.floor_samples == 6615
    assert delay.samples_added == delay.samples_removed == 0  # moved before anything played: nothing to make up
    assert not any(run(delay, 2.0, late_by=10))


def test_a_new_floor_at_once_keeps_what_the_network_needs():
    delay = PlayoutDelay(RATE, FLOOR, MAX)
    run(delay, 1.0, late_by=45)
    delay.set_floor(441, at_once=True)
    assert ms(delay.target_samples) == pytest.approx(50, abs=0.1)  # the need, not the lower floor


def test_a_higher_floor_is_grown_to_as_for_jitter():
    delay = PlayoutDelay(RATE, FLOOR, MAX)
    run(delay, 1.0, late_by=5)
    delay.set_floor(3528, at_once=False)  # 20 -> 80 ms
    changes = run(delay, 1.0, late_by=5)
    assert all(0 <= change <= 441 for change in changes)  # steps of 10 ms at most, made up
    assert delay.target_samples == 3528 and delay.samples_added == 3528 - FLOOR


def test_a_lower_floor_is_shrunk_to_slowly():
    delay = PlayoutDelay(RATE, 3528, MAX)
    delay.set_floor(FLOOR, at_once=False)
    changes = run(delay, 10.0, late_by=5)
    assert all(-1 <= change <= 0 for change in changes)
    assert 3528 - delay.target_samples == pytest.approx(10 * RATE * 500e-6, abs=1)


def test_the_maximum_follows_a_floor_above_it_and_comes_back():
    delay = PlayoutDelay(RATE, FLOOR, 4410)
    delay.set_floor(8820, at_once=True)  # 200 ms, above the 100 ms maximum: being in step comes first
    assert delay.max_samples == delay.target_samples == 8820
    delay.set_floor(FLOOR, at_once=True)
    assert delay.max_samples == 4410


@pytest.mark.parametrize("floor", [0, -1])
def test_a_new_floor_must_be_positive(floor):
    with pytest.raises(ValueError):
        PlayoutDelay(RATE, FLOOR, MAX).set_floor(floor, at_once=True)
