"""The station's table of listeners, fed with receiver reports on fake time."""

import pytest

from rtpwire.audio import L16_STEREO
from rtpwire.nowplaying import NowPlaying
from rtpwire.repair_report import RepairReport
from rtpwire.listener_delay import DELAY_PREFIX, delay_item
from rtpwire.rtcp import (SDES_CNAME, SDES_NAME, SDES_PRIV, App, Bye, ReceiverReport, ReportBlock, SdesChunk,
                          SenderReport, SourceDescription, compound, ntp_from_unix, priv_item)
from rtpwire.rtcp_timing import session_bandwidth_bytes_per_s
from station.audience import (EXPIRY_FLOOR_S, HISTORY_POINTS, MAX_SHOWN_CHARS, NO_LISTENERS, Audience, Listener,
                              format_listeners)

STATION = 0x1234ABCD
WALL_OFFSET_S = 1_800_000_000.0  # fake wall clock = fake monotonic clock + this
SESSION_BW = session_bandwidth_bytes_per_s(L16_STEREO, 220)


def audience() -> Audience:
    return Audience(STATION, 44100, SESSION_BW, WALL_OFFSET_S)


def block(about: int = STATION, **changes) -> ReportBlock:
    fields = dict(ssrc=about, fraction_lost=64, packets_lost=12, highest_sequence=70000, jitter=441, last_sr=0,
                  delay_since_last_sr=0)
    fields.update(changes)
    return ReportBlock(**fields)


def report(ssrc: int, *blocks: ReportBlock, cname: str | None = None,
           items: tuple[tuple[int, str], ...] = ()) -> bytes:
    """A listener's RR and SDES: its CNAME, then `items`."""
    cname = f"listener-{ssrc:08x}@host" if cname is None else cname
    return compound(ReceiverReport(ssrc, blocks),
                    SourceDescription((SdesChunk(ssrc, ((SDES_CNAME, cname), *items)),)))


def bye(ssrc: int) -> bytes:
    return compound(ReceiverReport(ssrc), Bye((ssrc,), "listener quit"))


def station_report(ssrc: int = STATION) -> bytes:
    """What a station sends about once a second: SR, SDES, the now-playing APP."""
    return compound(SenderReport(ssrc, ntp_from_unix(WALL_OFFSET_S), 0, 10, 8800),
                    SourceDescription((SdesChunk(ssrc, ((SDES_CNAME, "station@host"), (SDES_NAME, "Radio"))),)),
                    NowPlaying(False, "song").to_app(ssrc))


def test_nobody_yet():
    a = audience()
    assert a.listeners(0.0) == [] and a.count(0.0) == 0
    assert format_listeners([]) == NO_LISTENERS


def test_a_report_makes_a_listener_with_its_figures():
    a = audience()
    a.on_rtcp(report(0xA1, block()), 10.0)
    assert a.listeners(12.5) == [Listener(ssrc=0xA1, cname="listener-000000a1@host", fraction_lost_pct=25.0,
                                          packets_lost=12, jitter_ms=10.0, last_report_s_ago=2.5, round_trip_ms=None)]
    assert a.count(12.5) == 1


def test_an_empty_report_counts_the_listener_without_figures():
    a = audience()
    a.on_rtcp(report(0xA1), 1.0)
    (entry,) = a.listeners(1.0)
    assert entry.fraction_lost_pct is entry.packets_lost is entry.jitter_ms is entry.round_trip_ms is None


def test_later_reports_update_and_empty_ones_keep_the_last_figures():
    a = audience()
    a.on_rtcp(report(0xA1, block()), 1.0)
    a.on_rtcp(report(0xA1, block(fraction_lost=0, packets_lost=13, jitter=44)), 6.0)
    a.on_rtcp(report(0xA1), 11.0)  # the station paused: nothing to report on
    (entry,) = a.listeners(11.0)
    assert (entry.fraction_lost_pct, entry.packets_lost, entry.last_report_s_ago) == (0.0, 13, 0.0)
    assert entry.jitter_ms == pytest.approx(44 / 44.1)


def test_blocks_about_other_sources_are_ignored():
    a = audience()
    a.on_rtcp(report(0xA1, block(about=0x5555)), 1.0)
    (entry,) = a.listeners(1.0)
    assert entry.packets_lost is None


