"""A round's figures from the snapshots at the ends of its window, and whether it met the bar, and why not."""

from dataclasses import replace

import pytest

from throughput_testing.figures import (NOMINAL_BYTES_PER_S, Bar, ClientFigures, Missing, Round, StationFigures,
                                        busy_percent, client_figures, cpu_per_listener_percent, judge, largest_met,
                                        sent_bytes_per_s, station_figures)

PACKET_BYTES = 880


def listener_snapshot(duration_s, packets, lost=0, late=0, duplicate=0, underruns=0, jitter_ms=0.05,
                      latency_ms=60.0):
    return {"duration_s": duration_s, "packets_received": packets, "bytes_received": packets * PACKET_BYTES,
            "packets_lost": lost, "packets_late": late, "packets_duplicate": duplicate, "underruns": underruns,
            "jitter_ms": jitter_ms, "latency_ms": latency_ms, "state": "playing"}


def client(number=1, seconds=20.0, share=1.0, lost=0, cpu_percent=1.0):
    """A listener that received `share` of the stream's bytes over the window, and lost `lost` packets."""
    bytes_received = round(seconds * NOMINAL_BYTES_PER_S * share)
    return ClientFigures(client=number, window_s=seconds, bytes_received=bytes_received,
                         packets_received=round(bytes_received / PACKET_BYTES), packets_lost=lost, packets_late=0,
                         packets_duplicate=0, underruns=0, jitter_ms=0.05, latency_ms=60.0, cpu_percent=cpu_percent,
                         rss_bytes=40 << 20)


def station(p99_ms=0.5):
    return StationFigures(packets_sent=4000, slots_skipped=0, send_errors=0, send_error_p50_ms=0.2,
                          send_error_p99_ms=p99_ms, send_error_max_ms=p99_ms + 1, cpu_percent=3.0)


def a_round(clients=None, missing=(), station_figures=None, busy=40.0, asked=None):
    listeners = tuple(clients if clients is not None else [client(i) for i in range(1, 4)])
    return Round(clients=asked or len(listeners) + len(missing), seconds=20.0, listeners=listeners,
                 missing=tuple(missing), station=station_figures or station(), busy_percent=busy, cores=2)


def test_a_listeners_figures_are_what_grew_over_the_window():
    start = listener_snapshot(5.0, 1000, lost=2, late=1, duplicate=1, underruns=3)
    end = listener_snapshot(25.0, 5009, lost=3, late=1, duplicate=2, underruns=5, jitter_ms=0.2, latency_ms=61.0)
    figures = client_figures(7, start, end, cpu_percent=1.5, rss_bytes=123)
    assert figures == ClientFigures(client=7, window_s=20.0, bytes_received=4009 * PACKET_BYTES,
                                    packets_received=4009, packets_lost=1, packets_late=0, packets_duplicate=1,
                                    underruns=2, jitter_ms=0.2, latency_ms=61.0, cpu_percent=1.5, rss_bytes=123)
    assert figures.bytes_per_s == pytest.approx(4009 * PACKET_BYTES / 20)
    assert figures.delivered == pytest.approx(4009 / 4010)


def test_the_whole_stream_in_real_time_is_the_nominal_rate():
    assert NOMINAL_BYTES_PER_S == 44100 * 2 * 2
    assert client(share=1.0).rate_ratio == 1.0
    assert client(share=0.5).rate_ratio == 0.5


def test_packets_rebuilt_by_fec_are_delivered():
    """Lost on the wire and rebuilt in time is delivered; fewer recovered at the window's end than at its start
    (rebuilt before it, their own copies received in it) is no loss."""
    assert replace(client(lost=10), packets_recovered=10).delivered == 1.0
    assert replace(client(lost=10), packets_recovered=4).delivered < 1.0
    assert replace(client(), packets_recovered=-3).delivered == 1.0


def test_a_coded_streams_rate_is_against_what_its_station_sent():
    start = {"packets_sent": 100, "octets_sent": 16_000}
    end = {"packets_sent": 300, "octets_sent": 48_400}
    assert sent_bytes_per_s(start, end, packets_per_s=100) == 16_200
    assert replace(client(), nominal_bytes_per_s=client().bytes_per_s * 2).rate_ratio == 0.5


