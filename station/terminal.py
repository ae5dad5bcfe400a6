"""The console's front-ends: a prompt_toolkit prompt on a terminal, lines from stdin otherwise.

Both feed lines to the same handler and print its answers, so what works typed works scripted
(`printf 'PAUSE\n' | python -m station`). End of input stops the reading of commands, not the station.
On a terminal the prompt completes commands and their arguments (paths for ADD) with Tab, keeps its history
across runs, and shows a toolbar refreshed twice a second.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import CompleteEvent, Completer, Completion, PathCompleter
from prompt_toolkit.document import Document
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.patch_stdout import patch_stdout

from station.control import StationStatus
from station.console import clock

TOOLBAR_REFRESH_S = 0.5
PROMPT = "station> "


@dataclass(frozen=True)
class Vocabulary:
    """What completion knows of the commands, derived from the console's command table."""

    names: tuple[str, ...]  # commands and their aliases, upper case
    choices: Callable[[str], tuple[str, ...]] = lambda _name: ()  # fixed arguments of a command (or alias)
    takes_paths: Callable[[str], bool] = lambda _name: False  # whose arguments are file or folder paths


class CommandCompleter(Completer):
    """Completes the command word, then its argument: a fixed choice, or a path."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self._vocabulary = vocabulary
        self._paths = PathCompleter(expanduser=True)

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterable[Completion]:
        text = document.text_before_cursor.lstrip()
        command, space, rest = text.partition(" ")
        if not space:
            for name in self._vocabulary.names:
                if name.startswith(command.upper()):
                    yield Completion(name, start_position=-len(command))
            return
        name = command.upper()
        word = rest.split(" ")[-1]
        if self._vocabulary.takes_paths(name):
            yield from self._paths.get_completions(Document(word, len(word)), complete_event)
            return
        for choice in self._vocabulary.choices(name):
            if choice.lower().startswith(word.lower()):
                yield Completion(choice, start_position=-len(word))


def toolbar_text(status: StationStatus, listeners: int, bitrate_kbps: float, where: str,
                 icecast_listeners: int | None = None) -> str:
    """The operator's bottom line: state, track and position, volume, audience (and Icecast's, with --icecast),
    bitrate, where it sends."""
    state = "paused" if status.paused else "playing"
    if status.live:
        position = f"live {clock(status.position_s)}"
    else:
        position = f"{clock(status.position_s)} / {clock(status.duration_s)}"
        if status.queue_length:
            position += f"  [{status.queue_position}/{status.queue_length}]"
    audience = f"{listeners} listener" + ("" if listeners == 1 else "s")
    if icecast_listeners is not None:
        audience += f" + {icecast_listeners} on Icecast"
    return (f" {state} | {status.title or '-'}  {position} | volume {status.volume_percent}% | {audience} | "
            f"{bitrate_kbps:.0f} kbit/s | {where} ")


def history_path() -> Path:
    """Where the prompt's history is kept between runs (XDG state directory)."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "multicast-radio" / "station-history"


def open_history(path: Path | None) -> History:
    """The history file at `path`, created if need be; kept in memory only if it cannot be."""
    if path is None:
        return InMemoryHistory()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    except OSError:
        return InMemoryHistory()
    return FileHistory(str(path))


@dataclass(frozen=True)
class PromptOptions:
    vocabulary: Vocabulary | None = None
    toolbar: Callable[[], str] | None = None
    history: Path | None = field(default_factory=history_path)


def make_session(options: PromptOptions, **io: Any) -> PromptSession[str]:
    """The prompt; `io` passes prompt_toolkit's `input`/`output` (tests use a pipe and a dummy output)."""
    return PromptSession(
        PROMPT, history=open_history(options.history),
        completer=CommandCompleter(options.vocabulary) if options.vocabulary else None,
        complete_while_typing=False, bottom_toolbar=options.toolbar,
        refresh_interval=TOOLBAR_REFRESH_S if options.toolbar else 0, **io)


def run_console(handle: Callable[[str], str | None], stopping: threading.Event, interactive: bool,
                options: PromptOptions | None = None) -> None:
    """Feeds lines to `handle` (which prints nothing itself) and prints its answers until `stopping` is set:
    by QUIT, a signal, or the end of the queue."""
    if interactive:
        asyncio.run(prompt_loop(make_session(options or PromptOptions()), handle, stopping))
    else:
        reader = threading.Thread(target=_read_lines, args=(handle, stopping), name="console", daemon=True)
        reader.start()
        while not stopping.wait(0.2):
            pass


def _answer(handle: Callable[[str], str | None], line: str) -> None:
    answer = handle(line)
    if answer:
        print(answer, flush=True)


def _read_lines(handle: Callable[[str], str | None], stopping: threading.Event) -> None:
    for line in sys.stdin:
        if stopping.is_set():
            return
        _answer(handle, line)


async def prompt_loop(session: PromptSession[str], handle: Callable[[str], str | None],
                      stopping: threading.Event) -> None:
    ended = asyncio.ensure_future(asyncio.to_thread(stopping.wait))
    with patch_stdout():
        while not stopping.is_set():
            prompt = asyncio.ensure_future(session.prompt_async())
            done, _ = await asyncio.wait({prompt, ended}, return_when=asyncio.FIRST_COMPLETED)
            if prompt not in done:
                prompt.cancel()
                break
            try:
                line = prompt.result()
            except (EOFError, KeyboardInterrupt):
                line = "QUIT"
            _answer(handle, line)
