"""The play queue, pure: numbering, navigation, repeat modes, edits and shuffle (with a seeded generator)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from station.queue import REPEAT_MODES, PlayQueue, QueueError


def make_queue(*names: str, repeat: str = "queue", seed: int = 1) -> PlayQueue:
    return PlayQueue([Path(f"/music/{name}.wav") for name in names], repeat=repeat, rng=random.Random(seed))


def titles(queue: PlayQueue) -> list[str]:
    return [entry.title for entry in queue.entries]


def current(queue: PlayQueue) -> str | None:
    return queue.current.title if queue.current else None


def played(queue: PlayQueue, count: int) -> list[str | None]:
    """The titles of the next `count` tracks, each played to its end."""
    return [entry.title if (entry := queue.advance()) else None for _ in range(count)]


# numbering and listing


def test_the_first_track_is_current():
    queue = make_queue("a", "b", "c")
    assert current(queue) == "a" and queue.current_number == 1
    assert (queue.repeat, queue.shuffle) == ("queue", False)


def test_listing_numbers_from_one_and_marks_the_current_track():
    queue = make_queue("a", "b")
    queue.entries[1].duration_s = 24.5
    listing = queue.listing()
    assert [(i.number, i.title, i.duration_s, i.current) for i in listing.items] == [
        (1, "a", None, True), (2, "b", 24.5, False)]
    assert (listing.repeat, listing.shuffle) == ("queue", False)


def test_the_same_file_twice_is_two_entries():
    queue = make_queue("a", "a")
    queue.jump(1)
    assert queue.current_number == 2
    assert [i.current for i in queue.listing().items] == [False, True]


def test_empty_queue():
    queue = make_queue()
    assert queue.current is None and queue.current_number == 0
    assert queue.following() is None
    with pytest.raises(QueueError, match="the queue is empty"):
        queue.jump(0)
    with pytest.raises(QueueError, match="nothing is playing"):
        queue.next()


def test_repeat_modes_are_the_three_documented():
    assert REPEAT_MODES == ("off", "track", "queue")


# the end of a track, by repeat mode


def test_repeat_queue_loops():
    assert played(make_queue("a", "b", "c"), 5) == ["b", "c", "a", "b", "c"]


def test_repeat_off_plays_the_queue_once():
    queue = make_queue("a", "b", repeat="off")
    assert played(queue, 2) == ["b", None]
    assert queue.current_number == 0


def test_repeat_track_plays_the_current_one_again():
    queue = make_queue("a", "b", repeat="track")
    assert played(queue, 3) == ["a", "a", "a"]


def test_a_single_track_queue_loops_onto_itself():
    assert played(make_queue("a"), 2) == ["a", "a"]


# NEXT, PREV, JUMP


def test_next_goes_on_even_with_repeat_track():
    queue = make_queue("a", "b", repeat="track")
    assert queue.next().title == "b"


def test_next_after_the_last_wraps_only_when_the_queue_loops():
    queue = make_queue("a", "b")
    queue.jump(1)
    assert queue.next().title == "a"
    for repeat in ("off", "track"):
        queue = make_queue("a", "b", repeat=repeat)
        queue.jump(1)
        with pytest.raises(QueueError) as info:
            queue.next()
        assert str(info.value) == "2. b is the last track (REPEAT queue would go on with the first)"
        assert current(queue) == "b"


def test_previous():
    queue = make_queue("a", "b", "c")
    queue.jump(2)
    assert queue.previous().title == "b"
    assert queue.previous().title == "a"


def test_previous_from_the_first_wraps_only_when_the_queue_loops():
    assert make_queue("a", "b").previous().title == "b"
    queue = make_queue("a", "b", repeat="off")
    assert queue.previous() is None
    assert current(queue) == "a"


def test_previous_of_a_single_track_is_none():
    assert make_queue("a").previous() is None


@pytest.mark.parametrize("index", [-1, 3, 99])
def test_jump_out_of_range(index):
    queue = make_queue("a", "b", "c")
    with pytest.raises(QueueError) as info:
        queue.jump(index)
    assert str(info.value) == f"no track {index + 1}: the queue has 3 tracks (1 to 3; QUEUE lists them)"
    assert current(queue) == "a"


def test_jump_out_of_range_of_a_single_track_says_track():
    with pytest.raises(QueueError, match=r"^no track 2: the queue has 1 track \(1 to 1"):
        make_queue("a").jump(1)


def test_jump_then_the_queue_goes_on_from_there():
    queue = make_queue("a", "b", "c")
    assert queue.jump(1).title == "b"
    assert played(queue, 2) == ["c", "a"]


# ADD, REMOVE, MOVE, CLEAR


def test_add_appends():
    queue = make_queue("a", "b")
    added = queue.add([Path("/new/c.mp3"), Path("/new/d.ogg")])
    assert [entry.title for entry in added] == ["c", "d"]
    assert titles(queue) == ["a", "b", "c", "d"]
    assert current(queue) == "a"


def test_add_after_the_last_track_with_repeat_off_makes_it_follow():
    queue = make_queue("a", repeat="off")
    assert queue.following() is None
    queue.add([Path("/new/b.wav")])
    assert queue.following().title == "b"


def test_remove_another_track_keeps_the_current_one():
    queue = make_queue("a", "b", "c")
    queue.jump(2)
    removed = queue.remove(0)
    assert (removed.number, removed.title, removed.current) == (1, "a", False)
    assert titles(queue) == ["b", "c"]
    assert current(queue) == "c" and queue.current_number == 2


def test_remove_the_current_track_makes_the_next_current():
    queue = make_queue("a", "b", "c")
    queue.jump(1)
    removed = queue.remove(1)
    assert (removed.number, removed.title, removed.current) == (2, "b", True)
    assert current(queue) == "c"


def test_remove_the_current_last_track_wraps_when_the_queue_loops():
    queue = make_queue("a", "b", "c")
    queue.jump(2)
    queue.remove(2)
    assert current(queue) == "a"


def test_remove_the_current_last_track_with_repeat_off_ends_the_queue():
    queue = make_queue("a", "b", repeat="off")
    queue.jump(1)
    queue.remove(1)
    assert queue.current is None and titles(queue) == ["a"]


def test_remove_the_only_track_is_refused():
    queue = make_queue("a")
    with pytest.raises(QueueError) as info:
        queue.remove(0)
    assert str(info.value) == "1. a is the only track: ADD another before removing it"
    assert titles(queue) == ["a"]


def test_remove_out_of_range():
    with pytest.raises(QueueError, match="^no track 4: "):
        make_queue("a", "b", "c").remove(3)


def test_drop_the_last_entry_empties_the_queue():
    queue = make_queue("a")
    queue.drop(queue.entries[0])
    assert queue.entries == [] and queue.current is None


@pytest.mark.parametrize("index, to_index, order", [
    (2, 0, ["c", "a", "b", "d"]),
    (0, 3, ["b", "c", "d", "a"]),
    (1, 2, ["a", "c", "b", "d"]),
    (1, 1, ["a", "b", "c", "d"]),
])
def test_move(index, to_index, order):
    queue = make_queue("a", "b", "c", "d")
    moved = queue.move(index, to_index)
    assert titles(queue) == order
    assert (moved.number, moved.title) == (to_index + 1, "abcd"[index])
    assert current(queue) == "a"


def test_move_changes_what_follows():
    queue = make_queue("a", "b", "c")
    queue.move(2, 1)
    assert played(queue, 2) == ["c", "b"]


def test_move_out_of_range_changes_nothing():
    queue = make_queue("a", "b", "c")
    with pytest.raises(QueueError, match="^no track 5: "):
        queue.move(0, 4)
    with pytest.raises(QueueError, match="^no track 9: "):
        queue.move(8, 0)
    assert titles(queue) == ["a", "b", "c"]


def test_clear_keeps_only_the_current_track():
    queue = make_queue("a", "b", "c", "d")
    queue.jump(2)
    assert queue.clear() == 3
    assert titles(queue) == ["c"] and queue.current_number == 1


def test_clear_a_single_track_queue_removes_nothing():
    assert make_queue("a").clear() == 0


# shuffle


def test_shuffle_is_a_permutation_starting_with_the_current_track():
    names = [f"t{i}" for i in range(20)]
    queue = make_queue(*names, repeat="off", seed=3)
    queue.jump(5)
    queue.set_shuffle(True)
    assert current(queue) == "t5"
    order = ["t5", *played(queue, 19)]
    assert sorted(order) == sorted(names)
    assert order != ["t5", *names[:5], *names[6:]]
    assert queue.advance() is None  # every track once, then the end (repeat off)
    assert titles(queue) == names  # the numbering is not shuffled


def test_shuffle_keeps_its_order_on_every_pass():
    queue = make_queue("a", "b", "c", "d", "e", seed=4)
    queue.set_shuffle(True)
    first_pass = played(queue, 5)
    assert played(queue, 5) == first_pass
    assert first_pass[-1] == "a"


def test_shuffle_again_draws_a_new_order():
    queue = make_queue(*"abcdefgh", seed=5)
    queue.set_shuffle(True)
    first_pass = played(queue, 8)  # back to a, where the shuffled order starts
    queue.set_shuffle(True)
    second_pass = played(queue, 8)
    assert first_pass != second_pass
    assert sorted(first_pass) == sorted(second_pass) == sorted("abcdefgh")


def test_shuffle_off_goes_on_in_queue_order_from_the_current_track():
    queue = make_queue("a", "b", "c", "d", seed=6)
    queue.set_shuffle(True)
    queue.jump(2)
    queue.set_shuffle(False)
    assert played(queue, 2) == ["d", "a"]


def test_shuffled_previous_and_next_follow_the_shuffled_order():
    queue = make_queue(*"abcdef", seed=2)
    queue.set_shuffle(True)
    second = queue.next()
    assert queue.previous().title == "a"
    assert queue.next() is second


def test_added_tracks_come_later_in_the_shuffled_order():
    queue = make_queue(*"abcd", repeat="off", seed=8)
    queue.set_shuffle(True)
    second = queue.advance().title
    queue.add([Path("/new/x.wav"), Path("/new/y.wav")])
    rest = played(queue, 5)
    assert rest[-1] is None
    assert sorted(rest[:-1]) == sorted({"b", "c", "d", "x", "y"} - {second})


def test_remove_and_clear_while_shuffled():
    queue = make_queue(*"abcde", repeat="off", seed=9)
    queue.set_shuffle(True)
    queue.remove(titles(queue).index(queue.following().title))
    order = played(queue, 4)
    assert order[-1] is None and sorted(order[:-1]) == sorted(set(titles(queue)) - {"a"})
    queue = make_queue(*"abcde", seed=9)
    queue.set_shuffle(True)
    queue.clear()
    assert played(queue, 2) == ["a", "a"]


def test_repeat_modes_can_change_while_playing():
    queue = make_queue("a", "b", repeat="off")
    queue.set_repeat("track")
    assert played(queue, 2) == ["a", "a"]
    queue.set_repeat("queue")
    assert played(queue, 2) == ["b", "a"]
