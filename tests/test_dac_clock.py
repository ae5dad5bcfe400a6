"""When a stream's frames play, from timing snapshots on fake time: a sink whose clock drifts, snapshots that come
late, slow round trips, a step in the stream's timing."""

import random

import pytest

from sound.dac_clock import DacClock, Snapshot

RATE = 44100
EVERY_S = 0.05  # a snapshot this often, as the PulseAudio stream asks
ROUND_TRIP_S = 300e-6
START_S = 1000.0  # monotonic time of the first snapshot
FRAME0_S = START_S + 0.03  # when frame 0 plays by the first snapshot


class Sink:
    """A sink whose clock runs `drift_ppm` against the machine's: frame 0's time moves that fast."""

    def __init__(self, drift_ppm: float = 0.0, frame0_s: float = FRAME0_S) -> None:
        self.slope = drift_ppm * 1e-6
        self.frame0_s = frame0_s

    def frame0_at(self, t_s: float) -> float:
        return self.frame0_s + self.slope * (t_s - START_S)

    def plays_at(self, frame: int) -> float:
        """T = frame0(T) + frame / RATE, solved."""
        return START_S + (self.frame0_s - START_S + frame / RATE) / (1.0 - self.slope)

    def snapshot(self, t_s: float, late_s: float = 0.0, round_trip_s: float = ROUND_TRIP_S) -> Snapshot:
        return Snapshot(t_s, self.frame0_at(t_s) + late_s, round_trip_s)


def feed(clock: DacClock, sink: Sink, seconds: float, start_s: float = START_S,
         late: tuple[float, float] = (0.0, 0.0), seed: int = 1) -> float:
    """Snapshots every EVERY_S for `seconds`; a fraction late[0] of them late by up to late[1]; the time after."""
    rng = random.Random(seed)
    t_s = start_s
    while t_s < start_s + seconds:
        late_s = rng.uniform(0, late[1]) if rng.random() < late[0] else 0.0
        clock.add(sink.snapshot(t_s, late_s, ROUND_TRIP_S * rng.uniform(0.8, 1.2)))
        t_s += EVERY_S
    return t_s


def error_us(clock: DacClock, sink: Sink, t_s: float) -> float:
    """How far off the clock places the frame that plays 80 ms after `t_s` (a sound server's lead, and more)."""
    frame = round((t_s + 0.08 - sink.frame0_at(t_s)) * RATE)
    estimate = clock.frame_time_s(frame)
    assert estimate is not None
    return (estimate - sink.plays_at(frame)) * 1e6


def test_no_estimate_before_enough_snapshots():
    clock, sink = DacClock(RATE), Sink()
    assert clock.frame_time_s(0) is None
    clock.add(sink.snapshot(START_S))
    assert clock.frame_time_s(0) is None
    clock.add(sink.snapshot(START_S + EVERY_S))
    assert clock.frame_time_s(RATE) == pytest.approx(FRAME0_S + 1.0, abs=1e-9)


def test_before_a_line_can_be_fitted_the_earliest_frame0_stands():
    clock, sink = DacClock(RATE), Sink()
    for i, late_s in enumerate([400e-6, 0.0, 900e-6]):
        clock.add(sink.snapshot(START_S + i * EVERY_S, late_s))
    assert clock.line is not None and clock.line.slope == 0.0
    assert clock.frame_time_s(0) == pytest.approx(FRAME0_S, abs=1e-9)


@pytest.mark.parametrize("drift_ppm", [-215.0, -100.0, 0.0, 150.0])
def test_the_sinks_drift_is_learnt(drift_ppm):
    clock, sink = DacClock(RATE), Sink(drift_ppm)
    end_s = feed(clock, sink, 3.0)
    assert clock.line is not None
    assert clock.line.slope * 1e6 == pytest.approx(drift_ppm, abs=0.1)
    assert abs(error_us(clock, sink, end_s)) < 0.1


def test_a_frame_is_placed_where_it_plays_not_where_the_line_is_now():
    """Far ahead, the line's value now and where the frame plays differ by the drift over the distance."""
    clock, sink = DacClock(RATE), Sink(-200.0)
    end_s = feed(clock, sink, 3.0)
    frame = round((end_s + 10.0 - sink.frame0_at(end_s)) * RATE)
    assert clock.frame_time_s(frame) == pytest.approx(sink.plays_at(frame), abs=1e-7)


def test_late_snapshots_are_ignored():
    """A third of the snapshots late by up to 1.5 ms, as on a busy server: the lower edge holds."""
    clock, sink = DacClock(RATE), Sink(-180.0)
    end_s = feed(clock, sink, 6.0, late=(0.33, 1.5e-3))
    assert abs(error_us(clock, sink, end_s)) < 5
    assert clock.restarts == 0


def test_slow_round_trips_are_left_out():
    """A snapshot that took long to come back is not trusted, even one that would pull the line earlier."""
    clock, sink = DacClock(RATE), Sink(-150.0)
    t_s = feed(clock, sink, 2.0)
    for _ in range(10):
        clock.add(sink.snapshot(t_s, late_s=-1.5e-3, round_trip_s=5e-3))
        t_s += EVERY_S
        clock.add(sink.snapshot(t_s))
        t_s += EVERY_S
    assert abs(error_us(clock, sink, t_s)) < 1
    assert clock.restarts == 0


def test_a_single_snapshot_far_off_is_an_outlier():
    clock, sink = DacClock(RATE), Sink(-150.0)
    t_s = feed(clock, sink, 2.0)
    clock.add(sink.snapshot(t_s, late_s=5e-3))
    t_s = feed(clock, sink, 0.5, start_s=t_s + EVERY_S)
    assert (clock.outliers, clock.restarts) == (1, 0)
    assert abs(error_us(clock, sink, t_s)) < 1


def test_a_step_restarts_the_window_once_confirmed():
    """The stream's timing moved 7 ms: the first snapshot after it is held back, the second confirms it."""
    clock, before = DacClock(RATE), Sink(-150.0)
    t_s = feed(clock, before, 2.0)
    after = Sink(-150.0, FRAME0_S + 7e-3)
    clock.add(after.snapshot(t_s))
    assert abs(error_us(clock, before, t_s)) < 1
    clock.add(after.snapshot(t_s + EVERY_S))
    assert clock.restarts == 1
    assert abs(error_us(clock, after, t_s + EVERY_S)) < 20  # no drift known yet: 130 ms of it, at most
    t_s = feed(clock, after, 3.0, start_s=t_s + 2 * EVERY_S)
    assert abs(error_us(clock, after, t_s)) < 0.1


def test_the_window_follows_a_change_of_drift():
    """Only the last WINDOW_S count: a sink whose rate changed is followed."""
    clock = DacClock(RATE)
    steady = Sink(0.0)
    t_s = feed(clock, steady, 3.0)
    drifting = Sink(-200.0, steady.frame0_at(t_s) + 200e-6 * (t_s - START_S))  # continuous at t_s
    t_s = feed(clock, drifting, 4.0, start_s=t_s)
    assert clock.line is not None and clock.line.slope * 1e6 == pytest.approx(-200.0, abs=0.1)
    assert abs(error_us(clock, drifting, t_s)) < 0.1