def test_listeners_in_the_order_they_joined():
    a = audience()
    for i, ssrc in enumerate((0xC3, 0xA1, 0xB2)):
        a.on_rtcp(report(ssrc), float(i))
    a.on_rtcp(report(0xC3), 5.0)
    assert [e.ssrc for e in a.listeners(5.0)] == [0xC3, 0xA1, 0xB2]


def test_bye_removes_a_listener_at_once():
    a = audience()
    a.on_rtcp(report(0xA1), 1.0)
    a.on_rtcp(report(0xB2), 1.0)
    a.on_rtcp(bye(0xA1), 2.0)
    assert [e.ssrc for e in a.listeners(2.0)] == [0xB2]


def test_our_own_packets_are_no_listener():
    a = audience()
    a.on_rtcp(report(0xA1), 1.0)
    a.on_rtcp(station_report(), 1.5)
    a.on_rtcp(compound(SenderReport(STATION, 0, 0, 0, 0), Bye((STATION,), "station stopped")), 2.0)
    a.on_rtcp(compound(ReceiverReport(STATION)), 2.0)  # a listener that drew our SSRC would collide: not counted
    assert [e.ssrc for e in a.listeners(2.0)] == [0xA1]


def test_another_station_on_the_group_is_no_listener():
    a = audience()
    a.on_rtcp(station_report(0x7777), 1.0)
    assert a.count(1.0) == 0


def test_cname_from_sdes_even_if_it_comes_later():
    a = audience()
    a.on_rtcp(compound(ReceiverReport(0xA1)), 1.0)
    assert a.listeners(1.0)[0].cname == ""
    a.on_rtcp(report(0xA1, cname="alice@kitchen"), 2.0)
    assert a.listeners(2.0)[0].cname == "alice@kitchen"


def test_name_and_delay_from_sdes():
    a = audience()
    a.on_rtcp(report(0xA1, items=((SDES_NAME, "Kitchen"), delay_item(50))), 1.0)
    a.on_rtcp(report(0xB2, items=((SDES_NAME, "Living room"), delay_item(-12.5))), 1.0)
    a.on_rtcp(report(0xC3), 1.0)
    assert [(e.name, e.delay_ms) for e in a.listeners(1.0)] == [("Kitchen", 50.0), ("Living room", -12.5), ("", None)]
    assert a.malformed == 0


def test_a_report_without_name_or_delay_keeps_the_last_ones():
    """RFC 3550 6.3.9 lets a member send NAME less often than CNAME."""
    a = audience()
    a.on_rtcp(report(0xA1, items=((SDES_NAME, "Kitchen"), delay_item(50))), 1.0)
    a.on_rtcp(report(0xA1), 6.0)
    (entry,) = a.listeners(6.0)
    assert (entry.name, entry.delay_ms) == ("Kitchen", 50.0)


@pytest.mark.parametrize("value", ["fifty", "nan", "inf", "1e3", " 50", "5,0", "0x10", "", "٥٠"])
def test_a_delay_that_is_no_decimal_is_counted_and_ignored(value):
    a = audience()
    a.on_rtcp(report(0xA1, items=(delay_item(20),)), 1.0)
    a.on_rtcp(report(0xA1, items=((SDES_NAME, "Kitchen"), priv_item(DELAY_PREFIX, value))), 2.0)
    (entry,) = a.listeners(2.0)
    assert (entry.name, entry.delay_ms) == ("Kitchen", 20.0)
    assert a.malformed == 1 and DELAY_PREFIX in a.last_wire_error


@pytest.mark.parametrize("text", ["", "\x20x-delay-ms", "\x0ax-delay-ms\udcff", "\udcffx-delay-ms50"])
def test_malformed_priv_items_are_skipped(text):
    """An empty one, a prefix of 32 bytes in 10, a value that is no UTF-8, a prefix of 255 bytes in 12."""
    a = audience()
    a.on_rtcp(report(0xA1, items=((SDES_PRIV, text), (SDES_NAME, "Kitchen"))), 1.0)
    (entry,) = a.listeners(1.0)
    assert (entry.name, entry.delay_ms) == ("Kitchen", None)
    assert a.malformed == 0


def test_other_priv_items_are_not_the_delay():
    a = audience()
    a.on_rtcp(report(0xA1, items=(priv_item("x-other", "7"), delay_item(3))), 1.0)
    assert a.listeners(1.0)[0].delay_ms == 3.0


