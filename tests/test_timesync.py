"""The time-sync exchange's two datagrams: request (t0) and response (t0 echoed, t1, t2), 32 bytes each."""

import pytest

from rtpwire.errors import WireError
from rtpwire.rtcp import ntp_from_unix
from rtpwire.timesync import PACKET, TimeRequest, TimeResponse

T0 = 0xE6A1F2A3_80000000
T1 = 0xE6A1F2A3_80100000
T2 = 0xE6A1F2A3_80200000


def test_golden_request_bytes():
    assert bytes(TimeRequest(T0)) == bytes.fromhex(
        "52445453 01 01 0000 e6a1f2a380000000 0000000000000000 0000000000000000")


def test_golden_response_bytes():
    assert bytes(TimeResponse(T0, T1, T2)) == bytes.fromhex(
        "52445453 01 02 0000 e6a1f2a380000000 e6a1f2a380100000 e6a1f2a380200000")


def test_request_is_as_long_as_the_response():
    """A forged request cannot make the station send more than it received."""
    assert len(bytes(TimeRequest(T0))) == len(bytes(TimeResponse(T0, T1, T2))) == PACKET.size == 32


@pytest.mark.parametrize("t0", [0, 1, T0, 2**64 - 1])
def test_request_round_trip(t0):
    assert TimeRequest.parse(bytes(TimeRequest(t0))) == TimeRequest(t0)


@pytest.mark.parametrize("times", [(0, 0, 0), (T0, T1, T2), (2**64 - 1, 1, 2**63)])
def test_response_round_trip(times):
    assert TimeResponse.parse(bytes(TimeResponse(*times))) == TimeResponse(*times)


def test_answer_echoes_the_request_and_stamps_the_station_times():
    response = TimeRequest(T0).answer(receive_s=1_700_000_000.25, transmit_s=1_700_000_000.5)
    assert response == TimeResponse(T0, ntp_from_unix(1_700_000_000.25), ntp_from_unix(1_700_000_000.5))


@pytest.mark.parametrize("size", [0, 4, 31, 33, 64])
def test_wrong_size(size):
    data = (bytes(TimeRequest(T0)) * 3)[:size]
    with pytest.raises(WireError, match=rf"^time-sync packet must be 32 bytes, got {size}$"):
        TimeRequest.parse(data)
    with pytest.raises(WireError, match="must be 32 bytes"):
        TimeResponse.parse(data)


def test_wrong_magic():
    data = b"RTP!" + bytes(TimeRequest(T0))[4:]
    with pytest.raises(WireError, match=r"^not a time-sync packet \(magic b'RTP!'\)$"):
        TimeRequest.parse(data)


def test_unknown_version():
    data = bytearray(bytes(TimeResponse(T0, T1, T2)))
    data[4] = 2
    with pytest.raises(WireError, match="^unsupported time-sync version 2$"):
        TimeResponse.parse(bytes(data))


def test_a_response_is_not_a_request_nor_the_reverse():
    with pytest.raises(WireError, match=r"kind 2, expected a request \(1\)"):
        TimeRequest.parse(bytes(TimeResponse(T0, T1, T2)))
    with pytest.raises(WireError, match=r"kind 1, expected a response \(2\)"):
        TimeResponse.parse(bytes(TimeRequest(T0)))


def test_reserved_bytes_must_be_zero():
    data = bytearray(bytes(TimeRequest(T0)))
    data[6:8] = b"\x00\x01"
    with pytest.raises(WireError, match="reserved bytes must be zero, got 0x0001"):
        TimeRequest.parse(bytes(data))


def test_a_request_carrying_station_times_is_malformed():
    data = bytearray(bytes(TimeResponse(T0, T1, T2)))
    data[5] = 1
    with pytest.raises(WireError, match="request must carry zeros"):
        TimeRequest.parse(bytes(data))
