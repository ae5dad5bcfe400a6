"""AudienceFeed on loopback: its thread hears the listeners' reports, and the console reads the audience meanwhile."""

import socket
import threading
import time

from rtpwire.audio import L16_STEREO
from rtpwire.rtcp import SDES_CNAME, ReceiverReport, SdesChunk, SourceDescription, compound
from station.audience import Audience
from station.audience_feed import AudienceFeed

SSRC = 0x5EED_CAFE
WAIT_S = 5.0  # bound on the wait for the thread; the report normally arrives within milliseconds


def test_the_feed_hears_a_listeners_report_until_the_station_stops():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    feed = AudienceFeed(Audience(SSRC, L16_STEREO.rate, 184_000.0, wall_offset_s=0.0), sock)
    stopping = threading.Event()
    feed.start(stopping)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
            listener.sendto(compound(ReceiverReport(0xA1),
                                     SourceDescription((SdesChunk(0xA1, ((SDES_CNAME, "a@h"),)),))),
                            sock.getsockname())
            deadline = time.monotonic() + WAIT_S
            while feed.count(time.monotonic()) == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
        assert [listener.cname for listener in feed.listeners(time.monotonic())] == ["a@h"]
    finally:
        stopping.set()
        feed.join(WAIT_S)
        sock.close()
    assert feed._thread is not None and not feed._thread.is_alive()
