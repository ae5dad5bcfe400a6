"""The station's volume: bit-exact at 100 %, silence at 0 %, a ramp without steps, and never a wrapped sample."""

from __future__ import annotations

import numpy as np
import pytest

from station.gain import RAMP_S, Gain

RATE = 44100
RAMP_SAMPLES = round(RAMP_S * RATE)


def noise(frames: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(-32768, 32768, size=(frames, 2), dtype=np.int16)


def full_scale(frames: int) -> np.ndarray:
    """Alternating extremes, the worst case for rounding and wraparound."""
    column = np.where(np.arange(frames) % 2 == 0, 32767, -32768).astype(np.int16)
    return np.stack([column, column[::-1]], axis=1)


def constant(frames: int, value: int = 10000) -> np.ndarray:
    return np.full((frames, 2), value, dtype=np.int16)


def in_blocks(gain: Gain, pcm: np.ndarray, block: int = 220) -> np.ndarray:
    return np.concatenate([gain.apply(pcm[i: i + block]) for i in range(0, len(pcm), block)])


def test_full_volume_is_a_bit_exact_passthrough():
    pcm = noise(1000)
    out = Gain(RATE).apply(pcm)
    assert out is pcm  # not even copied


def test_full_volume_again_after_a_ramp_is_bit_exact():
    gain = Gain(RATE)
    gain.set_percent(30)
    in_blocks(gain, noise(RAMP_SAMPLES * 2))
    gain.set_percent(100)
    in_blocks(gain, noise(RAMP_SAMPLES * 2))  # the ramp back up
    pcm = noise(500, seed=2)
    assert gain.apply(pcm) is pcm


def test_zero_is_silence_after_the_ramp():
    gain = Gain(RATE)
    gain.set_percent(0)
    in_blocks(gain, noise(RAMP_SAMPLES))
    out = gain.apply(full_scale(441))
    assert out.dtype == np.int16 and out.shape == (441, 2)
    assert not out.any()


def test_half_volume_halves_the_amplitude_rounding_to_nearest():
    gain = Gain(RATE)
    gain.set_percent(50)
    in_blocks(gain, noise(RAMP_SAMPLES))
    pcm = np.array([[10000, -10000], [3, -3], [32767, -32768]], dtype=np.int16)
    np.testing.assert_array_equal(gain.apply(pcm), [[5000, -5000], [2, -2], [16384, -16384]])


def test_the_change_is_a_monotonic_ramp_of_the_ramp_length():
    gain = Gain(RATE)
    gain.set_percent(20)
    out = in_blocks(gain, constant(RAMP_SAMPLES * 3))[:, 0].astype(int)
    ramp = out[:RAMP_SAMPLES]
    assert np.all(np.diff(ramp) <= 0)  # going down, never back up
    assert ramp[0] < 10000 and out[RAMP_SAMPLES - 1] == 2000
    assert np.all(out[RAMP_SAMPLES:] == 2000)
    assert np.max(np.abs(np.diff(out))) <= 10000 * 0.8 / RAMP_SAMPLES + 1  # no step: a click would be one


def test_a_ramp_up_is_monotonic_too():
    gain = Gain(RATE)
    gain.set_percent(0)
    in_blocks(gain, constant(RAMP_SAMPLES))
    gain.set_percent(100)
    out = in_blocks(gain, constant(RAMP_SAMPLES * 2))[:, 0].astype(int)
    assert np.all(np.diff(out) >= 0)
    assert out[0] > 0 and np.all(out[RAMP_SAMPLES - 1:] == 10000)


def test_a_change_during_a_ramp_starts_from_where_it_is():
    gain = Gain(RATE)
    gain.set_percent(0)
    half = gain.apply(constant(RAMP_SAMPLES // 2))[:, 0].astype(int)
    gain.set_percent(100)
    after = gain.apply(constant(RAMP_SAMPLES))[:, 0].astype(int)
    assert abs(after[0] - half[-1]) <= 10000 / RAMP_SAMPLES + 1  # no jump where the direction turns
    assert after[-1] == 10000


@pytest.mark.parametrize("percent", [0, 1, 37, 50, 99, 100])
def test_no_wraparound_at_full_scale(percent):
    gain = Gain(RATE)
    gain.set_percent(percent)
    pcm = full_scale(RAMP_SAMPLES * 2)
    out = in_blocks(gain, pcm).astype(int)
    assert np.all(np.abs(out) <= np.abs(pcm.astype(int)))  # never louder, so never past full scale
    assert np.all((out == 0) | (np.sign(out) == np.sign(pcm.astype(int))))  # never flipped by a wrap


def test_the_ramp_is_the_same_whatever_the_block_size():
    pcm = noise(RAMP_SAMPLES * 2)
    outs = []
    for block in (1, 220, 10_000):
        gain = Gain(RATE)
        gain.set_percent(25)
        outs.append(in_blocks(gain, pcm, block))
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_array_equal(outs[1], outs[2])


def test_empty_block_during_a_ramp():
    gain = Gain(RATE)
    gain.set_percent(10)
    assert gain.apply(constant(0)).shape == (0, 2)
    assert gain.apply(constant(1))[0, 0] < 10000


def test_mono():
    gain = Gain(RATE)
    gain.set_percent(50)
    in_blocks(gain, noise(RAMP_SAMPLES)[:, :1])
    np.testing.assert_array_equal(gain.apply(np.array([[1000]], dtype=np.int16)), [[500]])


def test_percent_is_what_was_asked():
    gain = Gain(RATE)
    assert gain.percent == 100
    gain.set_percent(40)
    assert gain.percent == 40  # at once, though the ramp is not there yet