def test_hostile_names_are_shown_printable_and_bounded():
    a = audience()
    a.on_rtcp(report(0xA1, cname="evil\x1b[2J@host\r\n", items=((SDES_NAME, "Kit\nchen\u202e\x00\x7f"),)), 1.0)
    a.on_rtcp(report(0xB2, items=((SDES_NAME, "L" * 255),)), 1.0)
    a.on_rtcp(report(0xC3, items=((SDES_NAME, "\n\t\x1b"),)), 1.0)  # nothing printable: no name
    first, long, blank = a.listeners(1.0)
    assert (first.cname, first.name) == ("evil[2J@host", "Kitchen")
    assert long.name == "L" * (MAX_SHOWN_CHARS - 1) + "…"
    assert blank.name == ""
    text = format_listeners([first, long, blank])
    assert len(text.splitlines()) == 5 and all(c.isprintable() for line in text.splitlines() for c in line)


def test_a_silent_listener_drops_off_after_the_timeout():
    a = audience()
    a.on_rtcp(report(0xA1), 0.0)
    a.on_rtcp(report(0xB2), 0.0)
    for now in range(5, 60, 5):  # B2 goes on reporting every 5 s, A1 vanished without a BYE
        a.on_rtcp(report(0xB2), float(now))
        expected = [0xA1, 0xB2] if now <= EXPIRY_FLOOR_S else [0xB2]
        assert [e.ssrc for e in a.listeners(float(now))] == expected, now
    assert a.count(EXPIRY_FLOOR_S + 0.1) == 1


def test_the_timeout_is_the_floor_for_usual_audiences_and_grows_with_huge_ones():
    a = audience()
    for ssrc in range(1, 21):
        a.on_rtcp(report(ssrc), 0.0)
    assert a.count(EXPIRY_FLOOR_S) == 20 and a.count(EXPIRY_FLOOR_S + 0.01) == 0
    huge = audience()
    for ssrc in range(1, 1201):  # 72-byte reports from 1200 listeners: each reports every 12.5 s
        huge.on_rtcp(report(ssrc), 0.0)
    timeout_s = 5 * 72 * 1200 / (0.75 * 0.05 * SESSION_BW)
    assert timeout_s == pytest.approx(62.5, abs=0.1)
    assert huge.count(timeout_s - 0.1) == 1200
    assert huge.count(timeout_s + 0.1) == 0


def test_round_trip_from_lsr_and_dlsr():
    a = audience()
    sr_sent_s = 100.0
    lsr = (ntp_from_unix(sr_sent_s + WALL_OFFSET_S) >> 16) & 0xFFFF_FFFF
    held_s, trip_s = 0.75, 0.012
    a.on_rtcp(report(0xA1, block(last_sr=lsr, delay_since_last_sr=round(held_s * 65536))),
              sr_sent_s + held_s + trip_s)
    (entry,) = a.listeners(sr_sent_s + 1.0)
    assert entry.round_trip_ms == pytest.approx(trip_s * 1e3, abs=0.05)


def test_round_trip_never_below_zero():
    a = audience()
    lsr = (ntp_from_unix(100.0 + WALL_OFFSET_S) >> 16) & 0xFFFF_FFFF
    a.on_rtcp(report(0xA1, block(last_sr=lsr, delay_since_last_sr=65536)), 100.9999)  # held 1 s, here after 0.9999
    assert a.listeners(101.0)[0].round_trip_ms == 0.0


@pytest.mark.parametrize("garbage", [b"", b"\x80", b"\x00" * 8, b"\x81\xc9\x00\x07" + bytes(8), bytes(range(64)),
                                     report(0xA1)[:-3]])
def test_malformed_datagrams_are_counted_never_raised(garbage):
    a = audience()
    a.on_rtcp(garbage, 1.0)
    assert a.malformed == 1 and a.last_wire_error
    assert a.count(1.0) == 0


