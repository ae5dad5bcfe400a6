"""Announcements on loopback: the thread announces the station, a new title at once, and takes it back when the
station stops; the console reads the description meanwhile."""

import select
import socket
import threading

from test_sdp import OUR_STATION

from rtpwire.sap import SapPacket
from rtpwire.sdp import StreamDescription
from station.announcements import Announcements
from station.announcer import Announcer

WAIT_S = 5.0  # bound on each wait for the thread; announcements normally come within POLL_S


def _next(receiver: socket.socket) -> tuple[SapPacket, StreamDescription]:
    assert select.select([receiver], [], [], WAIT_S)[0], "nothing announced"
    packet = SapPacket.parse(receiver.recv(65536))
    return packet, StreamDescription.parse(packet.payload)


def test_announces_a_new_title_at_once_and_takes_the_announcement_back_at_the_end():
    title = ["Blue Monk"]
    announcements = Announcements(Announcer(OUR_STATION), title=lambda: title[0])
    stopping = threading.Event()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        receiver.bind(("127.0.0.1", 0))
        sender.connect(receiver.getsockname())
        announcements.start(sender, stopping)
        try:
            packet, description = _next(receiver)
            assert (packet.deletion, description.title) == (False, "Blue Monk")
            title[0] = "Round Midnight"  # before the interval is over: announced within POLL_S
            packet, description = _next(receiver)
            assert (packet.deletion, description.title) == (False, "Round Midnight")
            assert StreamDescription.parse(announcements.description("Round Midnight").encode()) == description
        finally:
            stopping.set()
            announcements.join(WAIT_S)
        packet, description = _next(receiver)
        assert packet.deletion and description.title == "Round Midnight"
