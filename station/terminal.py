"""The console's front-ends: a prompt_toolkit prompt on a terminal, lines from stdin otherwise.

Both feed lines to the same handler and print its answers, so what works typed works scripted
(`printf 'PAUSE\n' | python -m station`). End of input stops the reading of commands, not the station.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Callable


def run_console(handle: Callable[[str], str | None], stopping: threading.Event, interactive: bool) -> None:
    """Feeds lines to `handle` (which prints nothing itself) and prints its answers until `stopping` is set:
    by QUIT, a signal, or the end of the queue."""
    if interactive:
        asyncio.run(_prompt_loop(handle, stopping))
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


async def _prompt_loop(handle: Callable[[str], str | None], stopping: threading.Event) -> None:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.patch_stdout import patch_stdout

    session: PromptSession[str] = PromptSession("station> ")
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
