"""SDP (RFC 8866): our station's description, ffmpeg's, and what a listener makes of bad ones."""

import pytest

from rtpwire.audio import L16_MONO, L16_STEREO, OPUS_STEREO, AudioFormat
from rtpwire.errors import WireError
from rtpwire.sdp import Origin, RepairFlow, StreamDescription

OUR_STATION = StreamDescription(origin=Origin("-", "2970755911", "1", "127.0.0.1"), name="Radio Alpha",
                                group="239.255.41.1", port=6100, fmt=L16_STEREO, ttl=1, ptime_ms=5.0,
                                tool="multicast-radio")
OUR_STATION_SDP = ("v=0\r\n"
                   "o=- 2970755911 1 IN IP4 127.0.0.1\r\n"
                   "s=Radio Alpha\r\n"
                   "c=IN IP4 239.255.41.1/1\r\n"
                   "t=0 0\r\n"
                   "a=tool:multicast-radio\r\n"
                   "a=recvonly\r\n"
                   "m=audio 6100 RTP/AVP 10\r\n"
                   "a=rtpmap:10 L16/44100/2\r\n"
                   "a=ptime:5\r\n")
# What `ffmpeg -re -i song.wav -c:a pcm_s16be -f rtp -sdp_file FILE rtp://...` writes (ffmpeg 5.1), for a 48 kHz
# stereo file (a dynamic type) and a 44.1 kHz mono one (static type 11, with no rtpmap)
FFMPEG_48K_STEREO = ("v=0\n"
                     "o=- 0 0 IN IP4 127.0.0.1\n"
                     "s=No Name\n"
                     "c=IN IP4 239.255.77.7/1\n"
                     "t=0 0\n"
                     "a=tool:libavformat LIBAVFORMAT_VERSION\n"
                     "m=audio 5990 RTP/AVP 97\n"
                     "b=AS:1536\n"
                     "a=rtpmap:97 L16/48000/2\n")
FFMPEG_44K_MONO = ("v=0\n"
                   "o=- 0 0 IN IP4 127.0.0.1\n"
                   "s=No Name\n"
                   "c=IN IP4 239.255.77.7/1\n"
                   "t=0 0\n"
                   "a=tool:libavformat LIBAVFORMAT_VERSION\n"
                   "m=audio 5990 RTP/AVP 11\n"
                   "b=AS:705\n")


def sdp(*lines: str) -> str:
    return "\r\n".join(lines) + "\r\n"


def with_media(*media: str, connection: str = "c=IN IP4 239.255.1.2/1") -> str:
    return sdp("v=0", "o=- 1 1 IN IP4 10.0.0.5", "s=Elsewhere", connection, "t=0 0", *media)


def test_our_station_golden():
    assert str(OUR_STATION) == OUR_STATION_SDP


def test_our_station_parses_back():
    assert StreamDescription.parse(OUR_STATION_SDP) == OUR_STATION


def test_title_is_the_session_information_line():
    text = str(StreamDescription(**{**_fields(OUR_STATION), "title": "Blue Monk"}))
    assert text.splitlines()[3] == "i=Blue Monk"
    assert StreamDescription.parse(text).title == "Blue Monk"


def test_line_breaks_in_a_name_or_title_cannot_end_the_line():
    description = StreamDescription(**{**_fields(OUR_STATION), "name": "Radio\r\nm=video 1 RTP/AVP 31",
                                       "title": "a\nb\0c"})
    lines = str(description).splitlines()
    assert "s=Radio m=video 1 RTP/AVP 31" in lines
    assert "i=a b c" in lines
    assert StreamDescription.parse(str(description)).fmt == L16_STEREO


def test_ffmpeg_48k_stereo_dynamic_type():
    description = StreamDescription.parse(FFMPEG_48K_STEREO)
    assert description.fmt == AudioFormat(rate=48000, channels=2, payload_type=97)
    assert (description.group, description.port, description.ttl) == ("239.255.77.7", 5990, 1)
    assert description.name == "No Name"
    assert description.origin.key == ("-", "0", "127.0.0.1")
    assert description.tool == "libavformat LIBAVFORMAT_VERSION"


