"""Only the station is heard, end to end on loopback: SRTP between real processes, a listener flooded with
hostile datagrams while it records, bad media files and bad console input at a station that keeps playing."""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil
from conftest import ROOT, noise_pcm, read_wav, sparse_wav, write_wav
from test_end_to_end import audible_runs

from rtpwire.net import open_receiver
from rtpwire.rtcp import Bye, compound
from rtpwire.rtp import RtpPacket

PACKET_S = 220 / 44100  # the station's packets, one every 5 ms
MEMORY_SLACK_BYTES = 16 << 20  # what a flood may add to a listener's resident memory: allocator noise, no more


def gen_key(path: Path) -> Path:
    key = subprocess.run([sys.executable, "-m", "station", "--gen-key"], cwd=ROOT, capture_output=True, text=True,
                         timeout=30, check=True).stdout
    path.write_text(key)
    path.chmod(0o600)
    return path


def test_srtp_plays_only_with_the_key(launcher, tmp_path):
    """With the key, the recording is bit-exact; without it the listener says the stream is encrypted; with
    another key, that authentication fails; neither plays a sound, and both keep waiting; and with --quiet, each
    still says why, once."""
    source = noise_pcm(5.0, seed=4)
    key, wrong = gen_key(tmp_path / "radio.key"), gen_key(tmp_path / "other.key")
    keyed = launcher.start("listener", "--key-file", str(key), "--output", str(tmp_path / "heard.wav"),
                           "--duration", "40", "--latency-ms", "200", "--stats-json", str(tmp_path / "keyed.json"))
    keyless = launcher.start("listener", "--output", str(tmp_path / "keyless.wav"), "--duration", "40")
    mistaken = launcher.start("listener", "--key-file", str(wrong), "--output", str(tmp_path / "wrong.wav"),
                              "--duration", "40", "--stats-json", str(tmp_path / "wrong.json"))
    quiet_keyless = launcher.start("listener", "--quiet", "--output", "null", "--duration", "40")
    quiet_mistaken = launcher.start("listener", "--quiet", "--key-file", str(wrong), "--output", "null",
                                    "--duration", "40")
    for listener in (keyed, keyless, mistaken):
        listener.wait_for("listening on")
    station = launcher.start("station", "--once", "--key-file", str(key), "--no-sap",
                             str(write_wav(tmp_path / "song.wav", source)))
    station.wait_for("encrypted (SRTP)", stream="stdout")
    keyless.wait_for("stream is encrypted: ")
    mistaken.wait_for("authentication failed on ", timeout_s=20)
    quiet_mistaken.wait_for("authentication failed on ", timeout_s=20)
    assert station.popen.wait(30) == 0
    keyed.wait_for("station left")
    for listener in (keyed, keyless, mistaken, quiet_keyless, quiet_mistaken):
        assert listener.stop() == 0
    # --quiet hides the status line, never why nothing plays: said once each
    assert [line.split(":")[1] for line in quiet_keyless.stderr().splitlines()] == [" stream is encrypted"]
    assert [line.split(" on ")[0] for line in quiet_mistaken.stderr().splitlines()] == \
        ["listener: authentication failed"]
    heard, longest_gap = audible_runs(read_wav(tmp_path / "heard.wav"))
    assert np.array_equal(heard, source) and longest_gap == 0
    assert not read_wav(tmp_path / "keyless.wav").any()
    assert not read_wav(tmp_path / "wrong.wav").any()
    stats = json.loads((tmp_path / "keyed.json").read_text())
    # (the other two listeners' receiver reports, plain or under another key, fail authentication here: counted)
    assert stats["packets_replayed"] == stats["packets_lost"] == stats["packets_malformed"] == 0
    assert json.loads((tmp_path / "wrong.json").read_text())["packets_unauthenticated"] > 500


class Flood:
    """Hostile datagrams at the group, from a socket of its own (so from another source port than the
    station's): garbage, oversized datagrams, forged RTP of the station's SSRC (timed to play, and with
    far-future sequence numbers and timestamps), forged RTCP BYEs, and another station's stream."""

    def __init__(self, group: str, port: int, station: RtpPacket, seen_at_s: float, seconds: float,
                 rate_per_s: int = 600) -> None:
        self._targets = ((group, port), (group, port + 1))
        self._station = station
        self._seen_at_s = seen_at_s
        self._seconds = seconds
        self._rate_per_s = rate_per_s
        self.sent = 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self) -> None:
        self._thread.join(self._seconds + 10)

    def _datagrams(self, rng: random.Random, index: int) -> tuple[bytes, int]:
        """The index-th datagram and which port (0: RTP, 1: RTCP) it goes to."""
        s = self._station
        kind = index % 6
        if kind == 0:
            return rng.randbytes(rng.randrange(1, 1500)), rng.randrange(2)
        if kind == 1:
            return rng.randbytes(60000), rng.randrange(2)
        if kind == 2:  # the station's SSRC, numbered as its packets a few ahead of now: would play, if believed
            step = round((time.monotonic() - self._seen_at_s) / PACKET_S) + 4
            return bytes(RtpPacket(s.payload_type, (s.sequence + step) & 0xFFFF, (s.timestamp + 220 * step) % 2**32,
                                   s.ssrc, payload=rng.randbytes(880))), 0
        if kind == 3:  # the station's SSRC, far ahead
            return bytes(RtpPacket(s.payload_type, (s.sequence + 30000 + index) & 0xFFFF,
                                   (s.timestamp + 10**9 + index) % 2**32, s.ssrc, payload=rng.randbytes(880))), 0
        if kind == 4:
            return compound(Bye((s.ssrc,), "forged")), 1
        return bytes(RtpPacket(s.payload_type, index & 0xFFFF, 220 * index, 0x0BAD0BAD, payload=rng.randbytes(880))), 0

    def _run(self) -> None:
        rng = random.Random(5)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 0)
            start_s = time.monotonic()
            for index in range(int(self._seconds * self._rate_per_s)):
                time.sleep(max(0.0, start_s + index / self._rate_per_s - time.monotonic()))
                data, which = self._datagrams(rng, index)
                sock.sendto(data, self._targets[which])
                self.sent += 1


