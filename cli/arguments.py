"""The command-line arguments the programs share: where the stream is (group, port, interface).

Defaults keep everything on this machine: loopback, and an administratively scoped group (RFC 2365).
"""

from __future__ import annotations

import argparse
import math
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from rtpwire.net import check_group
from rtpwire.srtp import KeyFileError, parse_key

Number = TypeVar("Number", int, float)

DEFAULT_GROUP = "239.255.0.1"
DEFAULT_PORT = 5004
DEFAULT_INTERFACE = "127.0.0.1"


def multicast_group(text: str) -> str:
    """An argparse type: an IPv4 multicast group, with a message saying what is wrong otherwise."""
    try:
        return check_group(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def rtp_port(text: str) -> int:
    """An argparse type: an RTP port, with room for RTCP on the next one."""
    if not text.isdigit() or not 1 <= int(text) <= 65534:
        raise argparse.ArgumentTypeError(f"expected a port from 1 to 65534 (RTCP uses port+1), got {text!r}")
    return int(text)


def http_address(text: str) -> tuple[str, int]:
    """An argparse type: [ADDR:]PORT, where the station serves HTTP; ADDR defaults to loopback (this machine only),
    PORT 0 is a free port. An IPv6 address goes in brackets: [::1]:8080."""
    host, colon, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]") if host.startswith("[") else host
    if not (port.isascii() and port.isdigit()) or int(port) > 65535 or (colon and not host) \
            or any(c.isspace() for c in host):
        raise argparse.ArgumentTypeError(f"expected [ADDR:]PORT, PORT from 0 (a free one) to 65535, got {text!r}")
    return host or DEFAULT_INTERFACE, int(port)


def ranged(kind: type[Number], low: float, high: float = math.inf) -> Callable[[str], Number]:
    """An argparse type: a number of `kind` from `low` to `high`, with a message saying so otherwise."""
    def parse(text: str) -> Number:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not low <= value <= high:
            bounds = f"at least {low:g}" if high == math.inf else f"between {low:g} and {high:g}"
            raise argparse.ArgumentTypeError(f"must be {bounds}, got {text}")
        return value
    return parse


def add_network_arguments(parser: argparse.ArgumentParser, verb: str) -> None:
    """--group, --port and --interface; `verb` says what the program does there ("send", "listen")."""
    parser.add_argument("--group", type=multicast_group, default=DEFAULT_GROUP,
                        help=f"IPv4 multicast group (default {DEFAULT_GROUP})")
    parser.add_argument("--port", type=rtp_port, default=DEFAULT_PORT,
                        help=f"RTP port; RTCP uses port+1 (default {DEFAULT_PORT})")
    parser.add_argument("--interface", default=DEFAULT_INTERFACE,
                        help=f"address or name of the interface to {verb} on (default {DEFAULT_INTERFACE}: "
                             "loopback, this machine only; give a LAN interface to reach other machines)")


def add_key_argument(parser: argparse.ArgumentParser) -> None:
    """--key-file: the SRTP key the station and its listeners share."""
    parser.add_argument("--key-file", type=Path, metavar="FILE",
                        help="SRTP: encrypt and authenticate the stream (AES_CM_128_HMAC_SHA1_80) with the base64 "
                             "master key and salt in FILE, shared by the station and its listeners "
                             "(`python -m station --gen-key > FILE` makes one); announcements never carry it")


def read_key(parser: argparse.ArgumentParser, path: Path | None) -> bytes | None:
    """The key `--key-file` names, None without one; a file that holds no key is a usage error (exit 2). A key
    others can read is used, with a warning: it is only as secret as its file."""
    if path is None:
        return None
    try:
        key = parse_key(path.read_text(errors="replace"))
        mode = path.stat().st_mode
    except OSError as e:
        parser.error(f"cannot read the key file {path}: {e.strerror or e}")
    except KeyFileError as e:
        parser.error(f"key file {path}: {e}")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        print(f"{parser.prog}: warning: the key file {path} is readable by others (chmod 600 {path})",
              file=sys.stderr)
    return key