def test_nothing_expected_is_nothing_delivered():
    assert client(share=0.0).delivered == 0.0


def test_the_stations_percentiles_are_those_of_the_window_only():
    start = {"packets_sent": 1000, "slots_skipped": 0, "send_errors": 0, "send_error_bin_ms": 0.01,
             "send_error_bins": {"2": 900, "500": 100}}  # before the window: 100 packets 5 ms late
    end = {"packets_sent": 1100, "slots_skipped": 1, "send_errors": 0, "send_error_bin_ms": 0.01,
           "send_error_bins": {"2": 900, "20": 99, "150": 1, "500": 100}}
    figures = station_figures(start, end, cpu_percent=4.0)
    assert figures.packets_sent == 100 and figures.slots_skipped == 1
    assert figures.send_error_p50_ms == pytest.approx(0.21)
    assert figures.send_error_p99_ms == pytest.approx(0.21)
    assert figures.send_error_max_ms == pytest.approx(1.51)
    assert figures.cpu_percent == 4.0


def test_busy_is_all_but_idle_and_waiting_for_io():
    start = {"user": 10.0, "system": 5.0, "idle": 80.0, "iowait": 1.0, "steal": 0.0}
    end = {"user": 20.0, "system": 10.0, "idle": 100.0, "iowait": 6.0, "steal": 5.0}
    assert busy_percent(start, end) == pytest.approx(100 * 20 / 45)
    assert busy_percent(start, start) == 0.0


def test_cpu_per_listener_is_the_mean_over_the_rounds_listeners():
    assert cpu_per_listener_percent(a_round([client(1, cpu_percent=1.0), client(2, cpu_percent=2.0)])) == 1.5
    assert cpu_per_listener_percent(a_round([], missing=[Missing(1, "exited")])) == 0.0


def test_a_round_where_everyone_got_everything_meets_the_bar():
    verdict = judge(a_round(busy=99.0))
    assert verdict.met and verdict.reasons == () and verdict.cause == ""
    assert verdict.describe() == "met the bar"


def test_loss_beyond_the_bar_names_the_worst_listener():
    packets = client().packets_received
    verdict = judge(a_round([client(1, lost=1), client(2, lost=packets // 100), client(3, lost=packets // 200)]))
    assert not verdict.met
    assert verdict.reasons == ("2 listeners received under 99.9% of packets (worst: client 2, 99.01%, "
                               f"{packets // 100} lost)",)


def test_a_listener_off_the_nominal_rate_misses_the_bar():
    verdict = judge(a_round([client(1), client(2, share=0.98), client(3, share=1.005)]))
    assert verdict.reasons == ("1 listeners off the nominal rate by over 1% (worst: client 2, 98.00% of it)",)


def test_a_late_station_misses_the_bar():
    assert judge(a_round(station_figures=station(p99_ms=2.0))).met
    assert judge(a_round(station_figures=station(p99_ms=2.4))).reasons == (
        "station send error p99 2.40 ms > 2 ms",)


def test_listeners_that_gave_no_figures_miss_the_bar():
    verdict = judge(a_round(missing=[Missing(4, "exited with status 3: cannot join"), Missing(9, "no figures")]))
    assert verdict.reasons == ("2 of 5 listeners gave no figures (client 4: exited with status 3: cannot join)",)


def test_a_saturated_machine_is_named_as_the_cause():
    verdict = judge(a_round([client(1, share=0.9, cpu_percent=1.8)], busy=97.0))
    assert verdict.cause == "CPU saturated: 97 % of 2 cores busy, 1.80 % of a core per listener"
    assert verdict.describe() == ("degraded: 1 listeners off the nominal rate by over 1% (worst: client 1, 90.00% "
                                  "of it) (CPU saturated: 97 % of 2 cores busy, 1.80 % of a core per listener)")
    assert judge(a_round([client(1, share=0.9)], busy=50.0)).cause == ""


def test_a_stricter_bar_is_honoured():
    assert not judge(a_round(station_figures=station(p99_ms=0.5)), Bar(max_send_error_p99_ms=0.4)).met


def test_the_largest_round_that_met_the_bar():
    small, middle, big = a_round(asked=1), a_round(asked=50), a_round([client(1, lost=100)], asked=100)
    assert largest_met([small, big, middle]) is middle
    assert largest_met([big]) is None
