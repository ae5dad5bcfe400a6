"""FileSource with a fake loader: gapless reads, looping, play-once, bad files and decoding not done yet."""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path

import numpy as np
import pytest

from station.media import MediaError, Track
from station.source import FileSource, NothingPlayable


def pcm(start: int, frames: int) -> np.ndarray:
    """Stereo frames whose left channel counts up from `start` (right is its negative): easy to follow."""
    left = np.arange(start, start + frames, dtype=np.int16)
    return np.stack([left, -left], axis=1)


def bad(name: str) -> MediaError:
    return MediaError(f"{name}: not a playable audio file (Invalid data found when processing input)")


class FakeLoader:
    """MediaLoader's interface without processes.

    `outcomes` maps a file name to its decoded PCM or a MediaError, or to a list of those consumed one per
    submit (the last one repeats). Files named in `held` get futures that stay pending until `release`.
    """

    def __init__(self, outcomes: dict, held: set[str] | None = None) -> None:
        self.outcomes = outcomes
        self.held = set(held or ())
        self.submitted: list[str] = []
        self._waiting: list[tuple[str, Future]] = []
        self._uses: dict[str, int] = {}

    def _outcome(self, name: str):
        outcome = self.outcomes[name]
        if isinstance(outcome, list):
            use = self._uses.get(name, 0)
            self._uses[name] = use + 1
            return outcome[min(use, len(outcome) - 1)]
        return outcome

    def _settle(self, name: str, future: Future) -> None:
        outcome = self._outcome(name)
        if isinstance(outcome, Exception):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)

    def submit(self, path: Path) -> Future:
        self.submitted.append(path.name)
        future: Future = Future()
        if path.name in self.held:
            self._waiting.append((path.name, future))
        else:
            self._settle(path.name, future)
        return future

    def release(self, name: str) -> None:
        self.held.discard(name)
        for waiting_name, future in [w for w in self._waiting if w[0] == name]:
            self._waiting.remove((waiting_name, future))
            self._settle(waiting_name, future)

    def track(self, path: Path, future: Future) -> Track:
        assert future.done(), f"track() called on {path.name} before it was decoded: the sender would block"
        return Track(path, future.result())  # MediaError propagates, as from MediaLoader


def make_source(outcomes: dict, loop: bool = False, held: set[str] | None = None):
    loader = FakeLoader(outcomes, held)
    reports: list[str] = []
    source = FileSource([Path("/music") / name for name in outcomes], loader, loop=loop, report=reports.append)
    return source, loader, reports


# start


def test_start_returns_the_first_track_and_prefetches_the_next():
    a, b = pcm(0, 10), pcm(100, 6)
    source, loader, reports = make_source({"a.wav": a, "b.wav": b})
    track = source.start()
    assert track.title == "a"
    assert source.current is track
    assert source.position_samples == 0
    assert loader.submitted == ["a.wav", "b.wav"]
    assert reports == []
    assert not source.finished


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
    source, _, _ = make_source({"x.mp3": bad("/music/x.mp3")}, loop=True)
    with pytest.raises(NothingPlayable):
        source.start()


def test_empty_queue_is_nothing_playable():
    source = FileSource([], FakeLoader({}), loop=True, report=lambda message: None)
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
    assert source.current.title == "b"
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
    source, loader, reports = make_source({"a.wav": a, "b.wav": b}, loop=True)
    source.start()
    np.testing.assert_array_equal(source.read(4), a)
    np.testing.assert_array_equal(source.read(4), b)
    np.testing.assert_array_equal(source.read(6), np.concatenate([a, b[:2]]))
    assert not source.finished
    assert reports == ["now playing: b", "now playing: a", "now playing: b"]
    assert loader.submitted[:4] == ["a.wav", "b.wav", "a.wav", "b.wav"]


def test_one_read_can_span_several_loops():
    a, b = pcm(0, 4), pcm(100, 4)
    source, _, _ = make_source({"a.wav": a, "b.wav": b}, loop=True)
    source.start()
    np.testing.assert_array_equal(source.read(20), np.concatenate([a, b, a, b, a]))


def test_a_single_track_loops_onto_itself():
    a = pcm(0, 3)
    source, _, _ = make_source({"a.wav": a}, loop=True)
    source.start()
    np.testing.assert_array_equal(source.read(5), np.concatenate([a, a[:2]]))
    assert not source.finished


def test_once_ends_with_a_short_read_then_finished():
    a, b = pcm(0, 4), pcm(100, 3)
    source, _, _ = make_source({"a.wav": a, "b.wav": b}, loop=False)
    source.start()
    np.testing.assert_array_equal(source.read(5), np.concatenate([a, b[:1]]))
    assert not source.finished
    last = source.read(5)
    np.testing.assert_array_equal(last, b[1:])  # 2 samples, short of 5
    assert source.finished
    assert source.read(5) is None
    assert source.finished


def test_once_does_not_prefetch_the_first_track_again():
    source, loader, _ = make_source({"a.wav": pcm(0, 2), "b.wav": pcm(100, 2)}, loop=False)
    source.start()
    source.read(10)
    assert loader.submitted == ["a.wav", "b.wav"]
    assert source.finished


def test_once_with_an_exact_end():
    a = pcm(0, 4)
    source, _, _ = make_source({"a.wav": a}, loop=False)
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
    assert source.current.title == "c"
    assert not source.finished


def test_bad_file_in_the_middle_is_skipped_on_every_loop():
    a, c = pcm(0, 2), pcm(200, 2)
    source, _, reports = make_source({"a.wav": a, "b.mp3": bad("/music/b.mp3"), "c.wav": c}, loop=True)
    source.start()
    np.testing.assert_array_equal(source.read(8), np.concatenate([a, c, a, c]))
    assert reports.count(str(bad("/music/b.mp3"))) == 2


def test_bad_last_file_when_playing_once():
    a = pcm(0, 4)
    source, _, reports = make_source({"a.wav": a, "z.mp3": bad("/music/z.mp3")}, loop=False)
    source.start()
    np.testing.assert_array_equal(source.read(6), a)
    assert source.finished
    assert reports == [str(bad("/music/z.mp3"))]


def test_loop_stops_when_every_file_has_become_unplayable():
    a = pcm(0, 3)
    source, _, reports = make_source(
        {"a.wav": [a, bad("/music/a.wav")], "b.mp3": bad("/music/b.mp3")}, loop=True)
    source.start()
    np.testing.assert_array_equal(source.read(5), a)
    assert source.finished
    assert reports == [str(bad("/music/b.mp3")), str(bad("/music/a.wav"))]
    assert source.read(5) is None


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
    assert source.current.title == "b"


def test_resume_after_a_late_decode_keeps_every_sample():
    a, b = pcm(0, 5), pcm(100, 5)
    source, loader, _ = make_source({"a.wav": a, "b.wav": b}, held={"b.wav"}, loop=False)
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
