"""The HTTP API's edge (--http): an aiohttp server on a thread and event loop of its own, off the real-time loop.

It only moves bytes: each request goes to `WebApi.respond` (sans-IO) on a worker thread, as a command may take a
while (ADD of a big folder, MIC opening a device) and must never hold up the event loop; the reply goes back as it
is. `/api/events` is a Server-Sent Events stream: one publisher reads the status every `TICK_S` while anyone
watches (asleep while nobody does), and `StatusPacer` decides when every watcher gets it.

Why aiohttp: one maintained asyncio library that is the server itself (no separate ASGI server to run, as
Starlette needs uvicorn), streams responses, and limits request bodies (`client_max_size`) before they are read.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import threading
import time
from collections.abc import Callable

from aiohttp import web

from rtpwire.net import NetworkError
from station.console import Commands
from station.control import Station
from station.status_document import Identity, StatusPacer, encode, history_document, status_document
from station.web_api import EVENTS, MAX_BODY_BYTES, TOO_LARGE, Reply, Request, WebApi, load_assets

TICK_S = 0.1  # how soon a change shows on the dashboards
START_WAIT_S = 5.0
STOP_WAIT_S = 2.0
BACKLOG_EVENTS = 4  # a watcher this far behind (a stalled browser) skips to the newest status


def serve(station: Station, commands: Commands, identity: Identity, token: str,
          address: tuple[str, int]) -> tuple[WebServer, str]:
    """The API and dashboard of `station` served on `address`; the server, and the dashboard's URL with the token.
    NetworkError if it cannot listen there."""
    status = functools.partial(status_document, station, identity)
    api = WebApi(token, lambda: encode(status()), commands.answer, load_assets(),
                 history=lambda: encode(history_document(station)))
    server = WebServer(api, status)
    host, port = server.start(*address)
    return server, f"http://{f'[{host}]' if ':' in host else host}:{port}/?token={token}"


class WebServer:
    def __init__(self, api: WebApi, status: Callable[[], dict[str, object]]) -> None:
        self._api = api
        self._status = status
        self._watchers: set[asyncio.Queue[bytes | None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._done: asyncio.Event | None = None
        self._poke: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="http", daemon=True)
        self._bound: concurrent.futures.Future[tuple[str, int]] = concurrent.futures.Future()
        self._host, self._port = "127.0.0.1", 0

    def start(self, host: str, port: int) -> tuple[str, int]:
        """Serves on `host`:`port` (0: a free port); the address it listens on. NetworkError if it cannot."""
        self._host, self._port = host, port
        self._thread.start()
        try:
            return self._bound.result(START_WAIT_S)
        except OSError as e:
            raise NetworkError(f"cannot serve HTTP on {host}:{port}: {e.strerror or e}") from None
        except concurrent.futures.TimeoutError:
            raise NetworkError(f"cannot serve HTTP on {host}:{port}: not listening after {START_WAIT_S:g} s") \
                from None

    def close(self) -> None:
        """Ends every event stream and the server; bounded."""
        if self._loop is not None and self._done is not None:
            with contextlib.suppress(RuntimeError):  # the loop has ended already
                self._loop.call_soon_threadsafe(self._done.set)
        self._thread.join(STOP_WAIT_S)

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._done, self._poke = asyncio.Event(), asyncio.Event()
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=STOP_WAIT_S / 2)
        await runner.setup()
        try:
            await web.TCPSite(runner, self._host, self._port).start()
        except OSError as e:
            self._bound.set_exception(e)
            await runner.cleanup()
            return
        self._bound.set_result(runner.addresses[0][:2])
        publisher = asyncio.create_task(self._publish())
        await self._done.wait()
        publisher.cancel()
        for watcher in self._watchers:
            _offer(watcher, None)  # the end of its stream
        await runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _response(TOO_LARGE)
        headers: dict[str, str] = {}
        for name, value in request.headers.items():
            headers.setdefault(name.lower(), value)
        query: dict[str, str] = {}
        for name, value in request.query.items():
            query.setdefault(name, value)
        reply = await asyncio.get_running_loop().run_in_executor(
            None, self._api.respond, Request(request.method, request.path, query, headers, body))
        if reply is EVENTS:
            return await self._stream(request)
        assert isinstance(reply, Reply)
        if request.path == "/api/command" and self._poke is not None:
            self._poke.set()  # show the command's effect now, not at the next tick
        return _response(reply)

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
        await response.prepare(request)
        watcher: asyncio.Queue[bytes | None] = asyncio.Queue(BACKLOG_EVENTS)
        first = await asyncio.get_running_loop().run_in_executor(None, self._status)
        self._watchers.add(watcher)
        if self._poke is not None:
            self._poke.set()  # the publisher wakes for its first watcher
        try:
            data: bytes | None = encode(first)
            while data is not None:
                await response.write(b"data: " + data + b"\n\n")
                data = await watcher.get()
        except ConnectionError:  # the browser went away
            pass
        finally:
            self._watchers.discard(watcher)
        return response

    async def _publish(self) -> None:
        """While anyone watches: the status every tick, sent to every watcher when the pacer says so."""
        assert self._poke is not None
        loop, pacer = asyncio.get_running_loop(), StatusPacer()
        while True:
            if self._watchers:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._poke.wait(), TICK_S)
            else:
                await self._poke.wait()  # nobody watches: asleep until a watcher comes (or a command runs)
            self._poke.clear()
            if not self._watchers:
                continue
            document = await loop.run_in_executor(None, self._status)
            if not pacer.due(document, time.monotonic()):
                continue
            data = encode(document)
            for watcher in self._watchers:
                _offer(watcher, data)


def _offer(watcher: asyncio.Queue[bytes | None], item: bytes | None) -> None:
    """Queues `item` for a watcher; one that fell BACKLOG_EVENTS behind (a stalled browser) loses its oldest."""
    if watcher.full():
        watcher.get_nowait()
    watcher.put_nowait(item)


def _response(reply: Reply) -> web.Response:
    response = web.Response(status=reply.status, body=reply.body, content_type=reply.content_type.split(";")[0],
                            charset="utf-8" if "charset" in reply.content_type else None)
    for name, value in reply.headers:
        response.headers.add(name, value)
    return response
