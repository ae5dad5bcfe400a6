"""The listener's estimate of the station's clock, on fake time: a station whose clock is off by a known amount,
answering over ways there and back whose delays are set, jittered, lopsided and wild."""

import random
import statistics

import pytest

from listener.clock_sync import ClockSync
from rtpwire.timesync import TimeRequest, TimeResponse

WALL_OFFSET_S = 1_800_000_000.0  # our wall clock = our monotonic clock + this
TRUE_OFFSET_S = 0.0123  # the station's wall clock minus ours
HOLD_S = 50e-6  # from the station's receiving a request to its answer


def answer(request: bytes, arrived_s: float, offset_s: float = TRUE_OFFSET_S) -> bytes:
    """The station's answer to a request that reached it at our monotonic time `arrived_s`."""
    station_s = arrived_s + WALL_OFFSET_S + offset_s
    return bytes(TimeRequest.parse(request).answer(station_s, station_s + HOLD_S))


def exchange(sync: ClockSync, now: float, there_s: float, back_s: float, offset_s: float = TRUE_OFFSET_S) -> None:
    request = sync.request(now)
    sync.on_response(answer(request, now + there_s, offset_s), now + there_s + HOLD_S + back_s)


def test_nothing_known_before_an_answer():
    sync = ClockSync(WALL_OFFSET_S)
    assert sync.offset_s is None and sync.round_trip_s is None
    assert sync.stats()["clock_offset_ms"] is None and sync.stats()["clock_rtt_ms"] is None


def test_equal_ways_give_the_offset_exactly():
    sync = ClockSync(WALL_OFFSET_S)
    exchange(sync, 10.0, 0.0002, 0.0002)
    assert sync.offset_s == pytest.approx(TRUE_OFFSET_S, abs=1e-6)
    assert sync.round_trip_s == pytest.approx(0.0004, abs=1e-6)  # the station's holding time is not in it
    assert sync.stats()["clock_answers"] == 1


def test_lopsided_ways_err_by_half_the_difference():
    """The limit of any such exchange: 0.3 ms there and 0.1 ms back read as a clock 0.1 ms further ahead."""
    sync = ClockSync(WALL_OFFSET_S)
    for i in range(20):
        exchange(sync, i, 0.0003, 0.0001)
    assert sync.offset_s == pytest.approx(TRUE_OFFSET_S + 0.0001, abs=1e-6)


def test_jitter_and_one_sided_queues_do_not_move_the_estimate():
    """Each way takes 100 µs plus up to 200 µs of jitter, and one answer in three waits in a queue on the way
    back for up to 10 ms: the mean of the offsets is milliseconds off, the median of the fastest answers tens of
    microseconds."""
    rng = random.Random(4)
    sync = ClockSync(WALL_OFFSET_S)
    offsets = []
    for i in range(32):
        there, back = 0.0001 + rng.uniform(0, 0.0002), 0.0001 + rng.uniform(0, 0.0002)
        if i % 3 == 0:
            back += rng.uniform(0.001, 0.010)
        offsets.append((there - back) / 2)
        exchange(sync, i, there, back)
    assert abs(statistics.mean(offsets)) > 0.0005  # what averaging would make of it
    assert sync.offset_s == pytest.approx(TRUE_OFFSET_S, abs=50e-6)
    assert sync.round_trip_s < 0.0005


def test_wild_outliers_either_way_are_ignored():
    """A few answers whose one way took 50 ms, there or back."""
    sync = ClockSync(WALL_OFFSET_S)
    for i in range(32):
        there = 0.05 if i % 8 == 1 else 0.0002
        back = 0.05 if i % 8 == 5 else 0.0002
        exchange(sync, i, there, back)
    assert sync.offset_s == pytest.approx(TRUE_OFFSET_S, abs=1e-6)


