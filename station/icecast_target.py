"""Where the station feeds Icecast (sans-IO): `--icecast URL` parsed into a target that says what format the mount
takes and where, and whose password never shows in any text the station prints or writes.

The password is needed in exactly two places, the encoder's URL and the admin request that sets an MP3 mount's
title; everything else (console, STATUS, --stats-json, errors) names the mount as HOST:PORT/MOUNT, and whatever
ffmpeg prints passes through `redact` first, since ffmpeg repeats the URL it was given in its errors.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import quote, unquote, urlsplit

Format = Literal["ogg", "mp3"]
FORMATS: dict[str, Format] = {".ogg": "ogg", ".opus": "ogg", ".mp3": "mp3"}  # the mount's extension decides
CONTENT_TYPES: dict[Format, str] = {"ogg": "application/ogg", "mp3": "audio/mpeg"}
DEFAULT_PORT = 8000  # Icecast's own default
SCHEMES = ("icecast", "http")


@dataclass(frozen=True)
class IcecastTarget:
    host: str
    port: int
    mount: str  # from the root, with its extension: /radio.ogg
    format: Format
    user: str = "source"
    password: str = field(default="", repr=False)

    def describe(self) -> str:
        """The mount as every message names it: HOST:PORT/MOUNT, never with the password."""
        return f"{self.host}:{self.port}{self.mount}"

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]

    def source_url(self) -> str:
        """For ffmpeg's Icecast client only: it holds the password."""
        return (f"icecast://{quote(self.user, safe='')}:{quote(self.password, safe='')}@{self.host}:{self.port}"
                f"{quote(self.mount)}")

    def status_url(self) -> str:
        """Icecast's public status page, with every mount's listener count (and title)."""
        return f"http://{self.host}:{self.port}/status-json.xsl"

    def metadata_url(self, title: str) -> str:
        """The admin request that sets an MP3 mount's title (the credentials go in `authorization`)."""
        return (f"http://{self.host}:{self.port}/admin/metadata?mount={quote(self.mount, safe='/')}"
                f"&mode=updinfo&song={quote(title, safe='')}")

    def authorization(self) -> str:
        """The Basic authorization header's value for admin requests, as the source's user."""
        return "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()

    def redact(self, text: str) -> str:
        """`text` (ffmpeg's own words) with the password, as given and as it is in the URL, replaced by ***."""
        for secret in {self.password, quote(self.password, safe="")}:
            if secret:
                text = text.replace(secret, "***")
        return text


def parse_target(text: str) -> IcecastTarget:
    """`icecast://source:PASSWORD@HOST:PORT/MOUNT` (or http://) to a target; ValueError, without the password in
    its message, for anything else."""
    try:
        parts = urlsplit(text)
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise ValueError("an Icecast URL needs a numeric port: icecast://source:PASSWORD@HOST:PORT/MOUNT") from None
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise ValueError("an Icecast URL looks like icecast://source:PASSWORD@HOST:PORT/MOUNT (or http://…)")
    where = f"{parts.hostname}:{port}{parts.path}"
    if parts.password is None:
        raise ValueError(f"{where}: the URL gives no password (icecast://source:PASSWORD@HOST:PORT/MOUNT)")
    if parts.query or parts.fragment:
        raise ValueError(f"{where}: an Icecast URL takes no ?query or #fragment")
    mount = unquote(parts.path)
    extension = mount[mount.rfind("."):].lower() if "." in mount.rpartition("/")[2] else ""
    if extension not in FORMATS:
        raise ValueError(f"{where}: the mount's extension picks the format: .ogg or .opus (Ogg/Opus), .mp3 (MP3)")
    return IcecastTarget(host=parts.hostname, port=port, mount=mount, format=FORMATS[extension],
                         user=unquote(parts.username or "source"), password=unquote(parts.password))
