"""The station as an Icecast source client, end to end on loopback: an Icecast server of the test's own
(`icecast_server.py`), ffmpeg reading its mounts over HTTP as any player would, a multicast listener beside it."""

from __future__ import annotations

import json
import time
import urllib.request

import numpy as np
import pytest
from conftest import noise_pcm, read_wav, wait_until, write_wav
from icecast_server import icecast  # noqa: F401  (the fixture)
from simulation import aligned_correlation, music_pcm
from test_end_to_end import audible_runs
from test_interop import programs  # noqa: F401  (the fixture)

from station.icecast import FeedSettings, _Encoder, encoder_command
from station.icecast_target import parse_target

pytestmark = pytest.mark.e2e

READ_S = 10  # what each reader decodes, as a player would hear it


def _ogg_title_heard(url: str, title: str) -> bool:
    """A new listener of an Ogg mount gets the current logical stream's headers first: its OpusTags, with the
    title."""
    with urllib.request.urlopen(url, timeout=5) as response:
        return f"title={title}".encode() in response.read(16384)


def test_both_formats_play_the_programme_and_follow_its_titles(launcher, programs, icecast, tmp_path):  # noqa: F811
    source = music_pcm(24.0)
    first = write_wav(tmp_path / "first-song.wav", source)
    second = write_wav(tmp_path / "second-song.wav", music_pcm(6.0, seed=9))
    station = launcher.start("station", "--no-sap", "--name", "Loopback Radio", "--description", "a test",
                             "--icecast", icecast.url("/radio.ogg"), "--icecast", icecast.url("/radio.mp3"),
                             str(first), str(second), stdin=True)
    for mount in ("radio.ogg", "radio.mp3"):
        station.wait_for(f"icecast 127.0.0.1:{icecast.port}/{mount}: connected")
    readers = {mount: programs.start("ffmpeg", "-hide_banner", "-loglevel", "warning", "-nostdin", "-y",
                                     "-t", str(READ_S), "-i", icecast.listen_url(f"/radio.{mount}"), "-ac", "2",
                                     "-ar", "44100", "-c:a", "pcm_s16le", str(tmp_path / f"heard-{mount}.wav"))
               for mount in ("ogg", "mp3")}

    def both_listeners_counted() -> bool:
        station.send("LISTENERS")
        time.sleep(0.5)
        return all(f"/radio.{mount}: 1 listener (connected)" in station.stdout() for mount in ("ogg", "mp3"))

    wait_until(both_listeners_counted, "the readers in LISTENERS", READ_S - 2)
    for mount, reader in readers.items():
        assert reader.wait(READ_S + 15) == 0, f"the {mount} reader failed"
        heard = read_wav(tmp_path / f"heard-{mount}.wav")
        assert len(heard) >= (READ_S - 1) * 44100
        assert aligned_correlation(heard, source) >= 0.99, mount
    about = icecast.mount("/radio.mp3")
    assert about["server_name"] == "Loopback Radio" and about["server_description"] == "a test"
    assert about["title"] == "first-song"
    station.send("NEXT")
    wait_until(lambda: icecast.mount("/radio.mp3").get("title") == "second-song", "the MP3 mount's new title", 5)
    wait_until(lambda: _ogg_title_heard(icecast.listen_url("/radio.ogg"), "second-song"), "the Ogg mount's new title",
               5)
    assert station.stop() == 0
    for text in (station.stdout(), station.stderr()):
        assert icecast.password not in text and "Traceback" not in text


def test_multicast_stays_bit_exact_through_an_icecast_restart_and_a_wrong_password(launcher, icecast, tmp_path):  # noqa: F811
    source = noise_pcm(4.0, seed=4)
    song = write_wav(tmp_path / "song.wav", source)
    listener = launcher.start("listener", "--output", str(tmp_path / "rec.wav"), "--duration", "40",
                              "--latency-ms", "200")
    listener.wait_for("listening on")
    wrong = icecast.url("/other.mp3", password="not-" + icecast.password)
    # the song loops until the station is stopped, once the mount is back: whatever the outage and the reconnection
    # took, the multicast stream runs through them
    station = launcher.start("station", "--no-sap", "--icecast", icecast.url("/radio.ogg"),
                             "--icecast", wrong, "--stats-json", str(tmp_path / "station.json"), str(song))
    where = f"127.0.0.1:{icecast.port}"
    station.wait_for(f"icecast {where}/radio.ogg: connected")
    station.wait_for(f"icecast {where}/other.mp3: wrong user or password (401 Unauthorized)")
    icecast.stop()
    station.wait_for(f"icecast {where}/radio.ogg: ", timeout_s=5)  # the outage, said once
    icecast.start()
    station.wait_for(f"icecast {where}/radio.ogg: connected again after", timeout_s=5)
    assert icecast.mount("/radio.ogg") is not None
    assert station.stop() == 0
    listener.wait_for("station left")
    assert listener.stop() == 0
    heard, _ = audible_runs(read_wav(tmp_path / "rec.wav"))
    looped = np.tile(source, (len(heard) // len(source) + 1, 1))
    assert np.array_equal(heard, looped[:len(heard)]), "the multicast recording differs from the source"
    errors = station.stderr()
    assert errors.count("401") == 1 and "Traceback" not in errors
    stats_text = (tmp_path / "station.json").read_text()
    for text in (station.stdout(), errors, stats_text):
        assert icecast.password not in text
    stats = json.loads(stats_text)["icecast"]
    assert stats[f"{where}/radio.ogg"]["connects"] == 2 and stats[f"{where}/radio.ogg"]["bytes_sent"] > 0
    assert stats[f"{where}/other.mp3"]["state"] == "unauthorized"
    assert stats[f"{where}/other.mp3"]["connects"] == 0


@pytest.mark.parametrize("mount, last_bytes_say_so", [
    ("/radio.ogg", lambda data: data[data.rfind(b"OggS") + 5] & 0x04),  # the last page says end of stream
    ("/radio.mp3", lambda data: len(data) >= 0.9 * 0.3 * 64_000 / 8)])  # all of the 0.3 s at 64 kbit/s
def test_an_encoder_closed_ends_by_its_input_with_its_stream_whole(mount, last_bytes_say_so):
    """Closing a feed's encoder ends its input: ffmpeg finishes the stream and exits by itself (a SIGTERM would
    not even stop it, blocked on a pipe that says nothing more), and its last bytes reach the relay."""
    settings = FeedSettings(rate=48000, channels=2, slot_frames=480, bitrate_kbps=64, name="Test", description="")
    relayed: list[bytes] = []
    encoder = _Encoder(encoder_command(parse_target(f"icecast://source:pw@127.0.0.1:8000{mount}"), settings, "t"),
                       relayed.append, None, settings.frame_bytes, pending_max=10**7)
    try:
        assert encoder.write(noise_pcm(0.3, rate=48000).tobytes()) == 0  # 57.6 kB: one write fills no pipe
        encoder.close()
        assert encoder.popen.returncode == 0  # its own exit, no signal's
        assert last_bytes_say_so(b"".join(relayed))
    finally:
        encoder.close()