def test_loss_after_fec_from_the_post_repair_report():
    """A listener that hears repair packets adds RPAR to its report: its loss after FEC; one about another
    station, or a malformed one, changes nothing (the latter is counted)."""
    a = audience()
    a.on_rtcp(compound(ReceiverReport(0xA1, (block(),)), RepairReport(STATION, 3, 2).to_app(0xA1)), 1.0)
    a.on_rtcp(compound(ReceiverReport(0xB2, (block(),)), RepairReport(0x999, 3, 2).to_app(0xB2)), 1.0)
    a.on_rtcp(compound(ReceiverReport(0xC3, (block(),)), App(0xC3, b"RPAR", 0, b"\0")), 1.0)
    first, other, malformed = a.listeners(1.0)
    assert first.fraction_unrecovered_pct == pytest.approx(3 * 100 / 256)
    assert other.fraction_unrecovered_pct is None and malformed.fraction_unrecovered_pct is None
    assert a.malformed == 1


def test_format_lists_every_listener_in_aligned_columns():
    entries = [
        Listener(0xA1, "listener-000000a1@host", 25.0, 12, 10.0, 2.54, 0.31, fraction_unrecovered_pct=0.4),
        Listener(0xB2, "bob@den", None, None, None, 0.0, None),
    ]
    lines = format_listeners(entries).splitlines()
    assert lines[0] == "2 listeners"
    assert lines[1].split() == ["SSRC", "NAME", "CNAME", "DELAY", "LOSS", "AFTER", "FEC", "LOST", "JITTER", "RTT",
                                "LAST", "REPORT"]
    assert lines[2].split() == ["000000a1", "-", "listener-000000a1@host", "-", "25.0", "%", "0.4", "%", "12",
                                "10.00", "ms", "0.31", "ms", "2.5", "s", "ago"]
    assert lines[3].split() == ["000000b2", "-", "bob@den", "-", "-", "-", "-", "-", "-", "0.0", "s", "ago"]
    assert len({len(line) for line in lines[1:]}) == 1  # right-aligned figures end in the same column
    assert lines[1].index("CNAME") == lines[2].index("listener") == lines[3].index("bob")


def test_format_shows_names_and_signed_delays():
    entries = [Listener(0xA1, "a@h", None, None, None, 1.0, None, name="Living room", delay_ms=50.0),
               Listener(0xB2, "b@h", None, None, None, 1.0, None, name="Kitchen", delay_ms=-12.5),
               Listener(0xC3, "c@h", None, None, None, 1.0, None)]
    header, *rows = format_listeners(entries).splitlines()[1:]
    assert [row[header.index("NAME"):header.index("CNAME")].rstrip() for row in rows] == ["Living room", "Kitchen",
                                                                                         "-"]
    delay_end = header.index("DELAY") + len("DELAY")  # right-aligned: every cell of the column ends there
    assert [row[:delay_end].rsplit("  ", 1)[1].strip() for row in rows] == ["+50 ms", "-12.5 ms", "-"]


def test_format_one_listener_without_a_cname():
    text = format_listeners([Listener(0xA1, "", 0.0, 0, 0.0, 1.0, None)])
    assert text.splitlines()[0] == "1 listener"
    assert text.splitlines()[2].split()[1:3] == ["-", "-"]


# --- history, for the dashboard's plots -------------------------------------------------------------------------

def test_history_holds_each_report_about_us_for_five_minutes():
    a = audience()
    a.on_rtcp(report(0xA1, block(fraction_lost=0, jitter=0)), 0.0)
    a.on_rtcp(report(0xA1), 5.0)  # nothing about us: no point
    a.on_rtcp(report(0xA1, block(about=0x5555)), 7.0)  # about another source: no point
    for now in (10.0, 200.0, 290.0):
        a.on_rtcp(report(0xA1, block()), now)
    (entry,) = a.history(305.0)
    assert (entry.ssrc, entry.cname) == (0xA1, "listener-000000a1@host")
    assert entry.points == ((295.0, 25.0, 10.0), (105.0, 25.0, 10.0), (15.0, 25.0, 10.0))  # the first: over 300 s


def test_history_of_a_listener_reporting_too_fast_is_bounded():
    a = audience()
    for i in range(HISTORY_POINTS + 50):
        a.on_rtcp(report(0xA1, block(packets_lost=i)), i * 0.01)
    (entry,) = a.history(HISTORY_POINTS * 0.01)
    assert len(entry.points) == HISTORY_POINTS


def test_history_leaves_with_the_listener():
    a = audience()
    a.on_rtcp(report(0xA1, block()), 1.0)
    a.on_rtcp(report(0xB2, block()), 1.0)
    a.on_rtcp(bye(0xA1), 2.0)
    assert [entry.ssrc for entry in a.history(2.0)] == [0xB2]
