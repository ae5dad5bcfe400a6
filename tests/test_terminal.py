"""The console's front-ends: the scripted one, reading stdin line by line."""

from __future__ import annotations

import io
import sys
import threading

from station.terminal import run_console


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
