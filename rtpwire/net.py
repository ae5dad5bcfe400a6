"""Sockets, shared by both sides: the only I/O in this package.

The stream is multicast; the time-sync exchange is unicast UDP. An interface is an IPv4 address (127.0.0.1,
the default everywhere: traffic never leaves the machine) or an interface name (eth0). Failures become
`NetworkError` with the context a user needs: what, where, why.

Datagrams are read with the kernel's arrival time, so a program can drain its sockets once per period (one
wake-up for many packets) and still measure jitter, or a time-sync round trip, from true arrival times.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import socket
import struct
import time
from collections.abc import Callable, Iterator
from typing import Protocol

RECEIVE_BUFFER_BYTES = 1 << 20  # rides out a second of scheduling hiccups at ~200 packets/s
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux value; Python does not always export it
SIOCGIFADDR = 0x8915  # Linux: an interface's IPv4 address
TIMESPEC = struct.Struct("@qq")
MAX_DATAGRAM_BYTES = 65536
Address = tuple[str, int]


class DatagramSender(Protocol):
    def send(self, data: bytes, /) -> int: ...


class SealedSender:
    """A connected socket whose datagrams are sealed (SRTP-protected) on their way out: the sender never knows."""

    def __init__(self, sock: socket.socket, seal: Callable[[bytes], bytes]) -> None:
        self._sock = sock
        self._seal = seal

    def send(self, data: bytes, /) -> int:
        return self._sock.send(self._seal(data))


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


def interface_address(interface: str) -> str:
    """The IPv4 address of `interface`: an address is itself, a name (eth0) is looked up."""
    try:
        return str(ipaddress.IPv4Address(interface))
    except ValueError:
        pass
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            request = struct.pack("256s", interface.encode()[:15])
            return socket.inet_ntoa(fcntl.ioctl(probe.fileno(), SIOCGIFADDR, request)[20:24])
        except OSError as e:
            raise NetworkError(f"no IPv4 address on a network interface named {interface!r}: "
                               f"{e.strerror or e}") from None


def open_unicast_server(interface: str, port: int) -> socket.socket:
    """A non-blocking UDP socket bound to `port` on `interface`'s address only, stamping arrivals: it answers
    where the station sends, and nowhere else. No SO_REUSEADDR: a second station on the port is an error, not
    a socket that silently steals half the requests."""
    address = interface_address(interface)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    with _setting_up(sock, f"cannot listen on {address}:{port} (UDP)"):
        sock.bind((address, port))
        sock.setblocking(False)
        enable_arrival_times(sock)
    return sock


def open_unicast_client(host: str, port: int) -> socket.socket:
    """A non-blocking UDP socket connected to `host:port` (a name or an address), stamping arrivals: being
    connected, it hears only that peer."""
    try:
        address = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_DGRAM)[0][4]
    except (socket.gaierror, UnicodeError) as e:
        raise NetworkError(f"cannot find {host}: {getattr(e, 'strerror', None) or e}") from None
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    with _setting_up(sock, f"cannot reach {host}:{port} (UDP)"):
        sock.connect(address)
        sock.setblocking(False)
        enable_arrival_times(sock)
    return sock


def enable_arrival_times(sock: socket.socket) -> bool:
    """Ask the kernel to stamp each datagram on arrival; False where it cannot (times then come from recv)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        return True
    except OSError:
        return False


def drain(sock: socket.socket) -> Iterator[tuple[bytes, float, Address]]:
    """Every datagram waiting on a non-blocking socket, with its arrival time on the monotonic clock and its
    sender. The kernel stamps arrivals on the wall clock; they are mapped with the two clocks' difference as it
    is now, not as it was when the program started, so that a wall clock stepped or slewed meanwhile (NTP)
    does not shift arrival times. A connected socket's peer that refuses (ICMP port unreachable) ends the
    draining like an empty socket: the next datagram sent tries again."""
    ancillary_size = socket.CMSG_SPACE(TIMESPEC.size)
    while True:
        try:
            data, ancillary, _flags, sender = sock.recvmsg(MAX_DATAGRAM_BYTES, ancillary_size)
        except (BlockingIOError, InterruptedError, ConnectionRefusedError):
            return
        read_s = arrival_s = time.monotonic()
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(payload) >= TIMESPEC.size:
                seconds, nanoseconds = TIMESPEC.unpack_from(payload)
                wall_minus_monotonic_s = time.time() - read_s
                arrival_s = seconds + nanoseconds * 1e-9 - wall_minus_monotonic_s
        yield data, arrival_s, sender