def first_packet(group: str, port: int, timeout_s: float = 10.0) -> RtpPacket:
    """The first RTP packet on the group: what a stranger on the network learns of the station."""
    sock = open_receiver(group, port, "127.0.0.1")
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                return RtpPacket.parse(sock.recv(65536))
            except BlockingIOError:
                time.sleep(0.01)
        raise AssertionError(f"no RTP on {group}:{port} within {timeout_s} s")
    finally:
        sock.close()


def test_a_flooded_listener_records_bit_exact_in_bounded_memory(launcher, tmp_path):
    source = noise_pcm(8.0, seed=6)
    listener = launcher.start("listener", "--output", str(tmp_path / "heard.wav"), "--duration", "60",
                              "--latency-ms", "250", "--stats-json", str(tmp_path / "stats.json"))
    listener.wait_for("listening on")
    station = launcher.start("station", "--once", "--no-sap", str(write_wav(tmp_path / "song.wav", source)))
    seen = first_packet(launcher.group, launcher.port)
    seen_at_s = time.monotonic()
    listener.wait_for("| playing |")
    memory = psutil.Process(listener.popen.pid)
    before_bytes = memory.memory_info().rss
    flood = Flood(launcher.group, launcher.port, seen, seen_at_s, seconds=5.0)
    flood.start()
    flood.join()
    after_bytes = memory.memory_info().rss
    assert station.popen.wait(30) == 0
    listener.wait_for("station left")
    assert listener.stop() == 0
    heard, longest_gap = audible_runs(read_wav(tmp_path / "heard.wav"))
    assert np.array_equal(heard, source), "the flood changed what was played"
    assert longest_gap == 0
    assert after_bytes - before_bytes < MEMORY_SLACK_BYTES, f"memory grew by {after_bytes - before_bytes} bytes"
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert flood.sent == 3000
    assert stats["packets_spoofed"] >= 1000  # forged RTP and BYEs of the station's SSRC
    assert stats["packets_foreign"] >= 400  # the other station
    assert stats["packets_malformed"] >= 500  # garbage and oversized datagrams
    assert stats["other_senders"] >= 2
    assert stats["packets_lost"] == stats["underruns"] == stats["resyncs"] == 0


def unprivileged() -> tuple[str, ...]:
    """Root reads any file whatever its permissions: run as root without that power (CAP_DAC_OVERRIDE and
    CAP_DAC_READ_SEARCH), so that an unreadable file is unreadable."""
    return ("setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--") if os.geteuid() == 0 else ()


def test_bad_media_files_are_named_and_skipped_while_the_station_plays_on(launcher, tmp_path):
    first = write_wav(tmp_path / "first.wav", noise_pcm(0.5, seed=1))
    last = write_wav(tmp_path / "last.wav", noise_pcm(0.5, seed=2))
    locked = write_wav(tmp_path / "locked.wav", noise_pcm(0.5, seed=3))
    locked.chmod(0)
    huge = sparse_wav(tmp_path / "huge.wav", 4_000_000_000)
    (tmp_path / "empty.flac").write_bytes(b"")
    (tmp_path / "notes.mp3").write_text("not music\n" * 100)
    station = launcher.start("station", "--once", "--no-sap", str(first), str(huge), str(locked),
                             str(tmp_path / "empty.flac"), str(tmp_path / "notes.mp3"), str(last),
                             prefix=unprivileged())
    assert station.popen.wait(60) == 0
    errors = station.stderr()
    assert f"{huge}: too long to play (" in errors
    assert f"{locked}: cannot read (permission denied or missing)" in errors
    assert f"{tmp_path / 'empty.flac'}: empty file" in errors
    assert f"{tmp_path / 'notes.mp3'}: not a playable audio file" in errors
    assert "Traceback" not in errors
    assert "now playing: first" in station.stdout()
    assert "last" in station.stdout() or "last" in errors  # the queue went on past them to the last track


def test_bad_console_input_is_answered_and_the_station_plays_on(launcher, tmp_path):
    station = launcher.start("station", "--no-sap", str(write_wav(tmp_path / "song.wav", noise_pcm(2.0))),
                             stdin=True)
    station.wait_for("type HELP", stream="stdout")
    lines = ["\x00\x01\x02", "PLAY PLAY PLAY", "VOLUME 99999", "SEEK -1:99", "ADD", "MOVE 1", "REMOVE x",
             "x" * 100_000, "ﾌﾟﾚｲ", "'unterminated", "STATUS"]
    for line in lines:
        station.send(line)
    station.wait_for("sending ", stream="stdout")  # STATUS answered, after every bad line
    out = station.stdout()
    assert out.count("error:") >= len(lines) - 1
    status = out[out.rindex("\nplaying ") if "\nplaying " in out else 0:]
    assert "playing" in status
    station.send("QUIT")
    assert station.popen.wait(15) == 0
    assert "Traceback" not in station.stderr()
