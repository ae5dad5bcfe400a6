"""Multicast sockets, shared by both sides: the only I/O in this package.

An interface is an IPv4 address (127.0.0.1, the default everywhere: traffic never leaves the machine) or an
interface name (eth0). Failures become `NetworkError` with the context a user needs: what, where, why.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import struct
from collections.abc import Iterator

RECEIVE_BUFFER_BYTES = 1 << 20  # rides out a second of scheduling hiccups at ~200 packets/s


class NetworkError(Exception):
    """A socket could not be set up; the message names the group, port and interface."""


def check_group(group: str) -> str:
    """The group itself if it is an IPv4 multicast address; ValueError otherwise."""
    try:
        address = ipaddress.IPv4Address(group)
    except ValueError:
        raise ValueError(f"{group!r} is not an IPv4 address") from None
    if not address.is_multicast:
        raise ValueError(f"{group} is not a multicast address (224.0.0.0/4; 239.255.0.0/16 is for local use)")
    return group


def _mreqn(group: str, interface: str) -> bytes:
    """struct ip_mreqn: Linux accepts it both to join a group and to choose the sending interface."""
    try:
        address = socket.inet_aton(str(ipaddress.IPv4Address(interface)))
        index = 0
    except ValueError:
        try:
            index = socket.if_nametoindex(interface)
        except OSError:
            raise NetworkError(f"no network interface named {interface!r} (give its name or IPv4 address)") from None
        address = socket.inet_aton("0.0.0.0")
    return socket.inet_aton(group) + address + struct.pack("@i", index)


@contextlib.contextmanager
def _setting_up(sock: socket.socket, what: str) -> Iterator[None]:
    """Close the socket on any failure, and say `what` could not be done and why."""
    try:
        yield
    except NetworkError:
        sock.close()
        raise
    except OSError as e:
        sock.close()
        raise NetworkError(f"{what}: {e.strerror or e}") from None


def open_sender(group: str, port: int, interface: str, ttl: int) -> socket.socket:
    """A UDP socket whose multicast leaves through `interface` with `ttl`, looped back to local listeners."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    with _setting_up(sock, f"cannot send to {group}:{port} on {interface}"):
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, _mreqn("0.0.0.0", interface))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
        sock.connect((group, port))
    return sock


def open_receiver(group: str, port: int, interface: str) -> socket.socket:
    """A non-blocking UDP socket bound to `group:port` that has joined `group` on `interface`.

    SO_REUSEADDR lets any number of listeners on one machine share the port; each gets every datagram.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    with _setting_up(sock, f"cannot join {group}:{port} on {interface}"):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)
        sock.bind((group, port))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, _mreqn(group, interface))
        sock.setblocking(False)
    return sock
