"""The HTTP edge on loopback: a real aiohttp server on a real Station (its broadcaster's loop never started), asked
by a plain HTTP client. The API's logic is tests/test_web_api.py's; here, what the edge adds: bodies refused
before they are read, the event stream, and its end when the station stops."""

from __future__ import annotations

import functools
import http.client
import json
import socket
from collections.abc import Iterator

import pytest
from fake_station import queue_station

from rtpwire.net import NetworkError
from station.console import About, Commands
from station.status_document import Identity, encode, status_document
from station.web_api import WebApi
from station.web_server import WebServer

TOKEN = "token-of-the-edge-test-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
TIMEOUT_S = 5.0


@pytest.fixture
def served() -> Iterator[tuple]:
    station = queue_station()[0]
    commands = Commands(station, About("239.255.0.1:5004", sdp=lambda title: ""))
    status = functools.partial(status_document, station, Identity("Test Radio", "239.255.0.1", 5004, "L16"))
    server = WebServer(WebApi(TOKEN, lambda: encode(status()), commands.answer, {"index.html": b"__TOKEN__"},
                              history=lambda: b"{}"), status)
    host, port = server.start("127.0.0.1", 0)
    try:
        yield station, server, port
    finally:
        server.close()


def ask(port: int, method: str, path: str, body: bytes | None = None, headers=None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_S)
    try:
        connection.request(method, path, body=body, headers=headers if headers is not None else BEARER)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def events(port: int) -> Iterator[dict]:
    """The event stream's statuses as they come (each read bounded by TIMEOUT_S)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_S)
    try:
        connection.request("GET", "/api/events", headers=BEARER)
        response = connection.getresponse()
        assert response.status == 200 and response.headers["Content-Type"] == "text/event-stream"
        while line := response.readline():
            if line.startswith(b"data: "):
                yield json.loads(line.removeprefix(b"data: "))
    finally:
        connection.close()


def test_status_and_a_command_over_http(served):
    station, _, port = served
    assert ask(port, "GET", "/api/status", headers={})[0] == 401
    status, body = ask(port, "GET", "/api/status")
    assert status == 200 and json.loads(body)["title"] == "a"
    status, body = ask(port, "POST", "/api/command", json.dumps({"command": "PAUSE"}).encode())
    assert (status, json.loads(body)) == (200, {"ok": True, "answer": "paused"})
    assert station.status().paused


def test_a_body_over_64_kb_is_refused_even_chunked_and_the_station_plays_on(served):
    station, _, port = served
    padding = {"command": "PAUSE", "padding": "x" * 70_000}
    status, body = ask(port, "POST", "/api/command", json.dumps(padding).encode())
    assert status == 413 and json.loads(body)["ok"] is False
    chunks = iter([b'{"command": "PAUSE", "padding": "', *[b"x" * 10_000] * 7, b'"}'])
    status, _ = ask(port, "POST", "/api/command", chunks)  # http.client sends an iterable chunked
    assert status == 413
    assert not station.status().paused
    assert ask(port, "GET", "/api/status")[0] == 200


def test_events_come_twice_a_second_and_at_once_on_a_change(served):
    _, _, port = served
    stream = events(port)
    first = next(stream)
    assert first["state"] == "playing"
    statuses = [next(stream) for _ in range(4)]  # nothing changes: the pacer's interval alone sends these
    assert all(status["state"] == "playing" for status in statuses)
    assert ask(port, "POST", "/api/command", json.dumps({"command": "PAUSE"}).encode())[0] == 200
    assert "paused" in [next(stream)["state"] for _ in range(2)]  # the next, or one computed as the command ran
    stream.close()


def test_closing_ends_the_event_streams(served):
    _, server, port = served
    stream = events(port)
    next(stream)
    server.close()
    remaining = list(stream)  # it ends: a stream left open would raise TimeoutError after TIMEOUT_S
    assert len(remaining) <= 2


def test_a_port_in_use_is_a_clear_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = WebServer(WebApi(TOKEN, lambda: b"{}", lambda line: line, {}, history=lambda: b"{}"), lambda: {})
        with pytest.raises(NetworkError, match=f"cannot serve HTTP on 127.0.0.1:{port}: .*address already in use"):
            server.start("127.0.0.1", port)
        server.close()
