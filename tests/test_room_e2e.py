"""Rooms fed by one stream, end to end: each listener's channel and volume, recorded sample-exact, and the volume
keys on a real terminal (a pseudo-terminal the listener has as its controlling terminal)."""

import fcntl
import os
import pty
import select
import signal
import subprocess
import sys
import termios
import time

import numpy as np
from conftest import ROOT, read_wav, write_wav

SECONDS = 3.0


def two_different_channels(seconds: float, seed: int = 7) -> np.ndarray:
    """Stereo noise whose channels differ, and where no channel, no half of one and no average of the two is
    ever zero: silence in any recording is where nothing played."""
    rng = np.random.default_rng(seed)
    frames = round(seconds * 44100)
    magnitude = rng.integers(100, 20000, size=(frames, 2))
    sign = rng.choice([-1, 1], size=(frames, 1))  # one sign per frame: the average never cancels out
    return (magnitude * sign).astype(np.int16)


def audible(pcm: np.ndarray) -> np.ndarray:
    return pcm[np.any(pcm != 0, axis=1)]


def test_each_room_records_its_channel_and_volume_sample_exact(launcher, tmp_path):
    source = two_different_channels(SECONDS)
    left, right = source[:, :1].astype(np.int32), source[:, 1:].astype(np.int32)
    expected = {
        "left": np.repeat(left, 2, axis=1),
        "right": np.repeat(right, 2, axis=1),
        "mono": np.repeat(np.round((left + right) / 2), 2, axis=1),
        "half": np.round(source * 0.5),
        "full": source,
    }
    args = {"left": ["--channel", "left"], "right": ["--channel", "right"], "mono": ["--channel", "mono"],
            "half": ["--volume", "50"], "full": ["--volume", "100", "--channel", "stereo"]}
    listeners = {name: launcher.start("listener", "--output", str(tmp_path / f"{name}.wav"), "--latency-ms", "200",
                                      "--duration", "40", *extra) for name, extra in args.items()}
    for listener in listeners.values():
        listener.wait_for("listening on")
    station = launcher.start("station", "--once", str(write_wav(tmp_path / "song.wav", source)))
    assert station.popen.wait(30) == 0
    for name, listener in listeners.items():
        listener.wait_for("station left")
        assert listener.stop() == 0
        heard = audible(read_wav(tmp_path / f"{name}.wav"))
        assert np.array_equal(heard, expected[name].astype(np.int16)), f"{name}: not what the room should hear"


def _controlling_terminal() -> None:
    """In the child: a session of its own, the pseudo-terminal on its stdin as its controlling terminal."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _read_until(fd: int, text: str, timeout_s: float) -> str:
    """What the terminal shows until `text` appears (raises if it does not in time)."""
    seen, deadline = "", time.monotonic() + timeout_s
    while text not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"{text!r} not shown; the terminal showed: {seen[-2000:]!r}"
        if select.select([fd], [], [], min(left, 0.5))[0]:
            seen += os.read(fd, 4096).decode(errors="replace")
    return seen


def test_volume_keys_on_a_terminal_change_the_volume_while_playing(launcher, tmp_path):
    """- twice, then m: the status line says volume 90%, then muted, and the recording goes quieter, then
    silent; the terminal's settings are given back at the end."""
    source = two_different_channels(20.0)
    station = launcher.start("station", "--once", str(write_wav(tmp_path / "song.wav", source)))
    station.wait_for("on the air", stream="stdout")
    parent, child = pty.openpty()
    before = termios.tcgetattr(child)
    listener = subprocess.Popen(
        [sys.executable, "-m", "listener", "--group", launcher.group, "--port", str(launcher.port),
         "--interface", "127.0.0.1", "--output", str(tmp_path / "room.wav"), "--duration", "15"],
        cwd=ROOT, stdin=child, stdout=child, stderr=child, preexec_fn=_controlling_terminal)
    try:
        _read_until(parent, "| playing |", 20)
        assert "volume 100%" in _read_until(parent, "volume 100%", 5)
        time.sleep(1.0)  # the scenario: a second at full volume (the status line shows before much is recorded)
        os.write(parent, b"--")
        _read_until(parent, "volume 90%", 5)
        time.sleep(0.5)  # the scenario: half a second at 90 %
        os.write(parent, b"m")
        _read_until(parent, "muted (volume 90%)", 5)
        time.sleep(0.5)
        listener.send_signal(signal.SIGINT)
        assert listener.wait(15) == 0
        assert termios.tcgetattr(child) == before
    finally:
        if listener.poll() is None:
            listener.kill()
            listener.wait(5)
        os.close(parent)
        os.close(child)
    recording = read_wav(tmp_path / "room.wav")
    heard = recording[np.flatnonzero(np.any(recording != 0, axis=1))[0]:]
    joined = next(at for at in np.flatnonzero(np.all(source == heard[0], axis=1))
                  if np.array_equal(source[at:at + 64], heard[:64]))  # it joined the station mid-song
    played = source[joined:joined + len(heard)].astype(np.int32)
    changed = int(np.flatnonzero(np.any(heard[:len(played)] != played, axis=1))[0])
    assert changed > 44100 // 2, "full volume, bit-exact, until the first key"
    after_ramp = slice(changed + 44100 // 10, changed + 44100 // 5)  # before the mute, which came later
    assert np.array_equal(heard[after_ramp], np.round(played[after_ramp] * 0.9).astype(np.int16))
    assert not recording[-44100 // 4:].any(), "muted at the end"
