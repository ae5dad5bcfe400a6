"""Packet loss concealment: gaps made up from the audio before them, without a click, fading out if they last."""

import numpy as np
from simulation import largest_step, sine_pcm, tone_pcm

from listener.concealment import FADE_S, FULL_S, SPLICE_S, Concealer
from rtpwire.audio import L16_STEREO

RATE = L16_STEREO.rate
READ = 441  # 10 ms reads, as the listener's outputs pull
FULL = L16_STEREO.samples_for(FULL_S)
FADE = L16_STEREO.samples_for(FADE_S)
SPLICE = L16_STEREO.samples_for(SPLICE_S)


def conceal(source: np.ndarray, gaps: list[tuple[int, int]], reads: list[int] | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
    """`source` with the samples of `gaps` (start, end) lost and made up, read `reads` samples at a time (10 ms
    reads by default); and the mask of made-up samples that are heard."""
    lost = np.zeros(len(source), dtype=bool)
    for start, end in gaps:
        lost[start:end] = True
    arrived = np.where(lost[:, None], 0, source).astype(source.dtype)
    concealer = Concealer(RATE, source.shape[1])
    sizes = reads or [READ] * -(-len(source) // READ)
    bounds = np.cumsum([0] + sizes)
    out, heard = zip(*(concealer.fill(arrived[a:b], lost[a:b]) for a, b in zip(bounds[:-1], bounds[1:])))
    return np.concatenate(out), np.concatenate(heard)


def rms(pcm: np.ndarray) -> float:
    return float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2)))


def test_nothing_lost_passes_through_bit_for_bit():
    pcm = tone_pcm(0.01)
    out, heard = Concealer(RATE, 2).fill(pcm, np.zeros(len(pcm), dtype=bool))
    assert out is pcm and not heard.any()


def test_a_lost_packet_in_a_tone_is_bridged_without_a_click():
    source = sine_pcm(0.5)
    gap = (10_000, 10_220)  # one 5 ms packet
    out, heard = conceal(source, [gap])
    assert heard[gap[0]:gap[1]].all() and heard.sum() == 220
    assert largest_step(out) <= 1.05 * largest_step(source)  # into the gap and out of it, as smooth as the tone
    assert abs(rms(out[gap[0]:gap[1]]) / rms(source[gap[0]:gap[1]]) - 1) < 0.02  # its energy kept
    assert np.abs(out.astype(int) - source).max() < 0.02 * 10000  # the tone itself, continued
    assert np.array_equal(out[gap[1] + SPLICE:], source[gap[1] + SPLICE:])  # the source again after the crossfade


def test_a_lost_packet_in_a_chord_is_bridged_without_a_click():
    """Three notes whose common period is far beyond the search: the best match is only approximate."""
    chord = sum(sine_pcm(0.5, f, 6000).astype(np.int32) for f in (261.6, 329.6, 392.0)).astype(np.int16)
    gap = (12_345, 12_565)
    out, _ = conceal(chord, [gap])
    assert largest_step(out) <= 1.5 * largest_step(chord)
    assert 0.7 < rms(out[gap[0]:gap[1]]) / rms(chord[gap[0]:gap[1]]) < 1.3


def test_a_long_gap_fades_to_silence_and_the_audio_fades_back_in():
    source = sine_pcm(1.0)
    gap = (10_000, 10_000 + L16_STEREO.samples_for(0.3))
    out, heard = conceal(source, [gap])
    made = out[gap[0]:gap[1], 0].astype(np.float64)
    assert rms(made[:FULL]) > 0.95 * rms(source[gap[0]:gap[0] + FULL])  # a packet or two: full level
    envelope = [np.abs(made[i: i + 110]).max() for i in range(FULL, FULL + FADE, 110)]
    assert all(later <= earlier + 50 for earlier, later in zip(envelope, envelope[1:]))  # then fading, never back
    assert not made[FULL + FADE:].any()  # then silence, as an outage should sound
    assert heard[gap[0]:gap[0] + FULL + FADE - 1].all() and not heard[gap[0] + FULL + FADE:].any()
    assert largest_step(out) <= largest_step(source)  # the return is a 2 ms fade-in, no step


def test_a_gap_made_up_the_same_however_reads_divide_it():
    """State is carried across reads, so a gap may span any number of them: whatever their sizes, the result is
    the same (and the same every time)."""
    source = tone_pcm(0.3)
    gaps = [(1000, 1001), (3000, 3220), (3250, 3470), (5000, 9000), (9100, 9110)]  # the 3rd cuts a crossfade short
    whole, whole_heard = conceal(source, gaps, reads=[len(source)])
    sizes = np.random.default_rng(5).integers(1, 700, size=len(source)).tolist()
    cut = np.cumsum(sizes)
    sizes = sizes[:int(np.searchsorted(cut, len(source)))]
    sizes.append(len(source) - sum(sizes))
    pieces, pieces_heard = conceal(source, gaps, reads=sizes)
    again, _ = conceal(source, gaps, reads=sizes)
    assert np.array_equal(whole, pieces) and np.array_equal(whole_heard, pieces_heard) and np.array_equal(pieces, again)


def test_silence_not_marked_for_concealment_stays_silence():
    """Silence the station meant (a pause) arrives as zeros that are not to be made up: it stays silence."""
    source = sine_pcm(0.2)
    source[4000:6000] = 0
    out, heard = conceal(source, [])
    assert np.array_equal(out, source) and not heard.any()


def test_a_gap_just_before_silence_fades_into_it():
    source = sine_pcm(0.2)
    source[4220:] = 0
    out, _ = conceal(source, [(4000, 4220)])
    assert not out[4220 + SPLICE:].any()
    assert largest_step(out) <= 1.05 * largest_step(source[:4000])


def test_splice_crossfades_a_jump_in_the_audio():
    """After the play position jumped (a resync), the audio goes on from elsewhere: crossfaded, not a step."""
    source = sine_pcm(0.2)
    jumped = np.concatenate((source[:4410], source[4410 + 25:]))  # a zero crossing, then a quarter period on: a peak
    assert largest_step(jumped) > 10 * largest_step(source)  # as it would be heard without the splice
    concealer = Concealer(RATE, 2)
    before, _ = concealer.fill(jumped[:4410], np.zeros(4410, dtype=bool))
    concealer.splice()
    after, _ = concealer.fill(jumped[4410:], np.zeros(len(jumped) - 4410, dtype=bool))
    out = np.concatenate((before, after))
    assert largest_step(out) < 2 * largest_step(source)
    assert np.array_equal(out[4410 + SPLICE:], jumped[4410 + SPLICE:])
