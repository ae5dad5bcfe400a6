"""The peers benchmark's arithmetic and table, on hand-made figures (no processes)."""

import pytest

from bench.peers import MIB, Figures, Usage, mean_figures, median_ratio, rotated, table


def rows(text: str) -> dict[str, list[str]]:
    """The table's rows by their first cell, each the rest of its cells."""
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in text.splitlines() if line.startswith("| ")]
    return {row[0]: row[1:] for row in cells[1:]}


def test_a_rounds_figures_are_the_mean_of_its_processes():
    figures = mean_figures([Usage(1.0, 10 * MIB, 4 * MIB), Usage(3.0, 30 * MIB, 8 * MIB)])
    assert figures == Figures(cpu_pct=2.0, rss_mib=20.0, uss_mib=6.0)


def test_the_ratio_is_the_median_of_each_rounds_own_ratio():
    """Round by round, 2/4, 3/2, 6/3: the median is 1.5 (a median of the figures would give 3/3)."""
    assert median_ratio([2.0, 3.0, 6.0], [4.0, 2.0, 3.0]) == 1.5


def test_ratios_pair_rounds_one_to_one():
    with pytest.raises(ValueError):
        median_ratio([1.0, 2.0], [1.0])


def test_each_kind_runs_first_in_one_round():
    kinds = ["ours", "gst", "ffmpeg"]
    orders = [rotated(kinds, i) for i in range(3)]
    assert [order[0] for order in orders] == kinds
    assert all(sorted(order) == sorted(kinds) for order in orders)


def test_the_table_has_medians_and_ours_over_each_other_kind():
    ours = [Figures(2.0, 40.0, 20.0), Figures(3.0, 40.0, 20.0), Figures(6.0, 40.0, 20.0)]
    gst = [Figures(4.0, 10.0, 2.0), Figures(2.0, 20.0, 4.0), Figures(3.0, 10.0, 5.0)]
    text = table({"ours": ours, "gst": gst}, {})
    by_kind = rows(text)
    assert by_kind["ours (python -m listener)"] == ["3.00", "40.0", "20.0", "-", "-", "-"]
    # CPU: 0.5, 1.5, 2 -> 1.5; RSS: 4, 2, 4 -> 4; USS: 10, 5, 4 -> 5
    assert by_kind["GStreamer (gst-launch-1.0)"] == ["3.00", "10.0", "4.0", "1.50", "4.00", "5.00"]
    assert "ffmpeg" not in text


def test_a_skipped_kind_is_a_note_and_the_others_stay_in_the_table():
    text = table({"ours": [Figures(1.0, 40.0, 20.0)], "gst": [Figures(2.0, 10.0, 2.0)]},
                 {"ffmpeg": "skipped: ffmpeg is not installed"})
    assert set(rows(text)) == {"ours (python -m listener)", "GStreamer (gst-launch-1.0)"}
    assert text.splitlines()[-1] == "ffmpeg: skipped: ffmpeg is not installed"
    assert rows(text)["GStreamer (gst-launch-1.0)"][3:] == ["0.50", "4.00", "10.00"]


def test_without_ours_the_others_have_no_ratio():
    failed = "failed in round 1: ours receivers [3] received no packets"
    text = table({"gst": [Figures(2.0, 10.0, 2.0)]}, {"ours": failed, "ffmpeg": "skipped: ffmpeg is not installed"})
    assert rows(text)["GStreamer (gst-launch-1.0)"] == ["2.00", "10.0", "2.0", "-", "-", "-"]
    assert text.splitlines()[-3:] == ["", f"ours (python -m listener): {failed}",
                                      "ffmpeg: skipped: ffmpeg is not installed"]
