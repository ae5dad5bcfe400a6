"""The time-sync exchange: a listener asks the station what time its clock shows (UDP, unicast).

Sender reports give each sample's time on the station's wall clock; a listener on another host can place it
only as well as it knows that clock. When the hosts do not share one (NTP, PTP), the listener asks, as NTP and
Snapcast do: the request carries the client's transmit time t0, the answer echoes it with the station's receive
time t1 and transmit time t2, and the client notes its receive time t3. Then

    offset     = ((t1 - t0) + (t2 - t3)) / 2     station clock minus client clock
    round trip = (t3 - t0) - (t2 - t1)

exact if the way there took as long as the way back; the error is at most half the round trip, and is the
asymmetry of the two ways, whence the client's keeping only the answers that came back fastest.

Both datagrams are 32 bytes, all big-endian: "RDTS", version 1, kind (1 request, 2 response), two zero bytes,
then t0, t1 and t2 as 64-bit NTP timestamps (32.32 fixed point, as in sender reports; zero in a request). The
request is as long as the answer so that the station cannot be made to amplify a flood of forged requests.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from rtpwire.errors import WireError
from rtpwire.rtcp import ntp_from_unix

MAGIC = b"RDTS"
VERSION = 1
KIND_REQUEST, KIND_RESPONSE = 1, 2
PACKET = struct.Struct("!4sBBHQQQ")  # magic, version, kind, reserved, t0, t1, t2


def _fields(data: bytes, kind: int) -> tuple[int, int, int]:
    """t0, t1 and t2 of a datagram that must be of `kind`; WireError saying what is wrong otherwise."""
    if len(data) != PACKET.size:
        raise WireError(f"time-sync packet must be {PACKET.size} bytes, got {len(data)}")
    magic, version, got_kind, reserved, t0, t1, t2 = PACKET.unpack(data)
    if magic != MAGIC:
        raise WireError(f"not a time-sync packet (magic {magic!r})")
    if version != VERSION:
        raise WireError(f"unsupported time-sync version {version}")
    if got_kind != kind:
        expected = "request" if kind == KIND_REQUEST else "response"
        raise WireError(f"time-sync packet of kind {got_kind}, expected a {expected} ({kind})")
    if reserved:
        raise WireError(f"time-sync reserved bytes must be zero, got {reserved:#06x}")
    return t0, t1, t2


@dataclass(frozen=True, slots=True)
class TimeRequest:
    transmit_ntp: int  # t0, on the client's clock

    def __bytes__(self) -> bytes:
        return PACKET.pack(MAGIC, VERSION, KIND_REQUEST, 0, self.transmit_ntp, 0, 0)

    @classmethod
    def parse(cls, data: bytes) -> TimeRequest:
        t0, t1, t2 = _fields(data, KIND_REQUEST)
        if t1 or t2:
            raise WireError("time-sync request must carry zeros where a response has the station's times")
        return cls(t0)

    def answer(self, receive_s: float, transmit_s: float) -> TimeResponse:
        """The response of a station that received this at `receive_s` and sends at `transmit_s` (Unix seconds
        on the clock its sender reports use)."""
        return TimeResponse(self.transmit_ntp, ntp_from_unix(receive_s), ntp_from_unix(transmit_s))


@dataclass(frozen=True, slots=True)
class TimeResponse:
    origin_ntp: int  # t0: the request's transmit time, echoed untouched (the client's clock)
    receive_ntp: int  # t1, on the station's clock
    transmit_ntp: int  # t2, on the station's clock

    def __bytes__(self) -> bytes:
        return PACKET.pack(MAGIC, VERSION, KIND_RESPONSE, 0, self.origin_ntp, self.receive_ntp, self.transmit_ntp)

    @classmethod
    def parse(cls, data: bytes) -> TimeResponse:
        return cls(*_fields(data, KIND_RESPONSE))
