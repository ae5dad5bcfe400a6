"""An Icecast server of the test's own, on loopback: its config in the test's directory, a free port, bound to
127.0.0.1 only, its logs on its stderr (kept in a file beside the config), stopped by its own PID.

Icecast refuses to run as root; as root, `<changeowner>` hands it to the `icecast2` user Debian's package makes (or
`nobody`) once its socket is bound and its config read.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ICECAST = shutil.which("icecast2") or shutil.which("icecast")
SHARE = Path("/usr/share/icecast2")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _owner() -> str:
    """The <changeowner> block for a server started as root: its user and that user's group."""
    if os.geteuid() != 0:
        return ""
    for name in ("icecast2", "nobody"):
        try:
            user = pwd.getpwnam(name)
        except KeyError:
            continue
        return (f"<changeowner><user>{name}</user><group>{grp.getgrgid(user.pw_gid).gr_name}</group>"
                f"</changeowner>")
    raise RuntimeError("no unprivileged user (icecast2, nobody) for Icecast to run as")


class IcecastServer:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.password = "pw-" + secrets.token_hex(8)  # the source's: tests check it is never printed
        self.popen: subprocess.Popen[bytes] | None = None
        self.config = directory / "icecast.xml"
        self.config.write_text(f"""<icecast>
  <limits><sources>8</sources><source-timeout>10</source-timeout><burst-size>65536</burst-size></limits>
  <authentication><source-password>{self.password}</source-password><admin-user>admin</admin-user>
    <admin-password>{secrets.token_hex(8)}</admin-password></authentication>
  <hostname>127.0.0.1</hostname>
  <listen-socket><port>{self.port}</port><bind-address>127.0.0.1</bind-address></listen-socket>
  <fileserve>1</fileserve>
  <paths><basedir>{SHARE}</basedir><logdir>{directory}</logdir><webroot>{SHARE / "web"}</webroot>
    <adminroot>{SHARE / "admin"}</adminroot></paths>
  <logging><accesslog>-</accesslog><errorlog>-</errorlog><loglevel>3</loglevel></logging>
  <security><chroot>0</chroot>{_owner()}</security>
</icecast>
""")

    def url(self, mount: str, password: str | None = None) -> str:
        return f"icecast://source:{password or self.password}@127.0.0.1:{self.port}{mount}"

    def listen_url(self, mount: str) -> str:
        return f"http://127.0.0.1:{self.port}{mount}"

    def start(self, timeout_s: float = 10.0) -> None:
        log = (self.directory / "icecast.log").open("ab")
        self.popen = subprocess.Popen([ICECAST, "-c", str(self.config)], stdin=subprocess.DEVNULL, stdout=log,
                                      stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.popen.poll() is None, f"icecast exited: {self.log()}"
            try:
                if "server_id" in self.status()["icestats"]:  # at first its page is not quite JSON yet
                    return
            except (OSError, ValueError):
                pass
            time.sleep(0.05)
        raise AssertionError(f"icecast not answering within {timeout_s} s: {self.log()}")

    def stop(self) -> None:
        """By its own PID: SIGTERM, then SIGKILL; bounded. (Icecast takes a second to end on SIGTERM.)"""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(5)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)

    def kill(self) -> None:
        """By its own PID, at once (SIGKILL): the end of a test, where how it ends no longer matters."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(5)

    def status(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/status-json.xsl", timeout=2) as response:
            return json.loads(response.read())

    def mount(self, mount: str) -> dict | None:
        """The status page's entry for `mount`, None if it has no source."""
        sources = self.status()["icestats"].get("source", [])
        for source in sources if isinstance(sources, list) else [sources]:
            if source.get("listenurl", "").endswith(mount):
                return source
        return None

    def log(self) -> str:
        path = self.directory / "icecast.log"
        return path.read_text(errors="replace") if path.exists() else ""


@pytest.fixture
def icecast(tmp_path: Path) -> Iterator[IcecastServer]:
    if ICECAST is None:
        pytest.skip("icecast2 is not installed (make test installs it)")
    directory = tmp_path / "icecast"
    directory.mkdir()
    server = IcecastServer(directory)
    server.start()
    try:
        yield server
    finally:
        server.kill()