def test_the_estimate_follows_a_station_clock_that_moved():
    """Only the last `window` answers count: a station clock stepped by 5 ms is followed once the answers from
    before have left the window."""
    sync = ClockSync(WALL_OFFSET_S, window=16, fastest=4)
    for i in range(16):
        exchange(sync, i, 0.0002, 0.0002)
    for i in range(16, 32):
        exchange(sync, i, 0.0002, 0.0002, offset_s=TRUE_OFFSET_S + 0.005)
    assert sync.offset_s == pytest.approx(TRUE_OFFSET_S + 0.005, abs=1e-6)


def test_requests_come_in_a_burst_then_every_second():
    sync = ClockSync(WALL_OFFSET_S, burst=3, burst_interval_s=0.1, interval_s=1.0)
    sent = []
    now = 0.0
    while now < 3.0:
        if sync.due(now):
            sync.request(now)
            sent.append(round(now, 3))
        now = round(now + 0.01, 3)
    assert sent == [0.0, 0.1, 0.2, 1.2, 2.2]


def test_an_answer_to_an_earlier_request_is_ignored():
    """It came after the next request was sent: its times would do, but it cannot be told from a replay."""
    sync = ClockSync(WALL_OFFSET_S)
    first = sync.request(0.0)
    sync.request(1.0)
    sync.on_response(answer(first, 0.0002), 1.0004)
    assert sync.offset_s is None and sync.packets_ignored == 1


def test_a_duplicated_answer_counts_once():
    sync = ClockSync(WALL_OFFSET_S)
    response = answer(sync.request(0.0), 0.0002)
    sync.on_response(response, 0.00045)
    sync.on_response(response, 0.0009)
    assert sync.answers == 1 and sync.packets_ignored == 1
    assert sync.round_trip_s == pytest.approx(0.0004, abs=1e-6)


def test_an_answer_to_a_request_never_sent_is_ignored():
    sync = ClockSync(WALL_OFFSET_S)
    sync.request(0.0)
    sync.on_response(bytes(TimeResponse(12345, 1, 2)), 0.001)
    assert sync.offset_s is None and sync.packets_ignored == 1


def test_malformed_answers_are_counted_and_said():
    sync = ClockSync(WALL_OFFSET_S)
    request = sync.request(0.0)
    sync.on_response(b"nonsense", 0.001)
    sync.on_response(request, 0.001)  # our own request, reflected
    assert sync.packets_ignored == 2 and "expected a response" in sync.last_wire_error
    assert sync.stats()["clock_packets_ignored"] == 2


def test_a_station_clock_running_backwards_is_ignored():
    """Transmitted before it was received: no real responder answers so."""
    sync = ClockSync(WALL_OFFSET_S)
    request = TimeRequest.parse(sync.request(0.0))
    station_s = WALL_OFFSET_S + TRUE_OFFSET_S
    sync.on_response(bytes(request.answer(station_s + 0.001, station_s)), 0.0005)
    assert sync.offset_s is None and sync.packets_ignored == 1


def test_a_round_trip_shorter_than_the_station_held_it_is_ignored():
    sync = ClockSync(WALL_OFFSET_S)
    request = TimeRequest.parse(sync.request(0.0))
    station_s = WALL_OFFSET_S + TRUE_OFFSET_S
    sync.on_response(bytes(request.answer(station_s, station_s + 0.01)), 0.001)  # held 10 ms, back after 1 ms
    assert sync.offset_s is None and sync.packets_ignored == 1


@pytest.mark.parametrize("window, fastest", [(8, 0), (8, 9), (0, 0)])
def test_filter_sizes_must_make_sense(window, fastest):
    with pytest.raises(ValueError):
        ClockSync(WALL_OFFSET_S, window=window, fastest=fastest)


def test_stats_keys():
    sync = ClockSync(WALL_OFFSET_S)
    exchange(sync, 0.0, 0.0002, 0.0003)
    assert sync.stats() == {"clock_offset_ms": pytest.approx(TRUE_OFFSET_S * 1e3 - 0.05, abs=0.001),
                            "clock_rtt_ms": pytest.approx(0.5, abs=0.001), "clock_requests": 1,
                            "clock_answers": 1, "clock_packets_ignored": 0}
