"""The listener's status line: the latency in use and where it came from, and the playout offset."""

import re

from simulation import WALL_OFFSET_S, Playout, broadcast, link, tone_pcm

from listener.receiver import LatencySource, Receiver, ReceiverConfig
from listener.status import status_key, status_line
from rtpwire.audio import L16_STEREO
from rtpwire.rtp import RtpPacket

WHERE = "239.255.0.1:5004 via 127.0.0.1"


def receiver(source: LatencySource = LatencySource.DEFAULT) -> Receiver:
    return Receiver(ReceiverConfig(L16_STEREO, 0.06, WALL_OFFSET_S, latency_source=source), 0.0)


def test_nothing_heard_says_where_it_listens():
    assert status_line(receiver(), 5.0, WHERE).startswith(f"nothing heard for 5 s on {WHERE}")


def test_packets_it_cannot_play_say_why():
    """A sender of a dynamic payload type (ffmpeg at 48 kHz) heard without its SDP: the line says so, not that
    nothing is there."""
    r = receiver()
    rtp = RtpPacket(payload_type=97, sequence=1, timestamp=0, ssrc=5, payload=bytes(8))
    r.on_rtp(bytes(rtp), 0.1)
    r.on_rtp(bytes(rtp), 0.2)
    line = status_line(r, 5.0, WHERE)
    assert line == (f"nothing playable heard for 5 s on {WHERE}: 2 packets refused, the last: unsupported RTP "
                    "payload type 97 (expected L16: 10 or 11; dynamic type 97 is described by the stream's SDP: "
                    "python -m listener FILE.sdp)")
    assert status_key(r, 5.0) != status_key(receiver(), 5.0)


def test_the_default_latency_until_the_station_says():
    r = receiver()
    assert status_line(r, 0.5, WHERE).endswith("| latency 60.0 ms (default)")


def test_the_station_latency_and_the_offset_once_playing():
    r = receiver()
    Playout(r, link(broadcast(tone_pcm(1.0), latency_s=0.15))).until(0.5)
    assert status_line(r, 0.5, WHERE) == ("Sim Radio — t | playing | buffer 139 ms | lost 0 | "
                                          "latency 150.0 ms (station) | offset +0.00 ms")


def test_the_command_line_latency():
    r = receiver(LatencySource.COMMAND_LINE)
    Playout(r, link(broadcast(tone_pcm(1.0), latency_s=0.15))).until(0.5)
    assert "| latency 60.0 ms (command line) |" in status_line(r, 0.5, WHERE)


def test_a_latency_on_its_way_to_the_station_one():
    r = receiver()
    datagrams = link(broadcast(tone_pcm(3.0), latency_s=0.15))
    # the first two reports missed: playing on the default from CLOCK_WAIT_S after the first packet, until 2.1 s
    Playout(r, [d for d in datagrams if d.is_rtp or d.time_s > 2.0]).until(2.2)
    line = status_line(r, 2.2, WHERE)
    assert re.search(r"\| latency (\d+)\.0 ms, moving to 150\.0 \(station\) \| offset -\d+\.\d\d ms$", line), line


def test_a_new_latency_source_is_worth_a_new_line():
    """Where no terminal refreshes the line in place, a line is printed when the key changes."""
    r = receiver()
    datagrams = link(broadcast(tone_pcm(2.0)))
    Playout(r, [d for d in datagrams if d.is_rtp]).until(1.05)
    assert status_key(r, 1.05).endswith("|default")
    report = next(d for d in datagrams if not d.is_rtp and d.time_s > 1.0)
    r.on_rtcp(report.data, report.time_s)
    assert status_key(r, 1.2).endswith("|station")
