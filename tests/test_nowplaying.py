"""The station state carried in an RTCP APP packet named RDIO: one flags byte, the announced latency if the
flags say so, then the UTF-8 title."""

import pytest

from rtpwire.errors import WireError
from rtpwire.nowplaying import (APP_NAME, DEFAULT_LATENCY_S, FLAG_LATENCY, FLAG_PAUSED, MAX_LATENCY_US,
                                MAX_TITLE_BYTES, NowPlaying)
from rtpwire.rtcp import App, parse_compound

SSRC = 0x5EED_F00D


def over_the_wire(state: NowPlaying) -> NowPlaying:
    """Serialise as the station does and parse as a listener does."""
    (app,) = parse_compound(bytes(state.to_app(SSRC)))
    assert isinstance(app, App)
    assert app.ssrc == SSRC
    return NowPlaying.from_app(app)


def test_constants():
    assert APP_NAME == b"RDIO"
    assert FLAG_PAUSED == 0x01
    assert FLAG_LATENCY == 0x02
    assert DEFAULT_LATENCY_S == 0.080


def test_to_app_layout():
    app = NowPlaying(paused=True, title="Song").to_app(SSRC)
    assert app.name == b"RDIO"
    assert app.ssrc == SSRC
    assert app.data == b"\x01Song"
    assert NowPlaying(paused=False, title="Song").to_app(SSRC).data == b"\x00Song"


def test_golden_wire_bytes():
    # APP subtype 0, 4 words after the header: SSRC, "RDIO", flags 01 + "Song" + 3 bytes of zero padding.
    data = bytes(NowPlaying(paused=True, title="Song").to_app(0x11223344))
    assert data == bytes.fromhex("80cc0004 11223344 5244494f 01536f6e 67000000")


def test_golden_wire_bytes_with_a_latency():
    # flags 03 (paused, latency follows), 60 000 µs, "Song": 9 bytes of data, 3 of padding; 5 words after the header.
    data = bytes(NowPlaying(paused=True, title="Song", latency_us=60_000).to_app(0x11223344))
    assert data == bytes.fromhex("80cc0005 11223344 5244494f 030000ea 60536f6e 67000000")


def test_golden_wire_bytes_of_a_latency_without_a_title():
    data = bytes(NowPlaying(paused=False, latency_us=150_000).to_app(0x11223344))
    assert data == bytes.fromhex("80cc0004 11223344 5244494f 02000249 f0000000")


def test_an_old_packet_without_a_latency_still_parses():
    """What stations sent before the latency existed: flags 01, the title, no latency."""
    (app,) = parse_compound(bytes.fromhex("80cc0004 11223344 5244494f 01536f6e 67000000"))
    assert NowPlaying.from_app(app) == NowPlaying(paused=True, title="Song", latency_us=None)


@pytest.mark.parametrize("latency_us", [None, 1, 60_000, 150_000, MAX_LATENCY_US])
@pytest.mark.parametrize("paused", [True, False])
@pytest.mark.parametrize("title", [pytest.param("", id="no title"), "Song", "Beyoncé — Halo"])
def test_round_trip_with_a_latency(latency_us, paused, title):
    state = NowPlaying(paused=paused, title=title, latency_us=latency_us)
    assert over_the_wire(state) == state


def test_a_latency_whose_bytes_look_like_padding_is_kept():
    """The latency sits before the title: zero bytes in it are not stripped as the title's padding."""
    assert over_the_wire(NowPlaying(paused=False, latency_us=0x0001_0000)).latency_us == 0x0001_0000  # 00 01 00 00


@pytest.mark.parametrize("latency_us", [0, -1, MAX_LATENCY_US + 1])
def test_a_station_cannot_announce_a_latency_out_of_range(latency_us):
    with pytest.raises(ValueError, match="announced latency"):
        NowPlaying(paused=False, latency_us=latency_us)


