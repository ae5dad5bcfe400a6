"""Clock drift compensation on fake time: the loop alone, then the whole receiver against a drifting card."""

import random

import numpy as np
import pytest
from simulation import WALL_OFFSET_S, Datagram, SoundCard, tone_pcm, transmit

from listener.playout import (SYNC_DEADBAND_S, SYNC_LEARNING_S, SYNC_MAX_CORRECTION, SYNC_RESPONSE_S,
                              SYNC_SMOOTHING_S)
from listener.receiver import Receiver, ReceiverConfig
from rtpwire.audio import L16_STEREO
from sound.drift import MAX_CORRECTION, DriftCompensator, fit

RATE = 44100
FRAMES = 441  # 10 ms reads, as the listener's sound card callback asks


def run_loop(compensator: DriftCompensator, seconds: float, drift_ppm: float, noise_s: float = 0.0,
             error_samples: float = 0.0, seed: int = 3) -> tuple[float, float]:
    """Drives the loop alone as a reader whose clock runs `drift_ppm` fast, measured with gaussian jitter;
    returns the final error and the largest one (samples)."""
    rng = random.Random(seed)
    worst = abs(error_samples)
    for _ in range(round(seconds * RATE / FRAMES)):
        measured = error_samples + (rng.gauss(0, noise_s * RATE) if noise_s else 0.0)
        error_samples += compensator.take(measured, FRAMES) - FRAMES + FRAMES * drift_ppm * 1e-6
        worst = max(worst, abs(error_samples))
    return error_samples, worst


# --- fit: one block made exactly `frames` long --------------------------------------------------------------

def test_fit_unchanged_when_already_right():
    pcm = tone_pcm(0.01)
    assert fit(pcm, len(pcm)) is pcm


def test_fit_drops_the_quietest_sample():
    pcm = np.array([[900, -900], [5, -3], [700, 700], [-800, 10]], dtype=np.int16)
    assert fit(pcm, 3).tolist() == [[900, -900], [700, 700], [-800, 10]]


def test_fit_repeats_the_quietest_sample():
    pcm = np.array([[900, -900], [5, -3], [700, 700]], dtype=np.int16)
    assert fit(pcm, 4).tolist() == [[900, -900], [5, -3], [5, -3], [700, 700]]


def test_fit_quietness_counts_the_loudest_channel():
    pcm = np.array([[100, 100], [0, 3000], [200, -200]], dtype=np.int16)
    assert fit(pcm, 2).tolist() == [[0, 3000], [200, -200]]


def test_fit_several_samples_at_distinct_points():
    pcm = np.array([[1000], [1], [1000], [2], [1000]], dtype=np.int16)
    assert fit(pcm, 3).tolist() == [[1000], [1000], [1000]]
    assert fit(pcm, 7).tolist() == [[1000], [1], [1], [1000], [2], [2], [1000]]


def test_fit_extreme_values_do_not_overflow():
    pcm = np.array([[-32768, -32768], [1, 1], [32767, 32767]], dtype=np.int16)
    assert fit(pcm, 2).tolist() == [[-32768, -32768], [32767, 32767]]


def test_fit_from_nothing_is_silence():
    assert fit(np.zeros((0, 2), dtype=np.int16), 4).tolist() == [[0, 0]] * 4


# --- the loop ---------------------------------------------------------------------------------------------

def test_identical_clocks_never_correct():
    compensator = DriftCompensator(RATE)
    rng = random.Random(1)
    for _ in range(60_000):  # ten minutes, with the ±1 sample rounding of a real schedule
        assert compensator.take(rng.uniform(-1, 1), FRAMES) == FRAMES
    assert compensator.samples_inserted == compensator.samples_dropped == 0
    assert compensator.drift_ppm == 0


@pytest.mark.parametrize("drift_ppm", [500, -500, 100, -37])
def test_drift_measured_and_error_bounded(drift_ppm):
    compensator = DriftCompensator(RATE)
    final, worst = run_loop(compensator, 600, drift_ppm)
    assert compensator.drift_ppm == pytest.approx(drift_ppm, rel=0.01)
    assert worst < (compensator.deadband_s + 0.0015) * RATE
    assert abs(final) <= 1.2 * compensator.deadband_s * RATE
    expected = 600 * RATE * abs(drift_ppm) * 1e-6  # less the error let grow up to the dead band at first
    corrections = compensator.samples_inserted if drift_ppm > 0 else compensator.samples_dropped
    assert expected - 1.2 * compensator.deadband_s * RATE <= corrections <= expected
    assert (compensator.samples_dropped if drift_ppm > 0 else compensator.samples_inserted) == 0


