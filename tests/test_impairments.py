"""The impairment model on fake time: each impairment alone, reproducibility by seed, Gilbert–Elliott statistics."""

from __future__ import annotations

import statistics
from dataclasses import replace

import pytest

from relay.impairments import BurstLoss, Impairer, Impairments

PACKET = bytes(range(12)) + bytes(range(100, 200))  # a 12-byte header and a 100-byte payload
SPACING_S = 0.005


Fates = list[list[tuple[float, bytes]]]  # for each datagram, its copies: (deliver at, datagram)


def run(impairments: Impairments, count: int = 2000, data: bytes = PACKET, **options) -> tuple[Impairer, Fates]:
    """The impairer after `count` datagrams sent every SPACING_S, and what it said of each."""
    impairer = Impairer(impairments, **options)
    return impairer, [impairer.process(data, i * SPACING_S) for i in range(count)]


def lost_indices(fates: Fates) -> list[int]:
    return [i for i, copies in enumerate(fates) if not copies]


def bursts(fates: Fates) -> list[int]:
    """The lengths of the runs of consecutive losses."""
    runs, run_length = [], 0
    for copies in fates:
        if copies:
            if run_length:
                runs.append(run_length)
            run_length = 0
        else:
            run_length += 1
    return runs + ([run_length] if run_length else [])


def counts_add_up(impairer: Impairer) -> bool:
    c = impairer.counts
    return c.received == c.dropped_random + c.dropped_burst + c.delivered - c.duplicated


# --- a clean link -----------------------------------------------------------------------------------------------


def test_no_impairments_delivers_every_datagram_at_once_untouched():
    impairer, fates = run(Impairments(), count=100)
    assert fates == [[(i * SPACING_S, PACKET)] for i in range(100)]
    assert impairer.counts.as_dict() == {"received": 100, "dropped_random": 0, "dropped_burst": 0, "duplicated": 0,
                                         "reordered": 0, "corrupted": 0, "delivered": 100, "dropped": 0}


def test_fixed_delay_keeps_order_and_spacing():
    _, fates = run(Impairments(delay_ms=40), count=100)
    times = [copies[0][0] for copies in fates]
    assert times == pytest.approx([0.04 + i * SPACING_S for i in range(100)])


# --- each impairment alone ----------------------------------------------------------------------------------------


def test_random_loss_rate_and_independence():
    impairer, fates = run(Impairments(loss=0.05, seed=1), count=40_000)
    lost = impairer.counts.dropped_random
    assert impairer.counts.dropped == lost == len(lost_indices(fates))
    assert lost / 40_000 == pytest.approx(0.05, abs=0.005)
    assert statistics.mean(bursts(fates)) == pytest.approx(1 / 0.95, abs=0.03)  # independent: runs are short
    assert impairer.counts.dropped_burst == 0 and counts_add_up(impairer)


def test_loss_of_zero_and_of_one():
    assert run(Impairments(loss=0.0), count=500)[0].counts.dropped == 0
    assert run(Impairments(loss=1.0), count=500)[0].counts.delivered == 0


def test_jitter_is_uniform_from_the_fixed_delay_up_and_reorders():
    impairer, fates = run(Impairments(delay_ms=10, jitter_ms=20, seed=2), count=5000)
    delays_ms = [(copies[0][0] - i * SPACING_S) * 1000 for i, copies in enumerate(fates)]
    assert 10 <= min(delays_ms) < 10.1 and 29.9 < max(delays_ms) < 30
    assert statistics.mean(delays_ms) == pytest.approx(20, abs=0.3)
    times = [copies[0][0] for copies in fates]
    overtaken = sum(later < earlier for earlier, later in zip(times, times[1:]))
    assert overtaken > 0.2 * len(times)  # jitter beyond the spacing reorders, as on a real network
    assert impairer.counts.reordered == 0  # that count is for explicit holding back only


def test_jitter_within_the_spacing_never_reorders():
    _, fates = run(Impairments(jitter_ms=SPACING_S * 1000 * 0.99, seed=3), count=2000)
    times = [copies[0][0] for copies in fates]
    assert times == sorted(times)


def test_reorder_holds_packets_back_by_the_reorder_delay():
    impairer, fates = run(Impairments(reorder=0.1, reorder_delay_ms=12, seed=4), count=10_000)
    held = [i for i, copies in enumerate(fates) if copies[0][0] > i * SPACING_S]
    assert impairer.counts.reordered == len(held)
    assert len(held) / 10_000 == pytest.approx(0.1, abs=0.01)
    assert all(fates[i][0][0] == pytest.approx(i * SPACING_S + 0.012) for i in held)
    assert counts_add_up(impairer)


