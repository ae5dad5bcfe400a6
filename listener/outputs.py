"""Where the samples go: nowhere, a WAV file, or a sound card: through libpulse, or PyAudio.

Null and WAV outputs are paced by the listener's loop on absolute deadlines, as a sound card would pull; a speaker
is pulled by its stream's own thread. Where a PulseAudio server answers, the speaker is a libpulse stream, whose
timing reports place each sample on the sink to within a sample or two (listeners in step); elsewhere it is a
PortAudio callback stream, whose reports through the ALSA pulse plugin wander by a millisecond or more.
"""

from __future__ import annotations

import queue
import threading
import time
import wave
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import numpy as np

from listener.receiver import Channel
from rtpwire.audio import AudioFormat
from stats.histogram import Histogram
from rtpwire.net import Address
from sound.devices import CallbackStream, Device, find_device
from sound.pulse_stream import PlaybackStream, PulseError, PulseSink


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


class Speaker:
    """A sound card that pulls: datagrams reach the pulling thread through a queue, and each pull feeds them to
    the receiver and reads exactly the frames asked for, to start playing at the DAC time the stream gives.

    A pull does no I/O and no logging, and never raises: an unexpected error yields silence and is counted. It
    notes when it ran and how far ahead of the DAC it writes, so the listener can tell a device that stopped
    pulling, and report the latency the device adds.

    Until `start`, the pulls are silence and leave the receiver alone: a speaker opened again while the session's
    own loop still reads the receiver takes over only once the datagrams that arrived as it opened are in its
    queue; otherwise its first pulls would miss them, and the packets, handed over late, would raise the latency.
    """

    device: Device | PulseSink
    _stream: CallbackStream | PlaybackStream

    def __init__(self, fmt: AudioFormat, feed: Callable[[], None], pull: Pull) -> None:
        self._fmt = fmt
        self._feed = feed
        self._pull = pull
        self.callback_errors = 0
        self.last_callback_s = time.monotonic()
        self.device_latency = Histogram(resolution_s=1e-4, limit_s=5.0)
        self.read_until_s = 0.0  # the DAC time where the samples it read from the receiver end
        self._started = threading.Event()

    def start(self) -> None:
        """The pulls feed and read the receiver from now on."""
        self._started.set()

    def _play(self, frames: int, now: float, dac_s: float) -> bytes:
        try:
            self.last_callback_s = now
            self.device_latency.add(dac_s - now)
            if self._started.is_set():
                self._feed()
                pcm = self._pull(frames, dac_s)
                self.read_until_s = dac_s + frames / self._fmt.rate
                return pcm.astype("<i2", copy=False).tobytes()
        except Exception:
            self.callback_errors += 1
        return bytes(frames * self._fmt.bytes_per_frame)  # silence: not started yet, or an error

    def stalled(self, now: float, patience_s: float = 5.0) -> bool:
        """The device stopped pulling: its stream ended, or no pull came for `patience_s` (PulseAudio may take
        two seconds to start pulling from a new stream on an idle sink)."""
        return not self._stream.is_active() or now - self.last_callback_s > patience_s

    def counts(self) -> dict[str, int]:
        """What went wrong, counted: the figures that add up over the speaker's lives (`SpeakerLives`)."""
        return {"callback_errors": self.callback_errors}

    def stats(self) -> dict[str, object]:
        return {
            "output_device": self.device.describe(),
            "device_latency_ms": round(self.device_latency.mean_s * 1e3, 2),
        } | self.counts()

    def close(self) -> None:
        self._stream.close()


class SpeakerOutput(Speaker):
    """A PyAudio callback stream on the device `device` names (None: the default one), as `find_device` finds it
    (DeviceError if there is none): PortAudio's thread pulls, at the DAC time PortAudio reports."""

    def __init__(self, fmt: AudioFormat, device: str | None, feed: Callable[[], None], pull: Pull,
                 frames_per_buffer: int) -> None:
        import pyaudio  # PortAudio is loaded only where it plays

        super().__init__(fmt, feed, pull)
        self.device = find_device(device, "output", SPEAKER_ADVICE)
        self._continue = pyaudio.paContinue
        self._stream = CallbackStream(self.device, fmt, "output", frames_per_buffer, self._callback,
                                      SPEAKER_ADVICE)

    def _callback(self, _in: bytes | None, frames: int, time_info: dict[str, float], _status: int) -> tuple[bytes, int]:
        now = time.monotonic()
        ahead_s = max(0.0, time_info["output_buffer_dac_time"] - time_info["current_time"])
        return self._play(frames, now, now + ahead_s), self._continue