def test_ffmpeg_44k_mono_static_type_without_rtpmap():
    assert StreamDescription.parse(FFMPEG_44K_MONO).fmt == L16_MONO


def test_bytes_are_read_as_utf8():
    text = OUR_STATION_SDP.replace("Radio Alpha", "Radio Ñandú")
    assert StreamDescription.parse(text.encode("utf-8")).name == "Radio Ñandú"


def test_rtpmap_channels_default_to_one_and_case_is_ignored():
    description = StreamDescription.parse(with_media("m=audio 5004 RTP/AVP 96", "a=rtpmap:96 l16/48000"))
    assert description.fmt == AudioFormat(rate=48000, channels=1, payload_type=96)


def test_first_playable_among_the_offered_types():
    description = StreamDescription.parse(with_media("m=audio 5004 RTP/AVP 0 98 96", "a=rtpmap:98 G722/8000",
                                                     "a=rtpmap:96 L16/44100/2"))
    assert description.fmt == AudioFormat(rate=44100, channels=2, payload_type=96)


OPUS_STEREO_SDP = ("v=0\r\n"
                   "o=- 7 1 IN IP4 127.0.0.1\r\n"
                   "s=Radio Opus\r\n"
                   "c=IN IP4 239.255.41.1/1\r\n"
                   "t=0 0\r\n"
                   "a=group:FEC-FR S1 R1\r\n"
                   "a=recvonly\r\n"
                   "m=audio 6100 RTP/AVP 96\r\n"
                   "a=rtpmap:96 opus/48000/2\r\n"
                   "a=fmtp:96 sprop-stereo=1; useinbandfec=1\r\n"
                   "a=ptime:10\r\n"
                   "a=mid:S1\r\n"
                   "m=application 6104 RTP/AVP 127\r\n"
                   "a=rtpmap:127 x-rs-fec/48000\r\n"
                   "a=fmtp:127 k=10;n=15\r\n"
                   "a=mid:R1\r\n")


def test_opus_with_repair_flow_golden():
    """RFC 7587: opus/48000/2 whatever is sent, the fmtp says stereo and in-band FEC; the repair flow is a second
    line grouped with the audio (RFC 5956's FEC-FR)."""
    description = StreamDescription(origin=Origin("-", "7", "1", "127.0.0.1"), name="Radio Opus",
                                    group="239.255.41.1", port=6100, fmt=OPUS_STEREO, ttl=1, ptime_ms=10.0,
                                    repair=RepairFlow(port=6104, payload_type=127, k=10, n=15), inband_fec=True)
    assert str(description) == OPUS_STEREO_SDP
    assert StreamDescription.parse(OPUS_STEREO_SDP) == description


@pytest.mark.parametrize(("fmtp", "channels"), [("a=fmtp:111 sprop-stereo=1", 2), ("a=fmtp:111 sprop-stereo=0", 1),
                                                ("a=fmtp:111 minptime=10", 1)])
def test_opus_channels_from_sprop_stereo(fmtp, channels):
    """RFC 7587 7.1: without sprop-stereo=1 the sender sends mono."""
    description = StreamDescription.parse(with_media("m=audio 5004 RTP/AVP 111", "a=rtpmap:111 opus/48000/2", fmtp))
    assert description.fmt == AudioFormat(48000, channels, 111, "opus")
    assert description.repair is None and not description.inband_fec


def test_repair_line_of_another_kind_is_skipped():
    description = StreamDescription.parse(with_media("m=audio 5004 RTP/AVP 10", "m=application 5008 RTP/AVP 100",
                                                     "a=rtpmap:100 ulpfec/90000"))
    assert description.repair is None


def test_video_and_other_transports_are_skipped():
    description = StreamDescription.parse(with_media("m=video 5000 RTP/AVP 96", "a=rtpmap:96 H264/90000",
                                                     "m=audio 5002 UDP/TLS/RTP/SAVPF 10", "m=audio 5004 RTP/AVP 11"))
    assert (description.port, description.fmt) == (5004, L16_MONO)
    assert not description.encrypted


