"""Bounded-memory percentiles of timing figures."""

import pytest

from stats.histogram import Histogram

US = 1e-6


def filled(values, **kwargs) -> Histogram:
    histogram = Histogram(**kwargs)
    for value in values:
        histogram.add(value)
    return histogram


def test_empty():
    histogram = Histogram()
    assert histogram.count == 0
    assert histogram.percentile(0.5) == 0.0
    assert histogram.percentile(0.99) == 0.0
    assert histogram.percentile(1.0) == 0.0
    assert histogram.mean_s == 0.0
    assert histogram.max_s == 0.0


def test_percentiles_of_0_to_99_us():
    histogram = filled([i * US for i in range(100)])  # default bins of 10 us
    assert histogram.count == 100
    assert histogram.percentile(0.5) == pytest.approx(50 * US, abs=10 * US)
    assert histogram.percentile(0.9) == pytest.approx(90 * US, abs=10 * US)
    assert histogram.percentile(0.99) == pytest.approx(100 * US, abs=10 * US)
    assert histogram.percentile(1.0) == pytest.approx(100 * US, abs=1e-12)  # upper edge of the last bin used
    assert histogram.max_s == pytest.approx(99 * US)


def test_percentile_is_upper_edge_of_bin():
    histogram = filled([0.0025], resolution_s=0.001, limit_s=1.0)
    assert histogram.percentile(0.5) == pytest.approx(0.003)
    assert histogram.percentile(0.0) == pytest.approx(0.003)


def test_percentile_separates_two_clusters():
    histogram = filled([0.0015] * 90 + [0.2505] * 10, resolution_s=0.001, limit_s=1.0)
    assert histogram.percentile(0.5) == pytest.approx(0.002)
    assert histogram.percentile(0.9) == pytest.approx(0.002)
    assert histogram.percentile(0.91) == pytest.approx(0.251)
    assert histogram.percentile(0.99) == pytest.approx(0.251)


def test_percentiles_are_monotonic():
    histogram = filled([(i * 7919) % 1000 * 13 * US for i in range(1000)])
    fractions = [i / 100 for i in range(101)]
    values = [histogram.percentile(f) for f in fractions]
    assert values == sorted(values)
    assert values[-1] >= histogram.percentile(0.5) > 0


def test_mean():
    histogram = filled([i * US for i in range(100)])
    assert histogram.mean_s == pytest.approx(49.5 * US)
    assert filled([0.25, 0.75]).mean_s == pytest.approx(0.5)


def test_values_beyond_limit_land_in_last_bin():
    histogram = filled([5.0], resolution_s=0.01, limit_s=0.1)
    assert histogram.count == 1
    assert histogram.max_s == 5.0
    assert histogram.mean_s == 5.0  # the mean and max keep the true value
    p = histogram.percentile(0.5)
    assert 0.1 <= p <= 0.1 + 2 * 0.01  # the upper edge of the last bin, at the limit


def test_values_beyond_limit_do_not_disturb_lower_percentiles():
    histogram = filled([0.005] * 99 + [100.0], resolution_s=0.01, limit_s=0.1)
    assert histogram.percentile(0.5) == pytest.approx(0.01)
    assert histogram.percentile(0.99) == pytest.approx(0.01)
    assert histogram.percentile(1.0) >= 0.1


def test_memory_is_bounded_by_limit():
    histogram = filled([i * 1.0 for i in range(1000)], resolution_s=0.01, limit_s=0.1)
    assert len(histogram._counts) <= 12
    assert sum(histogram._counts) == 1000


def test_negative_values_count_as_zero():
    histogram = filled([-0.5, -1e-9], resolution_s=0.001)
    assert histogram.count == 2
    assert histogram.mean_s == 0.0
    assert histogram.max_s == 0.0
    assert histogram.percentile(1.0) == pytest.approx(0.001)


def test_bins_hold_what_was_counted():
    histogram = filled([5 * US, 5 * US, 25 * US, 1.5])
    assert histogram.bins() == {0: 2, 2: 1, len(histogram._counts) - 1: 1}


def test_from_bins_has_the_percentiles_of_the_values_counted():
    original = filled([(i * 7919) % 1000 * 13 * US for i in range(1000)])
    rebuilt = Histogram.from_bins(original.bins())
    assert rebuilt.count == original.count
    assert [rebuilt.percentile(f / 100) for f in range(101)] == [original.percentile(f / 100) for f in range(101)]
    assert rebuilt.max_s == pytest.approx(original.percentile(1.0))  # a value's bin's upper edge


def test_the_difference_of_two_snapshots_is_the_span_between_them():
    """What the throughput batch does with the station's snapshots: only the values counted in between."""
    histogram = filled([10 * US] * 1000)
    before = histogram.bins()
    for value in [205 * US] * 98 + [3.005e-3] * 2:
        histogram.add(value)
    after = histogram.bins()
    span = Histogram.from_bins({index: n - before.get(index, 0) for index, n in after.items()})
    assert span.count == 100
    assert span.percentile(0.5) == pytest.approx(210 * US)
    assert span.percentile(0.99) == pytest.approx(3.01e-3)


def test_a_copy_keeps_what_was_counted_and_not_what_follows():
    histogram = filled([0.0015, 0.0025, 0.5005], resolution_s=0.001)
    twin = histogram.copy()
    histogram.add(0.9005)
    assert twin.bins() == {1: 1, 2: 1, 500: 1}
    assert (twin.count, twin.max_s) == (3, 0.5005)
    assert twin.percentile(0.5) == pytest.approx(0.003)
    assert histogram.bins() == {1: 1, 2: 1, 500: 1, 900: 1}
