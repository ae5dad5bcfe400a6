"""The relay's delivery queue: order by time, arrival order on ties, a cap that drops and counts."""

import pytest

from relay.delivery import DeliveryQueue


def test_empty_queue_has_nothing_due_and_no_next_time():
    queue = DeliveryQueue()
    assert queue.due(1e9) == [] and queue.next_s is None and len(queue) == 0


def test_datagrams_leave_by_time_whatever_order_they_came_in():
    queue = DeliveryQueue()
    queue.add([(0.03, b"c"), (0.01, b"a")])
    queue.add([(0.02, b"b")])
    assert queue.next_s == 0.01
    assert queue.due(0.005) == []
    assert queue.due(0.02) == [b"a", b"b"]  # due exactly at its time
    assert queue.next_s == 0.03 and len(queue) == 1
    assert queue.due(1.0) == [b"c"] and queue.next_s is None


def test_ties_leave_in_arrival_order():
    """A link without jitter gives many datagrams the same time (a burst read at once): it must not reorder them."""
    queue = DeliveryQueue()
    queue.add([(0.5, bytes([i])) for i in range(100)])
    assert queue.due(0.5) == [bytes([i]) for i in range(100)]


def test_full_queue_drops_and_counts_what_does_not_fit():
    queue = DeliveryQueue(capacity=3)
    queue.add([(float(i), bytes([i])) for i in range(5)])
    assert len(queue) == 3 and queue.overflow == 2
    assert queue.due(10.0) == [b"\x00", b"\x01", b"\x02"]
    queue.add([(11.0, b"x")])  # room again once delivered
    assert queue.overflow == 2 and queue.due(11.0) == [b"x"]


def test_capacity_below_one_refused():
    with pytest.raises(ValueError, match="at least 1"):
        DeliveryQueue(capacity=0)
