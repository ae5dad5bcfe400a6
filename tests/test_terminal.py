"""The console's front-ends: the scripted one reading stdin, and the prompt on a pipe input with a dummy output."""

from __future__ import annotations

import asyncio
import io
import shlex
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import ROOT

from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from station.control import StationStatus
from station.terminal import (CommandCompleter, PromptOptions, Vocabulary, history_path, make_session, open_history,
                              prompt_loop, run_console, toolbar_text)


def test_run_console_reads_stdin_until_quit(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("pause\n\nbogus\nquit\nplay\n"))
    finished = threading.Event()
    seen: list[str] = []

    def handle(line: str) -> str | None:
        seen.append(line)
        if line.strip() == "quit":
            finished.set()
            return "stopping"
        return None if not line.strip() else f"answer to {line.strip()}"

    runner = threading.Thread(target=run_console, args=(handle, finished, False), daemon=True)
    runner.start()
    runner.join(timeout=5)
    assert not runner.is_alive()
    assert seen[:4] == ["pause\n", "\n", "bogus\n", "quit\n"]
    out = capsys.readouterr().out
    assert "answer to pause\n" in out and "answer to bogus\n" in out and "stopping\n" in out
    assert "\n\n" not in out  # a None answer prints nothing


# --- the prompt: completion, history, toolbar -------------------------------------------------------------------

VOCABULARY = Vocabulary(("PLAY", "PAUSE", "PREV", "QUIT", "REPEAT", "ADD"),
                        choices=lambda name: ("off", "track", "queue") if name == "REPEAT" else (),
                        takes_paths=lambda name: name == "ADD")


def completions(text):
    return [c.text for c in CommandCompleter(VOCABULARY).get_completions(Document(text, len(text)), CompleteEvent())]


def test_complete_command_names_case_insensitively():
    assert completions("p") == ["PLAY", "PAUSE", "PREV"]
    assert completions("pa") == ["PAUSE"]
    assert completions("  qu") == ["QUIT"]
    assert completions("x") == []


def test_complete_fixed_arguments():
    assert completions("repeat ") == ["off", "track", "queue"]
    assert completions("REPEAT Tr") == ["track"]
    assert completions("play ") == []


def test_complete_paths_for_add(tmp_path, monkeypatch):
    (tmp_path / "songs").mkdir()
    (tmp_path / "song.wav").write_bytes(b"")
    (tmp_path / "other.mp3").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    assert sorted(completions("add so")) == ["ng.wav", "ngs"]  # completions continue the typed word
    assert completions("ADD songs/") == []


def test_history_file_is_created_and_kept(tmp_path):
    path = tmp_path / "state" / "history"
    history = open_history(path)
    history.append_string("PAUSE")
    assert path.exists()
    assert list(open_history(path).load_history_strings()) == ["PAUSE"]


