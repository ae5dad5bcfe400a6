"""When a participant sends RTCP (RFC 3550 6.2-6.3 and A.7), sans-IO: shared by the station and the listeners.

RTCP gets 5 % of the session bandwidth, shared by every member, so reports grow rarer as a session grows and the
control traffic never crowds out the audio, however many listen. When senders are at most a quarter of the
members they share a quarter of that among themselves and the receivers the rest, so a crowd of listeners does not
delay the senders' reports. The interval so computed is at least 5 s (2.5 s before the first report, so a
newcomer is heard soon); the wait is drawn uniformly from 0.5 to 1.5 times it, so that members that started
together do not report in step, and divided by e - 3/2, because timer reconsideration otherwise makes the waits
come out long: on average they are then the computed interval.
"""

from __future__ import annotations

import math
import random

from rtpwire.audio import AudioFormat
from rtpwire.rtcp import Bye, ReceiverReport, RtcpPacket, SenderReport

RTCP_BANDWIDTH_FRACTION = 0.05
SENDER_BANDWIDTH_FRACTION = 0.25
MIN_INTERVAL_S = 5.0
COMPENSATION = math.e - 1.5
TIMEOUT_MULTIPLIER = 5  # RFC 3550 6.3.5: a member silent for this many deterministic intervals has left
BYE_AT_ONCE_MAX_MEMBERS = 50  # RFC 3550 6.3.7: beyond this, leaving members must back off their BYEs
TYPICAL_OPUS_KBPS = 128  # the station's default for stereo: what a listener assumes of an Opus stream
RTP_HEADER_BYTES = 12
UDP_IPV4_HEADER_BYTES = 28  # RFC 3550 6.2: packet sizes include the lower-layer headers


def session_bandwidth_bytes_per_s(fmt: AudioFormat, samples_per_packet: int, payload_bytes: int | None = None) -> float:
    """The audio stream's bandwidth, RTP/UDP/IPv4 headers included: what the RTCP share is a fraction of.
    `payload_bytes`: a packet's, if known (a coded stream's depends on its bitrate); by default L16's, or what
    Opus takes at TYPICAL_OPUS_KBPS."""
    if payload_bytes is None:
        payload_bytes = (round(samples_per_packet / fmt.rate * TYPICAL_OPUS_KBPS * 1000 / 8) if fmt.is_opus
                         else samples_per_packet * fmt.bytes_per_frame)
    return fmt.rate / samples_per_packet * (payload_bytes + RTP_HEADER_BYTES + UDP_IPV4_HEADER_BYTES)


def deterministic_interval_s(members: int, senders: int, rtcp_bandwidth_bytes_per_s: float, we_sent: bool,
                             avg_rtcp_bytes: float, initial: bool) -> float:
    """RFC 3550 A.7 `rtcp_interval()` before randomization: this member's share of the RTCP bandwidth, or the
    minimum interval if that share allows more often."""
    minimum_s = MIN_INTERVAL_S / 2 if initial else MIN_INTERVAL_S
    sharing = members
    if senders <= members * SENDER_BANDWIDTH_FRACTION:
        if we_sent:
            rtcp_bandwidth_bytes_per_s *= SENDER_BANDWIDTH_FRACTION
            sharing = senders
        else:
            rtcp_bandwidth_bytes_per_s *= 1 - SENDER_BANDWIDTH_FRACTION
            sharing = members - senders
    return max(minimum_s, avg_rtcp_bytes * sharing / rtcp_bandwidth_bytes_per_s)


def randomized_interval_s(deterministic_s: float, rng: random.Random) -> float:
    """The interval actually waited (RFC 3550 6.3.1): randomized, and compensated for reconsideration."""
    return deterministic_s * rng.uniform(0.5, 1.5) / COMPENSATION


def member_timeout_s(members: int, senders: int, rtcp_bandwidth_bytes_per_s: float, avg_rtcp_bytes: float) -> float:
    """How long a member may stay silent before it counts as gone (RFC 3550 6.3.5): a few deterministic intervals
    of a receiver, so that a report or two lost on the way does not drop it."""
    return TIMEOUT_MULTIPLIER * deterministic_interval_s(members, senders, rtcp_bandwidth_bytes_per_s,
                                                         we_sent=False, avg_rtcp_bytes=avg_rtcp_bytes,
                                                         initial=False)


def averaged_rtcp_bytes(avg_rtcp_bytes: float | None, datagram_bytes: int) -> float:
    """The running average size of the RTCP datagrams sent and received (RFC 3550 6.3.3), headers included;
    the first datagram (`avg_rtcp_bytes` None) starts it."""
    size = datagram_bytes + UDP_IPV4_HEADER_BYTES
    return float(size) if avg_rtcp_bytes is None else avg_rtcp_bytes + (size - avg_rtcp_bytes) / 16