def test_an_encrypted_stream_is_rtp_savp_and_carries_no_key():
    encrypted = StreamDescription(**{**_fields(OUR_STATION), "encrypted": True})
    text = str(encrypted)
    assert "m=audio 6100 RTP/SAVP 10\r\n" in text
    assert "crypto" not in text and "inline" not in text
    assert StreamDescription.parse(text).encrypted


def test_source_filter_names_the_stations_address():
    """RFC 4570: a listener joined through the description hears that one source only."""
    described = StreamDescription(**{**_fields(OUR_STATION), "source": "127.0.0.1"})
    text = str(described)
    assert "a=source-filter: incl IN IP4 239.255.41.1 127.0.0.1\r\n" in text
    assert StreamDescription.parse(text) == described


@pytest.mark.parametrize("value", ["excl IN IP4 239.255.1.2 10.0.0.1", "incl IN IP4 239.255.1.2 10.0.0.1 10.0.0.2",
                                   "incl IN IP6 ff15::1 fe80::1", "incl IN IP4 239.255.1.2"])
def test_source_filters_that_name_no_single_source_are_not_a_lock(value):
    assert StreamDescription.parse(with_media("m=audio 5004 RTP/AVP 10", f"a=source-filter: {value}")).source is None


def test_a_source_filter_naming_no_address_is_refused():
    with pytest.raises(WireError, match=r"^SDP a=source-filter source 'nowhere' is not an IPv4 address$"):
        StreamDescription.parse(with_media("m=audio 5004 RTP/AVP 10", "a=source-filter: incl IN IP4 * nowhere"))


def test_media_connection_overrides_the_sessions():
    description = StreamDescription.parse(with_media("m=audio 5004 RTP/AVP 10", "c=IN IP4 239.255.9.9/4"))
    assert (description.group, description.ttl) == ("239.255.9.9", 4)


def test_connection_without_ttl():
    assert StreamDescription.parse(with_media("m=audio 5004 RTP/AVP 10", connection="c=IN IP4 239.1.2.3")).ttl \
        is None


def test_ptime():
    assert StreamDescription.parse(with_media("m=audio 5004 RTP/AVP 10", "a=ptime:20")).ptime_ms == 20.0


