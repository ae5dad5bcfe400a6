"""Media: finding the files to play and decoding them (pydub/ffmpeg) into the stream format."""

from __future__ import annotations

import math
import os
import struct
import subprocess
import sys
import wave
from concurrent.futures import Future
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, sparse_wav

from rtpwire.audio import L16_MONO, L16_STEREO
from station.media import MediaError, MediaLoader, Track, decode_file, expand_paths

RATE = 44100


def _write_wav(path: Path, rate: int = 22050, channels: int = 1, frames: int = 2205) -> Path:
    samples = [int(10000 * math.sin(2 * math.pi * 441 * i / rate)) for i in range(frames)]
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"".join(struct.pack("<h", s) * channels for s in samples))
    return path


def _touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# expand_paths


def test_folder_gives_audio_files_sorted_and_skips_notes(tmp_path):
    music = tmp_path / "music"
    for name in ("b.mp3", "a.WAV", "sub/c.flac", "README.md", "cover.jpg", "notes.txt", "sub/info.nfo"):
        _touch(music / name)
    files, problems = expand_paths([str(music)])
    assert files == [music / "a.WAV", music / "b.mp3", music / "sub" / "c.flac"]
    assert problems == []


@pytest.mark.parametrize("suffix", [".wav", ".mp3", ".ogg", ".flac", ".m4a", ".opus", ".aiff", ".MP3"])
def test_audio_suffixes_are_recognised(tmp_path, suffix):
    _touch(tmp_path / f"song{suffix}")
    files, problems = expand_paths([str(tmp_path)])
    assert files == [tmp_path / f"song{suffix}"]
    assert problems == []


def test_missing_path_is_reported_and_the_rest_kept(tmp_path):
    song = _touch(tmp_path / "song.wav")
    missing = str(tmp_path / "nope.mp3")
    files, problems = expand_paths([missing, str(song)])
    assert files == [song]
    assert problems == [f"{missing}: no such file or folder"]


