"""CaptureBuffer on fake time: priming, exact reads, order, underruns, overflow, stalls, and two drifting clocks.

The capture thread is played by direct push() calls and the station's slots by read() calls, interleaved by a
loop on a fake clock: no threads, no sleeping. Samples are numbered (from 1, so that 0 is unambiguously the
silence the buffer makes up) so the order they come out in can be checked exactly.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from rtpwire.audio import L16_MONO, L16_STEREO
from sound.drift import DriftCompensator
from station.capture import CaptureBuffer, RecentBacklogs

FMT = L16_STEREO
RATE = FMT.rate
BLOCK = 441  # what PortAudio records per callback (10 ms)
SPP = 220  # what the station reads per slot
TARGET = FMT.samples_for(0.05)  # the default backlog: 2205 samples, five blocks
TEN_MS = FMT.samples_for(0.01)
SWING = FMT.samples_for(0.01) + BLOCK  # the dead band of the backlog's drift correction, plus one block


def numbered(first: int, count: int) -> np.ndarray:
    """Stereo samples carrying their own number (channel 0: low 15 bits, channel 1: the rest)."""
    index = np.arange(first, first + count, dtype=np.int64)
    return np.stack([index & 0x7FFF, index >> 15], axis=1).astype(np.int16)


def numbers(pcm: np.ndarray) -> np.ndarray:
    """The sample numbers of `numbered` output; 0 is silence."""
    return pcm[:, 0].astype(np.int64) + (pcm[:, 1].astype(np.int64) << 15)


def without_correction(buffer: CaptureBuffer) -> CaptureBuffer:
    """The buffer with its drift compensation out of the way (a deadband wider than any backlog), for tests
    of everything else that count samples exactly."""
    buffer.drift = DriftCompensator(RATE, deadband_s=10.0)
    return buffer


class Writer:
    """The capture thread: pushes blocks of BLOCK samples (numbered, or a constant signal) as a clock `ppm`
    faster than the station's completes them. Block j is complete at station sample
    (j + 1) * BLOCK / (1 + ppm * 1e-6); it is delivered `lag(station sample)` samples later."""

    def __init__(self, buffer: CaptureBuffer, ppm: int = 0, numbered: bool = True,
                 lag: Callable[[int], int] = lambda _now: 0) -> None:
        self.buffer = buffer
        self.ppm = ppm
        self.lag = lag
        self.blocks = 0
        self._tone = None if numbered else np.tile(np.array([[1200, -800]], dtype=np.int16), (BLOCK, 1))

    def catch_up(self, station_samples: int) -> None:
        """Push every block delivered by this station time (integer arithmetic: no rounding)."""
        complete = station_samples - self.lag(station_samples)
        while (self.blocks + 1) * BLOCK * 1_000_000 <= complete * (1_000_000 + self.ppm):
            self.buffer.push(numbered(1 + self.blocks * BLOCK, BLOCK) if self._tone is None else self._tone)
            self.blocks += 1


def primed(buffer: CaptureBuffer, first: int = 1) -> CaptureBuffer:
    """The buffer after exactly the target was pushed and one read primed it (SPP samples taken)."""
    buffer.push(numbered(first, TARGET))
    assert numbers(buffer.read(SPP)).tolist() == list(range(first, first + SPP))
    return buffer


# --- priming -------------------------------------------------------------------------------------------------

def test_nothing_captured_reads_silence():
    buffer = CaptureBuffer(FMT)
    pcm = buffer.read(SPP)
    assert pcm.shape == (SPP, 2) and pcm.dtype == np.int16
    assert not pcm.any()
    assert buffer.underruns == 0 and buffer.samples_missing == 0


def test_priming_reads_silence_until_the_target_and_takes_nothing():
    buffer = CaptureBuffer(FMT)
    for block in range(4):  # 1764 samples: short of the 2205 of the target
        buffer.push(numbered(1 + block * BLOCK, BLOCK))
        assert not buffer.read(SPP).any()
    assert buffer.level_samples == 4 * BLOCK  # what was captured waits, nothing is lost
    buffer.push(numbered(1 + 4 * BLOCK, BLOCK))  # 2205: the target exactly
    assert numbers(buffer.read(SPP)).tolist() == list(range(1, SPP + 1))
    assert buffer.level_samples == TARGET - SPP
    assert buffer.underruns == 0


def test_priming_one_sample_short_of_the_target_is_still_silence():
    buffer = CaptureBuffer(FMT)
    buffer.push(numbered(1, TARGET - 1))
    assert not buffer.read(SPP).any()
    buffer.push(numbered(TARGET, 1))
    assert numbers(buffer.read(SPP))[0] == 1


def test_priming_happens_once_a_steady_flow_is_below_target():
    """Once primed, a backlog below the target is read, not waited for: only an underrun primes again."""
    buffer = without_correction(primed(CaptureBuffer(FMT)))
    out = np.concatenate([buffer.read(SPP) for _ in range(9)])  # down to 5 samples left
    assert numbers(out).tolist() == list(range(SPP + 1, 10 * SPP + 1))
    assert buffer.level_samples == TARGET - 10 * SPP
    assert buffer.underruns == 0


# --- exact frames --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("frames", [1, SPP, BLOCK, 1000, TARGET, 5000])
def test_read_returns_exactly_the_frames_asked_for_in_every_state(frames):
    buffer = CaptureBuffer(FMT, capacity_s=0.2)
    states = []
    states.append(buffer.read(frames))  # nothing captured
    buffer.push(numbered(1, 100))
    states.append(buffer.read(frames))  # priming
    buffer.push(numbered(101, 2 * TARGET))
    states.append(buffer.read(frames))  # primed, plenty
    states.append(buffer.read(frames))  # maybe running short
    states.append(buffer.read(frames))  # maybe underrun
    buffer.push(numbered(10_000, FMT.samples_for(0.3)))
    states.append(buffer.read(frames))  # over capacity
    for pcm in states:
        assert pcm.shape == (frames, 2)
        assert pcm.dtype == np.int16


def test_read_zero_frames():
    buffer = primed(CaptureBuffer(FMT))
    assert buffer.read(0).shape == (0, 2)


def test_mono_reads_are_mono():
    buffer = CaptureBuffer(L16_MONO)
    assert buffer.read(SPP).shape == (SPP, 1)
    buffer.push(np.arange(1, TARGET + 1, dtype=np.int16).reshape(-1, 1))
    assert buffer.read(SPP)[:, 0].tolist() == list(range(1, SPP + 1))


def test_exact_frames_while_correcting_drift():
    """Corrections change how many samples are taken, never how many come out."""
    buffer = CaptureBuffer(FMT)
    writer = Writer(buffer, ppm=2000)
    for slot in range(1, 3000):
        writer.catch_up(slot * SPP)
        assert buffer.read(SPP).shape == (SPP, 2)
    assert buffer.drift.samples_dropped > 0


# --- order ---------------------------------------------------------------------------------------------------

def test_order_preserved_across_block_boundaries():
    """Blocks of 441 read in 220s: every read but a few spans two blocks, and nothing is lost or repeated."""
    buffer = without_correction(CaptureBuffer(FMT))
    writer = Writer(buffer)
    out = []
    for slot in range(1, 2001):
        writer.catch_up(slot * SPP)
        out.append(buffer.read(SPP))
    got = numbers(np.concatenate(out))
    start = np.flatnonzero(got)[0]
    assert not got[:start].any()  # priming silence, then the stream
    assert got[start:].tolist() == list(range(1, len(got) - start + 1))
    assert buffer.level_samples == writer.blocks * BLOCK - (len(got) - start)
    assert buffer.underruns == 0


def test_order_preserved_when_a_read_spans_many_blocks():
    buffer = without_correction(CaptureBuffer(FMT))
    for block in range(30):
        buffer.push(numbered(1 + block * 100, 100))  # small blocks, as a device with a short period gives
    assert numbers(buffer.read(1234)).tolist() == list(range(1, 1235))
    assert numbers(buffer.read(SPP)).tolist() == list(range(1235, 1235 + SPP))


def test_drift_corrections_only_repeat_or_skip_single_samples():
    """With the compensator at work the stream still runs forward: a repeated sample per insertion, a
    skipped one per drop, each counted."""
    for ppm in (2000, -2000):
        buffer = CaptureBuffer(FMT)
        writer = Writer(buffer, ppm=ppm)
        out = []
        for slot in range(1, 6001):
            writer.catch_up(slot * SPP)
            out.append(buffer.read(SPP))
        got = numbers(np.concatenate(out))
        got = got[np.flatnonzero(got)[0]:]
        steps = np.diff(got)
        assert buffer.underruns == 0
        assert (steps >= 0).all()
        assert int((steps == 0).sum()) == buffer.drift.samples_inserted
        assert int((steps[steps > 1] - 1).sum()) == buffer.drift.samples_dropped
        assert buffer.drift.samples_inserted + buffer.drift.samples_dropped > 0


# --- underrun ------------------------------------------------------------------------------------------------

def test_underrun_gives_what_is_left_then_silence_and_is_counted():
    buffer = without_correction(primed(CaptureBuffer(FMT)))
    for _ in range(9):
        buffer.read(SPP)
    assert buffer.level_samples == 5
    pcm = numbers(buffer.read(SPP))
    assert pcm[:5].tolist() == list(range(TARGET - 4, TARGET + 1))
    assert not pcm[5:].any()
    assert buffer.underruns == 1
    assert buffer.samples_missing == SPP - 5
    assert buffer.level_samples == 0


def test_underrun_reprimes_before_reading_again():
    """One late block costs one gap, not a stutter: after an underrun the backlog fills up to the target
    again before it is read, and nothing captured meanwhile is lost."""
    buffer = without_correction(primed(CaptureBuffer(FMT)))
    for _ in range(10):
        buffer.read(SPP)
    assert buffer.underruns == 1
    for block in range(4):  # a block arrives late, then more, still short of the target
        buffer.push(numbered(TARGET + 1 + block * BLOCK, BLOCK))
        assert not buffer.read(SPP).any()
    assert buffer.underruns == 1  # priming silence is not counted again
    assert buffer.samples_missing == SPP - 5
    buffer.push(numbered(TARGET + 1 + 4 * BLOCK, BLOCK))
    out = numbers(np.concatenate([buffer.read(SPP) for _ in range(10)]))
    assert out.tolist() == list(range(TARGET + 1, TARGET + 1 + 10 * SPP))  # ten reads without a gap
    assert buffer.underruns == 1


def test_underrun_on_an_empty_primed_buffer_is_all_silence():
    buffer = without_correction(primed(CaptureBuffer(FMT)))
    buffer.read(TARGET - SPP)  # exactly empty, no underrun yet
    assert buffer.level_samples == 0 and buffer.underruns == 0
    assert not buffer.read(SPP).any()
    assert buffer.underruns == 1 and buffer.samples_missing == SPP


def test_figures_tell_the_gaps_and_the_corrections():
    buffer = CaptureBuffer(FMT)
    writer = Writer(buffer, ppm=-1000, numbered=False)  # slower than the station: samples are repeated
    slots = 20 * RATE // SPP
    for slot in range(1, slots + 1):
        writer.catch_up(slot * SPP)
        buffer.read(SPP)
    level = buffer.level_samples
    buffer.read(level + 100)  # more than there is: one gap of 100 samples, less what drift correction repeats
    figures = buffer.figures()
    assert (figures.underruns, figures.samples_discarded) == (1, 0)
    assert 90 <= figures.samples_missing <= 100
    assert figures.samples_inserted == buffer.drift.samples_inserted > 0 and figures.samples_dropped == 0
    assert figures.drift_ppm > 0  # the station reads faster than the device records


def test_each_gap_is_one_underrun():
    buffer = without_correction(CaptureBuffer(FMT))
    for gap in range(1, 4):
        primed(buffer, first=1 + (gap - 1) * TARGET)
        for _ in range(10):
            buffer.read(SPP)
        for _ in range(5):  # reads of an empty buffer after the underrun are priming, not more underruns
            buffer.read(SPP)
        assert buffer.underruns == gap
    assert buffer.samples_missing == 3 * (SPP - 5)


# --- overflow ------------------------------------------------------------------------------------------------

def test_overflow_discards_the_oldest_down_to_the_target():
    buffer = CaptureBuffer(FMT, capacity_s=0.1)  # 4410 samples
    buffer.push(numbered(1, 11 * BLOCK))  # 4851: over capacity
    pcm = numbers(buffer.read(SPP))
    discarded = 11 * BLOCK - TARGET
    assert buffer.samples_discarded == discarded
    assert pcm.tolist() == list(range(discarded + 1, discarded + 1 + SPP))  # the newest are kept, in order
    assert buffer.level_samples == TARGET - SPP
    assert buffer.underruns == 0


def test_at_capacity_nothing_is_discarded():
    buffer = without_correction(CaptureBuffer(FMT, capacity_s=0.1))
    buffer.push(numbered(1, buffer.capacity_samples))
    assert numbers(buffer.read(SPP))[0] == 1
    assert buffer.samples_discarded == 0


def test_overflow_after_the_reader_stalled_resumes_live():
    """The reader stopped reading (the station paused, say) while the device went on: the backlog goes back to
    the target, keeping the newest samples, and the compensator does not take the jump for drift."""
    buffer = CaptureBuffer(FMT, capacity_s=0.2)
    writer = Writer(buffer)
    for slot in range(1, 501):
        writer.catch_up(slot * SPP)
        buffer.read(SPP)
    inserted, dropped = buffer.drift.samples_inserted, buffer.drift.samples_dropped
    writer.catch_up(1000 * SPP)  # 500 slots (2.5 s) without a read
    assert buffer.level_samples > buffer.capacity_samples
    newest = writer.blocks * BLOCK
    pcm = numbers(buffer.read(SPP))
    assert buffer.samples_discarded > 0
    assert pcm.tolist() == list(range(newest - TARGET + 1, newest - TARGET + 1 + SPP))
    assert buffer.drift.smoothed_error_s == 0.0  # restarted: the level is at its target
    for slot in range(1001, 1101):
        writer.catch_up(slot * SPP)
        buffer.read(SPP)
    assert buffer.underruns == 0
    assert buffer.drift.samples_inserted - inserted < 10 and buffer.drift.samples_dropped - dropped < 10


# --- stalls --------------------------------------------------------------------------------------------------

def test_stalled_after_patience_with_nothing_captured():
    buffer = CaptureBuffer(FMT, patience_s=1.0)
    reads = -(-RATE // SPP)  # 201 reads of 220 are the first to cover a second
    for _ in range(reads - 1):
        buffer.read(SPP)
        assert not buffer.stalled
    buffer.read(SPP)
    assert buffer.stalled


def test_stalled_after_the_device_stops_mid_stream():
    """Patience counts from the last block captured, backlog or not: the backlog plays out (one underrun),
    and `patience_s` after the device stopped it is stalled."""
    buffer = CaptureBuffer(FMT, patience_s=0.5)
    writer = Writer(buffer)
    for slot in range(1, 201):
        writer.catch_up(slot * SPP)
        buffer.read(SPP)
    buffer.push(numbered(1 + writer.blocks * BLOCK, BLOCK))  # its last block
    buffer.read(SPP)
    for _ in range(-(-FMT.samples_for(0.5) // SPP) - 1):  # the device delivers nothing more
        buffer.read(SPP)
        assert not buffer.stalled
    buffer.read(SPP)
    assert buffer.stalled
    assert buffer.underruns == 1


def test_stall_clears_when_the_device_delivers_again():
    buffer = CaptureBuffer(FMT, patience_s=0.1)
    while not buffer.stalled:
        buffer.read(SPP)
    buffer.push(numbered(1, BLOCK))
    buffer.read(SPP)
    assert not buffer.stalled


def test_not_stalled_while_data_flows():
    buffer = CaptureBuffer(FMT, patience_s=0.1)
    writer = Writer(buffer, ppm=-2000)  # a slow device: the backlog is kept up by corrections, not refills
    for slot in range(1, 2001):
        writer.catch_up(slot * SPP)
        buffer.read(SPP)
        assert not buffer.stalled


def test_not_stalled_by_gaps_shorter_than_patience():
    """A device delivering in bursts underruns between them, but is not taken for a dead one."""
    buffer = CaptureBuffer(FMT, patience_s=1.0)
    for burst in range(5):
        buffer.push(numbered(1 + burst * RATE // 2, RATE // 2))  # half a second at once, every 0.9 s
        for _ in range(round(0.9 * RATE / SPP)):
            buffer.read(SPP)
            assert not buffer.stalled
    assert buffer.underruns == 5


def test_stalled_when_the_device_stops_short_of_the_target():
    buffer = CaptureBuffer(FMT, patience_s=1.0)
    buffer.push(numbered(1, BLOCK))  # one block, then nothing ever again
    for _ in range(2 * RATE // SPP):  # two seconds of reads
        assert not buffer.read(SPP).any()
    assert buffer.stalled


# --- drift ---------------------------------------------------------------------------------------------------

def run_clocks(ppm: int, seconds: float, lag: Callable[[int], int] = lambda _now: 0,
               reader_late: Callable[[int], int] = lambda _now: 0):
    """`seconds` of a writer `ppm` faster than the station, its blocks delivered `lag` late, on fake time;
    the reader reads `reader_late` after its slot (what was captured meanwhile is in the backlog), and makes up
    for it by reading the next slots at once. The backlog each read found once the stream started, and the
    buffer."""
    buffer = CaptureBuffer(FMT)
    writer = Writer(buffer, ppm, numbered=False, lag=lag)  # a constant signal: numbering ten minutes costs time
    levels = []
    started = False
    for slot in range(1, round(seconds * RATE / SPP) + 1):
        writer.catch_up(slot * SPP + reader_late(slot * SPP))
        level = buffer.level_samples
        started = started or level >= buffer.target_samples
        if started:
            levels.append(level)
        buffer.read(SPP)
    return buffer, np.array(levels)


@pytest.mark.parametrize("ppm", [300, -300])
def test_drift_compensated_over_ten_minutes(ppm):
    """A device +300 ppm (it delivers more than the station reads) or -300 ppm: the backlog stays at its target
    within the dead band and a block, with no underrun and nothing discarded, by dropping (or repeating) samples,
    and the drift is measured. Sign: `drift` is how fast the reader runs against the writer, so a fast writer is negative drift,
    corrected by drops (more taken than read out), and a slow writer positive drift, corrected by insertions."""
    buffer, levels = run_clocks(ppm, 600)
    assert buffer.underruns == 0 and buffer.samples_missing == 0
    assert buffer.samples_discarded == 0
    assert len(levels) > 0.99 * 600 * RATE / SPP
    assert levels.min() >= TARGET - SWING and levels.max() <= TARGET + SWING
    surplus = 600 * RATE * ppm * 1e-6  # 7938 samples the writer produced more (or fewer) than read
    corrected = buffer.drift.samples_dropped - buffer.drift.samples_inserted
    assert abs(surplus) - SWING <= abs(corrected) <= abs(surplus)  # less what the dead band let the level move
    assert np.sign(corrected) == np.sign(surplus)
    if ppm > 0:
        assert buffer.drift.samples_inserted < 0.05 * buffer.drift.samples_dropped
    else:
        assert buffer.drift.samples_dropped < 0.05 * buffer.drift.samples_inserted
    assert buffer.drift.drift_ppm == pytest.approx(-ppm, rel=0.05)


def now_and_then(every_s: float, for_s: float, samples: int) -> Callable[[int], int]:
    """`samples` for the last `for_s` of every `every_s` (of station time), 0 otherwise: the stream starts on time."""
    period = FMT.samples_for(every_s)
    return lambda now: samples if now % period >= period - FMT.samples_for(for_s) else 0


def test_blocks_delivered_late_are_not_drift():
    """PulseAudio delivering a monitor's blocks in bursts while another stream starts: 25 ms late for half a
    second, every two seconds. The backlog dips, but the clocks agree: nothing may be repeated or dropped (each
    correction would be a sample repeated in the middle of the music)."""
    buffer, levels = run_clocks(0, 60, lag=now_and_then(2.0, 0.5, FMT.samples_for(0.025)))
    assert levels.min() < TARGET - SWING  # the lateness goes beyond the dead band
    assert buffer.underruns == 0 and buffer.samples_discarded == 0
    assert buffer.drift.samples_inserted == buffer.drift.samples_dropped == 0


def test_a_reader_running_late_is_not_drift():
    """The station's own thread held up 60 ms once a second (the reads it missed are made at once): the backlog
    it finds is high for a moment, and nothing may be dropped for it."""
    buffer, levels = run_clocks(0, 60, reader_late=now_and_then(1.0, 0.005, FMT.samples_for(0.06)))
    assert levels.max() > TARGET + SWING
    assert buffer.underruns == 0 and buffer.samples_discarded == 0
    assert buffer.drift.samples_inserted == buffer.drift.samples_dropped == 0


@pytest.mark.parametrize("ppm", [300, -300])
def test_drift_compensated_while_blocks_come_late(ppm):
    """Late bursts do not hide drift: over ten minutes of them the backlog is kept and the drift measured."""
    buffer, levels = run_clocks(ppm, 600, lag=now_and_then(2.0, 0.5, FMT.samples_for(0.025)))
    assert buffer.underruns == 0 and buffer.samples_discarded == 0
    assert buffer.drift.drift_ppm == pytest.approx(-ppm, rel=0.05)
    assert abs(np.median(levels) - TARGET) < SWING


def test_identical_clocks_keep_the_backlog_without_net_correction():
    buffer, levels = run_clocks(0, 300)
    assert buffer.underruns == 0 and buffer.samples_discarded == 0
    assert levels.min() >= TARGET - BLOCK and levels.max() <= TARGET + BLOCK
    assert buffer.drift.samples_inserted == buffer.drift.samples_dropped == 0
    assert buffer.drift.drift_ppm == 0


def test_the_recent_backlogs_percentile_is_numpys_to_the_bit():
    """The window kept sorted as reads come and go gives what np.percentile of the window would, exactly."""
    rng = np.random.default_rng(5)
    recent = RecentBacklogs(window_samples=4410)
    window: list[tuple[int, int]] = []
    samples_read = 0
    for _ in range(5000):
        samples_read += int(rng.integers(1, 900))
        backlog = int(rng.integers(-50, 5000))
        recent.add(samples_read, backlog)
        window = [(at, b) for at, b in window + [(samples_read, backlog)] if at > samples_read - 4410]
        for percent in (0.0, 50.0, 90.0, 100.0):
            assert recent.percentile(percent) == float(np.percentile([b for _, b in window], percent))
