"""The HTTP API as requests and replies, on a real Station and the console's own commands (its broadcaster's loop
never started): who may ask, what each path answers, and that a refused request changes nothing."""

from __future__ import annotations

import json

import pytest
from fake_station import queue_station

from station.console import About, Commands
from station.status_document import Identity, encode, history_document, status_document
from station.web_api import (COOKIE, EVENTS, MAX_BODY_BYTES, NEEDS_BEARER, NEEDS_TOKEN, NOT_A_COMMAND, Reply,
                             Request, TokenError, WebApi, new_token, read_token)

TOKEN = "s3cret-token-of-the-test_0123456789"
ASSETS = {"index.html": b'<meta name="radio-token" content="__TOKEN__">', "dashboard.js": b"let x = 1;",
          "dashboard.css": b"body {}"}
BEARER = {"authorization": f"Bearer {TOKEN}"}
IDENTITY = Identity("Test Radio", "239.255.0.1", 5004, "L16 44100 Hz stereo (PT 10)")


@pytest.fixture
def station():
    return queue_station()[0]


@pytest.fixture
def api(station):
    commands = Commands(station, About("239.255.0.1:5004", sdp=lambda title: f"v=0\r\ni={title}\r\n"))
    return WebApi(TOKEN, lambda: encode(status_document(station, IDENTITY)), commands.answer, ASSETS,
                  history=lambda: encode(history_document(station)))


def request(method="GET", path="/api/status", headers=None, body=b"", query=None) -> Request:
    return Request(method, path, query or {}, headers if headers is not None else BEARER, body)


def command(api, line, headers=None) -> tuple[int, dict]:
    reply = api.respond(request("POST", "/api/command", headers, json.dumps({"command": line}).encode()))
    assert isinstance(reply, Reply) and reply.content_type == "application/json"
    return reply.status, json.loads(reply.body)


# --- the token ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("headers", [{}, {"authorization": "Bearer wrong"}, {"authorization": f"Basic {TOKEN}"},
                                     {"authorization": "Bearer"}, {"cookie": f"{COOKIE}=wrong"},
                                     {"cookie": f"other={TOKEN}"}, {"authorization": f"Bearer {TOKEN}x"},
                                     {"authorization": f"Bearer {TOKEN[:-1]}"}])
@pytest.mark.parametrize("path", ["/", "/api/status", "/api/history", "/api/events", "/static/dashboard.js",
                                  "/nowhere"])
def test_no_token_or_a_wrong_one_is_401_whatever_is_asked(api, headers, path):
    reply = api.respond(request(path=path, headers=headers))
    assert isinstance(reply, Reply) and reply.status == 401
    assert json.loads(reply.body) == {"ok": False, "answer": NEEDS_TOKEN}
    assert ("WWW-Authenticate", 'Bearer realm="station"') in reply.headers


def test_a_command_without_the_token_changes_nothing(api, station):
    before = status_document(station, IDENTITY)
    status, answer = command(api, "PAUSE", headers={"authorization": "Bearer nope"})
    assert (status, answer["ok"]) == (401, False)
    assert status_document(station, IDENTITY)["state"] == before["state"] == "playing"


def test_the_token_in_the_url_opens_the_dashboard_and_sets_a_strict_cookie(api):
    reply = api.respond(request(path="/", headers={}, query={"token": TOKEN}))
    assert isinstance(reply, Reply) and reply.status == 200 and reply.content_type.startswith("text/html")
    assert reply.body == f'<meta name="radio-token" content="{TOKEN}">'.encode()
    cookie = dict(reply.headers)["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}={TOKEN};") and "HttpOnly" in cookie and "SameSite=Strict" in cookie


def test_the_token_in_the_url_opens_nothing_but_the_dashboard(api):
    reply = api.respond(request(path="/api/status", headers={}, query={"token": TOKEN}))
    assert isinstance(reply, Reply) and reply.status == 401


def test_the_cookie_serves_every_get(api):
    cookie = {"cookie": f"theme=dark; {COOKIE}={TOKEN}"}
    for path in ("/", "/api/status", "/static/dashboard.css"):
        reply = api.respond(request(path=path, headers=cookie))
        assert isinstance(reply, Reply) and reply.status == 200, path
    assert api.respond(request(path="/api/events", headers=cookie)) is EVENTS


def test_commands_need_the_bearer_header_the_cookie_alone_is_refused(api, station):
    status, answer = command(api, "PAUSE", headers={"cookie": f"{COOKIE}={TOKEN}"})
    assert (status, answer) == (401, {"ok": False, "answer": NEEDS_BEARER})
    assert not station.status().paused


def test_a_malformed_cookie_header_is_no_token(api):
    reply = api.respond(request(headers={"cookie": f'{COOKIE}="{TOKEN}; \x00\\'}))
    assert isinstance(reply, Reply) and reply.status == 401


# --- commands -------------------------------------------------------------------------------------------------

def test_pause_and_play_answer_as_the_console(api, station):
    assert command(api, "PAUSE") == (200, {"ok": True, "answer": "paused"})
    assert station.status().paused
    assert command(api, "pause") == (200, {"ok": True, "answer": "already paused"})
    assert command(api, "PLAY") == (200, {"ok": True, "answer": "playing"})
    assert not station.status().paused


