"""--icecast URLs: what they say, and that the password never shows."""

import re

import pytest

from station.icecast import encoder_command, listeners_on, relay_command, FeedSettings
from station.icecast_target import parse_target

SETTINGS = FeedSettings(rate=44100, channels=2, slot_frames=220, bitrate_kbps=128, name="Radio", description="d")


def test_a_url_names_the_mount_its_format_and_keeps_the_password_to_itself():
    target = parse_target("icecast://source:s%40cret@radio.example:8001/live.ogg")
    assert (target.host, target.port, target.mount, target.format) == ("radio.example", 8001, "/live.ogg", "ogg")
    assert target.password == "s@cret" and target.user == "source"
    assert target.describe() == "radio.example:8001/live.ogg"
    assert "s@cret" not in repr(target) and "s%40cret" not in repr(target)
    assert target.source_url() == "icecast://source:s%40cret@radio.example:8001/live.ogg"
    assert target.redact("icecast://source:s%40cret@radio.example:8001/live.ogg: 401") == \
        "icecast://source:***@radio.example:8001/live.ogg: 401"


@pytest.mark.parametrize("url, fmt", [("http://source:p@h/a.opus", "ogg"), ("icecast://source:p@h:8000/a.MP3", "mp3")])
def test_the_extension_picks_the_format_and_http_is_accepted(url, fmt):
    target = parse_target(url)
    assert target.format == fmt and target.port == 8000


@pytest.mark.parametrize("url, says", [
    ("ftp://source:p@h:8000/a.ogg", "looks like"),
    ("icecast://source@h:8000/a.ogg", "no password"),
    ("icecast://source:p@h:8000/a.wav", "extension"),
    ("icecast://source:p@h:8000/", "extension"),
    ("icecast://source:p@h:port/a.ogg", "numeric port"),
    ("icecast://source:p@h:8000/a.ogg?x=1", "no ?query"),
])
def test_a_bad_url_is_refused_without_its_password(url, says):
    with pytest.raises(ValueError, match=re.escape(says)) as refused:
        parse_target(url)
    assert ":p@" not in str(refused.value)


def test_the_admin_request_for_an_mp3_title():
    target = parse_target("icecast://source:pw@h:8000/a b.mp3")
    assert target.metadata_url("Tom & Jerry") == \
        "http://h:8000/admin/metadata?mount=/a%20b.mp3&mode=updinfo&song=Tom%20%26%20Jerry"
    assert target.authorization() == "Basic c291cmNlOnB3"


def test_the_encoder_titles_ogg_streams_and_the_relay_names_the_station():
    ogg = encoder_command(parse_target("icecast://source:pw@h:8000/a.ogg"), SETTINGS, "Song")
    assert ["-c:a", "libopus", "-b:a", "128k"] == ogg[ogg.index("-c:a"):ogg.index("-c:a") + 4]
    assert "title=Song" in ogg and ogg[-1] == "pipe:1"
    relay = relay_command(parse_target("icecast://source:pw@h:8000/a.mp3"), SETTINGS)
    assert relay[-1] == "icecast://source:pw@h:8000/a.mp3"
    assert relay[relay.index("-content_type") + 1] == "audio/mpeg"
    assert relay[relay.index("-ice_name") + 1] == "Radio" and relay[relay.index("-ice_description") + 1] == "d"


def test_listeners_on_a_mount_from_the_status_page():
    one = {"icestats": {"source": {"listenurl": "http://h:8000/a.ogg", "listeners": 3}}}
    several = {"icestats": {"source": [{"listenurl": "http://h:8000/b.mp3", "listeners": 1},
                                       {"listenurl": "http://h:8000/a.ogg", "listeners": 2}]}}
    assert listeners_on(one, "/a.ogg") == 3 and listeners_on(several, "/a.ogg") == 2
    assert listeners_on({"icestats": {}}, "/a.ogg") is None and listeners_on(several, "/c.ogg") is None
    assert listeners_on("not a document", "/a.ogg") is None