@pytest.mark.parametrize(("text", "message"), [
    ("", "not an SDP description: it must begin with v=0"),
    ("RTSP/1.0 200 OK\r\n", "not an SDP description: it must begin with v=0"),
    (sdp("v=0", "s=x"), "SDP has no o= line"),
    (sdp("v=0", "o=- 1 1 IN IP4 10.0.0.5", "s=x", "this is not sdp"),
     "SDP line 4 is not type=value: 'this is not sdp'"),
    (sdp("v=0", "o=- 1 IN IP4 10.0.0.5", "s=x", "c=IN IP4 239.1.1.1/1", "m=audio 5004 RTP/AVP 10"),
     "SDP o= line has 5 fields, expected 6 (username session-id version IN IP4 address)"),
    (sdp("v=0", "o=- 1 1 IN IP4 10.0.0.5", "s=x", "m=audio 5004 RTP/AVP 10"),
     "SDP has no c= line: it does not say where the stream is sent"),
    (with_media(), "SDP describes no RTP audio stream"),
    (with_media("m=video 5000 RTP/AVP 96"), "SDP describes no RTP audio stream"),
    (with_media("m=audio 5004 RTP/AVP 0 97", "a=rtpmap:97 G722/8000"),
     "SDP offers no L16 or Opus audio (offered: payload type 0, G722/8000); this listener plays those only"),
    (with_media("m=audio 5004 RTP/AVP 96"),
     "SDP offers no L16 or Opus audio (offered: payload type 96); this listener plays those only"),
    (with_media("m=audio 5004 RTP/AVP 97", "a=rtpmap:97 opus/48000/1"),
     "SDP Opus must be opus/48000/2 (RFC 7587), not opus/48000/1"),
    (with_media("m=audio 5004 RTP/AVP 10", "m=application 5008 RTP/AVP 100", "a=rtpmap:100 x-rs-fec/44100",
                "a=fmtp:100 k=10;n=5"),
     "SDP repair flow's a=fmtp k and n must be 1 <= k < n <= 255, not '10' and '5'"),
    (with_media("m=audio 5004 RTP/AVP"),
     "SDP m= line has 3 fields, expected at least 4 (media port proto format)"),
    (with_media("m=audio 65535 RTP/AVP 10"),
     "SDP m= port '65535' is not a port from 1 to 65534 (RTCP uses the next one)"),
    (with_media("m=audio x RTP/AVP 10"), "SDP m= port 'x' is not a port from 1 to 65534 (RTCP uses the next one)"),
    (with_media("m=audio 5004 RTP/AVP 10 200"), "SDP m= payload types '10 200' are not RTP payload types (0-127)"),
    (with_media("m=audio 5004 RTP/AVP 96", "a=rtpmap:96 L16"),
     "SDP a=rtpmap:'96 L16' is not 'TYPE ENCODING/RATE[/CHANNELS]'"),
    (with_media("m=audio 5004 RTP/AVP 96", "a=rtpmap:96 L16/0/2"), "SDP L16 rate 0 Hz is out of range (1 to 384000)"),
    (with_media("m=audio 5004 RTP/AVP 96", "a=rtpmap:96 L16/48000/6"),
     "SDP L16 stream has 6 channels; this listener plays mono or stereo"),
    (with_media("m=audio 5004 RTP/AVP 10", "a=ptime:soon"), "SDP a=ptime:'soon' is not a number of milliseconds"),
    (with_media("m=audio 5004 RTP/AVP 10", "a=ptime:0"), "SDP a=ptime:0 is out of range (0 to 1000 ms)"),
    (with_media("m=audio 5004 RTP/AVP 10", connection="c=IN IP4 10.0.0.7"),
     "SDP c= address: 10.0.0.7 is not a multicast address (224.0.0.0/4; 239.255.0.0/16 is for local use); "
     "this listener joins multicast streams"),
    (with_media("m=audio 5004 RTP/AVP 10", connection="c=IN IP6 ff15::1"),
     "SDP c= address type 'IP6' is not IP4; this listener joins IPv4 groups"),
    (with_media("m=audio 5004 RTP/AVP 10", connection="c=IN IP4"), "SDP c= line 'IN IP4' is not 'IN IP4 ADDRESS'"),
    (with_media("m=audio 5004 RTP/AVP 10", connection="c=IN IP4 239.1.1.1/999"),
     "SDP c= TTL '999' is not a number from 0 to 255"),
])
def test_bad_descriptions_say_what_is_wrong(text, message):
    with pytest.raises(WireError) as error:
        StreamDescription.parse(text)
    assert str(error.value) == message


def test_not_utf8():
    with pytest.raises(WireError, match=r"^SDP is not UTF-8 text \(byte 20\)$"):
        StreamDescription.parse(OUR_STATION_SDP.encode()[:20] + b"\xff" + OUR_STATION_SDP.encode()[20:])


def test_too_long():
    with pytest.raises(WireError, match=r"^SDP of 9000 characters is too long \(at most 8192\)$"):
        StreamDescription.parse("v=0\n" + "a" * 8996)


def test_origin_golden():
    assert str(Origin("-", "0", "0", "127.0.0.1")) == "- 0 0 IN IP4 127.0.0.1"
    assert Origin.parse("jdoe 3724394400 3724394405 IN IP4 198.51.100.1") == Origin(
        "jdoe", "3724394400", "3724394405", "198.51.100.1")


def test_origin_network_type_must_be_internet():
    with pytest.raises(WireError, match=r"^SDP o= network type 'XX' is not IN$"):
        Origin.parse("- 1 1 XX IP4 10.0.0.1")


def _fields(description: StreamDescription) -> dict[str, object]:
    return {name: getattr(description, name) for name in StreamDescription.__dataclass_fields__}


# Found by tests/test_fuzz.py: each of these raised a bare ValueError from int(), not a WireError. str.isdigit passes
# Unicode digits such as '²', which int() refuses; int() refuses more than 4300 digits.

def test_sdp_with_a_superscript_digit_for_port_is_refused():
    with pytest.raises(WireError, match=r"^SDP m= port '²' is not a port from 1 to 65534 \(RTCP uses the next one\)$"):
        StreamDescription.parse(with_media("m=audio ² RTP/AVP 10"))