def test_empty_folder_is_reported(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    files, problems = expand_paths([str(empty)])
    assert files == []
    assert problems == [f"{empty}: folder holds no audio files"]


def test_folder_of_notes_only_is_reported(tmp_path):
    _touch(tmp_path / "README.md")
    _touch(tmp_path / "cover.jpg")
    files, problems = expand_paths([str(tmp_path)])
    assert files == []
    assert problems == [f"{tmp_path}: folder holds no audio files"]


def test_explicitly_named_non_audio_file_is_kept(tmp_path):
    notes = _touch(tmp_path / "README.md")
    files, problems = expand_paths([str(notes)])
    assert files == [notes]
    assert problems == []


def test_arguments_keep_their_order(tmp_path):
    first = _touch(tmp_path / "z-first.mp3")
    folder = tmp_path / "folder"
    _touch(folder / "b.wav")
    _touch(folder / "a.wav")
    last = _touch(tmp_path / "a-last.ogg")
    files, problems = expand_paths([str(first), str(folder), str(last)])
    assert files == [first, folder / "a.wav", folder / "b.wav", last]
    assert problems == []


def test_no_paths():
    assert expand_paths([]) == ([], [])


# decode_file


def test_decode_wav_converts_to_stream_format(tmp_path):
    path = _write_wav(tmp_path / "tone.wav", rate=22050, channels=1, frames=2205)
    raw = decode_file(path, RATE, 2)
    assert isinstance(raw, bytes)
    assert len(raw) % 4 == 0
    pcm = np.frombuffer(raw, dtype=np.int16).reshape(-1, 2)
    assert abs(len(pcm) - 2 * 2205) <= 2  # 22050 -> 44100 Hz: about twice the frames
    assert pcm.shape[1] == 2
    np.testing.assert_array_equal(pcm[:, 0], pcm[:, 1])  # mono copied to both channels
    assert 8000 < np.abs(pcm).max() <= 10001  # the tone, not silence, not clipped


@pytest.mark.parametrize("name", ["02-neon-arcade.mp3", "03-lantern-waltz.ogg"])
def test_a_head_is_the_start_of_the_whole_to_the_sample(name):
    """What a station starts on (the first seconds) is what the whole decode holds there, resampled to 48 kHz
    too: the whole takes over from the head with no seam."""
    path = ROOT / "media" / name
    head = np.frombuffer(decode_file(path, 48000, 2, head_s=2.0), dtype=np.int16).reshape(-1, 2)
    whole = np.frombuffer(decode_file(path, 48000, 2), dtype=np.int16).reshape(-1, 2)
    assert abs(len(head) - 96000) <= 1 and len(whole) > 10 * len(head)  # pydub cuts to the millisecond
    assert np.array_equal(head, whole[:len(head)])


def test_decode_wav_already_in_stream_format_keeps_every_frame(tmp_path):
    path = _write_wav(tmp_path / "stereo.wav", rate=RATE, channels=2, frames=1000)
    raw = decode_file(path, RATE, 2)
    assert len(raw) == 1000 * 4


def test_decode_to_mono(tmp_path):
    path = _write_wav(tmp_path / "stereo.wav", rate=RATE, channels=2, frames=1000)
    raw = decode_file(path, RATE, 1)
    assert len(raw) == 1000 * 2


def test_decode_zero_byte_file(tmp_path):
    path = _touch(tmp_path / "silence.wav", b"")
    with pytest.raises(MediaError) as info:
        decode_file(path, RATE, 2)
    assert str(info.value) == f"{path}: empty file"


def test_decode_text_file_renamed_mp3(tmp_path):
    path = _touch(tmp_path / "song.mp3", b"these are the liner notes, not music\n" * 20)
    with pytest.raises(MediaError) as info:
        decode_file(path, RATE, 2)
    assert str(info.value).startswith(f"{path}: not a playable audio file")


def test_decode_truncated_wav_header(tmp_path):
    whole = _write_wav(tmp_path / "whole.wav").read_bytes()
    path = _touch(tmp_path / "cut.wav", whole[:20])  # RIFF header cut inside the fmt chunk
    with pytest.raises(MediaError) as info:
        decode_file(path, RATE, 2)
    assert str(info.value).startswith(f"{path}: not a playable audio file")


def test_decode_wav_header_without_samples(tmp_path):
    whole = _write_wav(tmp_path / "whole.wav").read_bytes()
    path = _touch(tmp_path / "header-only.wav", whole[:44])
    with pytest.raises(MediaError) as info:
        decode_file(path, RATE, 2)
    assert str(info.value) == f"{path}: holds no audio"


def test_decode_huge_file_is_refused_before_decoding(tmp_path):
    """A 4 GB WAV (sparse: its header says 4 GB of 22.05 kHz mono) is 16 GB decoded: its length is read
    from its header, and the file refused, without its samples being read."""
    path = sparse_wav(tmp_path / "huge.wav", 4_000_000_000, rate=22050, channels=1)
    with pytest.raises(MediaError) as info:
        decode_file(path, RATE, 2)
    assert str(info.value) == f"{path}: too long to play (25.2 hours; at most 2: split it)"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root reads files whatever their permissions")
def test_decode_unreadable_file(tmp_path):
    path = _write_wav(tmp_path / "locked.wav")
    path.chmod(0)
    try:
        with pytest.raises(MediaError) as info:
            decode_file(path, RATE, 2)
    finally:
        path.chmod(0o644)
    assert str(info.value) == f"{path}: cannot read (permission denied or missing)"


def test_decode_missing_file(tmp_path):
    path = tmp_path / "gone.wav"
    with pytest.raises(MediaError) as info:
        decode_file(path, RATE, 2)
    assert str(info.value) == f"{path}: cannot read (permission denied or missing)"


def test_decode_folder_is_not_audio(tmp_path):
    path = tmp_path / "album.mp3"
    path.mkdir()
    with pytest.raises(MediaError) as info:
        decode_file(path, RATE, 2)
    assert str(info.value).startswith(f"{path}: not a playable audio file")


# Track and MediaLoader.track (with hand-made futures: no worker process is started)


def test_track_title_of_a_name_that_is_not_utf8_can_be_sent():
    """b'caf\xe9.wav' (Latin-1) reads as 'caf\udce9': the title must encode, for RTCP and SAP."""
    title = Track(Path(os.fsdecode(b"caf\xe9.wav")), np.zeros((1, 2), dtype=np.int16)).title
    assert title == "caf\ufffd"
    assert title.encode("utf-8") == b"caf\xef\xbf\xbd"


def test_track_title_and_duration():
    track = Track(Path("/music/Blue Monk.flac"), np.zeros((88200, 2), dtype=np.int16))
    assert track.title == "Blue Monk"
    assert track.duration_s(L16_STEREO) == 2.0


def _done(result=None, error: BaseException | None = None) -> Future:
    future: Future = Future()
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
    return future


@pytest.fixture
def loader():
    made = []

    def make(fmt):
        made.append(MediaLoader(fmt))
        return made[-1]
    yield make
    for one in made:
        one.close()


def test_loader_track_reshapes_raw_pcm(loader):
    raw = np.arange(12, dtype=np.int16).tobytes()
    track = loader(L16_STEREO).track(Path("a.wav"), _done(raw))
    assert track.path == Path("a.wav")
    assert track.pcm.shape == (6, 2)
    np.testing.assert_array_equal(track.pcm[1], [2, 3])


def test_loader_track_mono(loader):
    raw = np.arange(6, dtype=np.int16).tobytes()
    assert loader(L16_MONO).track(Path("a.wav"), _done(raw)).pcm.shape == (6, 1)


def test_loader_track_reraises_media_error(loader):
    error = MediaError("bad.mp3: empty file")
    with pytest.raises(MediaError) as info:
        loader(L16_STEREO).track(Path("bad.mp3"), _done(error=error))
    assert info.value is error


def test_loader_track_turns_a_crash_into_media_error(loader):
    with pytest.raises(MediaError) as info:
        loader(L16_STEREO).track(Path("crash.mp3"), _done(error=RuntimeError("worker died")))
    assert str(info.value) == "crash.mp3: decoding failed (RuntimeError: worker died)"


# MediaLoader's worker process

_DECODE_THEN_READ_STDIN = """
from pathlib import Path
import sys
from rtpwire.audio import L16_STEREO
from station.media import MediaLoader
loader = MediaLoader(L16_STEREO)
for path in map(Path, sys.argv[1:]):
    loader.track(path, loader.submit(path))
loader.close()
print(repr(sys.stdin.read()))
"""


def test_decoding_leaves_the_commands_on_stdin_alone():
    """ffmpeg reads a key from the stdin it inherits as it decodes: the worker must not hand it the station's,
    or each track decoded eats a byte of the operator's piped commands (PREV arrived as REV)."""
    tracks = [str(ROOT / "media" / "02-neon-arcade.mp3"), str(ROOT / "media" / "03-lantern-waltz.ogg")]
    done = subprocess.run([sys.executable, "-c", _DECODE_THEN_READ_STDIN, *tracks], input="PREV\nNEXT\n",
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout == repr("PREV\nNEXT\n") + "\n"
