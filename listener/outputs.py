"""Where the samples go: nowhere, a WAV file, or a sound card through PyAudio.

Null and WAV outputs are paced by the listener's loop on absolute deadlines, as a sound card would pull; the
speaker output is pulled by PortAudio's own thread through a callback.
"""

from __future__ import annotations

import queue
import time
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import numpy as np
import pyaudio

from rtpwire.audio import AudioFormat
from rtpwire.histogram import Histogram
from sound.devices import CallbackStream, Device


SPEAKER_ADVICE = ("use --output null to listen without sound, --output FILE.wav to record, or see "
                  "`python -m listener --list-devices`")


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


Pull = Callable[[int, float], np.ndarray]  # (frames, monotonic time the first one plays) -> samples


class SpeakerOutput:
    """A PyAudio callback stream: the sound card pulls; datagrams reach the pulling thread through a queue.

    The callback feeds the queued datagrams to the receiver and reads exactly the frames asked for. It does no
    I/O and no logging, and never raises: an unexpected error yields silence and is counted. It notes when it
    ran and how far ahead of the DAC it writes, so the listener can tell a device that stopped pulling, and
    report the latency the device adds.
    """

    def __init__(self, fmt: AudioFormat, device: Device, feed: Callable[[], None], pull: Pull,
                 frames_per_buffer: int) -> None:
        self._fmt = fmt
        self.device = device
        self._feed = feed
        self._pull = pull
        self.callback_errors = 0
        self.last_callback_s = time.monotonic()
        self.device_latency = Histogram(resolution_s=1e-4, limit_s=5.0)
        self._stream = CallbackStream(device, fmt, "output", frames_per_buffer, self._callback, SPEAKER_ADVICE)

    def _callback(self, _in: bytes | None, frames: int, time_info: dict[str, float], _status: int) -> tuple[bytes, int]:
        try:
            now = time.monotonic()
            self.last_callback_s = now
            ahead_s = max(0.0, time_info["output_buffer_dac_time"] - time_info["current_time"])
            self.device_latency.add(ahead_s)
            self._feed()
            pcm = self._pull(frames, now + ahead_s)
            return pcm.astype("<i2", copy=False).tobytes(), pyaudio.paContinue
        except Exception:
            self.callback_errors += 1
            return bytes(frames * self._fmt.bytes_per_frame), pyaudio.paContinue

    def stalled(self, now: float, patience_s: float = 5.0) -> bool:
        """The device stopped pulling: its stream ended, or no callback came for `patience_s` (PulseAudio may
        take two seconds to start pulling from a new stream on an idle sink)."""
        return not self._stream.is_active() or now - self.last_callback_s > patience_s

    def stats(self) -> dict[str, object]:
        return {
            "output_device": self.device.describe(),
            "device_latency_ms": round(self.device_latency.mean_s * 1e3, 2),
            "callback_errors": self.callback_errors,
        }

    def close(self) -> None:
        self._stream.close()


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
