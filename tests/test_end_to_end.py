"""Real station and listener processes on loopback (127.0.0.1, TTL 1): what users run, end to end."""

import json
import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, noise_pcm, read_wav, write_wav

from rtpwire.net import open_sender
from rtpwire.rtp import RtpPacket

SPP = 220


def audible_runs(pcm: np.ndarray) -> tuple[np.ndarray, int]:
    """The recording's audible frames, and the longest silence between the first and last of them."""
    sound = np.any(pcm != 0, axis=1)
    first, last = np.argmax(sound), len(sound) - np.argmax(sound[::-1])
    inner = ~sound[first:last]
    longest = run = 0
    for silent in inner:
        run = run + 1 if silent else 0
        longest = max(longest, run)
    return pcm[sound], longest


def test_two_listeners_record_bit_exact_across_pause(launcher, tmp_path):
    source = noise_pcm(3.0)
    song = write_wav(tmp_path / "song.wav", source)
    # a generous buffer: this test is about exactness, and a shared CI machine may stall a process for a while
    listeners = [launcher.start("listener", "--output", str(tmp_path / f"rec{i}.wav"), "--duration", "40",
                                "--latency-ms", "200",
                                "--stats-json", str(tmp_path / f"stats{i}.json")) for i in range(2)]
    for listener in listeners:
        listener.wait_for("listening on")
    station = launcher.start("station", "--once", str(song), "--stats-json", str(tmp_path / "station.json"),
                             stdin=True)
    station.wait_for("now playing", stream="stdout")
    listeners[0].wait_for("| playing |")
    station.send("PAUSE")
    station.wait_for("paused", stream="stdout")
    listeners[0].wait_for("| paused |")
    time.sleep(2.0)  # the scenario: a 2 s pause in the middle of the song
    station.send("PLAY")
    assert station.popen.wait(20) == 0
    for listener in listeners:
        listener.wait_for("station left")
        assert listener.stop() == 0
    for i in range(2):
        heard, pause_frames = audible_runs(read_wav(tmp_path / f"rec{i}.wav"))
        assert np.array_equal(heard, source), f"listener {i}: recording differs from the source"
        assert pause_frames > 1.5 * 44100, "the pause should appear as silence"
        stats = json.loads((tmp_path / f"stats{i}.json").read_text())
        assert stats["packets_received"] == -(-len(source) // SPP)
        assert stats["packets_lost"] == stats["packets_duplicate"] == stats["underruns"] == 0
        assert stats["bytes_received"] == source.nbytes
        assert 0 < stats["latency_ms"]
    station_stats = json.loads((tmp_path / "station.json").read_text())
    assert station_stats["packets_sent"] == -(-len(source) // SPP)


def test_bad_files_reported_by_name_and_skipped(launcher, tmp_path):
    (tmp_path / "empty.mp3").write_bytes(b"")
    (tmp_path / "notes.ogg").write_text("this is not music\n" * 50)
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt ")
    good = write_wav(tmp_path / "good.wav", noise_pcm(0.3))
    station = launcher.start("station", "--once", str(tmp_path / "missing.flac"), str(tmp_path / "empty.mp3"),
                             str(tmp_path / "notes.ogg"), str(truncated), str(good))
    assert station.popen.wait(30) == 0
    errors = station.stderr()
    for name in ("missing.flac", "empty.mp3", "notes.ogg", "truncated.wav"):
        assert name in errors
    assert "Traceback" not in errors
    assert "now playing: good" in station.stdout()


def test_nothing_playable_exits_2(launcher, tmp_path):
    (tmp_path / "a.wav").write_text("nope")
    station = launcher.start("station", str(tmp_path / "a.wav"), str(tmp_path / "b.mp3"))
    assert station.popen.wait(30) == 2
    errors = station.stderr()
    assert "a.wav" in errors and "b.mp3" in errors and "nothing playable" in errors
    assert "Traceback" not in errors


def test_sigterm_sends_bye_and_exits_cleanly(launcher, tmp_path):
    listener = launcher.start("listener", "--output", "null", "--stats-json", str(tmp_path / "l.json"))
    listener.wait_for("listening on")
    station = launcher.start("station", str(write_wav(tmp_path / "loop.wav", noise_pcm(0.5))), stdin=True)
    listener.wait_for("| playing |")
    assert station.stop() == 0
    assert "Traceback" not in station.stderr()
    listener.wait_for("station left")
    assert listener.stop() == 0
    stats = json.loads((tmp_path / "l.json").read_text())
    assert stats["state"] == "station left"
    assert stats["packets_received"] > 0 and stats["packets_lost"] == 0


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid`, from /proc."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def test_a_station_killed_outright_leaves_no_decoder_behind(launcher, tmp_path):
    """SIGKILL (or a crash) gives the station no chance to stop its decoding process: that process goes with it,
    told by the kernel (PR_SET_PDEATHSIG), instead of lingering for good."""
    station = launcher.start("station", str(write_wav(tmp_path / "loop.wav", noise_pcm(0.5))))
    station.wait_for("on the air", stream="stdout")
    decoders = _children(station.popen.pid)
    assert decoders, "the station has its decoding process"
    station.popen.kill()
    station.popen.wait(5)
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in decoders) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [pid for pid in decoders if _alive(pid)]
    for pid in left:  # end what the test started, whatever the verdict
        os.kill(pid, signal.SIGKILL)
    assert not left, "the decoding process outlived the station"


def test_console_commands_over_a_pipe(launcher, tmp_path):
    station = launcher.start("station", str(write_wav(tmp_path / "loop.wav", noise_pcm(0.5))), stdin=True)
    station.wait_for("now playing", stream="stdout")
    for line in ("PAUS", "status", "help", "pause", "pause", "Play", "bogus stuff"):
        station.send(line)
    station.wait_for("unknown command bogus", stream="stdout")
    station.popen.stdin.close()  # end of input stops the console, not the station
    out = station.stdout()
    assert "unknown command PAUS — did you mean PAUSE?" in out
    assert "paused" in out and "already paused" in out and "playing" in out
    assert "send error p50" in out and "QUIT" in out
    assert station.popen.poll() is None, "end of input must not stop the station"
    assert station.stop() == 0


def test_listener_cannot_join_says_where(launcher):
    listener = launcher.start("listener", "--interface", "198.51.100.7")  # TEST-NET-2: no interface has it, the join fails before anything is sent
    assert listener.popen.wait(15) == 3
    assert "cannot join" in listener.stderr() and launcher.group in listener.stderr()


def test_quiet_still_says_why_another_payload_type_is_not_played(launcher):
    """--quiet hides the status line, never the reason nothing plays: a sender of dynamic payload type 97 (ffmpeg
    at 48 kHz) heard without its SDP is named, once."""
    listener = launcher.start("listener", "--quiet", "--output", "null", "--duration", "5")
    sender = open_sender(launcher.group, launcher.port, "127.0.0.1", ttl=1)
    try:
        for sequence in range(800):  # 4 s of 5 ms packets, past the 3 s a listener waits before it says why
            if listener.popen.poll() is not None:
                break
            sender.send(bytes(RtpPacket(97, sequence, sequence * 240, 0xF0F0, payload=bytes(960))))
            time.sleep(0.005)
    finally:
        sender.close()
    assert listener.popen.wait(15) == 0
    lines = listener.stderr().splitlines()
    assert len(lines) == 1 and lines[0].startswith("listener: nothing playable heard for ")
    assert "packets refused, the last: unsupported RTP payload type 97" in lines[0]


def test_listener_rejects_bad_arguments(launcher):
    listener = launcher.start("listener", "--output", "song.mp3")
    assert listener.popen.wait(15) == 2
    assert "expected speaker, null or a FILE.wav" in listener.stderr()


def test_speaker_without_audio_device_says_so_and_suggests_output(launcher):
    no_server = {"PULSE_SERVER": "unix:/nonexistent/pulse", "AUDIODEV": "null"}
    listener = launcher.start("listener", "--output", "speaker", "--duration", "2", env=no_server)
    assert listener.popen.wait(20) == 4
    errors = listener.stderr()
    assert "no audio output device" in errors and "--output null" in errors and "--list-devices" in errors
    assert "Traceback" not in errors


def test_default_output_falls_back_to_null_without_a_device(launcher, tmp_path):
    no_server = {"PULSE_SERVER": "unix:/nonexistent/pulse"}
    listener = launcher.start("listener", "--duration", "1", "--stats-json", str(tmp_path / "s.json"), env=no_server)
    assert listener.popen.wait(20) == 0
    assert "no audio output device" in listener.stderr() and "output null" in listener.stderr()
    assert (tmp_path / "s.json").exists()


def test_queue_commands_over_a_pipe(launcher):
    """An operator's session, scripted: the queue, transport and volume commands on the bundled music."""
    station = launcher.start("station", "media", stdin=True)
    station.wait_for("now playing: 01-tide-pool", stream="stdout")
    deadline = time.monotonic() + 15  # the station starts on the first seconds of the track: its length comes once
    while "01-tide-pool      0:25" not in station.stdout() and time.monotonic() < deadline:  # it is all decoded
        station.send("QUEUE")
        time.sleep(0.2)
    session = [
        ("QUEUE", "▶ 1. 01-tide-pool"),
        ("NEXT", "skipped to 2. 02-neon-arcade ("),
        ("SEEK 0:10", "at 0:10 of 2. 02-neon-arcade ("),
        ("VOLUME 50", "volume 50% (was 100%)"),
        ("PREV", "back to the start of 2. 02-neon-arcade ("),  # 10 s in: PREV restarts the track
        ("JUMP 1", "playing 1. 01-tide-pool (0:25)"),
        ("REMOVE 3", "removed 3. 03-lantern-waltz"),
        ("ADD media/03-lantern-waltz.ogg", "added 3. 03-lantern-waltz (?:??)"),
        ("VOLUME loud", "error: VOLUME takes a number from 0 to 100, got 'loud'"),
        ("STATUS", "queue: track 1 of 3, repeat queue, shuffle off; volume 50%"),
    ]
    for line, answer in session:
        station.send(line)
        station.wait_for(answer, stream="stdout")
    station.send("QUIT")
    assert station.popen.wait(15) == 0
    out = station.stdout()
    queue = out[out.index("queue: 3 tracks"):].splitlines()[:4]
    assert queue[0] == "queue: 3 tracks, repeat queue, shuffle off"
    assert [line[:20] for line in queue[1:]] == ["▶ 1. 01-tide-pool   ", "  2. 02-neon-arcade ",
                                                 "  3. 03-lantern-walt"]
    assert "playing  01-tide-pool  0:" in out
    assert "stopping: BYE sent to listeners" in out
    assert "Traceback" not in station.stderr()


def test_listener_status_follows_track_changes_and_pause(launcher):
    """What the operator does reaches the listener's status line: the station sends its now-playing report at
    once on a track change, PAUSE and PLAY, not at the next regular report."""
    station = launcher.start("station", str(ROOT / "media" / "01-tide-pool.wav"),
                             str(ROOT / "media" / "02-neon-arcade.mp3"), "--name", "Night Owl", stdin=True)
    station.wait_for("on the air", stream="stdout")
    listener = launcher.start("listener", "--output", "null")
    listener.wait_for("Night Owl — 01-tide-pool | playing |")
    station.send("NEXT")
    listener.wait_for("Night Owl — 02-neon-arcade | playing |")
    station.send("PAUSE")
    listener.wait_for("Night Owl — 02-neon-arcade | paused |")
    station.send("QUIT")
    assert station.popen.wait(15) == 0


def test_listener_adopts_the_latency_the_station_announces(launcher, tmp_path):
    """No --latency-ms on the listener: it plays at the 150 ms the station announces, and says so."""
    station = launcher.start("station", str(write_wav(tmp_path / "loop.wav", noise_pcm(1.0))), "--latency-ms", "150",
                             stdin=True)
    station.wait_for("listeners play 150 ms after the station's clock", stream="stdout")
    listener = launcher.start("listener", "--output", "null", "--duration", "4", "--stats-json",
                              str(tmp_path / "l.json"))
    listener.wait_for("latency 150.0 ms (station)")  # taken before playout starts, on the station's clock
    assert listener.popen.wait(20) == 0
    stats = json.loads((tmp_path / "l.json").read_text())
    assert stats["latency_source"] == "station"
    assert stats["latency_target_ms"] == pytest.approx(150, abs=0.05)
    assert stats["latency_shared_ms"] == pytest.approx(150, abs=0.05)
    assert stats["latency_ms"] > 100  # measured, station clock to playout: most of the run at 150 ms
    assert "playout_offset_ms" in stats and "playout_offset_p99_ms" in stats
    assert "clock_offset_ms" not in stats  # no time sync asked
    assert station.stop() == 0


def test_listener_learns_the_station_clock_over_the_time_sync_exchange(launcher, tmp_path):
    """The station's time service on this host: the offset between its clock and the listener's is (nearly)
    nothing, as both read the same wall clock, and the round trip is loopback's."""
    time_port = launcher.port + 2
    station = launcher.start("station", str(write_wav(tmp_path / "loop.wav", noise_pcm(1.0))), "--stats-json",
                             str(tmp_path / "s.json"), stdin=True)
    station.wait_for(f"time service on 127.0.0.1:{time_port}", stream="stdout")
    listener = launcher.start("listener", "--output", "null", "--duration", "4", "--time-sync",
                              f"127.0.0.1:{time_port}", "--stats-json", str(tmp_path / "l.json"))
    assert listener.popen.wait(20) == 0
    stats = json.loads((tmp_path / "l.json").read_text())
    # an answer that comes after the next request was sent (a busy station, 0.1 s apart at first) is stale, ignored
    assert stats["clock_answers"] >= 8 and stats["clock_packets_ignored"] <= stats["clock_answers"] // 4
    assert abs(stats["clock_offset_ms"]) < 1.0
    assert 0 < stats["clock_rtt_ms"] < 50
    assert stats["packets_received"] > 0 and stats["underruns"] == 0
    assert station.stop() == 0
    assert "Traceback" not in listener.stderr() + station.stderr()
    station_stats = json.loads((tmp_path / "s.json").read_text())
    assert stats["clock_answers"] <= station_stats["time_requests_answered"] <= stats["clock_requests"]
    assert station_stats["time_requests_ignored"] == 0


def test_a_time_port_taken_is_a_clear_error(launcher, tmp_path):
    song = str(write_wav(tmp_path / "loop.wav", noise_pcm(0.5)))
    first = launcher.start("station", song, stdin=True)
    first.wait_for("time service on", stream="stdout")
    second = launcher.start("station", song, "--port", str(launcher.port + 10), "--time-port",
                            str(launcher.port + 2))
    assert second.popen.wait(15) == 3
    assert f"cannot listen on 127.0.0.1:{launcher.port + 2}" in second.stderr()
    assert "--time-port chooses another port" in second.stderr()
    assert first.stop() == 0


def wait_for_new_file(path, previous, timeout_s: float = 10.0) -> dict:
    """The figures in `path` once a version other than `previous` (an inode, or None) is there."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_ino != previous:
            return json.loads(path.read_text())
        time.sleep(0.05)
    raise AssertionError(f"{path} not written within {timeout_s} s")


def test_sigusr1_writes_the_figures_so_far_and_the_programs_go_on(launcher, tmp_path):
    """What the throughput batch measures its windows with: a snapshot on SIGUSR1, then another, then the last
    at exit, each whole."""
    station_json, listener_json = tmp_path / "s.json", tmp_path / "l.json"
    station = launcher.start("station", str(write_wav(tmp_path / "loop.wav", noise_pcm(1.0))), "--stats-json",
                             str(station_json), stdin=True)
    station.wait_for("now playing", stream="stdout")
    listener = launcher.start("listener", "--output", "null", "--stats-json", str(listener_json))
    listener.wait_for("| playing |")
    snapshots = []
    for _ in range(2):
        previous = [path.stat().st_ino if path.exists() else None for path in (station_json, listener_json)]
        station.popen.send_signal(signal.SIGUSR1)
        listener.popen.send_signal(signal.SIGUSR1)
        snapshots.append((wait_for_new_file(station_json, previous[0]), wait_for_new_file(listener_json, previous[1])))
        time.sleep(0.5)
    assert station.popen.poll() is None and listener.popen.poll() is None
    (station_first, listener_first), (station_second, listener_second) = snapshots
    assert 0 < listener_first["packets_received"] < listener_second["packets_received"]
    assert listener_first["duration_s"] < listener_second["duration_s"]
    assert 0 < station_first["packets_sent"] < station_second["packets_sent"]
    assert sum(station_second["send_error_bins"].values()) == station_second["packets_sent"]
    assert station_second["send_error_bin_ms"] == 0.01
    assert listener.stop() == 0 and station.stop() == 0
    assert json.loads(listener_json.read_text())["packets_received"] >= listener_second["packets_received"]
    assert json.loads(station_json.read_text())["packets_sent"] >= station_second["packets_sent"]
    assert "Traceback" not in station.stderr() + listener.stderr()


def test_ctrl_c_to_the_process_group_stops_the_station_cleanly(launcher, tmp_path):
    """Ctrl-C on a terminal signals the whole process group, the station's decoding process included."""
    song = write_wav(tmp_path / "song.wav", noise_pcm(5.0))
    # its own group, as a terminal's job; SIGINT as a terminal leaves it, even where the test runs with it ignored
    # (a job a shell started in the background), which its processes would inherit
    station = launcher.start("station", str(song), prefix=("setsid", "env", "--default-signal=INT"))
    station.wait_for("type HELP", stream="stdout")
    time.sleep(2.0)  # the track decoded: its decoding process waits for work, where a SIGINT killed it noisily
    os.killpg(station.popen.pid, signal.SIGINT)
    assert station.popen.wait(10) == 0
    assert "off the air" in station.stdout()
    assert "Traceback" not in station.stderr() and "KeyboardInterrupt" not in station.stderr()
