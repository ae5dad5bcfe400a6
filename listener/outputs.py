"""Where the samples go: nowhere, a WAV file, or a sound card through PyAudio.

Null and WAV outputs are paced by the listener's loop on absolute deadlines, as a sound card would pull; the
speaker output is pulled by PortAudio's own thread through a callback.
"""

from __future__ import annotations

import contextlib
import os
import queue
import time
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from rtpwire.audio import AudioFormat


class OutputError(Exception):
    """An output that cannot be opened or written; the message names it and suggests what to do."""


class PacedOutput(Protocol):
    def write(self, pcm: np.ndarray) -> None: ...
    def close(self) -> None: ...


class NullOutput:
    """Receives and schedules everything, plays nothing: for measuring, and machines without sound."""

    def write(self, pcm: np.ndarray) -> None:
        pass

    def close(self) -> None:
        pass


class WavOutput:
    """Exactly what would have been played, sample for sample, silence included."""

    def __init__(self, path: Path, fmt: AudioFormat) -> None:
        try:
            self._file = wave.open(str(path), "wb")
        except OSError as e:
            raise OutputError(f"cannot write {path}: {e.strerror or e}") from None
        self._file.setnchannels(fmt.channels)
        self._file.setsampwidth(2)
        self._file.setframerate(fmt.rate)

    def write(self, pcm: np.ndarray) -> None:
        self._file.writeframes(pcm.astype("<i2", copy=False).tobytes())

    def close(self) -> None:
        self._file.close()


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """PortAudio's ALSA probing prints dozens of lines to fd 2 that mean nothing to a user: hide them."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def open_pyaudio() -> Any:
    import pyaudio

    with _quiet_stderr():
        return pyaudio.PyAudio()


def has_output_device() -> bool:
    audio = open_pyaudio()
    try:
        return any(audio.get_device_info_by_index(i)["maxOutputChannels"] > 0
                   for i in range(audio.get_device_count()))
    finally:
        audio.terminate()


Pull = Callable[[int, float], np.ndarray]  # (frames, monotonic time the first one plays) -> samples


class SpeakerOutput:
    """A PyAudio callback stream: the sound card pulls; datagrams reach the pulling thread through a queue.

    The callback feeds the queued datagrams to the receiver and reads exactly the frames asked for. It does no
    I/O and no logging, and never raises: an unexpected error yields silence and is counted.
    """

    def __init__(self, fmt: AudioFormat, feed: Callable[[], None], pull: Pull, frames_per_buffer: int) -> None:
        import pyaudio

        self._fmt = fmt
        self._feed = feed
        self._pull = pull
        self.callback_errors = 0
        self._audio = open_pyaudio()
        try:
            with _quiet_stderr():
                self._stream = self._audio.open(format=pyaudio.paInt16, channels=fmt.channels, rate=fmt.rate,
                                                output=True, frames_per_buffer=frames_per_buffer,
                                                stream_callback=self._callback)
        except (OSError, ValueError) as e:
            self._audio.terminate()
            raise OutputError(f"cannot open the default audio output ({e}); use --output null to listen "
                              "without sound, or --output FILE.wav to record") from None

    def _callback(self, _in: bytes | None, frames: int, time_info: dict[str, float], _status: int) -> tuple[bytes, int]:
        import pyaudio

        try:
            self._feed()
            now = time.monotonic() + max(0.0, time_info["output_buffer_dac_time"] - time_info["current_time"])
            pcm = self._pull(frames, now)
            return pcm.astype("<i2", copy=False).tobytes(), pyaudio.paContinue
        except Exception:
            self.callback_errors += 1
            return bytes(frames * self._fmt.bytes_per_frame), pyaudio.paContinue

    def close(self) -> None:
        self._stream.stop_stream()
        self._stream.close()
        self._audio.terminate()


class Inbox:
    """Datagrams handed from the network thread to the audio thread, without locks held across either."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[bool, bytes, float]] = queue.SimpleQueue()

    def put(self, is_rtp: bool, data: bytes, arrival_s: float) -> None:
        self._queue.put((is_rtp, data, arrival_s))

    def items(self) -> Iterator[tuple[bool, bytes, float]]:
        while True:
            try:
                yield self._queue.get_nowait()
            except queue.Empty:
                return
