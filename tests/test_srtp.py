"""SRTP through libsrtp: the key file's form, protection both ways, and what is refused and counted."""

import base64

import pytest

from rtpwire.errors import WireError
from rtpwire.rtcp import SenderReport, compound
from rtpwire.rtp import RtpPacket
from rtpwire.srtp import (AUTH_TAG_BYTES, MASTER_KEY_BYTES, KeyFileError, SrtpReceiver, SrtpSender, generate_key,
                          looks_encrypted, parse_key)

KEY = bytes(range(MASTER_KEY_BYTES))
KEY_TEXT = base64.b64encode(KEY).decode()


def rtp(sequence: int, payload: bytes = bytes(880)) -> bytes:
    return bytes(RtpPacket(payload_type=10, sequence=sequence, timestamp=220 * sequence, ssrc=0x1234,
                           payload=payload))


def test_generated_keys_are_fresh_30_byte_keys():
    first, second = generate_key(), generate_key()
    assert first != second
    assert len(parse_key(first)) == MASTER_KEY_BYTES


@pytest.mark.parametrize("text", [KEY_TEXT, f"  {KEY_TEXT}\n", f"inline:{KEY_TEXT}", f"inline:{KEY_TEXT}|2^20|1:4"])
def test_key_forms(text):
    """Bare base64, or as SDP's a=crypto writes it (RFC 4568): `inline:`, then lifetime and MKI, which are
    ignored."""
    assert parse_key(text) == KEY


@pytest.mark.parametrize(("text", "message"), [
    ("", "holds 0 bytes, expected 30 (a 16-byte key and a 14-byte salt for AES_CM_128_HMAC_SHA1_80)"),
    ("not base64!", "not a base64 key (`python -m station --gen-key` makes one)"),
    (base64.b64encode(bytes(16)).decode(),
     "holds 16 bytes, expected 30 (a 16-byte key and a 14-byte salt for AES_CM_128_HMAC_SHA1_80)"),
])
def test_what_is_no_key_says_so(text, message):
    with pytest.raises(KeyFileError) as error:
        parse_key(text)
    assert str(error.value) == message


def test_protected_rtp_is_the_packet_plus_the_tag_and_opens_again():
    plain = rtp(1)
    sealed = SrtpSender(KEY).protect(plain)
    assert len(sealed) == len(plain) + AUTH_TAG_BYTES
    assert sealed[:12] == plain[:12]  # the header stays readable
    assert sealed[12:-AUTH_TAG_BYTES] != plain[12:]  # the audio does not
    assert SrtpReceiver(KEY).unprotect(sealed) == plain


def test_protected_rtcp_opens_again():
    report = compound(SenderReport(ssrc=0x1234, ntp_timestamp=1, rtp_timestamp=2, packet_count=3, octet_count=4))
    assert SrtpReceiver(KEY).unprotect_rtcp(SrtpSender(KEY).protect_rtcp(report)) == report


def test_wrong_key_fails_authentication_and_is_counted():
    receiver = SrtpReceiver(bytes(MASTER_KEY_BYTES))
    with pytest.raises(WireError, match=r"^SRTP packet failed authentication \(authentication failure\): wrong key"):
        receiver.unprotect(SrtpSender(KEY).protect(rtp(1)))
    assert receiver.stats() == {"packets_unauthenticated": 1, "packets_replayed": 0}


def test_tampered_packet_fails_authentication():
    sealed = bytearray(SrtpSender(KEY).protect(rtp(1)))
    sealed[40] ^= 1
    receiver = SrtpReceiver(KEY)
    with pytest.raises(WireError, match="failed authentication"):
        receiver.unprotect(bytes(sealed))
    assert receiver.failed_authentication == 1


def test_plain_rtp_fails_authentication():
    """A stranger without the key sends plain RTP: it is not played."""
    receiver = SrtpReceiver(KEY)
    with pytest.raises(WireError, match="failed authentication"):
        receiver.unprotect(rtp(1))


def test_replayed_packet_is_refused_and_counted():
    sender, receiver = SrtpSender(KEY), SrtpReceiver(KEY)
    sealed = sender.protect(rtp(7))
    receiver.unprotect(sealed)
    with pytest.raises(WireError, match=r"^SRTP packet replayed \(replay check failed"):
        receiver.unprotect(sealed)
    assert receiver.stats() == {"packets_unauthenticated": 0, "packets_replayed": 1}


def test_replayed_rtcp_is_refused():
    sender, receiver = SrtpSender(KEY), SrtpReceiver(KEY)
    sealed = sender.protect_rtcp(compound(SenderReport(0x1234, 1, 2, 3, 4)))
    receiver.unprotect_rtcp(sealed)
    with pytest.raises(WireError, match=r"^SRTCP packet replayed"):
        receiver.unprotect_rtcp(sealed)


@pytest.mark.parametrize("garbage", [b"", b"\x80", bytes(11), b"\xff" * 40])
def test_garbage_is_a_wire_error(garbage):
    with pytest.raises(WireError):
        SrtpReceiver(KEY).unprotect(garbage)
    with pytest.raises(WireError):
        SrtpReceiver(KEY).unprotect_rtcp(garbage)


def test_looks_encrypted():
    assert looks_encrypted(880 + AUTH_TAG_BYTES, samples=220, bytes_per_frame=4)
    assert looks_encrypted(440 + AUTH_TAG_BYTES, samples=220, bytes_per_frame=2)
    assert not looks_encrypted(880, samples=220, bytes_per_frame=4)
    assert not looks_encrypted(AUTH_TAG_BYTES, samples=0, bytes_per_frame=4)  # no timestamp advance: no verdict