@pytest.mark.parametrize("data", [b"\x02", b"\x02\x00\x00\xea", b"\x03\x00"])
def test_a_latency_flag_without_the_latency_is_malformed(data):
    with pytest.raises(WireError, match=r"announces a latency but has only \d bytes"):
        NowPlaying.from_app(App(SSRC, APP_NAME, 0, data))


@pytest.mark.parametrize("raw", [b"\x00\x00\x00\x00", (MAX_LATENCY_US + 1).to_bytes(4, "big"), b"\xff" * 4])
def test_a_latency_out_of_range_is_malformed(raw):
    with pytest.raises(WireError, match="out of range"):
        NowPlaying.from_app(App(SSRC, APP_NAME, 0, b"\x02" + raw + b"ab"))


@pytest.mark.parametrize("paused", [True, False])
@pytest.mark.parametrize("title", ["", "A", "Song", "Title 5", "Beyoncé — Halo", "東京事変 「群青日和」", "🎵🎶"])
def test_round_trip(paused, title):
    state = NowPlaying(paused=paused, title=title)
    assert over_the_wire(state) == state


def test_default_title_is_empty():
    assert over_the_wire(NowPlaying(paused=False)) == NowPlaying(paused=False, title="")


def test_title_truncated_to_max_bytes():
    state = NowPlaying(paused=False, title="x" * (MAX_TITLE_BYTES + 50))
    app = state.to_app(SSRC)
    assert len(app.data) == 1 + MAX_TITLE_BYTES
    assert over_the_wire(state).title == "x" * MAX_TITLE_BYTES


def test_title_of_exactly_max_bytes_is_kept():
    title = "é" * (MAX_TITLE_BYTES // 2)  # two bytes each
    assert over_the_wire(NowPlaying(paused=True, title=title)).title == title


def test_title_truncation_keeps_whole_characters():
    title = "x" + "é" * MAX_TITLE_BYTES  # 1 + 2*200 bytes: byte 200 is the first half of an "é"
    app = NowPlaying(paused=False, title=title).to_app(SSRC)
    app.data[1:].decode("utf-8")  # the wire form must be valid UTF-8
    received = over_the_wire(NowPlaying(paused=False, title=title)).title
    assert "\ufffd" not in received
    assert title.startswith(received)


def test_other_flag_bits_ignored():
    assert NowPlaying.from_app(App(SSRC, APP_NAME, 0, b"\x05ab\x00")) == NowPlaying(paused=True, title="ab")
    assert NowPlaying.from_app(App(SSRC, APP_NAME, 0, b"\xfcab\x00")) == NowPlaying(paused=False, title="ab")


def test_padding_zeros_stripped_from_title():
    assert NowPlaying.from_app(App(SSRC, APP_NAME, 0, b"\x00abc\x00\x00\x00\x00")).title == "abc"


def test_invalid_utf8_title_replaced_not_raised():
    assert NowPlaying.from_app(App(SSRC, APP_NAME, 0, b"\x00a\xffb")).title == "a\ufffdb"


@pytest.mark.parametrize("name", [b"RDIo", b"XXXX", b"OIDR"])
def test_wrong_app_name(name):
    with pytest.raises(WireError, match=r"is not a station state packet"):
        NowPlaying.from_app(App(SSRC, name, 0, b"\x00abc"))


def test_wrong_app_name_message_names_it():
    with pytest.raises(WireError, match=r"^RTCP APP b'XXXX' is not a station state packet$"):
        NowPlaying.from_app(App(SSRC, b"XXXX", 0, b"\x00abc"))


def test_empty_data():
    with pytest.raises(WireError, match=r"^RTCP APP RDIO packet has no data$"):
        NowPlaying.from_app(App(SSRC, APP_NAME, 0, b""))


def test_empty_data_from_the_wire():
    (app,) = parse_compound(bytes.fromhex("80cc0002 11223344 5244494f"))
    with pytest.raises(WireError, match="has no data"):
        NowPlaying.from_app(app)
