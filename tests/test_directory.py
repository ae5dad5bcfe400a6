"""The stations a listener has heard announced: versions, deletions, namesakes, and what it cannot play."""

import dataclasses

from test_sdp import FFMPEG_48K_STEREO, OUR_STATION, OUR_STATION_SDP

from listener.directory import Directory
from rtpwire.sap import SapPacket
from rtpwire.sdp import Origin, StreamDescription
from station.announcer import Announcer


def station(name: str, session: str, group: str = "239.255.41.1") -> StreamDescription:
    return dataclasses.replace(OUR_STATION, name=name, group=group,
                               origin=dataclasses.replace(OUR_STATION.origin, session_id=session))


def announce(description: StreamDescription, title: str = "") -> bytes:
    data = Announcer(description).announcement(0.0, title)
    assert data is not None
    return data


def test_announced_stations_are_listed_in_the_order_heard():
    directory = Directory()
    directory.on_sap(announce(station("Beta", "2")), now=1.0)
    directory.on_sap(announce(station("Alpha", "1")), now=2.0)
    assert [s.name for s in directory.stations()] == ["Beta", "Alpha"]
    assert directory.unplayable == 0


def test_a_new_version_replaces_the_old_and_keeps_its_place():
    directory = Directory()
    directory.on_sap(announce(station("Alpha", "1"), "one"), now=1.0)
    directory.on_sap(announce(station("Beta", "2")), now=2.0)
    directory.on_sap(announce(station("Alpha", "1"), "two"), now=3.0)
    assert [(s.name, s.description.title, s.heard_s) for s in directory.stations()] == [
        ("Alpha", "two", 1.0), ("Beta", "", 2.0)]


def test_deletion_removes_the_station():
    directory = Directory()
    alpha = Announcer(station("Alpha", "1"))
    directory.on_sap(alpha.announcement(0.0, "one") or b"", now=1.0)
    directory.on_sap(announce(station("Beta", "2")), now=1.5)
    directory.on_sap(alpha.deletion(), now=2.0)
    assert [s.name for s in directory.stations()] == ["Beta"]


def test_deletion_naming_only_the_origin_line():
    """Other senders' deletions may carry only the description's o= line (RFC 2974)."""
    directory = Directory()
    alpha = station("Alpha", "1")
    directory.on_sap(announce(alpha), now=1.0)
    deletion = SapPacket(origin="127.0.0.1", payload=f"o={alpha.origin}\r\n".encode(), deletion=True)
    directory.on_sap(bytes(deletion), now=2.0)
    assert directory.stations() == []


def test_deletion_of_an_unknown_session_changes_nothing():
    directory = Directory()
    directory.on_sap(announce(station("Alpha", "1")), now=1.0)
    stranger = Origin("-", "99", "1", "127.0.0.1")
    directory.on_sap(bytes(SapPacket(origin="127.0.0.1", payload=f"o={stranger}".encode(), deletion=True)), 2.0)
    assert [s.name for s in directory.stations()] == ["Alpha"]


def test_two_stations_of_one_name_are_both_kept():
    directory = Directory()
    directory.on_sap(announce(station("Radio", "1", "239.255.41.1")), now=1.0)
    directory.on_sap(announce(station("Radio", "2", "239.255.41.2")), now=2.0)
    assert [s.description.group for s in directory.named("radio")] == ["239.255.41.1", "239.255.41.2"]
    assert directory.named("Radi") == []


def test_ffmpegs_stream_is_listed():
    directory = Directory()
    directory.on_sap(bytes(SapPacket.announcing("127.0.0.1", FFMPEG_48K_STEREO)), now=1.0)
    assert [s.description.fmt.rate for s in directory.stations()] == [48000]


def test_unplayable_announcements_are_counted_with_the_reason():
    directory = Directory()
    video = "v=0\r\no=- 5 1 IN IP4 10.0.0.9\r\ns=Cam\r\nc=IN IP4 239.255.3.3/1\r\nm=video 5000 RTP/AVP 96\r\n"
    directory.on_sap(bytes(SapPacket.announcing("10.0.0.9", video)), now=1.0)
    assert directory.last_unplayable == "SDP describes no RTP audio stream"
    directory.on_sap(b"\x20", now=2.0)
    assert directory.last_unplayable == "SAP packet too short: 1 bytes, need at least 4"
    directory.on_sap(bytes(SapPacket(origin="10.0.0.9", payload=b"hi", payload_type="text/plain")), now=3.0)
    assert directory.last_unplayable == "SAP payload of type 'text/plain' is not an SDP description"
    directory.on_sap(bytes(SapPacket(origin="10.0.0.9", payload=b"v=0\r\n", deletion=True)), now=4.0)
    assert directory.last_unplayable == "SAP deletion names no session: its payload has no o= line"
    assert directory.unplayable == 4
    assert directory.stations() == []


def test_an_announcement_whose_payload_type_has_4301_digits_is_counted_not_raised():
    """Found by tests/test_fuzz.py: int() refused it with a ValueError of its own, out of `on_sap`."""
    sdp = OUR_STATION_SDP.replace("RTP/AVP 10", "RTP/AVP " + "1" * 4301)
    directory = Directory()
    directory.on_sap(bytes(SapPacket.announcing("10.0.0.5", sdp)), now=1.0)
    assert (directory.stations(), directory.unplayable) == ([], 1)
    assert directory.last_unplayable.startswith("SDP m= payload types '1111")
