"""The latency benchmark's judgement, from hand-made listener figures: which latency held, the lowest one held
above the first failure, and the table (the benchmark itself runs real processes for minutes)."""

import pytest

from bench.latency import Trial, faults, frame_ms, held, lowest_held, table, tried


def figures(latency_ms: float, underruns: int = 0, late: int = 0, **more: object) -> dict[str, object]:
    """A listener's --stats-json as it would be on `latency_ms`, told on the command line."""
    return {"packets_received": 12000, "underruns": underruns, "packets_late": late,
            "latency_target_ms": latency_ms, "latency_shared_ms": latency_ms, "latency_source": "command line",
            "latency_ms": latency_ms + 0.004, "latency_p99_ms": latency_ms + 0.01, **more}


def trial(output: str, latency_ms: float, underruns: int = 0, bit_exact: bool | None = None, **more: object) -> Trial:
    return Trial(output, latency_ms, figures(latency_ms, underruns, **more), {"send_error_max_ms": 12.34}, bit_exact)


def test_a_latency_holds_with_no_underrun_on_the_latency_asked():
    assert held(trial("null", 10))
    assert faults(trial("null", 10, underruns=3, late=5)) == ["3 underruns"]


def test_a_speaker_also_needs_its_stream_never_to_run_dry():
    assert held(trial("speaker", 40, device_underflows=0))
    assert faults(trial("speaker", 40, device_underflows=2)) == ["2 device underflows"]


def test_a_listener_that_heard_nothing_held_nothing():
    assert faults(trial("null", 10, packets_received=0)) == ["nothing received"]


def test_the_latency_played_must_be_the_one_under_test():
    """The station's, or a target that grew, is another latency than the one tried; a sample's rounding is not."""
    assert held(trial("null", 15, latency_target_ms=14.989, latency_shared_ms=14.989))
    assert faults(trial("null", 10, latency_target_ms=15.0)) == ["played at 15.0 ms (command line)"]
    assert faults(trial("null", 10, latency_source="station")) == ["played at 10 ms (station)"]


def test_the_lowest_held_is_the_one_above_the_first_failure():
    trials = [trial("wav", 40), trial("wav", 20), trial("wav", 30), trial("wav", 15, underruns=3),
              trial("wav", 10)]
    assert lowest_held(trials).latency_ms == 20
    assert lowest_held([trial("wav", 40, underruns=1), trial("wav", 30)]) is None
    assert lowest_held([]) is None


def test_tried_lists_each_latency_highest_first_with_its_outcome():
    trials = [trial("speaker", 30, device_underflows=0), trial("speaker", 40, device_underflows=0),
              trial("speaker", 20, underruns=3, device_underflows=1)]
    assert tried(trials) == "40 ok, 30 ok, 20 3 underruns, 1 device underflows (sent up to 12.3 ms late)"


def test_table_has_a_row_per_output_with_the_lowest_held_figures():
    results = {"null": [trial("null", 10), trial("null", 5, underruns=7)],
               "wav": [trial("wav", 10, bit_exact=True, late=0)],
               "speaker": [trial("speaker", 40, underruns=2, device_underflows=0)]}
    lines = table(results).splitlines()
    assert len(lines) == 2 + 3
    assert lines[2] == ("| null | 10 | 0 | 0 | - | 10 | 10.004 / 10.01 | - | 10 ok, 5 7 underruns (sent up to 12.3 ms "
                        "late) |")
    assert lines[3] == "| wav | 10 | 0 | 0 | - | 10 | 10.004 / 10.01 | yes | 10 ok |"
    assert lines[4] == ("| speaker | none | - | - | - | - | - | - | 40 2 underruns (sent up to 12.3 ms late) "
                        "|")
    assert all(line.count("|") == lines[0].count("|") for line in lines)


def test_a_skipped_output_says_why_in_its_row():
    row = table({"speaker": "no pulseaudio"}).splitlines()[2]
    assert row.startswith("| speaker | skipped: no pulseaudio |") and row.count("|") == 10


@pytest.mark.parametrize(("latency_ms", "packet_ms"), [(40, 5), (20, 5), (15, 3.75), (10, 2.5), (5, 1.25), (2, 1)])
def test_packets_are_a_quarter_of_the_latency_at_most_5_ms_and_at_least_1(latency_ms, packet_ms):
    assert frame_ms(latency_ms) == packet_ms
