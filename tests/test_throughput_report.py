"""What the batch tells: the table, the CSV and the JSON of every figure, and the closing note."""

import csv
import io
import json

from test_throughput_figures import a_round, client, station

from throughput_testing.figures import Missing, Round
from throughput_testing.report import (COLUMNS, CSV_FIELDS, closing_note, csv_text, json_text, rounds_from_json,
                                       table)


def rounds() -> list[Round]:
    return [a_round([client(1, cpu_percent=1.0)]),
            a_round([client(i, cpu_percent=1.2) for i in range(1, 4)]),
            a_round([client(1, lost=50), client(2)], missing=[Missing(3, "exited with status 1")], busy=98.0)]


def test_the_table_has_a_row_per_round_then_why_rounds_degraded_then_the_closing_note():
    lines = table(rounds()).splitlines()
    assert lines[0].split("  ")[0].strip() == "clients" and len(lines[0]) == len(lines[1])
    assert [line.split()[0] for line in lines[1:4]] == ["1", "3", "3"]
    assert lines[1].endswith("met") and lines[3].endswith("DEGRADED")
    assert lines[4].startswith("3 listeners: degraded: 1 of 3 listeners gave no figures (client 3: exited with "
                               "status 1); 1 listeners received under 99.9% of packets")
    assert lines[4].endswith("(CPU saturated: 98 % of 2 cores busy, 1.00 % of a core per listener)")
    assert lines[5] == closing_note(rounds())
    assert len(lines) == 6


def test_the_table_shows_the_stations_figures_or_says_it_could_not_measure_them():
    measured = table([a_round()]).splitlines()[1]
    assert "3.00 %" in measured and "0.50" in measured  # its CPU, its p99
    unmeasured = Round(clients=1, seconds=20.0, listeners=(client(),), missing=(), station=None, busy_percent=10.0,
                       cores=2)
    assert table([unmeasured]).splitlines()[1].count("n/a") == 3


def test_a_round_where_every_listener_failed_is_still_a_row():
    failed = a_round([], missing=[Missing(1, "exited")])
    row = table([failed]).splitlines()[1]
    assert len(row.split()) >= len(COLUMNS) and row.endswith("DEGRADED")


def test_the_closing_note_names_the_largest_count_that_met_the_bar_and_a_listeners_cost():
    assert closing_note(rounds()) == (
        "largest listener count meeting the bar (every listener >= 99.9% of packets at the nominal rate ±1%, "
        "station send error p99 <= 2 ms): 3, at 1.20 % of a core per listener")
    assert closing_note(rounds()[2:]).startswith("no round met the bar (every listener >= 99.9%")


def test_the_csv_has_a_row_per_listener_per_round_with_every_figure():
    rows = list(csv.DictReader(io.StringIO(csv_text(rounds()))))
    assert [(row["clients"], row["client"]) for row in rows] == [("1", "1"), ("3", "1"), ("3", "2"), ("3", "3"),
                                                                 ("3", "1"), ("3", "2")]
    assert set(rows[0]) == set(CSV_FIELDS)
    assert rows[0]["round_met_bar"] == "True" and rows[-1]["round_met_bar"] == "False"
    assert float(rows[0]["rate_percent"]) == float(rows[0]["delivered_percent"]) == 100.0
    assert int(rows[4]["packets_lost"]) == 50
    assert float(rows[0]["station_send_error_p99_ms"]) == station().send_error_p99_ms


def test_the_json_has_every_figure_and_each_verdict():
    document = json.loads(json_text(rounds(), "python -m throughput_testing --clients 1,3,3"))
    assert document["command"] == "python -m throughput_testing --clients 1,3,3"
    assert document["nominal_bytes_per_s"] == 176400
    assert document["largest_met"] == 3
    assert [r["met"] for r in document["rounds"]] == [True, True, False]
    degraded = document["rounds"][2]
    assert degraded["cause"].startswith("CPU saturated") and len(degraded["reasons"]) == 2
    assert degraded["missing"] == [{"client": 3, "why": "exited with status 1"}]
    first = document["rounds"][0]["listeners"][0]
    assert first["packets_received"] > 0 and first["delivered"] == 1.0 and first["rate_ratio"] == 1.0
    assert document["rounds"][0]["station"]["send_error_p99_ms"] == 0.5


def test_the_rounds_read_back_from_the_json_are_the_rounds_written():
    unmeasured = Round(clients=1, seconds=20.0, listeners=(client(),), missing=(), station=None, busy_percent=10.0,
                       cores=2)
    assert rounds_from_json(json_text([*rounds(), unmeasured], "python -m throughput_testing")) == [*rounds(),
                                                                                                    unmeasured]
