"""Sound devices through PyAudio (PortAudio): listing them, choosing one, opening a callback stream on it.

PortAudio's ALSA backend sees a PulseAudio server as a single device (`pulse`, and `default` routed to it). The
server's own sinks and sources, a null sink or a sink's `.monitor` among them, are reached through that device
by name: the ALSA pulse plugin connects to PULSE_SINK / PULSE_SOURCE when a stream opens. So a device is named by
a PortAudio index, a PortAudio name (exact, or a part of only one), or a PulseAudio sink or source name; a
monitor source is how the station rebroadcasts what the machine itself plays.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from rtpwire.audio import AudioFormat

Direction = Literal["input", "output"]
PULSE_DEVICE = "pulse"
_PULSE_ENV = {"output": "PULSE_SINK", "input": "PULSE_SOURCE"}
_PULSE_KIND = {"output": "sinks", "input": "sources"}
StreamCallback = Callable[[bytes | None, int, dict[str, float], int], tuple[bytes | None, int]]
# PortAudio's initialisation, termination and opening and closing of streams are not thread-safe: the last
# Pa_Terminate tears down the host APIs that a Pa_Initialize on another thread would be building (a device
# closed off the station's loop while the operator opens the next one). One lock serialises them all.
_lifecycle = threading.Lock()


class DeviceError(Exception):
    """A device that cannot be found or opened; the message names it, says why, and what to do instead."""


@dataclass(frozen=True)
class Device:
    index: int  # PortAudio's index
    name: str  # PortAudio's name
    channels: int
    default_rate: int
    pulse_name: str | None = None  # a PulseAudio sink or source, reached through PortAudio's pulse device

    def describe(self) -> str:
        return f"PulseAudio {self.pulse_name}" if self.pulse_name else f"{self.name} (#{self.index})"


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """PortAudio's ALSA and JACK probing print dozens of lines to fd 2 that mean nothing to a user: hide them.

    This silences the whole process for a moment, other threads included, so it wraps only the probing and
    opening of devices, never anything done while the station or listener runs on."""
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

    with quiet_stderr():
        return pyaudio.PyAudio()


def _channels_key(direction: Direction) -> str:
    return "maxOutputChannels" if direction == "output" else "maxInputChannels"


def portaudio_devices(audio: Any, direction: Direction) -> list[Device]:
    devices = []
    for index in range(audio.get_device_count()):
        info = audio.get_device_info_by_index(index)
        channels = int(info[_channels_key(direction)])
        if channels > 0:
            devices.append(Device(index, str(info["name"]), channels, int(info["defaultSampleRate"])))
    return devices


def pulse_names(direction: Direction) -> list[str]:
    """The PulseAudio server's sinks or sources, asked of `pactl`; none if there is no server (or no pactl)."""
    pactl = shutil.which("pactl")
    if pactl is None:
        return []
    try:
        listing = subprocess.run([pactl, "list", "short", _PULSE_KIND[direction]], stdin=subprocess.DEVNULL,
                                 capture_output=True, text=True, timeout=5, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [fields[1] for line in listing.splitlines() if len(fields := line.split("\t")) > 1]


def default_device(audio: Any, direction: Direction) -> Device | None:
    try:
        info = audio.get_default_output_device_info() if direction == "output" \
            else audio.get_default_input_device_info()
    except (OSError, IOError):
        return None
    return next((d for d in portaudio_devices(audio, direction) if d.index == info["index"]), None)


def _survey(direction: Direction) -> tuple[list[Device], Device | None]:
    """PortAudio's devices of one direction and its default one, from a PortAudio instance opened for this."""
    with _lifecycle:
        audio = open_pyaudio()
        try:
            return portaudio_devices(audio, direction), default_device(audio, direction)
        finally:
            audio.terminate()


def find_device(spec: str | None, direction: Direction, advice: str) -> Device:
    """The device `spec` names (None: the default one): an index, a PortAudio name, a PulseAudio name, or a
    part of one PortAudio name, in that order; DeviceError saying why not, and `advice`."""
    devices, default = _survey(direction)
    if spec is None:
        device = default
        if device is None:
            raise DeviceError(f"no audio {direction} device (is a sound server such as PulseAudio running?); "
                              f"{advice}")
        return device
    if spec.isdecimal() and spec.isascii():
        device = next((d for d in devices if d.index == int(spec)), None)
        if device is None:
            raise DeviceError(f"no audio {direction} device #{spec}; {advice}")
        return device
    exact = [d for d in devices if d.name.lower() == spec.lower()]
    if exact:
        return exact[0]
    pulse = next((d for d in devices if d.name == PULSE_DEVICE), None)
    if pulse is not None and spec in pulse_names(direction):
        return dataclasses.replace(pulse, pulse_name=spec)
    partial = [d for d in devices if spec.lower() in d.name.lower()]
    if len(partial) == 1:
        return partial[0]
    if partial:
        names = ", ".join(d.name for d in partial)
        raise DeviceError(f"audio {direction} device {spec!r} is ambiguous ({names}); {advice}")
    raise DeviceError(f"no audio {direction} device {spec!r}; {advice}")


def list_devices(direction: Direction) -> str:
    """The text of `--list-devices`: PortAudio's devices, then the PulseAudio names usable as devices."""
    devices, default = _survey(direction)
    lines = [f"audio {direction} devices (--{'device' if direction == 'output' else 'mic'} INDEX or NAME):"]
    if not devices:
        lines.append("  none: no sound card, and no sound server such as PulseAudio running")
    for d in devices:
        mark = "  (default)" if default is not None and d.index == default.index else ""
        lines.append(f"  {d.index:>3}  {d.name}  {d.channels} ch, {d.default_rate} Hz{mark}")
    names = pulse_names(direction) if any(d.name == PULSE_DEVICE for d in devices) else []
    if names:
        lines.append(f"PulseAudio {_PULSE_KIND[direction]} (by name, through the {PULSE_DEVICE} device):")
        lines.extend(f"       {name}" for name in names)
    return "\n".join(lines)


@contextlib.contextmanager
def _pulse_device_named(device: Device, direction: Direction) -> Iterator[None]:
    """PULSE_SINK / PULSE_SOURCE set to the device's PulseAudio name, if it has one, while a stream opens: the
    ALSA pulse plugin reads it then."""
    if not device.pulse_name:
        yield
        return
    variable = _PULSE_ENV[direction]
    saved = os.environ.get(variable)
    os.environ[variable] = device.pulse_name
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(variable, None)
        else:
            os.environ[variable] = saved


class CallbackStream:
    """A started PyAudio callback stream of 16-bit `fmt` on `device`, with the PortAudio instance it needs;
    DeviceError naming the device and the cause if it cannot be opened."""

    def __init__(self, device: Device, fmt: AudioFormat, direction: Direction, frames_per_buffer: int,
                 callback: StreamCallback, advice: str) -> None:
        import pyaudio

        with _lifecycle:
            self._audio = open_pyaudio()
            try:
                with _pulse_device_named(device, direction), quiet_stderr():
                    self._stream = self._audio.open(
                        format=pyaudio.paInt16, channels=fmt.channels, rate=fmt.rate,
                        frames_per_buffer=frames_per_buffer, stream_callback=callback,
                        input_device_index=device.index if direction == "input" else None,
                        output_device_index=device.index if direction == "output" else None,
                        input=direction == "input", output=direction == "output")
            except (OSError, ValueError) as e:
                self._audio.terminate()
                raise DeviceError(f"cannot open audio {direction} {device.describe()} for {fmt.describe()}: "
                                  f"{_cause(e)}; {advice}") from None

    def is_active(self) -> bool:
        """False once the device stopped the stream (it vanished, its sound server went away)."""
        return bool(self._stream.is_active())

    def close(self) -> None:
        with _lifecycle:
            try:
                self._stream.stop_stream()
                self._stream.close()
            except OSError:
                pass  # a device that vanished cannot be stopped cleanly; there is nothing left to release
            self._audio.terminate()


def _cause(error: Exception) -> str:
    """PyAudio's errors are `OSError(errno, text)` tuples; keep the text."""
    args = error.args
    return str(args[1]) if len(args) > 1 else str(error)
