"""The station's HTTP API and dashboard as requests and replies (sans-IO): who may ask, what each path answers.
`station.web_server` is the edge that reads requests off sockets and writes these replies back.

Safe by default:
- Every request needs the station's token: the `Authorization: Bearer TOKEN` header, or the cookie set when the
  dashboard's URL with `?token=` is opened; anything else is 401, whatever it asks.
- Commands only by POST with the bearer header, never by the cookie alone: a page of another site can make a
  browser send the cookie, never the header, so no cross-site request commands the station.
- A body over `MAX_BODY_BYTES` is refused (413) before it is read; a body that is not a JSON command, or a command
  the console refuses, is 400 with the console's message. Nothing that comes in stops the station but QUIT.
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from pathlib import Path

MAX_BODY_BYTES = 64 * 1024
COOKIE = "radio_token"
TOKEN_PLACEHOLDER = b"__TOKEN__"  # in index.html: the page's scripts send the token back as the bearer header
ASSETS = Path(__file__).with_name("web")
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".png": "image/png", ".svg": "image/svg+xml"}
JSON = "application/json"
# The token as a header and a cookie carry it: printable ASCII, no space, quote, comma, semicolon or backslash.
TOKEN_CHARACTERS = frozenset(chr(code) for code in range(0x21, 0x7F)) - set("\"',;\\")
TOKEN_LENGTH = (16, 256)
ROUTES = {"/": "GET", "/api/status": "GET", "/api/history": "GET", "/api/events": "GET", "/api/command": "POST"}
NEEDS_TOKEN = ("error: this station's HTTP API needs its token: open the dashboard's URL as the station printed it "
               "(with ?token=), or send the header Authorization: Bearer TOKEN")
NEEDS_BEARER = "error: commands need the header Authorization: Bearer TOKEN (the cookie alone is not enough)"
NOT_A_COMMAND = 'error: the body must be a JSON object with a command, such as {"command": "PAUSE"}'


class TokenError(ValueError):
    """A token file that cannot serve: unreadable, or its token unfit for a header."""


def new_token() -> str:
    return secrets.token_urlsafe(24)


def read_token(path: Path) -> str:
    """--http-token-file: the token is the file's text, surrounding white space aside."""
    try:
        token = path.read_text().strip()
    except (OSError, UnicodeDecodeError) as e:
        raise TokenError(f"cannot read the HTTP token from {path}: {getattr(e, 'strerror', None) or e}") from None
    if not TOKEN_LENGTH[0] <= len(token) <= TOKEN_LENGTH[1] or not set(token) <= TOKEN_CHARACTERS:
        raise TokenError(f"the HTTP token in {path} must be {TOKEN_LENGTH[0]} to {TOKEN_LENGTH[1]} printable ASCII "
                         "characters, with no space, quote, comma, semicolon or backslash")
    return token


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]  # names in lower case
    body: bytes


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes = b""
    content_type: str = JSON
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Events:
    """The reply to an authorized `GET /api/events`: the edge streams the status from here on."""


EVENTS = Events()


def answer_reply(status: int, ok: bool, answer: str, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    return Reply(status, json.dumps({"ok": ok, "answer": answer}, ensure_ascii=False).encode(), headers=headers)


def _unauthorized(answer: str) -> Reply:
    return answer_reply(401, False, answer, headers=(("WWW-Authenticate", 'Bearer realm="station"'),))


TOO_LARGE = answer_reply(413, False, f"error: a request body is at most {MAX_BODY_BYTES} bytes")


class WebApi:
    def __init__(self, token: str, status: Callable[[], bytes], command: Callable[[str], str | None],
                 assets: Mapping[str, bytes], history: Callable[[], bytes]) -> None:
        """`status`: the status document, encoded; `history`: the listeners' history, encoded. `command`: a
        console line to its answer (None for a blank line). `assets`: the dashboard's files by name, index.html
        among them."""
        self._token = token.encode()
        self._status = status
        self._history = history
        self._command = command
        self._assets = assets

    def respond(self, request: Request) -> Reply | Events:
        if len(request.body) > MAX_BODY_BYTES:
            return TOO_LARGE
        with_query = request.path == "/" and self._matches(request.query.get("token"))
        if not (with_query or self._matches(self._bearer(request)) or self._matches(self._cookie(request))):
            return _unauthorized(NEEDS_TOKEN)
        if request.path.startswith("/static/"):
            return self._asset(request)
        allowed = ROUTES.get(request.path)
        if allowed is None:
            return answer_reply(404, False, f"error: no such page {request.path[:100]!r}")
        if request.method != allowed:
            return answer_reply(405, False, f"error: {request.path} takes {allowed}", headers=(("Allow", allowed),))
        if request.path == "/":
            return self._dashboard(with_query)
        if request.path == "/api/status":
            return Reply(200, self._status())
        if request.path == "/api/history":
            return Reply(200, self._history())
        if request.path == "/api/events":
            return EVENTS
        if not self._matches(self._bearer(request)):
            return _unauthorized(NEEDS_BEARER)
        return self._run(request.body)

    def _run(self, body: bytes) -> Reply:
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested past the parser's depth
            return answer_reply(400, False, NOT_A_COMMAND)
        line = document.get("command") if isinstance(document, dict) else None
        if not isinstance(line, str):
            return answer_reply(400, False, NOT_A_COMMAND)
        answer = self._command(line)
        if answer is None:
            return answer_reply(400, False, "error: the command is blank")
        ok = not _failed(answer)
        return answer_reply(200 if ok else 400, ok, answer)

    def _dashboard(self, set_cookie: bool) -> Reply:
        page = self._assets["index.html"].replace(TOKEN_PLACEHOLDER, self._token)
        cookie = f"{COOKIE}={self._token.decode()}; Path=/; HttpOnly; SameSite=Strict"
        return Reply(200, page, CONTENT_TYPES[".html"], headers=(
            ("Cache-Control", "no-store"), *((("Set-Cookie", cookie),) if set_cookie else ())))

    def _asset(self, request: Request) -> Reply:
        name = request.path.removeprefix("/static/")
        if name not in self._assets or name == "index.html":
            return answer_reply(404, False, f"error: no such file {name[:100]!r}")
        if request.method != "GET":
            return answer_reply(405, False, "error: files take GET", headers=(("Allow", "GET"),))
        return Reply(200, self._assets[name], CONTENT_TYPES.get(Path(name).suffix, "application/octet-stream"))

    def _matches(self, offered: str | None) -> bool:
        return offered is not None and hmac.compare_digest(offered.encode("utf-8", "replace"), self._token)

    @staticmethod
    def _bearer(request: Request) -> str | None:
        scheme, _, credentials = request.headers.get("authorization", "").strip().partition(" ")
        return credentials.strip() if scheme.lower() == "bearer" else None

    @staticmethod
    def _cookie(request: Request) -> str | None:
        cookies: SimpleCookie = SimpleCookie()
        try:
            cookies.load(request.headers.get("cookie", ""))
        except CookieError:
            return None
        morsel = cookies.get(COOKIE)
        return morsel.value if morsel is not None else None


def _failed(answer: str) -> bool:
    """Whether the console's answer reports an error: an ADD's may report some files' errors besides the tracks
    it added, which is no success either."""
    return any(line.startswith("error: ") for line in answer.splitlines())


def load_assets(folder: Path = ASSETS) -> dict[str, bytes]:
    """The dashboard's files, read once at start: a request never touches the disk."""
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file()}
