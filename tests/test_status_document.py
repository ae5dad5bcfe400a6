"""The status the API answers and streams, from a real Station, and when the stream sends it (a fake clock)."""

from __future__ import annotations

import json
import time

import pytest

from fake_station import SSRC, queue_station

from rtpwire.audio import L16_STEREO
from rtpwire.rtcp import SDES_CNAME, SDES_NAME, ReceiverReport, ReportBlock, SdesChunk, SourceDescription, compound
from station.audience import Audience
from station.status_document import (EVENT_INTERVAL_S, Identity, StatusPacer, encode, finite, history_document,
                                     status_document)

IDENTITY = Identity("Test Radio", "239.255.0.1", 5004, "L16 44100 Hz stereo (PT 10)")


def _document(**changes) -> dict:
    station = queue_station()[0]
    return status_document(station, IDENTITY) | changes


def test_the_document_of_a_playing_station():
    audience = Audience(SSRC, L16_STEREO.rate, 184_000.0, wall_offset_s=0.0)
    block = ReportBlock(SSRC, fraction_lost=64, packets_lost=7, highest_sequence=1000, jitter=441,
                        last_sr=0, delay_since_last_sr=0)
    audience.on_rtcp(compound(ReceiverReport(0xA1, (block,)), SourceDescription(
        (SdesChunk(0xA1, ((SDES_CNAME, "kitchen@host"), (SDES_NAME, "Kitchen"))),))), time.monotonic())
    station, _, _ = queue_station(audience)
    document = json.loads(encode(status_document(station, IDENTITY)))
    assert {key: document[key] for key in ("name", "group", "port", "codec", "state", "source", "title",
                                           "position_s", "volume_percent", "capture")} == {
        "name": "Test Radio", "group": "239.255.0.1", "port": 5004, "codec": "L16 44100 Hz stereo (PT 10)",
        "state": "playing", "source": "files", "title": "a", "position_s": 0.0, "volume_percent": 100,
        "capture": None}
    assert document["queue"]["repeat"] == "queue" and document["queue"]["shuffle"] is False
    assert [(t["number"], t["title"], t["duration_s"], t["current"]) for t in document["queue"]["tracks"]] == [
        (1, "a", 1.0, True), (2, "b", 0.5, False), (3, "c", None, False)]  # c: not decoded yet
    [listener] = document["listeners"]
    assert (listener["name"], listener["cname"], listener["packets_lost"]) == ("Kitchen", "kitchen@host", 7)
    assert listener["fraction_lost_pct"] == 25.0 and listener["jitter_ms"] == 10.0
    assert listener["round_trip_ms"] is None  # no sender report received yet
    assert set(document["send"]) == {"packets_sent", "octets_sent", "slots_skipped", "send_errors",
                                     "send_error_p50_ms", "send_error_p99_ms", "send_error_max_ms",
                                     "repair_packets_sent"}
    assert document["icecast"] == {}


def test_figures_that_are_no_number_become_null():
    station = queue_station()[0]
    document = status_document(station, IDENTITY)
    assert document["send"]["send_error_p50_ms"] is not None
    nan_document = {**document, "send": {"send_error_p50_ms": float("nan")}, "listeners": [{"jitter_ms": float("inf")}]}
    decoded = json.loads(encode(finite(nan_document)))
    assert decoded["send"] == {"send_error_p50_ms": None} and decoded["listeners"] == [{"jitter_ms": None}]


def test_pacer_sends_the_first_then_changes_at_once():
    pacer, document = StatusPacer(), _document()
    assert pacer.due(document, 10.0)
    assert not pacer.due(document, 10.1)
    assert pacer.due(document | {"state": "paused"}, 10.15)
    assert pacer.due(document | {"volume_percent": 40}, 10.2)


def test_pacer_sends_at_least_every_interval_though_nothing_changes():
    pacer, document = StatusPacer(), _document()
    sent = [now for now in (i * 0.1 for i in range(100)) if pacer.due(document, now)]
    gaps = [b - a for a, b in zip(sent, sent[1:])]
    assert len(sent) >= 2 * 10 - 1 and max(gaps) <= 0.5 + 1e-9
    assert min(gaps) >= EVENT_INTERVAL_S - 1e-9


def test_moving_figures_alone_wait_for_the_interval():
    pacer, document = StatusPacer(), _document()
    assert pacer.due(document, 0.0)
    moved = document | {"position_s": 3.0, "send": {"packets_sent": 999}}
    moved["listeners"] = [{"name": "Kitchen", "last_report_s_ago": 1.0}]
    aged = moved | {"listeners": [{"name": "Kitchen", "last_report_s_ago": 2.5}]}
    assert pacer.due(moved, 0.1)  # a listener joined: a change
    assert not pacer.due(aged, 0.2)  # only its report's age moved
    assert not pacer.due(aged | {"position_s": 3.1}, 0.3)
    assert pacer.due(aged, 0.1 + EVENT_INTERVAL_S)


def test_the_history_document_lists_each_listeners_reports():
    audience = Audience(SSRC, L16_STEREO.rate, 184_000.0, wall_offset_s=0.0)
    now = time.monotonic()
    for ago_s, lost in ((20.0, 0), (10.0, 64)):
        block = ReportBlock(SSRC, fraction_lost=lost, packets_lost=0, highest_sequence=1000, jitter=441, last_sr=0,
                            delay_since_last_sr=0)
        audience.on_rtcp(compound(ReceiverReport(0xA1, (block,)), SourceDescription(
            (SdesChunk(0xA1, ((SDES_CNAME, "kitchen@host"), (SDES_NAME, "Kitchen"))),))), now - ago_s)
    station, _, _ = queue_station(audience)
    [listener] = json.loads(encode(history_document(station)))["listeners"]
    assert (listener["ssrc"], listener["name"], listener["cname"]) == (0xA1, "Kitchen", "kitchen@host")
    [(first_ago, first_lost, jitter), (second_ago, second_lost, _)] = listener["points"]
    assert 20.0 <= first_ago < 30.0 and 10.0 <= second_ago < 20.0 and first_ago - second_ago == pytest.approx(10.0)
    assert (first_lost, second_lost, jitter) == (0.0, 25.0, 10.0)