def test_sdp_with_a_4301_digit_port_is_refused():
    with pytest.raises(WireError, match=r"^SDP m= port '0{20}' is not a port from 1 to 65534"):
        StreamDescription.parse(with_media("m=audio " + "0" * 4301 + " RTP/AVP 10"))


def test_sdp_with_a_4301_digit_payload_type_is_refused():
    with pytest.raises(WireError, match=r"^SDP m= payload types '1{40}' are not RTP payload types \(0-127\)$"):
        StreamDescription.parse(with_media("m=audio 5004 RTP/AVP " + "1" * 4301))
    # zero, at length
    with pytest.raises(WireError, match=r"^SDP offers no L16 or Opus audio \(offered: payload type 0\)"):
        StreamDescription.parse(with_media("m=audio 5004 RTP/AVP " + "0" * 4301))


def test_sdp_with_a_superscript_digit_for_payload_type_is_refused():
    with pytest.raises(WireError, match=r"^SDP m= payload types '10 ²' are not RTP payload types \(0-127\)$"):
        StreamDescription.parse(with_media("m=audio 5004 RTP/AVP 10 ²"))


def test_sdp_with_a_superscript_digit_for_ttl_is_refused():
    with pytest.raises(WireError, match=r"^SDP c= TTL '²' is not a number from 0 to 255$"):
        StreamDescription.parse(with_media("m=audio 5004 RTP/AVP 10", connection="c=IN IP4 239.255.1.2/²"))


def test_sdp_with_a_4301_digit_ttl_is_refused():
    with pytest.raises(WireError, match=r"^SDP c= TTL '1{20}' is not a number from 0 to 255$"):
        StreamDescription.parse(with_media("m=audio 5004 RTP/AVP 10", connection="c=IN IP4 239.255.1.2/" + "1" * 4301))


@pytest.mark.parametrize("rtpmap", ["a=rtpmap:97 L16/" + "4" * 4301, "a=rtpmap:" + "9" * 4301 + " L16/44100",
                                    "a=rtpmap:97 L16/44100/" + "2" * 4301])
def test_sdp_with_a_4301_digit_rtpmap_number_is_refused(rtpmap):
    with pytest.raises(WireError, match=r"^SDP a=rtpmap:'.*' is not 'TYPE ENCODING/RATE\[/CHANNELS\]'$"):
        StreamDescription.parse(with_media("m=audio 5004 RTP/AVP 97", rtpmap))


def test_sdp_numbers_with_leading_zeros_still_read():
    description = StreamDescription.parse(with_media("m=audio 0005004 RTP/AVP 097", "a=rtpmap:097 L16/048000/02",
                                                     connection="c=IN IP4 239.255.1.2/001"))
    assert (description.port, description.fmt, description.ttl) == (5004, AudioFormat(48000, 2, 97), 1)


def test_the_header_extensions_carrying_the_clock_round_trip():
    description = StreamDescription(**{**_fields(OUR_STATION), "clock_extension_id": 1, "latency_extension_id": 2})
    text = str(description)
    assert "a=extmap:1 urn:ietf:params:rtp-hdrext:ntp-64\r\n" in text
    assert "a=extmap:2 urn:x-multicast-radio:latency-us\r\n" in text
    assert StreamDescription.parse(text) == description


def test_an_extmap_with_a_direction_or_at_session_level_is_read():
    text = with_media("a=extmap:7/recvonly urn:ietf:params:rtp-hdrext:ntp-64", "m=audio 5004 RTP/AVP 10")
    assert StreamDescription.parse(text).clock_extension_id == 7
    assert StreamDescription.parse(text).latency_extension_id is None


def test_extensions_not_described_are_none():
    assert (OUR_STATION.clock_extension_id, OUR_STATION.latency_extension_id) == (None, None)


@pytest.mark.parametrize("element_id", ["0", "15", "256", "x"])
def test_an_extmap_id_the_one_byte_form_cannot_carry_is_refused(element_id):
    text = with_media("m=audio 5004 RTP/AVP 10", f"a=extmap:{element_id} urn:ietf:params:rtp-hdrext:ntp-64")
    with pytest.raises(WireError, match="not a one-byte header extension ID"):
        StreamDescription.parse(text)