class PulseSpeakerOutput(Speaker):
    """A libpulse stream on a PulseAudio sink (None: the default one): its writer thread pulls, at the DAC time
    fitted to the server's timing reports; PulseError if there is no server or no such sink."""

    _stream: PlaybackStream

    def __init__(self, fmt: AudioFormat, sink: str | None, feed: Callable[[], None], pull: Pull,
                 frames_per_buffer: int) -> None:
        super().__init__(fmt, feed, pull)
        self._stream = PlaybackStream(fmt, sink, self._fill, frames_per_buffer, "listener")
        self.device = self._stream.sink

    def _fill(self, frames: int, dac_s: float) -> bytes:
        return self._play(frames, time.monotonic(), dac_s)

    def counts(self) -> dict[str, int]:
        """Also what bears on the timing: the stream running dry, and the fit of its timing starting afresh."""
        return {
            "callback_errors": self.callback_errors + self._stream.errors,
            "device_underflows": self._stream.underflows,
            "device_timing_restarts": self._stream.clock.restarts,
        }

    def stats(self) -> dict[str, object]:
        return super().stats() | {"output_realtime": self._stream.priority_note is None}


def open_speaker(fmt: AudioFormat, device: str | None, feed: Callable[[], None], pull: Pull,
                 frames_per_buffer: int, kind: type[Speaker] | None = None) -> Speaker:
    """The speaker `device` names (None: the default one): a libpulse stream if a PulseAudio server answers and
    has such a sink (a number is a PortAudio index, never a sink's); else a PortAudio device, found by
    `find_device` (DeviceError if there is none: no server, a name neither knows).

    `kind`: that kind only (PulseError or DeviceError if it cannot open), as when a lost speaker is tried again:
    the device it named, through the same sound stack; a libpulse stream fails at once where there is no server
    or no such sink, where PortAudio would probe every device at every attempt."""
    if kind is not None:
        return kind(fmt, device, feed, pull, frames_per_buffer)
    if device is None or not device.isdecimal():
        try:
            return PulseSpeakerOutput(fmt, device, feed, pull, frames_per_buffer)
        except PulseError:
            pass
    return SpeakerOutput(fmt, device, feed, pull, frames_per_buffer)


class SpeakerLives:
    """A speaker's figures over its lives, its device lost and opened again: the counts add up, the device latency
    is the mean over every pull, and which device it is (and how its writer ran) is the latest life's."""

    def __init__(self) -> None:
        self._lives = 0
        self._counts: Counter[str] = Counter()
        self._latest: dict[str, object] = {}
        self._latency_total_s = 0.0
        self._latency_count = 0

    def add(self, speaker: Speaker) -> None:
        """A life that ended: the speaker, closed."""
        self._lives += 1
        self._counts.update(speaker.counts())
        self._latest = speaker.stats()
        self._latency_total_s += speaker.device_latency.total_s
        self._latency_count += speaker.device_latency.count

    def stats(self) -> dict[str, object]:
        """The device's `--stats-json` keys, and `device_reopens`: how many times it came back."""
        latency_s = self._latency_total_s / self._latency_count if self._latency_count else 0.0
        return self._latest | dict(self._counts) | {"device_latency_ms": round(latency_s * 1e3, 2),
                                                    "device_reopens": max(0, self._lives - 1)}


class Inbox:
    """Datagrams handed from the network thread to the audio thread, without locks held across either."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[Channel, bytes, float, Address]] = queue.SimpleQueue()

    def put(self, channel: Channel, data: bytes, arrival_s: float, sender: Address) -> None:
        self._queue.put((channel, data, arrival_s, sender))

    def items(self) -> Iterator[tuple[Channel, bytes, float, Address]]:
        while True:
            try:
                yield self._queue.get_nowait()
            except queue.Empty:
                return
