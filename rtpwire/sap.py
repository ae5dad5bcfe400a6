"""Session Announcement Protocol packets (SAP, RFC 2974): how stations say, on a well-known group, that they are
on the air (and that they have stopped), so that listeners, VLC and others find them by name.

A packet: a 32-bit header (version 1, address type, announcement or deletion, encryption and compression flags,
authentication length, a 16-bit hash naming this version of the announcement), the sender's address, an
optional MIME type, then the payload, an SDP description. Encrypted and compressed payloads are refused (the
WireError says so): nobody on a local network sends them, and a station's description is not secret.
"""

from __future__ import annotations

import ipaddress
import struct
import zlib
from dataclasses import dataclass

from rtpwire.errors import WireError

SAP_PORT = 9875
SAP_VERSION = 1
HEADER = struct.Struct("!BBH")  # V(3) A R T E C, authentication length (32-bit words), message id hash
FLAG_IPV6 = 0x10
FLAG_DELETION = 0x04
FLAG_ENCRYPTED = 0x02
FLAG_COMPRESSED = 0x01
SDP_TYPE = "application/sdp"
# RFC 2365's administrative scopes with the SAP address of each (the highest address in the scope, RFC 2974 3);
# any other group is announced on the global scope's address.
SCOPES = ((ipaddress.IPv4Network("239.255.0.0/16"), "239.255.255.255"),
          (ipaddress.IPv4Network("239.192.0.0/14"), "239.195.255.255"))
GLOBAL_SAP_ADDRESS = "224.2.127.254"


@dataclass(frozen=True, slots=True)
class SapPacket:
    origin: str  # the announcing host's address, IPv4 or IPv6
    payload: bytes  # an SDP description; for a deletion, at least its o= line
    message_id_hash: int = 0  # names this version of the announcement: a new description, a new hash
    deletion: bool = False
    payload_type: str = SDP_TYPE

    @classmethod
    def announcing(cls, origin: str, sdp: str, deletion: bool = False) -> SapPacket:
        """A packet carrying `sdp`, hashed so that any change to the description reads as a new version."""
        payload = sdp.encode("utf-8")
        return cls(origin=origin, payload=payload, message_id_hash=zlib.crc32(payload) & 0xFFFF, deletion=deletion)

    def __bytes__(self) -> bytes:
        address = ipaddress.ip_address(self.origin)
        flags = (SAP_VERSION << 5) | (FLAG_IPV6 if address.version == 6 else 0) | (
            FLAG_DELETION if self.deletion else 0)
        return (HEADER.pack(flags, 0, self.message_id_hash) + address.packed
                + self.payload_type.encode("ascii") + b"\0" + self.payload)

    @classmethod
    def parse(cls, data: bytes) -> SapPacket:
        """Decode one datagram; raises WireError saying what is wrong with it."""
        if len(data) < HEADER.size:
            raise WireError(f"SAP packet too short: {len(data)} bytes, need at least {HEADER.size}")
        flags, auth_words, message_id_hash = HEADER.unpack_from(data)
        version = flags >> 5
        if version != SAP_VERSION:
            raise WireError(f"unsupported SAP version {version}")
        if flags & FLAG_ENCRYPTED:
            raise WireError("SAP payload is encrypted; not supported")
        if flags & FLAG_COMPRESSED:
            raise WireError("SAP payload is compressed; not supported")
        address_size = 16 if flags & FLAG_IPV6 else 4
        offset = HEADER.size + address_size
        if len(data) < offset:
            raise WireError(f"SAP packet of {len(data)} bytes ends within its origin address")
        origin = str(ipaddress.ip_address(data[HEADER.size:offset]))
        offset += 4 * auth_words
        if len(data) < offset:
            raise WireError(f"SAP authentication data of {4 * auth_words} bytes truncated")
        payload_type = SDP_TYPE
        if not data.startswith(b"v=0", offset):  # RFC 2974: the type may be left out for SDP, which starts so
            end = data.find(b"\0", offset)
            if end < 0:
                raise WireError("SAP payload type is not terminated")
            try:
                payload_type = data[offset:end].decode("ascii")
            except UnicodeDecodeError:
                raise WireError("SAP payload type is not ASCII") from None
            offset = end + 1
        return cls(origin=origin, payload=bytes(data[offset:]), message_id_hash=message_id_hash,
                   deletion=bool(flags & FLAG_DELETION), payload_type=payload_type)


def sap_address(group: str) -> tuple[str, int]:
    """Where streams on `group` are announced: the SAP group of its scope, and the SAP port."""
    address = ipaddress.IPv4Address(group)
    return next((sap for scope, sap in SCOPES if address in scope), GLOBAL_SAP_ADDRESS), SAP_PORT
