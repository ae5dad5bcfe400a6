"""FileSource with a fake loader: gapless reads, looping, play-once, bad files, decoding not done yet, and the
decodes following the operator's queue edits."""

from __future__ import annotations

import numpy as np
import pytest
from fake_media import RATE, FakeLoader, bad, make_source, pcm

from station.media import HEAD_S
from station.queue import PlayQueue, QueueError
from station.source import PREVIOUS_WITHIN_S, FileSource, NothingPlayable


# start


def test_start_returns_the_first_track_and_prefetches_the_next():
    a, b = pcm(0, 10), pcm(100, 6)
    source, loader, reports = make_source({"a.wav": a, "b.wav": b})
    track = source.start()
    assert track.title == "a"
    assert source.track is track
    assert source.position_samples == 0
    assert loader.submitted == ["a.wav", "b.wav"]
    assert reports == []
    assert not source.finished


def test_the_station_starts_on_the_head_and_the_whole_takes_over_where_it_got_to():
    """The first track starts on its head, decoded at once, while the whole decodes; the whole takes over as soon
    as it comes, at the same sample, and only then is the track's length known."""
    whole = pcm(0, round(HEAD_S * RATE) + 500)
    source, loader, _ = make_source({"a.wav": whole, "b.wav": pcm(0, 4)}, held={"a.wav"})
    assert len(source.start().pcm) == round(HEAD_S * RATE)
    played = [source.read(100) for _ in range(3)]
    assert source.now().duration_s is None
    loader.release("a.wav")
    played += [source.read(1000) for _ in range(round(HEAD_S * RATE) // 1000)]
    assert source.now().duration_s == len(whole) / RATE
    assert np.array_equal(np.concatenate([p for p in played if p is not None]),
                          whole[:300 + 1000 * (round(HEAD_S * RATE) // 1000)])


def test_a_head_played_out_before_the_whole_came_is_a_short_silence_then_the_rest():
    head_frames = round(HEAD_S * RATE)
    whole = pcm(0, head_frames + 300)
    source, loader, _ = make_source({"a.wav": whole, "b.wav": pcm(0, 4)}, held={"a.wav"})
    source.start()
    assert np.array_equal(source.read(head_frames), whole[:head_frames])
    assert source.read(100) is None and not source.finished  # nothing to send yet: no packet, no track change
    loader.release("a.wav")
    assert np.array_equal(source.read(300), whole[head_frames:])


def test_a_track_left_during_its_head_keeps_the_length_its_whole_found():
    whole = pcm(0, round(HEAD_S * RATE) + 500)
    source, loader, _ = make_source({"a.wav": whole, "b.wav": pcm(0, 4)}, held={"a.wav"})
    source.start()
    source.skip()  # NEXT at once, before the whole of the first track came
    loader.release("a.wav")
    assert np.array_equal(source.read(4), pcm(0, 4))  # b plays
    loader.held.add("a.wav")  # back to the first track, decoding again: its length is known all the same
    assert source.jump(0).duration_s == len(whole) / RATE


def test_a_whole_that_fails_after_its_head_is_reported_and_skipped():
    source, loader, reports = make_source({"a.wav": [pcm(0, 10), bad("/music/a.wav")], "b.wav": pcm(7, 4)},
                                          held={"a.wav"})
    source.start()
    loader.outcomes["a.wav"] = bad("/music/a.wav")  # the whole decode fails where the head did not
    loader.release("a.wav")
    assert np.array_equal(source.read(4), pcm(7, 4))
    assert reports[0] == str(bad("/music/a.wav"))


def test_start_skips_bad_files_and_reports_them():
    source, _, reports = make_source({"bad.mp3": bad("/music/bad.mp3"), "a.wav": pcm(0, 4)})
    assert source.start().title == "a"
    assert reports == [str(bad("/music/bad.mp3"))]


def test_all_files_bad():
    source, _, reports = make_source({"x.mp3": bad("/music/x.mp3"), "y.mp3": bad("/music/y.mp3")})
    with pytest.raises(NothingPlayable) as info:
        source.start()
    assert str(info.value) == "nothing playable among 2 file(s)"
    assert reports == [str(bad("/music/x.mp3")), str(bad("/music/y.mp3"))]


def test_all_files_bad_in_loop_mode_too():
    source, _, _ = make_source({"x.mp3": bad("/music/x.mp3")}, repeat="queue")
    with pytest.raises(NothingPlayable):
        source.start()


def test_empty_queue_is_nothing_playable():
    source = FileSource(PlayQueue([]), FakeLoader({}), report=lambda message: None)
    with pytest.raises(NothingPlayable):
        source.start()


# reading


def test_reads_within_a_track():
    a = pcm(0, 10)
    source, _, _ = make_source({"a.wav": a, "b.wav": pcm(100, 6)})
    source.start()
    np.testing.assert_array_equal(source.read(4), a[:4])
    np.testing.assert_array_equal(source.read(4), a[4:8])
    assert source.position_samples == 8


def test_gapless_read_across_track_boundary():
    a, b = pcm(0, 10), pcm(100, 6)
    source, _, reports = make_source({"a.wav": a, "b.wav": b})
    source.start()
    source.read(8)
    chunk = source.read(8)  # the last 2 samples of a, then the first 6 of b, in one read
    assert chunk.shape == (8, 2)
    np.testing.assert_array_equal(chunk, np.concatenate([a[8:], b[:6]]))
    assert source.track.title == "b"
    assert source.position_samples == 6
    assert reports == ["now playing: b"]


def test_read_of_exactly_a_whole_track_then_the_next():
    a, b = pcm(0, 5), pcm(100, 5)
    source, _, reports = make_source({"a.wav": a, "b.wav": b})
    source.start()
    np.testing.assert_array_equal(source.read(5), a)
    assert reports == []  # b starts only when its first sample is read
    np.testing.assert_array_equal(source.read(5), b)
    assert reports == ["now playing: b"]


def test_loop_back_to_the_first_track():
    a, b = pcm(0, 4), pcm(100, 4)
    source, loader, reports = make_source({"a.wav": a, "b.wav": b}, repeat="queue")
    source.start()
    np.testing.assert_array_equal(source.read(4), a)
    np.testing.assert_array_equal(source.read(4), b)
    np.testing.assert_array_equal(source.read(6), np.concatenate([a, b[:2]]))
    assert not source.finished
    assert reports == ["now playing: b", "now playing: a", "now playing: b"]
    assert loader.submitted[:4] == ["a.wav", "b.wav", "a.wav", "b.wav"]


def test_one_read_can_span_several_loops():
    a, b = pcm(0, 4), pcm(100, 4)
    source, _, _ = make_source({"a.wav": a, "b.wav": b}, repeat="queue")
    source.start()
    np.testing.assert_array_equal(source.read(20), np.concatenate([a, b, a, b, a]))


def test_a_single_track_loops_onto_itself_from_memory():
    a = pcm(0, 3)
    source, loader, reports = make_source({"a.wav": a}, repeat="queue")
    source.start()
    np.testing.assert_array_equal(source.read(5), np.concatenate([a, a[:2]]))
    assert not source.finished
    assert loader.submitted == ["a.wav"]  # not decoded again
    assert reports == []


def test_once_ends_with_a_short_read_then_finished():
    a, b = pcm(0, 4), pcm(100, 3)
    source, _, _ = make_source({"a.wav": a, "b.wav": b}, repeat="off")
    source.start()
    np.testing.assert_array_equal(source.read(5), np.concatenate([a, b[:1]]))
    assert not source.finished
    last = source.read(5)
    np.testing.assert_array_equal(last, b[1:])  # 2 samples, short of 5
    assert source.finished
    assert source.read(5) is None
    assert source.finished


def test_once_does_not_prefetch_the_first_track_again():
    source, loader, _ = make_source({"a.wav": pcm(0, 2), "b.wav": pcm(100, 2)}, repeat="off")
    source.start()
    source.read(10)
    assert loader.submitted == ["a.wav", "b.wav"]
    assert source.finished


def test_once_with_an_exact_end():
    a = pcm(0, 4)
    source, _, _ = make_source({"a.wav": a}, repeat="off")
    source.start()
    np.testing.assert_array_equal(source.read(4), a)
    assert not source.finished  # nothing tried to read past the end yet
    assert source.read(4) is None
    assert source.finished


def test_bad_file_in_the_middle_is_reported_and_skipped():
    a, c = pcm(0, 4), pcm(200, 4)
    source, _, reports = make_source({"a.wav": a, "b.mp3": bad("/music/b.mp3"), "c.wav": c})
    source.start()
    np.testing.assert_array_equal(source.read(6), np.concatenate([a, c[:2]]))
    assert reports == [str(bad("/music/b.mp3")), "now playing: c"]
    assert source.track.title == "c"
    assert not source.finished


def test_bad_file_is_reported_once_and_taken_out_of_the_queue():
    a, c = pcm(0, 2), pcm(200, 2)
    source, loader, reports = make_source({"a.wav": a, "b.mp3": bad("/music/b.mp3"), "c.wav": c},
                                          repeat="queue")
    source.start()
    np.testing.assert_array_equal(source.read(8), np.concatenate([a, c, a, c]))
    assert reports.count(str(bad("/music/b.mp3"))) == 1
    assert [entry.title for entry in source.queue.entries] == ["a", "c"]
    assert loader.submitted.count("b.mp3") == 1


def test_bad_last_file_when_playing_once():
    a = pcm(0, 4)
    source, _, reports = make_source({"a.wav": a, "z.mp3": bad("/music/z.mp3")}, repeat="off")
    source.start()
    np.testing.assert_array_equal(source.read(6), a)
    assert source.finished
    assert reports == [str(bad("/music/z.mp3"))]


def test_the_last_playable_track_of_a_looping_queue_plays_on_from_memory():
    a = pcm(0, 3)
    source, loader, reports = make_source(
        {"a.wav": [a, bad("/music/a.wav")], "b.mp3": bad("/music/b.mp3")}, repeat="queue")
    source.start()
    np.testing.assert_array_equal(source.read(5), np.concatenate([a, a[:2]]))  # a's file is never read again
    assert not source.finished
    assert reports == [str(bad("/music/b.mp3"))]
    assert loader.submitted == ["a.wav", "b.mp3"]


def test_a_queue_that_turns_out_unplayable_meanwhile_is_finished():
    a = pcm(0, 3)
    source, loader, reports = make_source({"a.wav": a, "b.mp3": bad("/music/b.mp3")}, repeat="queue",
                                          held={"b.mp3"})
    source.start()
    source.skip()  # to b, still decoding
    source.remove(0)  # a goes: b is all there is
    assert source.read(3) is None
    loader.release("b.mp3")
    assert source.read(3) is None
    assert source.finished
    assert reports == [str(bad("/music/b.mp3"))]
    assert source.queue.entries == []


# decoding not done yet


def test_next_track_not_decoded_yet_gives_a_partial_chunk_without_blocking():
    a, b = pcm(0, 4), pcm(100, 6)
    source, loader, reports = make_source({"a.wav": a, "b.wav": b}, held={"b.wav"})
    source.start()
    np.testing.assert_array_equal(source.read(7), a)  # only what there is: 4 of 7
    assert source.read(7) is None
    assert source.read(7) is None
    assert not source.finished
    assert reports == []
    loader.release("b.wav")
    np.testing.assert_array_equal(source.read(7), b)
    assert reports == ["now playing: b"]
    assert source.track.title == "b"


def test_resume_after_a_late_decode_keeps_every_sample():
    a, b = pcm(0, 5), pcm(100, 5)
    source, loader, _ = make_source({"a.wav": a, "b.wav": b}, held={"b.wav"}, repeat="off")
    source.start()
    got = [source.read(3), source.read(3), source.read(3)]
    loader.release("b.wav")
    got += [source.read(3), source.read(3), source.read(3)]
    played = np.concatenate([chunk for chunk in got if chunk is not None])
    np.testing.assert_array_equal(played, np.concatenate([a, b]))
    assert source.finished


def test_late_decode_of_a_bad_file_is_skipped_once_done():
    a, c = pcm(0, 2), pcm(200, 2)
    source, loader, reports = make_source({"a.wav": a, "b.mp3": bad("/music/b.mp3"), "c.wav": c},
                                          held={"b.mp3"})
    source.start()
    np.testing.assert_array_equal(source.read(4), a)
    assert source.read(4) is None
    loader.release("b.mp3")
    np.testing.assert_array_equal(source.read(4), c)
    assert reports == [str(bad("/music/b.mp3")), "now playing: c"]


# progress


def test_progress_of_the_current_track():
    source, _, _ = make_source({"a.wav": pcm(0, RATE * 2), "b.wav": pcm(0, 10)})
    assert source.progress_s() == (0.0, 0.0)  # before start: nothing decoded
    source.start()
    source.read(RATE // 2)
    assert source.progress_s() == (0.5, 2.0)
    assert source.title == "a"


# the operator's commands: the decodes follow the queue


def _titles(source: FileSource) -> list[str]:
    return [entry.title for entry in source.queue.entries]


def test_skip_takes_the_prefetched_track_without_a_new_decode():
    a, b = pcm(0, 10), pcm(100, 10)
    source, loader, reports = make_source({"a.wav": a, "b.wav": b, "c.wav": pcm(200, 10)})
    source.start()
    source.read(3)
    item = source.skip()
    assert (item.number, item.title, item.current) == (2, "b", True)
    np.testing.assert_array_equal(source.read(4), b[:4])
    assert reports == ["now playing: b"]
    assert loader.submitted == ["a.wav", "b.wav", "c.wav"]  # c is prefetched once b plays


def test_skip_past_the_last_track_with_repeat_off_is_refused():
    source, _, _ = make_source({"a.wav": pcm(0, 10), "b.wav": pcm(100, 10)})
    source.start()
    source.skip()
    with pytest.raises(QueueError) as info:
        source.skip()
    assert str(info.value) == "2. b is the last track (REPEAT queue would go on with the first)"
    assert source.queue.current_number == 2


def test_jump_to_a_track_still_decoding_is_silent_until_it_is_decoded():
    a, c = pcm(0, 10), pcm(200, 10)
    source, loader, reports = make_source({"a.wav": a, "b.wav": pcm(100, 10), "c.wav": c}, held={"b.wav", "c.wav"})
    source.start()
    source.read(3)
    item = source.jump(2)
    assert (item.number, item.title) == (3, "c")
    assert source.title == "c"
    assert source.progress_s() == (0.0, 0.0)
    assert source.read(4) is None  # no packet rather than more of a, which the operator left
    assert not source.finished
    assert loader.cancelled == ["b.wav"]  # the prefetch of b is for the wrong track now
    loader.release("c.wav")
    np.testing.assert_array_equal(source.read(4), c[:4])
    assert reports == ["now playing: c"]


def test_jump_back_to_the_track_playing_restarts_it_from_memory():
    a = pcm(0, 10)
    source, loader, _ = make_source({"a.wav": a, "b.wav": pcm(100, 10)}, held={"b.wav"})
    source.start()
    source.read(6)
    source.jump(1)
    assert source.read(2) is None
    source.jump(0)  # changed their mind before b was decoded
    np.testing.assert_array_equal(source.read(4), a[:4])
    assert loader.submitted == ["a.wav", "b.wav"]


def test_jump_to_a_bad_file_reports_it_and_plays_the_one_after():
    c = pcm(200, 10)
    source, _, reports = make_source({"a.wav": pcm(0, 10), "b.mp3": bad("/music/b.mp3"), "c.wav": c},
                                     held={"b.mp3"})
    source.start()
    source.jump(1)
    source._loader.release("b.mp3")
    np.testing.assert_array_equal(source.read(4), c[:4])
    assert reports == [str(bad("/music/b.mp3")), "now playing: c"]
    assert _titles(source) == ["a", "c"]


def test_jump_out_of_range():
    source, _, _ = make_source({"a.wav": pcm(0, 10), "b.wav": pcm(100, 10)})
    source.start()
    with pytest.raises(QueueError) as info:
        source.jump(2)
    assert str(info.value) == "no track 3: the queue has 2 tracks (1 to 2; QUEUE lists them)"


def test_back_early_in_a_track_goes_to_the_previous_one():
    a, b = pcm(0, RATE * 4), pcm(100, RATE * 4)
    source, _, _ = make_source({"a.wav": a, "b.wav": b})
    source.start()
    source.skip()
    source.read(round(RATE * PREVIOUS_WITHIN_S) - 1)
    item, went_back = source.back()
    assert went_back and (item.number, item.title) == (1, "a")
    np.testing.assert_array_equal(source.read(5), a[:5])


def test_back_later_in_a_track_restarts_it():
    a, b = pcm(0, RATE * 4), pcm(100, RATE * 4)
    source, loader, _ = make_source({"a.wav": a, "b.wav": b})
    source.start()
    source.skip()
    source.read(round(RATE * PREVIOUS_WITHIN_S))
    item, went_back = source.back()
    assert not went_back and (item.number, item.title) == (2, "b")
    np.testing.assert_array_equal(source.read(5), b[:5])
    assert loader.submitted == ["a.wav", "b.wav"]  # from memory


def test_back_on_the_first_track_restarts_it_unless_the_queue_loops():
    a, b = pcm(0, 10), pcm(100, 10)
    source, _, _ = make_source({"a.wav": a, "b.wav": b})
    source.start()
    source.read(3)
    item, went_back = source.back()
    assert not went_back and item.title == "a" and source.position_samples == 0
    source.set_repeat("queue")
    item, went_back = source.back()
    assert went_back and item.title == "b"
    np.testing.assert_array_equal(source.read(3), b[:3])


def test_seek_within_the_track_and_clamped_to_it():
    a = pcm(0, RATE * 2)
    source, _, _ = make_source({"a.wav": a})
    source.start()
    position_s, item = source.seek(1.5)
    assert position_s == 1.5 and item.title == "a"
    np.testing.assert_array_equal(source.read(3), a[round(RATE * 1.5):][:3])
    assert source.seek(-4.0)[0] == 0.0
    assert source.seek(60.0)[0] == 2.0  # the end: the next read moves on


def test_seek_while_the_track_decodes_applies_once_it_is_decoded():
    b = pcm(100, RATE)
    source, loader, _ = make_source({"a.wav": pcm(0, 10), "b.wav": b}, held={"b.wav"})
    source.start()
    source.skip()
    assert source.seek(0.5)[0] == 0.5  # its length is not known yet
    assert source.seek(9.0)[0] == 9.0
    loader.release("b.wav")
    assert source.read(4) is None  # 9 s is past its end (1 s): it ends at once, and nothing follows
    assert source.finished


def test_seek_target_while_decoding_is_kept():
    b = pcm(100, RATE)
    source, loader, _ = make_source({"a.wav": pcm(0, 10), "b.wav": b}, held={"b.wav"})
    source.start()
    source.skip()
    source.seek(0.5)
    loader.release("b.wav")
    np.testing.assert_array_equal(source.read(4), b[RATE // 2:][:4])


def test_remove_the_current_track_skips_to_the_next():
    b = pcm(100, 10)
    source, _, reports = make_source({"a.wav": pcm(0, 10), "b.wav": b})
    source.start()
    source.read(5)
    removed = source.remove(0)
    assert (removed.number, removed.title, removed.current) == (1, "a", True)
    assert _titles(source) == ["b"] and source.now().title == "b"
    np.testing.assert_array_equal(source.read(4), b[:4])
    assert reports == ["now playing: b"]


def test_remove_the_next_track_drops_its_decode_and_prefetches_the_one_after():
    a, c = pcm(0, 4), pcm(200, 4)
    source, loader, _ = make_source({"a.wav": a, "b.wav": pcm(100, 4), "c.wav": c}, held={"b.wav"})
    source.start()
    removed = source.remove(1)
    assert (removed.number, removed.title, removed.current) == (2, "b", False)
    assert loader.cancelled == ["b.wav"]
    assert loader.submitted == ["a.wav", "b.wav", "c.wav"]
    np.testing.assert_array_equal(source.read(8), np.concatenate([a, c]))  # gapless: c was decoded meanwhile


def test_remove_the_only_track_is_refused():
    source, _, _ = make_source({"a.wav": pcm(0, 4)})
    source.start()
    with pytest.raises(QueueError) as info:
        source.remove(0)
    assert str(info.value) == "1. a is the only track: ADD another before removing it"


def test_move_a_track_to_play_next_changes_the_prefetch():
    a, c = pcm(0, 4), pcm(200, 4)
    source, loader, _ = make_source({"a.wav": a, "b.wav": pcm(100, 4), "c.wav": c})
    source.start()
    moved = source.move(2, 1)
    assert (moved.number, moved.title) == (2, "c")
    assert _titles(source) == ["a", "c", "b"]
    assert loader.submitted == ["a.wav", "b.wav", "c.wav"]
    np.testing.assert_array_equal(source.read(8), np.concatenate([a, c]))


def test_move_the_current_track_keeps_it_playing():
    a = pcm(0, 10)
    source, _, _ = make_source({"a.wav": a, "b.wav": pcm(100, 4), "c.wav": pcm(200, 4)})
    source.start()
    source.read(3)
    source.move(0, 2)
    assert source.now().number == 3 and source.title == "a"
    np.testing.assert_array_equal(source.read(3), a[3:6])


def test_clear_keeps_the_current_track_which_then_ends_the_queue():
    a = pcm(0, 4)
    source, loader, _ = make_source({"a.wav": a, "b.wav": pcm(100, 4), "c.wav": pcm(200, 4)}, held={"b.wav"})
    source.start()
    assert source.clear() == 2
    assert _titles(source) == ["a"]
    assert loader.cancelled == ["b.wav"]
    np.testing.assert_array_equal(source.read(6), a)
    assert source.finished  # repeat off: the queue is played out


def test_clear_with_a_looping_queue_loops_the_current_track():
    a = pcm(0, 4)
    source, _, _ = make_source({"a.wav": a, "b.wav": pcm(100, 4)}, repeat="queue")
    source.start()
    source.clear()
    np.testing.assert_array_equal(source.read(6), np.concatenate([a, a[:2]]))


def test_add_at_the_end_of_a_queue_playing_its_last_track_prefetches_it():
    a, z = pcm(0, 4), pcm(900, 4)
    source, loader, _ = make_source({"a.wav": a, "z.wav": z})
    source.start()
    source.remove(1)
    added = source.add([source.queue.entries[0].path.with_name("z.wav")])
    assert [(item.number, item.title, item.duration_s) for item in added] == [(2, "z", None)]
    assert loader.submitted[-1] == "z.wav"
    np.testing.assert_array_equal(source.read(8), np.concatenate([a, z]))


def test_repeat_track_plays_the_current_track_again_and_drops_the_prefetch():
    a = pcm(0, 4)
    source, loader, reports = make_source({"a.wav": a, "b.wav": pcm(100, 4)}, held={"b.wav"})
    source.start()
    source.set_repeat("track")
    assert loader.cancelled == ["b.wav"]
    np.testing.assert_array_equal(source.read(10), np.concatenate([a, a, a[:2]]))
    assert reports == []


def test_repeat_queue_after_the_last_track_prefetches_the_first():
    a, b = pcm(0, 4), pcm(100, 4)
    source, loader, _ = make_source({"a.wav": a, "b.wav": b})
    source.start()
    source.skip()
    np.testing.assert_array_equal(source.read(2), b[:2])
    assert loader.submitted == ["a.wav", "b.wav"]  # repeat off: nothing after b
    source.set_repeat("queue")
    assert loader.submitted == ["a.wav", "b.wav", "a.wav"]
    np.testing.assert_array_equal(source.read(4), np.concatenate([b[2:], a[:2]]))


def test_shuffle_prefetches_the_next_of_the_shuffled_order():
    outcomes = {f"{name}.wav": pcm(100 * i, 2) for i, name in enumerate("abcdef")}
    source, loader, _ = make_source(outcomes, seed=7)
    source.start()
    source.set_shuffle(True)
    following = source.queue.following()
    assert loader.submitted[-1] == following.path.name
    played = [source.read(2)[0, 0] // 100 for _ in range(6)]
    assert played[0] == 0 and sorted(played) == list(range(6))  # a first, then every other track once
    assert played != sorted(played)  # seed 7 does reorder
    assert source.read(2) is None and source.finished


def test_listing_shows_the_durations_of_what_has_been_decoded():
    source, _, _ = make_source({"a.wav": pcm(0, RATE * 2), "b.wav": pcm(0, RATE // 2), "c.wav": pcm(0, 5)})
    source.start()
    listing = source.listing()
    assert [(item.number, item.title, item.duration_s, item.current) for item in listing.items] == [
        (1, "a", 2.0, True), (2, "b", 0.5, False), (3, "c", None, False)]
    assert (listing.repeat, listing.shuffle) == ("off", False)


def test_listing_leaves_a_failed_or_pending_decode_unknown():
    source, _, _ = make_source({"a.wav": pcm(0, 5), "b.mp3": bad("/music/b.mp3")})
    source.start()
    assert [item.duration_s for item in source.listing().items] == [5 / RATE, None]
    source2, _, _ = make_source({"a.wav": pcm(0, 5), "b.wav": pcm(0, 5)}, held={"b.wav"})
    source2.start()
    assert [item.duration_s for item in source2.listing().items] == [5 / RATE, None]


def test_a_stale_decode_released_after_it_was_dropped_changes_nothing():
    c = pcm(200, 4)
    source, loader, _ = make_source({"a.wav": pcm(0, 4), "b.wav": pcm(100, 4), "c.wav": c}, held={"b.wav"})
    source.start()
    source.remove(1)
    loader.release("b.wav")  # a worker that had started on b finishes it anyway
    assert loader.cancelled == ["b.wav"]
    source.skip()
    np.testing.assert_array_equal(source.read(4), c)
