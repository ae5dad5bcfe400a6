"""A room's channel choice and volume: exact samples, and a ramp rather than a step."""

import numpy as np
import pytest

from listener.room import RAMP_S, VOLUME_STEP, ChannelChoice, Room, Volume, choose_channels

RATE = 44100
RAMP_SAMPLES = round(RAMP_S * RATE)


def two_channels() -> np.ndarray:
    """Left and right different, odd sums (the mono average rounds), and the extremes."""
    return np.array([[1000, -3], [32767, 32767], [-32768, -32767], [5, 6], [0, -1]], dtype=np.int16)


@pytest.mark.parametrize("choice, expected", [
    (ChannelChoice.LEFT, [1000, 32767, -32768, 5, 0]),
    (ChannelChoice.RIGHT, [-3, 32767, -32767, 6, -1]),
    (ChannelChoice.MONO, [498, 32767, -32768, 6, 0]),  # (1000 - 3) / 2 = 498.5 rounds to even
])
def test_a_chosen_channel_plays_on_every_output_channel(choice, expected):
    out = choose_channels(two_channels(), choice)
    assert out.dtype == np.int16 and out.shape == (5, 2)
    assert out[:, 0].tolist() == expected and out[:, 1].tolist() == expected


def test_stereo_and_a_one_channel_stream_are_left_untouched():
    pcm = two_channels()
    assert choose_channels(pcm, ChannelChoice.STEREO) is pcm
    mono = pcm[:, :1]
    assert choose_channels(mono, ChannelChoice.LEFT) is mono


def test_full_volume_returns_the_samples_themselves():
    pcm = two_channels()
    assert Volume(100, RATE).apply(pcm) is pcm


def test_half_volume_halves_the_amplitude_rounded():
    out = Volume(50, RATE).apply(two_channels())
    assert out.dtype == np.int16
    assert out.tolist() == np.round(two_channels() * 0.5).astype(np.int16).tolist()
    assert out[0].tolist() == [500, -2]  # -1.5 rounds to even


def test_a_change_ramps_linearly_then_holds_exactly():
    volume = Volume(100, RATE)
    ones = np.full((RAMP_SAMPLES + 100, 1), 10000, dtype=np.int16)
    volume.toggle_mute()
    out = volume.apply(ones)[:, 0]
    assert out[0] == round(10000 * (1 - 1 / RAMP_SAMPLES))
    assert np.all(np.diff(out[:RAMP_SAMPLES].astype(int)) <= 0)  # down, no step up
    assert np.abs(np.diff(out[:RAMP_SAMPLES].astype(int))).max() <= 10000 / RAMP_SAMPLES + 1  # no step
    assert not out[RAMP_SAMPLES - 1:].any()
    assert not volume.apply(ones).any()  # and stays there


def test_a_ramp_continues_across_reads():
    split, whole = Volume(80, RATE), Volume(80, RATE)
    pcm = np.full((RAMP_SAMPLES * 2, 2), 20000, dtype=np.int16)
    split.step(-12)
    whole.step(-12)
    pieces = [split.apply(pcm[i:i + 100]) for i in range(0, len(pcm), 100)]
    assert np.array_equal(np.concatenate(pieces), whole.apply(pcm))


def test_back_to_full_volume_after_a_ramp_is_bit_exact_again():
    volume = Volume(30, RATE)
    volume.step(+14)
    pcm = two_channels()
    for _ in range(RAMP_SAMPLES // len(pcm) + 1):
        volume.apply(pcm)
    assert volume.apply(pcm) is pcm


def test_keys_step_the_volume_within_bounds_and_unmute():
    volume = Volume(95, RATE)
    volume.step(+1)
    volume.step(+1)
    assert volume.percent == 100
    volume.toggle_mute()
    assert volume.muted and volume.target_gain == 0.0 and volume.describe() == "muted (volume 100%)"
    volume.step(-1)
    assert not volume.muted and volume.percent == 100 - VOLUME_STEP and volume.describe() == "volume 95%"
    for _ in range(30):
        volume.step(-1)
    assert volume.percent == 0


def test_a_volume_out_of_range_is_refused():
    with pytest.raises(ValueError, match="volume 101: expected 0 to 100"):
        Volume(101, RATE)


def test_a_room_chooses_the_channel_then_sets_the_volume():
    room = Room(ChannelChoice.RIGHT, Volume(50, RATE))
    assert room.apply(two_channels())[:, 0].tolist() == [-2, 16384, -16384, 3, 0]  # halves of -3, 32767, ...