def test_history_kept_in_memory_when_its_file_cannot_be_made(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert isinstance(open_history(blocker / "history"), InMemoryHistory)


def test_history_path_follows_xdg_state_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert history_path() == tmp_path / "multicast-radio" / "station-history"


def run_prompt(options, keys):
    """Types `keys` (one string per step, each sent once the previous one was taken in) at a prompt on a pipe;
    returns the lines the handler got. A step is taken in when the prompt's buffer shows `expect`."""
    seen = []
    stopping = threading.Event()

    def handle(line):
        seen.append(line)
        if line.strip().upper() == "QUIT":
            stopping.set()
        return None

    async def drive(session, pipe):
        loop = asyncio.create_task(prompt_loop(session, handle, stopping))
        for text, expect in keys:
            pipe.send_text(text)
            for _ in range(500):  # bounded: at most 5 s for the prompt to take the keys in
                if expect is None or session.default_buffer.text == expect:
                    break
                await asyncio.sleep(0.01)
            else:
                raise AssertionError(f"prompt shows {session.default_buffer.text!r}, not {expect!r}")
        await asyncio.wait_for(loop, 5)

    with create_pipe_input() as pipe:
        session = make_session(options, input=pipe, output=DummyOutput())
        asyncio.run(drive(session, pipe))
    return seen


def test_prompt_completes_with_tab_and_runs_commands(tmp_path):
    options = PromptOptions(vocabulary=VOCABULARY, history=tmp_path / "history")
    seen = run_prompt(options, [("pa\t", "PAUSE"), ("\r", None), ("repeat tr\t", "repeat track"), ("\r", None),
                                ("quit\r", None)])
    assert seen == ["PAUSE", "repeat track", "quit"]
    assert list(open_history(tmp_path / "history").load_history_strings()) == ["quit", "repeat track", "PAUSE"]


def test_prompt_history_recalls_an_earlier_run(tmp_path):
    open_history(tmp_path / "history").append_string("REPEAT queue")
    seen = run_prompt(PromptOptions(history=tmp_path / "history"), [("\x1b[A", "REPEAT queue"), ("\r", None),
                                                                     ("quit\r", None)])
    assert seen == ["REPEAT queue", "quit"]


def test_prompt_toolbar_is_refreshed_twice_a_second():
    session = make_session(PromptOptions(toolbar=lambda: "TOOLBAR", history=None), output=DummyOutput())
    assert session.bottom_toolbar() == "TOOLBAR"
    assert 0 < session.refresh_interval <= 0.5


def test_end_of_input_at_the_prompt_quits():
    seen = run_prompt(PromptOptions(history=None), [("\x04", None)])  # Ctrl-D
    assert seen == ["QUIT"]


# --- a real terminal --------------------------------------------------------------------------------------------

class Tmux:
    """A tmux server of the test's own (its own socket), holding one window; stopped with the test."""

    def __init__(self, socket: Path, command: list[str], env: dict[str, str]) -> None:
        self.socket = socket
        env_args = [arg for name, value in env.items() for arg in ("-e", f"{name}={value}")]
        self.run("new-session", "-d", "-x", "160", "-y", "30", "-c", str(ROOT), *env_args, shlex.join(command),
                 ";", "set-option", "-w", "remain-on-exit", "on")  # the last screen stays readable

    def run(self, *args: str) -> str:
        return subprocess.run(["tmux", "-S", str(self.socket), *args], capture_output=True, text=True, timeout=10,
                              check=True).stdout

    def keys(self, *keys: str) -> None:
        self.run("send-keys", *keys)

    def screen(self) -> str:
        return self.run("capture-pane", "-p")

    def wait_for(self, text: str, timeout_s: float = 15.0, line: bool = False) -> str:
        """Until `text` is on the screen (with `line`, as a whole line of its own)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            screen = self.screen()
            if (text in screen.splitlines()) if line else (text in screen):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} not on the terminal within {timeout_s} s:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run(["tmux", "-S", str(self.socket), "kill-server"], capture_output=True, timeout=10)


@pytest.mark.e2e
def test_operator_pauses_and_plays_at_a_real_terminal(launcher, tmp_path):
    command = [sys.executable, "-m", "station", "--group", launcher.group, "--port", str(launcher.port),
               "--interface", "127.0.0.1", str(ROOT / "media" / "01-tide-pool.wav")]
    tmux = Tmux(tmp_path / "tmux.sock", command, {"XDG_STATE_HOME": str(tmp_path / "state")})
    try:
        tmux.wait_for("station>")  # capture-pane drops trailing spaces
        listener = launcher.start("listener", "--output", "null")
        listener.wait_for("| playing |")
        tmux.keys("pau", "Tab")
        tmux.wait_for("station> PAUSE")
        tmux.keys("Enter")
        tmux.wait_for("paused", line=True)
        listener.wait_for("| paused |")
        tmux.keys("PLAY", "Enter")
        tmux.wait_for("playing", line=True)
        heard_pause = listener.stderr().index("| paused |")
        deadline = time.monotonic() + 15
        while listener.stderr().rfind("| playing |") < heard_pause and time.monotonic() < deadline:
            time.sleep(0.05)
        assert listener.stderr().rfind("| playing |") > heard_pause, listener.stderr()
        tmux.wait_for("| volume 100% |")  # the toolbar
        tmux.keys("paus", "Enter")
        tmux.wait_for("did you mean PAUSE?")
        tmux.keys("QUIT", "Enter")
        tmux.wait_for("off the air")
    finally:
        tmux.close()
    history = (tmp_path / "state" / "multicast-radio" / "station-history").read_text()
    assert "PAUSE" in history and "QUIT" in history


def status(**changes):
    fields = dict(paused=False, live=False, title="02-neon-arcade", position_s=75.9, duration_s=204.0,
                  packets_sent=0, octets_sent=0, slots_skipped=0, send_errors=0, send_error_p50_ms=0.0,
                  send_error_p99_ms=0.0, send_error_max_ms=0.0, send_error_bin_ms=0.01,
                  send_error_bins={}, volume_percent=80, shuffle=False, repeat="queue",
                  queue_position=2, queue_length=3)
    return StationStatus(**(fields | changes))


def test_toolbar_shows_what_an_operator_watches():
    assert toolbar_text(status(), 3, 1443.2, "239.255.0.1:5004") == (
        " playing | 02-neon-arcade  1:15 / 3:24  [2/3] | volume 80% | 3 listeners | 1443 kbit/s | "
        "239.255.0.1:5004 ")


def test_toolbar_paused_live_and_one_listener():
    text = toolbar_text(status(paused=True, live=True, title="live: PulseAudio room.monitor", position_s=61),
                        1, 1443.2, "g:p")
    assert text.startswith(" paused | live: PulseAudio room.monitor  live 1:01 | ")
    assert "| 1 listener |" in text and "[" not in text


def test_toolbar_adds_the_listeners_icecast_reports():
    assert "| 3 listeners + 12 on Icecast |" in toolbar_text(status(), 3, 1443.2, "g:p", icecast_listeners=12)
