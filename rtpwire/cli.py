"""The command-line arguments both programs share: where the stream is (group, port, interface).

Defaults keep everything on this machine: loopback, and an administratively scoped group (RFC 2365).
"""

from __future__ import annotations

import argparse

from rtpwire.net import check_group

DEFAULT_GROUP = "239.255.0.1"
DEFAULT_PORT = 5004
DEFAULT_INTERFACE = "127.0.0.1"


def _group(text: str) -> str:
    try:
        return check_group(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65534:
        raise argparse.ArgumentTypeError(f"expected a port from 1 to 65534 (RTCP uses port+1), got {text!r}")
    return int(text)


def add_network_arguments(parser: argparse.ArgumentParser, verb: str) -> None:
    """--group, --port and --interface; `verb` says what the program does there ("send", "listen")."""
    parser.add_argument("--group", type=_group, default=DEFAULT_GROUP,
                        help=f"IPv4 multicast group (default {DEFAULT_GROUP})")
    parser.add_argument("--port", type=_port, default=DEFAULT_PORT,
                        help=f"RTP port; RTCP uses port+1 (default {DEFAULT_PORT})")
    parser.add_argument("--interface", default=DEFAULT_INTERFACE,
                        help=f"address or name of the interface to {verb} on (default {DEFAULT_INTERFACE}: "
                             "loopback, this machine only; give a LAN interface to reach other machines)")