class ReportTimer:
    """One participant's RTCP transmission timer (RFC 3550 6.3, A.7), and the members it counts to set it.

    Members are the SSRCs heard in sender and receiver reports, forgotten on BYE or after `member_timeout_s`.
    Forward reconsideration: when the timer expires the interval is computed again with the members known then,
    and the report waits if the session grew meanwhile, so a crowd joining at once does not report at once.
    Reverse reconsideration: when members leave, the next report comes forward in proportion, so the survivors
    do not keep reporting as rarely as the larger session required.
    """

    def __init__(self, ssrc: int, session_bandwidth_bytes_per_s: float, first_report_bytes: int, now: float,
                 rng: random.Random) -> None:
        self.ssrc = ssrc
        self._rtcp_bandwidth_bytes_per_s = session_bandwidth_bytes_per_s * RTCP_BANDWIDTH_FRACTION
        self._rng = rng
        self.avg_rtcp_bytes = averaged_rtcp_bytes(None, first_report_bytes)
        self.initial = True  # nothing sent yet: half the minimum interval
        self._others: dict[int, tuple[float, bool]] = {}  # SSRC -> (when last heard, whether a sender)
        self._previous_s = now  # tp: when the last report went
        self._pmembers = 1  # members when the timer was last set
        self.next_s = now + self._interval_s()  # tn

    @property
    def members(self) -> int:
        return 1 + len(self._others)

    @property
    def senders(self) -> int:
        return sum(sender for _, sender in self._others.values())

    def _interval_s(self) -> float:
        return randomized_interval_s(
            deterministic_interval_s(self.members, self.senders, self._rtcp_bandwidth_bytes_per_s, we_sent=False,
                                     avg_rtcp_bytes=self.avg_rtcp_bytes, initial=self.initial), self._rng)

    def on_rtcp(self, packets: list[RtcpPacket], datagram_bytes: int, now: float) -> None:
        """Counts the members a received datagram shows; our own, looped back, was counted when sent."""
        first = packets[0] if packets else None
        if isinstance(first, (SenderReport, ReceiverReport)) and first.ssrc == self.ssrc:
            return
        self.avg_rtcp_bytes = averaged_rtcp_bytes(self.avg_rtcp_bytes, datagram_bytes)
        for packet in packets:
            if isinstance(packet, (SenderReport, ReceiverReport)) and packet.ssrc != self.ssrc:
                self._others[packet.ssrc] = (now, isinstance(packet, SenderReport))
            elif isinstance(packet, Bye):
                self._forget([ssrc for ssrc in packet.ssrcs if ssrc in self._others], now)

    def _forget(self, ssrcs: list[int], now: float) -> None:
        """Reverse reconsideration (RFC 3550 6.3.4) after members left or timed out."""
        for ssrc in ssrcs:
            del self._others[ssrc]
        if self.members < self._pmembers:
            ratio = self.members / self._pmembers
            self.next_s = now + ratio * (self.next_s - now)
            self._previous_s = now - ratio * (now - self._previous_s)
            self._pmembers = self.members

    def due(self, now: float) -> bool:
        """Whether to send a report now (then call `sent`); when the timer expires, forward reconsideration."""
        if now < self.next_s:
            return False
        timeout_s = member_timeout_s(self.members, self.senders, self._rtcp_bandwidth_bytes_per_s,
                                     self.avg_rtcp_bytes)
        self._forget([ssrc for ssrc, (heard_s, _) in self._others.items() if now - heard_s > timeout_s], now)
        self.next_s = self._previous_s + self._interval_s()
        self._pmembers = self.members
        return self.next_s <= now

    def sent(self, datagram_bytes: int, now: float) -> None:
        """A report of `datagram_bytes` went at `now`: the next one is a fresh interval away."""
        self.avg_rtcp_bytes = averaged_rtcp_bytes(self.avg_rtcp_bytes, datagram_bytes)
        self._previous_s = now
        self.initial = False
        self.next_s = now + self._interval_s()
        self._pmembers = self.members

    @property
    def may_leave_at_once(self) -> bool:
        """Whether a BYE may go immediately (RFC 3550 6.3.7): never by a member that sent nothing, and in a large
        session only after a back-off, which a process on its way out cannot wait for; it then leaves silently
        and the others time it out."""
        return not self.initial and self.members <= BYE_AT_ONCE_MAX_MEMBERS