def test_measurement_jitter_hardly_churns():
    """2 ms of jitter on every reading (a sound card's timing reports) with no drift at all."""
    compensator = DriftCompensator(RATE)
    _, worst = run_loop(compensator, 600, 0, noise_s=0.002)
    assert worst < 0.001 * RATE
    assert compensator.samples_inserted + compensator.samples_dropped < 0.0001 * 600 * RATE
    assert abs(compensator.drift_ppm) < 5


def test_a_step_is_taken_back_without_learning_it_as_drift():
    compensator = DriftCompensator(RATE)
    final, _ = run_loop(compensator, 30, 0, error_samples=0.001 * RATE)
    assert abs(final) <= compensator.deadband_s * RATE
    assert abs(compensator.drift_ppm) < 10


def test_correction_is_capped():
    """Drift beyond any crystal's is corrected at the cap, no faster; what the loop learns as drift stays
    within the cap too, since an error taken back at full speed is not learnt (no wind-up)."""
    compensator = DriftCompensator(RATE)
    run_loop(compensator, 60, 5000)
    assert 0 < compensator.drift <= MAX_CORRECTION
    assert 0.95 * MAX_CORRECTION * 60 * RATE <= compensator.samples_inserted <= MAX_CORRECTION * 60 * RATE + 1


def test_a_step_taken_back_at_full_speed_is_not_learnt_as_drift():
    """A 20 ms step of the error (a sound server changing its latency) with clocks that agree: taken back at the
    cap, after which the loop has learnt next to no drift, so it does not overshoot."""
    compensator = DriftCompensator(RATE, deadband_s=SYNC_DEADBAND_S, response_s=SYNC_RESPONSE_S,
                                   smoothing_s=SYNC_SMOOTHING_S, learning_s=SYNC_LEARNING_S,
                                   max_correction=SYNC_MAX_CORRECTION)  # the listener's
    error = 0.020 * RATE
    for _ in range(round(10 * RATE / FRAMES)):
        error -= FRAMES - compensator.take(error, FRAMES)
    assert abs(error) < 0.0001 * RATE
    assert abs(compensator.drift_ppm) < 100


def test_restart_forgets_the_error_not_the_drift():
    compensator = DriftCompensator(RATE)
    run_loop(compensator, 300, 200)
    learnt_ppm = compensator.drift_ppm
    assert learnt_ppm == pytest.approx(200, rel=0.1)
    compensator.restart()
    assert compensator.smoothed_error_s == 0
    assert compensator.take(0, FRAMES) in (FRAMES - 1, FRAMES)  # still correcting at the learnt rate
    assert compensator.drift_ppm == learnt_ppm


# --- the receiver against a sound card whose clock drifts, for a simulated hour ---------------------------

@pytest.mark.slow  # an hour of fake time takes half a minute
@pytest.mark.parametrize("card_ppm", [500, -500])
def test_receiver_holds_its_latency_for_an_hour_of_drift(card_ppm):
    latency_s = 0.06
    receiver = Receiver(ReceiverConfig(L16_STEREO, latency_s, WALL_OFFSET_S), 0.0)
    sent = transmit(tone_pcm(1.0), seconds=3601, samples_per_packet=1102)
    arrivals = (Datagram(d.time_s + 0.001, d.is_rtp, d.data) for d in sent)
    card = SoundCard(receiver, arrivals, card_ppm=card_ppm)
    for step in range(1, 361):
        card.until(step * 10.0)
        assert 0 < receiver.buffered_s() < latency_s + 0.025 + 0.004  # target, plus one packet, plus the band
    stats = receiver.stats(3600.0)
    latency = receiver.playout.latency
    print(f"card {card_ppm:+} ppm for an hour: measured {stats['drift_ppm']} ppm, {stats['samples_inserted']} "
          f"inserted, {stats['samples_dropped']} dropped, latency {latency.percentile(0.0) * 1e3:.2f}"
          f"..{latency.max_s * 1e3:.2f} ms (target {latency_s * 1e3:.0f}), resyncs {stats['resyncs']}")
    assert stats["underruns"] == 0 and stats["resyncs"] == 0 and stats["samples_missing"] == 0
    assert stats["latency_samples_added"] == stats["latency_samples_removed"] == 0  # drift is no jitter
    assert stats["drift_ppm"] == pytest.approx(card_ppm, abs=2)
    corrections = stats["samples_inserted"] if card_ppm > 0 else stats["samples_dropped"]
    assert corrections == pytest.approx(3600 * L16_STEREO.rate * abs(card_ppm) * 1e-6, rel=0.01)
    band_s = receiver.playout.drift.deadband_s + 0.0015  # the dead band, and how far past it the loop lets drift go
    assert latency_s - band_s < latency.percentile(0.0) and latency.max_s < latency_s + band_s
