"""A capture device as a live source: PortAudio's thread records into a CaptureBuffer, the broadcaster reads it."""

from __future__ import annotations

import numpy as np
import pyaudio

from rtpwire.audio import AudioFormat
from sound.devices import CallbackStream, Device, find_device
from station.capture import CaptureBuffer, CaptureFigures

MIC_ADVICE = "see `python -m station --list-devices`; FILES goes back to the music files"
BLOCK_S = 0.01  # what PortAudio records per callback


class Microphone:
    finished = False  # a live source has no end

    def __init__(self, device: Device, fmt: AudioFormat) -> None:
        self.device = device
        self.buffer = CaptureBuffer(fmt)
        self._callback_error: str | None = None  # reported through `failure`, from the broadcaster's thread
        self._channels = fmt.channels
        self._stream = CallbackStream(device, fmt, "input", fmt.samples_for(BLOCK_S), self._callback, MIC_ADVICE)

    @classmethod
    def open(cls, spec: str | None, fmt: AudioFormat) -> Microphone:
        """The capture device `spec` names (None: the default one); DeviceError if it cannot be used."""
        return cls(find_device(spec, "input", MIC_ADVICE), fmt)

    def _callback(self, in_data: bytes | None, _frames: int, _time_info: dict[str, float],
                  _status: int) -> tuple[None, int]:
        """PortAudio's thread: no I/O, no logging, never raises."""
        try:
            if in_data:
                self.buffer.push(np.frombuffer(in_data, dtype="<i2").reshape(-1, self._channels).astype(np.int16))
        except Exception as e:
            self._callback_error = f"{type(e).__name__}: {e}"
        return None, pyaudio.paContinue

    @property
    def title(self) -> str:
        return f"live: {self.device.describe()}"

    def progress_s(self) -> tuple[float, float]:
        """How long it has been on the air; live, it has no length."""
        return self.buffer.samples_read / self.buffer.fmt.rate, 0.0

    def read(self, frames: int) -> np.ndarray:
        return self.buffer.read(frames)

    def capture_figures(self) -> CaptureFigures:
        return self.buffer.figures()

    @property
    def failure(self) -> str | None:
        """Why this source cannot go on (the device vanished or went silent), or None while it works."""
        if self._callback_error is not None:
            return f"capture from {self.device.describe()} failed ({self._callback_error})"
        if not self._stream.is_active():
            return f"capture device {self.device.describe()} stopped"
        if self.buffer.stalled:
            return f"capture device {self.device.describe()} delivers nothing"
        return None

    def close(self) -> None:
        self._stream.close()
