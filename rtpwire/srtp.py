"""SRTP and SRTCP (RFC 3711) with AES_CM_128_HMAC_SHA1_80, through libsrtp (pylibsrtp): no cryptography here,
only the key's text form and the two ends of the stream, sans-IO (bytes in, bytes out).

The key is a master key and salt, 16 + 14 bytes, in base64, as SDP's `a=crypto` carries it (RFC 4568
`inline:`): one shared secret for the station and its listeners, which every sender of the session (the station's
RTP and RTCP, each listener's receiver reports) uses under its own SSRC, as RFC 3711 allows. It travels in a
file, never on the network: SAP and SDP say only that the stream is encrypted.

A listener without the key cannot tell noise from music by decoding: an SRTP packet is an RTP header and a
payload 10 bytes longer than its samples (the authentication tag). `looks_encrypted` sees exactly that, from two
consecutive packets, so that such a listener says "stream is encrypted" instead of playing noise.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable

from types import ModuleType
from typing import TYPE_CHECKING

from rtpwire.errors import WireError

if TYPE_CHECKING:
    import pylibsrtp

MASTER_KEY_BYTES = 16 + 14  # AES-128 key and 112-bit salt
AUTH_TAG_BYTES = 10  # HMAC-SHA1-80
INLINE = "inline:"


class KeyFileError(ValueError):
    """A key file that does not hold a key; the message says what it holds instead."""


def generate_key() -> str:
    """A fresh master key and salt, in base64: what `python -m station --gen-key` prints."""
    import secrets  # with hmac and OpenSSL behind it: only a new key needs it

    return base64.b64encode(secrets.token_bytes(MASTER_KEY_BYTES)).decode("ascii")


def parse_key(text: str) -> bytes:
    """The master key and salt a key file holds: base64 (with or without SDP's `inline:` before it, and a
    `|lifetime` or `|MKI` after it), whitespace aside."""
    value = text.strip()
    if value.startswith(INLINE):
        value = value[len(INLINE):]
    value = value.split("|")[0]
    try:
        key = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise KeyFileError("not a base64 key (`python -m station --gen-key` makes one)") from None
    if len(key) != MASTER_KEY_BYTES:
        raise KeyFileError(f"holds {len(key)} bytes, expected {MASTER_KEY_BYTES} (a 16-byte key and a 14-byte salt "
                        "for AES_CM_128_HMAC_SHA1_80)")
    return key


def _libsrtp() -> ModuleType:
    """libsrtp's binding, loaded only by a run that has a key."""
    import pylibsrtp

    return pylibsrtp


def _session(key: bytes, inbound: bool) -> pylibsrtp.Session:
    """A libsrtp session of AES_CM_128_HMAC_SHA1_80 for any SSRC."""
    policy = _libsrtp().Policy
    ssrc_type = policy.SSRC_ANY_INBOUND if inbound else policy.SSRC_ANY_OUTBOUND
    return _libsrtp().Session(policy(key=key, ssrc_type=ssrc_type, srtp_profile=policy.SRTP_PROFILE_AES128_CM_SHA1_80))


class SrtpSender:
    """Protects what one sender sends: RTP and RTCP under its SSRC."""

    def __init__(self, key: bytes) -> None:
        self._session = _session(key, inbound=False)

    def protect(self, rtp: bytes) -> bytes:
        return self._session.protect(rtp)

    def protect_rtcp(self, rtcp: bytes) -> bytes:
        return self._session.protect_rtcp(rtcp)


class SrtpReceiver:
    """Authenticates, decrypts and checks for replay what arrives from every sender of the session. Packets that
    fail are counted by cause and raise WireError saying which: a wrong key (or a stranger without one, or
    tampering) fails authentication; a packet seen before is a replay. libsrtp keeps a context per SSRC only once
    a packet of it has authenticated, so strangers' packets cannot make it grow."""

    def __init__(self, key: bytes) -> None:
        self._session = _session(key, inbound=True)
        self._failure = _libsrtp().Error
        self.failed_authentication = 0
        self.replayed = 0

    def unprotect(self, data: bytes) -> bytes:
        return self._open(self._session.unprotect, data, "SRTP")

    def unprotect_rtcp(self, data: bytes) -> bytes:
        return self._open(self._session.unprotect_rtcp, data, "SRTCP")

    def _open(self, unprotect: Callable[[bytes], bytes], data: bytes, kind: str) -> bytes:
        try:
            return unprotect(data)
        except self._failure as e:
            if "replay" in str(e):
                self.replayed += 1
                raise WireError(f"{kind} packet replayed ({e})") from None
            self.failed_authentication += 1
            raise WireError(f"{kind} packet failed authentication ({e}): wrong key, tampered, or not from a "
                            "sender with the key") from None

    def stats(self) -> dict[str, int]:
        return {"packets_unauthenticated": self.failed_authentication, "packets_replayed": self.replayed}


def looks_encrypted(payload_bytes: int, samples: int, bytes_per_frame: int) -> bool:
    """Whether a packet carrying `samples` (its timestamp's advance over the previous packet's, the sequence
    numbers consecutive) in `payload_bytes` is SRTP: its samples plus the authentication tag."""
    return samples > 0 and payload_bytes == samples * bytes_per_frame + AUTH_TAG_BYTES
