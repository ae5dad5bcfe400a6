import numpy as np

from listener.jitter_buffer import JitterBuffer, Write


def frames(start: int, count: int) -> np.ndarray:
    values = np.arange(start, start + count, dtype=np.int16) + 1
    return np.stack([values, -values], axis=1)


def test_read_returns_exactly_frames_with_silence_on_a_miss():
    buffer = JitterBuffer(1000, 2, position_ts=0)
    buffer.store(0, frames(0, 50))
    pcm, filled = buffer.read(100)
    assert pcm.shape == (100, 2)
    assert filled[:50].all() and not filled[50:].any()
    assert np.array_equal(pcm[:50], frames(0, 50))
    assert not pcm[50:].any()
    assert buffer.position_ts == 100


def test_out_of_order_writes_read_in_timestamp_order():
    buffer = JitterBuffer(1000, 2)
    buffer.store(100, frames(100, 100))
    buffer.store(0, frames(0, 100))
    pcm, filled = buffer.read(200)
    assert filled.all()
    assert np.array_equal(pcm, frames(0, 200))


def test_late_packet_dropped():
    buffer = JitterBuffer(1000, 2)
    buffer.read(100)
    assert buffer.judge(50, 100) is Write.LATE


def test_too_far_packet_rejected_memory_fixed():
    buffer = JitterBuffer(1000, 2)
    assert buffer.judge(950, 100) is Write.TOO_FAR
    assert buffer.judge(900, 100) is Write.STORED


def test_ring_wraps_around():
    buffer = JitterBuffer(300, 2)
    for start in range(0, 3000, 100):
        assert buffer.judge(start, 100) is Write.STORED
        buffer.store(start, frames(start, 100))
        pcm, filled = buffer.read(100)
        assert filled.all()
        assert np.array_equal(pcm, frames(start, 100))


def test_read_clears_so_a_ring_later_is_silence():
    buffer = JitterBuffer(200, 2)
    buffer.store(0, frames(0, 100))
    buffer.read(100)
    buffer.read(100)
    pcm, filled = buffer.read(100)  # ring slots of ts 0..99 again: must not replay them
    assert not filled.any() and not pcm.any()


def test_seek_forward_forgets_skipped_samples_keeps_the_rest():
    buffer = JitterBuffer(1000, 2)
    buffer.store(0, frames(0, 300))
    buffer.seek(100)
    pcm, filled = buffer.read(200)
    assert filled.all()
    assert np.array_equal(pcm, frames(100, 200))
    buffer.seek(1100)  # the slots of 0..99 now map to 1000..1099: must be empty
    assert not buffer.read(100)[1].any()


def test_seek_backward_clears_slots_that_would_replay_future_samples():
    buffer = JitterBuffer(1000, 2, position_ts=500)
    buffer.store(1400, frames(1400, 100))  # ring slots 400..499
    buffer.store(600, frames(600, 100))
    buffer.seek(400)  # 400..499 are now the next to play: the 1400.. samples must not play there
    pcm, filled = buffer.read(300)
    assert not filled[:200].any()
    assert filled[200:].all()
    assert np.array_equal(pcm[200:], frames(600, 100))


def test_buffered_samples_counts_to_the_end_of_what_arrived():
    buffer = JitterBuffer(1000, 2)
    buffer.store(200, frames(200, 100))
    assert buffer.buffered_samples == 300
    buffer.read(150)
    assert buffer.buffered_samples == 150


def test_filled_until_finds_the_end_of_what_came_before_whatever_the_order():
    buffer = JitterBuffer(1000, 2, position_ts=900)  # the ring wraps within the range looked at
    assert buffer.filled_until(1300) == 900  # nothing stored: the play position
    buffer.store(1400, frames(1400, 100))  # the packet after the gap, arrived first
    buffer.store(950, frames(950, 100))
    assert buffer.filled_until(1400) == 1050
    assert buffer.filled_until(1000) == 1000  # within what is stored: up to there


def test_judge_says_what_a_store_would_do_without_doing_it():
    buffer = JitterBuffer(1000, 2, position_ts=5000)
    assert buffer.judge(5000, 100) is Write.STORED
    assert buffer.judge(4999, 100) is Write.LATE
    assert buffer.judge(5901, 100) is Write.TOO_FAR  # would overwrite what has not played
    assert buffer.judge(3999, 100) is Write.TOO_FAR  # more than a whole buffer behind: a stray, not a late packet
    assert buffer.judge(4000, 100) is Write.LATE
    assert buffer.buffered_samples == 0 and not buffer.read(1000)[1].any()