def test_volume_next_and_queue_edits(api, station):
    assert command(api, "VOLUME 40") == (200, {"ok": True, "answer": "volume 40% (was 100%)"})
    assert station.status().volume_percent == 40
    assert command(api, "NEXT") == (200, {"ok": True, "answer": "skipped to 2. b (0:00)"})
    assert command(api, "MOVE 3 1")[1]["answer"] == "moved c to 1"
    assert command(api, "REMOVE 2")[1]["answer"].startswith("removed 2. a")
    titles = [track["title"] for track in status_document(station, IDENTITY)["queue"]["tracks"]]
    assert titles == ["c", "b"]


def test_unknown_command_is_400_with_the_consoles_message(api):
    assert command(api, "PAUS") == (400, {"ok": False, "answer": "error: unknown command PAUS — did you mean PAUSE?"})


def test_a_command_the_queue_refuses_is_400(api):
    status, answer = command(api, "REMOVE 9")
    assert status == 400 and not answer["ok"] and answer["answer"].startswith("error: ")


@pytest.mark.parametrize("body", [b"", b"PAUSE", b"{", b'"PAUSE"', b"[]", b'{"command": 1}', b'{"cmd": "PAUSE"}',
                                  b"\xff\xfe\x00", b"[" * 50_000, b'{"command": null}'])
def test_a_body_that_is_no_json_command_is_400(api, station, body):
    reply = api.respond(request("POST", "/api/command", body=body))
    assert isinstance(reply, Reply) and reply.status == 400
    assert json.loads(reply.body) == {"ok": False, "answer": NOT_A_COMMAND}
    assert not station.status().paused


def test_an_add_with_a_missing_file_is_400_with_every_line(api, tmp_path):
    status, answer = command(api, f"ADD {tmp_path / 'missing.flac'}")
    assert (status, answer["ok"]) == (400, False)
    assert answer["answer"] == f"error: {tmp_path / 'missing.flac'}: no such file or folder"


def test_a_blank_command_is_400(api):
    assert command(api, "   ") == (400, {"ok": False, "answer": "error: the command is blank"})


def test_a_body_over_64_kb_is_refused(api, station):
    body = json.dumps({"command": "PAUSE", "padding": "x" * MAX_BODY_BYTES}).encode()
    reply = api.respond(request("POST", "/api/command", body=body))
    assert isinstance(reply, Reply) and reply.status == 413
    assert not station.status().paused


# --- paths and methods ----------------------------------------------------------------------------------------

def test_status_is_the_document(api, station):
    reply = api.respond(request())
    assert isinstance(reply, Reply) and reply.status == 200
    document = json.loads(reply.body)
    assert document["title"] == "a" and document["state"] == "playing" and document["name"] == "Test Radio"


def test_history_is_the_listeners_reports(api):
    reply = api.respond(request(path="/api/history"))
    assert isinstance(reply, Reply) and reply.status == 200
    assert json.loads(reply.body) == {"listeners": []}  # nobody has reported to this station


@pytest.mark.parametrize("method, path, allowed", [("POST", "/api/status", "GET"), ("GET", "/api/command", "POST"),
                                                   ("DELETE", "/", "GET"), ("PUT", "/api/events", "GET")])
def test_wrong_method_is_405(api, method, path, allowed):
    reply = api.respond(request(method, path))
    assert isinstance(reply, Reply) and reply.status == 405 and ("Allow", allowed) in reply.headers


@pytest.mark.parametrize("path", ["/api", "/static/index.html", "/static/../web_api.py", "/static/", "/favicon.ico"])
def test_unknown_paths_are_404(api, path):
    reply = api.respond(request(path=path))
    assert isinstance(reply, Reply) and reply.status == 404


def test_assets_with_their_content_types(api):
    reply = api.respond(request(path="/static/dashboard.js"))
    assert isinstance(reply, Reply) and reply.body == b"let x = 1;" and reply.content_type.startswith("text/javascript")


# --- the token file -------------------------------------------------------------------------------------------

def test_token_file_read_stripped(tmp_path):
    path = tmp_path / "token"
    path.write_text(f"  {TOKEN}\n")
    assert read_token(path) == TOKEN


@pytest.mark.parametrize("text", ["", "short", "has space in the middle of it", 'quote"in-the-token-here',
                                  "semicolon;in-the-token-here", "é" * 20, "x" * 257])
def test_token_file_unfit_for_a_header_is_refused(tmp_path, text):
    path = tmp_path / "token"
    path.write_text(text)
    with pytest.raises(TokenError, match="must be 16 to 256 printable ASCII"):
        read_token(path)


def test_missing_token_file_says_so(tmp_path):
    with pytest.raises(TokenError, match=f"cannot read the HTTP token from {tmp_path / 'nope'}: No such file"):
        read_token(tmp_path / "nope")


def test_new_tokens_differ_and_fit_a_header(tmp_path):
    tokens = {new_token() for _ in range(10)}
    assert len(tokens) == 10
    for token in tokens:
        (tmp_path / "token").write_text(token)
        assert read_token(tmp_path / "token") == token
