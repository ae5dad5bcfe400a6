"""Volume keys on a terminal: `+` and `-` step the volume, `m` mutes, while playback goes on.

The terminal is put in cbreak mode (keys come one at a time, not echoed; Ctrl-C still interrupts) and restored at
the end. Keys are read only while the listener is the terminal's foreground job: one started in the background
(`&`), as a room of listeners often is from one shell, must neither stop on SIGTTIN nor take another's keys.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import termios
import threading
import tty
from typing import TextIO

from listener.room import Volume

POLL_S = 0.2  # how often the reader looks whether it should stop, or may read


def press(volume: Volume, key: str) -> None:
    """What one key does to `volume`: other keys do nothing."""
    if key in "+=":  # = is + without Shift on most keyboards
        volume.step(+1)
    elif key == "-":
        volume.step(-1)
    elif key in "mM":
        volume.toggle_mute()


def _foreground(fd: int) -> bool:
    try:
        return os.tcgetpgrp(fd) == os.getpgrp()
    except OSError:  # not our controlling terminal
        return False


class VolumeKeys:
    """Reads keys from `terminal` on a thread of its own, if it is a terminal this process has in the
    foreground; the status line shows the volume they set at its next refresh."""

    def __init__(self, volume: Volume, terminal: TextIO = sys.stdin) -> None:
        self._volume = volume
        self._fd = terminal.fileno() if terminal.isatty() else -1
        self._saved: list[object] | None = None  # the terminal's settings before cbreak
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._read, name="volume keys", daemon=True)

    def start(self) -> None:
        if self._fd >= 0 and _foreground(self._fd):
            self._saved = termios.tcgetattr(self._fd)
            tty.setcbreak(self._fd)
            self._thread.start()

    def close(self) -> None:
        """Stops reading and gives the terminal its settings back."""
        self._stopping.set()
        if self._saved is None:
            return
        self._thread.join(POLL_S * 5)
        # a job sent to the background meanwhile would be stopped (SIGTTOU) by changing the terminal's settings
        previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
        try:
            with contextlib.suppress(termios.error):
                termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)
        finally:
            signal.signal(signal.SIGTTOU, previous)

    def _read(self) -> None:
        while not self._stopping.is_set():
            if not _foreground(self._fd):
                self._stopping.wait(POLL_S)
                continue
            readable, _, _ = select.select([self._fd], [], [], POLL_S)
            if not readable:
                continue
            try:
                keys = os.read(self._fd, 32)
            except OSError:
                return  # the terminal went away: playback goes on without keys
            if not keys:
                return
            for key in keys.decode("utf-8", errors="ignore"):
                press(self._volume, key)
