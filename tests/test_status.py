"""The listener's status line: the latency in use and where it came from, the playout offset, and why nothing
plays, which --quiet still says, once each."""

import re
from dataclasses import replace

from simulation import SRTP_KEY, WALL_OFFSET_S, SoundCard, broadcast, link, tone_pcm, without_clock

from listener.playout import LatencySource
from listener.receiver import Receiver, ReceiverConfig
from listener.status import Silence, StatusPrinter, silence, status_key, status_line
from rtpwire.audio import L16_STEREO
from rtpwire.fec import REPAIR_PAYLOAD_TYPE
from rtpwire.rtp import RtpPacket
from rtpwire.srtp import SrtpSender
from station.fec_encoder import FecEncoder

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
    SoundCard(r, link(broadcast(tone_pcm(1.0), latency_s=0.15))).until(0.5)
    assert status_line(r, 0.5, WHERE) == ("Sim Radio — t | playing | buffer 139 ms | lost 0 | "
                                          "latency 150.0 ms (station) | offset +0.00 ms")


def test_loss_after_fec_once_repair_packets_are_heard():
    """What the network lost, and what FEC could not rebuild: 3 lost in one block of 10,15 (rebuilt), 6 in
    another (beyond its 5 repair packets)."""
    r = receiver()
    fec = FecEncoder(10, 15, ssrc=0xFEC, payload_type=REPAIR_PAYLOAD_TYPE, first_sequence=0)
    sent = broadcast(tone_pcm(1.0), latency_s=0.15, fec=fec)
    SoundCard(r, link(sent, drop_rtp={11, 12, 13, 40, 41, 42, 43, 44, 45})).until(0.6)
    assert "| lost 9 (6 after FEC) |" in status_line(r, 0.6, WHERE)


def test_the_command_line_latency():
    r = receiver(LatencySource.COMMAND_LINE)
    SoundCard(r, link(broadcast(tone_pcm(1.0), latency_s=0.15))).until(0.5)
    assert "| latency 60.0 ms (command line) |" in status_line(r, 0.5, WHERE)


def test_a_latency_on_its_way_to_the_station_one():
    r = receiver()
    datagrams = link(broadcast(tone_pcm(3.0), latency_s=0.15))
    # no clock in the packets, the first two reports missed: playing on the default from CLOCK_WAIT_S after the
    # first packet, until 2.1 s
    SoundCard(r, [d for d in without_clock(datagrams) if d.is_rtp or d.time_s > 2.0]).until(2.2)
    line = status_line(r, 2.2, WHERE)
    assert re.search(r"\| latency (\d+)\.0 ms, moving to 150\.0 \(station\) \| offset -\d+\.\d\d ms$", line), line


def test_a_new_latency_source_is_worth_a_new_line():
    """Where no terminal refreshes the line in place, a line is printed when the key changes."""
    r = receiver()
    datagrams = without_clock(link(broadcast(tone_pcm(2.0))))
    SoundCard(r, [d for d in datagrams if d.is_rtp]).until(1.05)
    assert status_key(r, 1.05).endswith("|default")
    report = next(d for d in datagrams if not d.is_rtp and d.time_s > 1.0)
    r.on_rtcp(report.data, report.time_s)
    assert status_key(r, 1.2).endswith("|station")


# --- with --quiet: no status line, but why nothing plays, once each -----------------------------------------------

def shown(printer: StatusPrinter, r: Receiver, times: list[float], capsys) -> list[str]:
    for now in times:
        printer.show(r, now, WHERE)
    printer.close()
    return capsys.readouterr().err.splitlines()


def test_quiet_prints_no_status_line(capsys):
    r = receiver()
    SoundCard(r, link(broadcast(tone_pcm(1.0)))).until(0.5)
    assert shown(StatusPrinter(quiet=True), r, [0.25, 0.5, 5.0], capsys) == []


def test_quiet_still_says_once_that_the_stream_is_encrypted(capsys):
    sender = SrtpSender(SRTP_KEY)
    sealed = [replace(d, data=sender.protect(d.data) if d.is_rtp else sender.protect_rtcp(d.data))
              for d in link(broadcast(tone_pcm(1.0)))]
    r = receiver()
    SoundCard(r, sealed).until(0.5)
    lines = shown(StatusPrinter(quiet=True), r, [0.25, 0.5, 0.75], capsys)
    assert len(lines) == 1 and lines[0].startswith("listener: stream is encrypted: ")


def test_quiet_still_says_once_that_authentication_fails(capsys):
    sender = SrtpSender(SRTP_KEY)
    sealed = [replace(d, data=sender.protect(d.data) if d.is_rtp else sender.protect_rtcp(d.data))
              for d in link(broadcast(tone_pcm(1.0)))]
    r = Receiver(ReceiverConfig(L16_STEREO, 0.06, WALL_OFFSET_S, srtp_key=bytes(30)), 0.0)
    SoundCard(r, sealed).until(1.0)
    lines = shown(StatusPrinter(quiet=True), r, [1.0, 3.0, 4.0, 5.0], capsys)
    assert r.packets_unauthenticated > 150
    assert lines == [f"listener: authentication failed on {r.packets_unauthenticated} packets on {WHERE}: a wrong key "
                     "(--key-file), or a sender without one; still waiting"]


def test_quiet_still_says_once_that_the_payload_type_is_not_played_here(capsys):
    r = receiver()
    for i in range(3):
        r.on_rtp(bytes(RtpPacket(payload_type=97, sequence=i, timestamp=0, ssrc=5, payload=bytes(8))), 0.1 * i)
    lines = shown(StatusPrinter(quiet=True), r, [1.0, 3.0, 4.0, 5.0], capsys)
    assert lines == [f"listener: nothing playable heard for 3 s on {WHERE}: 3 packets refused, the last: "
                     "unsupported RTP payload type 97 (expected L16: 10 or 11; dynamic type 97 is described by the "
                     "stream's SDP: python -m listener FILE.sdp)"]


def test_quiet_keeps_silent_about_nothing_heard_and_garbage(capsys):
    """Only what stops a stream that is there from playing is said: not a quiet group, nor stray datagrams."""
    r = receiver()
    r.on_rtp(b"not rtp", 0.1)
    assert silence(r, 5.0, WHERE)[0] is Silence.UNPLAYABLE
    assert silence(receiver(), 5.0, WHERE)[0] is Silence.NOTHING_HEARD
    assert shown(StatusPrinter(quiet=True), r, [5.0], capsys) == []
