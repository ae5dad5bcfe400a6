"""The station's SAP announcements: when they are sent, versions as the title changes, and the deletion."""

from test_sdp import OUR_STATION

from rtpwire.sap import SapPacket
from rtpwire.sdp import StreamDescription
from station.announcer import SAP_INTERVAL_S, Announcer


def heard(data: bytes | None) -> tuple[SapPacket, StreamDescription]:
    assert data is not None
    packet = SapPacket.parse(data)
    return packet, StreamDescription.parse(packet.payload)


def test_first_announcement_at_once_then_every_interval():
    announcer = Announcer(OUR_STATION)
    assert announcer.announcement(100.0, "") is not None
    assert announcer.announcement(100.0 + SAP_INTERVAL_S - 0.01, "") is None
    assert announcer.announcement(100.0 + SAP_INTERVAL_S, "") is not None
    sent = [t for t in range(100, 200) if announcer.announcement(float(t) / 2 + 102, "") is not None]
    assert len(sent) == 100 / 2 / SAP_INTERVAL_S  # 50 s of times: one every interval


def test_announcement_carries_the_description_with_the_title():
    packet, description = heard(Announcer(OUR_STATION).announcement(0.0, "Blue Monk"))
    assert packet.origin == "127.0.0.1"
    assert not packet.deletion
    assert description.title == "Blue Monk"
    assert description.name == "Radio Alpha"
    assert (description.group, description.port, description.fmt) == ("239.255.41.1", 6100, OUR_STATION.fmt)


def test_new_title_is_announced_at_once_as_a_new_version():
    announcer = Announcer(OUR_STATION)
    first, before = heard(announcer.announcement(0.0, "one"))
    second, after = heard(announcer.announcement(0.1, "two"))
    assert (before.title, after.title) == ("one", "two")
    assert int(after.origin.version) == int(before.origin.version) + 1
    assert after.origin.key == before.origin.key  # the same session
    assert second.message_id_hash != first.message_id_hash


def test_same_title_keeps_the_version():
    announcer = Announcer(OUR_STATION)
    _, before = heard(announcer.announcement(0.0, "one"))
    _, after = heard(announcer.announcement(SAP_INTERVAL_S, "one"))
    assert after.origin.version == before.origin.version


def test_description_for_status_is_the_announced_one():
    announcer = Announcer(OUR_STATION)
    shown = announcer.description("Blue Monk")
    _, announced = heard(announcer.announcement(0.0, "Blue Monk"))
    assert announced == shown


def test_deletion_names_the_session():
    announcer = Announcer(OUR_STATION)
    _, announced = heard(announcer.announcement(0.0, "one"))
    packet, deleted = heard(announcer.deletion())
    assert packet.deletion
    assert deleted.origin == announced.origin
