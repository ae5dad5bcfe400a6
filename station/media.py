"""Finding and decoding music files into the stream format, through pydub (ffmpeg for anything but WAV).

Decoding runs in a separate process (`MediaLoader`): a long MP3 takes a second of CPU, and doing it in the
station's process would hold the GIL and delay the packets being paced out meanwhile.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rtpwire.audio import PCM_DTYPE, AudioFormat

AUDIO_SUFFIXES = {".wav", ".mp3", ".ogg", ".oga", ".opus", ".flac", ".m4a", ".aac", ".aif", ".aiff", ".wma",
                  ".webm", ".mka"}


PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies
HEAD_S = 5.0  # a station starts on this much of its first track, decoded at once, while the whole decodes
MAX_TRACK_S = 2 * 3600.0  # decoded, two hours are 1.3 GB of PCM: a longer file is refused, not swapped for


class MediaError(Exception):
    """A file that cannot be played; the message names it and says why."""


@dataclass(frozen=True)
class Track:
    path: Path
    pcm: np.ndarray  # (frames, channels) int16 in the stream format

    @property
    def title(self) -> str:
        """The file's name, as text that can be sent: a name that is not UTF-8 (Latin-1 from an old disk) gets
        U+FFFD where its bytes do not decode, not the lone surrogates Python keeps them as."""
        return self.path.stem.encode("utf-8", "surrogateescape").decode("utf-8", "replace")

    def duration_s(self, fmt: AudioFormat) -> float:
        return len(self.pcm) / fmt.rate


def expand_paths(paths: list[str]) -> tuple[list[Path], list[str]]:
    """Files to play, in order, and a message for each path that does not exist.

    A folder contributes its audio files (by suffix, sorted by name, recursively), so notes and cover art beside
    the music are not reported as bad files; a file named explicitly is always tried.
    """
    files: list[Path] = []
    problems: list[str] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
            if not found:
                problems.append(f"{name}: folder holds no audio files")
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            problems.append(f"{name}: no such file or folder")
    return files, problems


def decode_file(path: Path, rate: int, channels: int, head_s: float | None = None) -> bytes:
    """Raw native-endian s16 interleaved PCM of a file at `rate`/`channels` (only its first `head_s` if given);
    MediaError if it cannot be."""
    from pydub import AudioSegment  # imported where decoding runs: the decoding process, and a starting station
    from pydub.exceptions import CouldntDecodeError

    if not os.access(path, os.R_OK):
        raise MediaError(f"{path}: cannot read (permission denied or missing)")
    if path.stat().st_size == 0:
        raise MediaError(f"{path}: empty file")
    duration_s = None if head_s is not None else _duration_s(path)  # a head is short whatever the file's length
    if duration_s is not None and duration_s > MAX_TRACK_S:
        raise MediaError(f"{path}: too long to play ({duration_s / 3600:.1f} hours; at most "
                         f"{MAX_TRACK_S / 3600:g}: split it)")
    try:
        with path.open("rb") as file:  # a file, not a path: pydub then hands WAV to ffmpeg too, which converts
            # every format to the stream's rate and channels with its own resampler (none in Python)
            segment = AudioSegment.from_file(file, parameters=["-ar", str(rate), "-ac", str(channels)],
                                             duration=head_s)
    except CouldntDecodeError as e:
        reason = str(e).strip().splitlines()[-1] if str(e).strip() else "unknown format"
        raise MediaError(f"{path}: not a playable audio file ({reason[:200]})") from None
    except (OSError, ValueError, IndexError) as e:
        raise MediaError(f"{path}: not a playable audio file ({e})") from None
    segment = segment.set_sample_width(2).set_channels(channels).set_frame_rate(rate)
    if len(segment.raw_data) == 0:
        raise MediaError(f"{path}: holds no audio")
    return segment.raw_data


def _duration_s(path: Path) -> float | None:
    """What ffprobe says a file lasts, from its headers, before anything is decoded; None if it cannot say
    (decoding then tells what is wrong)."""
    from pydub.utils import mediainfo_json

    try:
        return float(mediainfo_json(str(path)).get("format", {})["duration"])
    except (KeyError, TypeError, ValueError, OSError):
        return None


def _prepare_worker() -> None:
    """Runs first in the decoding process. Its standard input, which ffmpeg inherits, becomes /dev/null: ffmpeg
    reads a key from its stdin as it decodes, even from a pipe, and without this every track decoded would eat a
    byte of the operator's piped commands (`PREV` arriving as `REV`). And on Linux it is sent SIGTERM when the
    station dies: a station killed outright (SIGKILL, a crash) would otherwise leave it behind for good, as it
    holds both ends of its own work queue and never sees the station go. Ctrl-C on a terminal signals the whole
    process group: the station stops itself and this process with it, which would otherwise die of the SIGINT
    first, printing a traceback under the station's last words."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class MediaLoader:
    """Decodes files in one worker process, so decoding never competes with pacing for the GIL."""

    def __init__(self, fmt: AudioFormat) -> None:
        self.fmt = fmt
        self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_prepare_worker)

    def submit(self, path: Path) -> Future[bytes]:
        return self._pool.submit(decode_file, path, self.fmt.rate, self.fmt.channels)

    def head(self, path: Path, head_s: float = HEAD_S) -> Track:
        """The first `head_s` of a file, decoded here and now: what a station starts on while its worker process
        (which takes a fifth of a second to start) decodes the whole; MediaError if it cannot be."""
        raw = decode_file(path, self.fmt.rate, self.fmt.channels, head_s)
        return Track(path, np.frombuffer(raw, dtype=PCM_DTYPE).reshape(-1, self.fmt.channels))

    def track(self, path: Path, future: Future[bytes]) -> Track:
        """The decoded track of a finished `submit`; MediaError if decoding failed."""
        try:
            raw = future.result()
        except MediaError:
            raise
        except Exception as e:  # a crashed worker or an unpicklable error: still one bad file, not a dead station
            raise MediaError(f"{path}: decoding failed ({type(e).__name__}: {e})") from None
        return Track(path, np.frombuffer(raw, dtype=PCM_DTYPE).reshape(-1, self.fmt.channels))

    def close(self) -> None:
        # wait=True: with wait=False, CPython's exit hook can race the pool's own shutdown and print a
        # traceback (EBADF on its wake-up pipe). At most a decode already running is waited for.
        self._pool.shutdown(wait=True, cancel_futures=True)