def test_duplicates_are_identical_copies_each_with_its_own_jitter():
    impairer, fates = run(Impairments(duplicate=0.2, jitter_ms=3, seed=5), count=10_000)
    doubled = [copies for copies in fates if len(copies) == 2]
    assert impairer.counts.duplicated == len(doubled)
    assert len(doubled) / 10_000 == pytest.approx(0.2, abs=0.015)
    assert all(a[1] == b[1] == PACKET for a, b in doubled)
    assert sum(a[0] != b[0] for a, b in doubled) == len(doubled)
    assert impairer.counts.delivered == 10_000 + len(doubled) and counts_add_up(impairer)


def test_corruption_changes_one_payload_byte_never_the_header_or_the_length():
    impairer, fates = run(Impairments(corrupt=0.3, seed=6), count=5000)
    damaged = [copies[0][1] for copies in fates if copies[0][1] != PACKET]
    assert impairer.counts.corrupted == len(damaged)
    assert len(damaged) / 5000 == pytest.approx(0.3, abs=0.02)
    positions = set()
    for data in damaged:
        assert len(data) == len(PACKET) and data[:12] == PACKET[:12]
        differing = [i for i in range(len(data)) if data[i] != PACKET[i]]
        assert len(differing) == 1
        positions.add(differing[0])
    assert positions == set(range(12, len(PACKET)))  # anywhere in the payload, the last byte included


def test_corruption_spares_the_header_it_is_told_of():
    impairer, fates = run(Impairments(corrupt=1.0, seed=7), count=500, header_bytes=100)
    assert all(copies[0][1][:100] == PACKET[:100] != copies[0][1] for copies in fates)
    assert impairer.counts.corrupted == 500


def test_datagram_without_payload_is_never_corrupted():
    impairer, fates = run(Impairments(corrupt=1.0, seed=8), count=100, data=PACKET[:12])
    assert all(copies == [(i * SPACING_S, PACKET[:12])] for i, copies in enumerate(fates))
    assert impairer.counts.corrupted == 0


def test_duplicated_corrupted_datagram_is_corrupted_alike_in_both_copies():
    _, fates = run(Impairments(corrupt=1.0, duplicate=1.0, seed=9), count=50)
    assert all(len(copies) == 2 and copies[0][1] == copies[1][1] != PACKET for copies in fates)


# --- Gilbert–Elliott burst loss -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("loss", "burst_packets"), [(0.05, 3), (0.02, 8), (0.2, 1.5)])
def test_burst_loss_mean_loss_and_mean_burst_length(loss, burst_packets):
    burst = BurstLoss.from_mean(loss, burst_packets)
    assert burst.mean_loss == pytest.approx(loss)
    impairer, fates = run(Impairments(burst=burst, seed=10), count=200_000)
    assert impairer.counts.dropped_burst / 200_000 == pytest.approx(loss, rel=0.08)
    assert statistics.mean(bursts(fates)) == pytest.approx(burst_packets, rel=0.08)
    assert impairer.counts.dropped_random == 0 and counts_add_up(impairer)


def test_burst_loss_comes_in_runs_random_loss_does_not():
    _, burst_fates = run(Impairments(burst=BurstLoss.from_mean(0.05, 4), seed=11), count=50_000)
    _, random_fates = run(Impairments(loss=0.05, seed=11), count=50_000)
    assert max(bursts(burst_fates)) > 3 * max(bursts(random_fates)) / 2
    assert statistics.mean(bursts(burst_fates)) > 3 * statistics.mean(bursts(random_fates))


def test_burst_loss_in_bad_state_below_one():
    burst = BurstLoss(p_enter=0.01, p_leave=0.1, loss_in_bad=0.5)
    impairer, _ = run(Impairments(burst=burst, seed=12), count=200_000)
    assert burst.mean_loss == pytest.approx(0.5 * 0.01 / 0.11)
    assert impairer.counts.dropped_burst / 200_000 == pytest.approx(burst.mean_loss, rel=0.1)


def test_burst_and_random_loss_counted_apart():
    impairer, fates = run(Impairments(loss=0.05, burst=BurstLoss.from_mean(0.05, 3), seed=13), count=40_000)
    counts = impairer.counts
    assert counts.dropped_burst > 1000 and counts.dropped_random > 1000
    assert counts.dropped == counts.dropped_random + counts.dropped_burst == len(lost_indices(fates))
    assert counts_add_up(impairer)


def test_burst_loss_from_mean_edges():
    assert BurstLoss.from_mean(0.0, 3).mean_loss == 0.0
    assert BurstLoss.from_mean(0.5, 1) == BurstLoss(1.0, 1.0)  # alternate: lost, kept, lost...
    with pytest.raises(ValueError, match="at most 50%"):
        BurstLoss.from_mean(0.6, 1)
    with pytest.raises(ValueError, match="at least 1 packet"):
        BurstLoss.from_mean(0.1, 0.5)
    with pytest.raises(ValueError, match="up to"):
        BurstLoss.from_mean(1.0, 3)


def test_burst_loss_that_never_ends_is_refused():
    with pytest.raises(ValueError, match="never end"):
        BurstLoss(p_enter=0.1, p_leave=0.0)


# --- reproducibility ----------------------------------------------------------------------------------------------

EVERYTHING = Impairments(loss=0.03, burst=BurstLoss.from_mean(0.03, 3), delay_ms=5, jitter_ms=20, reorder=0.05,
                         duplicate=0.05, corrupt=0.05, seed=42)


def test_same_seed_same_fates():
    first, fates = run(EVERYTHING)
    second, again = run(EVERYTHING)
    assert fates == again and first.counts == second.counts


def test_another_seed_other_fates():
    _, fates = run(EVERYTHING)
    _, other = run(replace(EVERYTHING, seed=43))
    assert lost_indices(fates) != lost_indices(other)


def test_another_salt_other_fates():
    _, rtp = run(EVERYTHING, salt="rtp")
    _, rtcp = run(EVERYTHING, salt="rtcp")
    assert lost_indices(rtp) != lost_indices(rtcp)


def test_the_same_seed_loses_the_same_packets_whatever_else_is_on():
    """Each impairment draws from a generator of its own: adding jitter, duplication or corruption leaves the
    losses of a seed as they were, so runs with and without them can be compared packet for packet."""
    lossy = Impairments(loss=0.05, burst=BurstLoss.from_mean(0.05, 3), seed=14)
    _, alone = run(lossy)
    _, with_everything = run(replace(EVERYTHING, loss=lossy.loss, burst=lossy.burst, seed=14))
    assert lost_indices(alone) == lost_indices(with_everything)


def test_random_and_burst_loss_drawn_independently():
    """With both on, a seed loses exactly the union of what each loses alone."""
    burst = BurstLoss.from_mean(0.05, 3)
    _, both = run(Impairments(loss=0.05, burst=burst, seed=15))
    _, random_only = run(Impairments(loss=0.05, seed=15))
    _, burst_only = run(Impairments(burst=burst, seed=15))
    assert set(lost_indices(both)) == set(lost_indices(random_only)) | set(lost_indices(burst_only))


def test_counters_add_up_with_everything_on():
    impairer, fates = run(EVERYTHING, count=20_000)
    counts = impairer.counts
    assert counts.received == 20_000
    assert counts.delivered == sum(len(copies) for copies in fates)
    assert min(counts.dropped_random, counts.dropped_burst, counts.duplicated, counts.reordered,
               counts.corrupted) > 200
    assert counts_add_up(impairer)


# --- configuration ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["loss", "reorder", "duplicate", "corrupt"])
@pytest.mark.parametrize("value", [-0.1, 1.5])
def test_probabilities_out_of_range_refused(field, value):
    with pytest.raises(ValueError, match=f"{field} is a probability"):
        Impairments(**{field: value})


@pytest.mark.parametrize("field", ["delay_ms", "jitter_ms", "reorder_delay_ms"])
def test_negative_delays_refused(field):
    with pytest.raises(ValueError, match=f"{field} cannot be negative"):
        Impairments(**{field: -1.0})


def test_describe_names_what_is_on_and_the_seed():
    assert Impairments(seed=3).describe() == "no impairments; seed 3"
    assert Impairments(loss=0.05, jitter_ms=20, seed=9).describe() == "loss 0.05, delay 0..20 ms; seed 9"
    text = EVERYTHING.describe()
    for part in ("loss 0.03", "burst loss 0.03 in runs of 3", "delay 5..25 ms", "reorder 0.05 (+10 ms)",
                 "duplicate 0.05", "corrupt 0.05", "seed 42"):
        assert part in text
