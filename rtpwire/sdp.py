"""Session descriptions (SDP, RFC 8866) of one audio stream on a multicast group: what `--sdp` writes, SAP
carries, and ffmpeg, ffplay and VLC read and write.

A description is a small frozen dataclass, `StreamDescription.parse(text)` and `str(description)`, like the
packets. Parsing takes only what joining and playing the stream needs: its origin, name and title, the group
and port, and the first audio format it offers that a listener plays (L16: a static type, 10 or 11, or a dynamic
one given by an `a=rtpmap`; Opus, RFC 7587: `opus/48000/2`, stereo if its `a=fmtp` says `sprop-stereo=1`),
whether it is encrypted (RTP/SAVP), the one source it comes from (`a=source-filter`, RFC 4570), its
Reed-Solomon repair flow, if any (`RepairFlow`, docs/fec.md), and the IDs of the header extensions that carry
the station's clock and latency (`a=extmap`, RFC 8285: RFC 6051's NTP timestamp, and ours). Everything else
(other media, bandwidths, attributes of other tools) is skipped, as RFC 8866 asks of a receiver. A description
that offers nothing playable raises the one WireError, saying what it offers instead: descriptions come from the
network (SAP) as well as from files.

The repair flow is a second media line, grouped with the audio in the spirit of RFC 5956 (`a=group:FEC-FR`, each
line named by an `a=mid`): `m=application PORT RTP/AVP TYPE` with `a=rtpmap:TYPE x-rs-fec/RATE` and `a=fmtp:TYPE
k=K;n=N`. Players that know no such thing (ffmpeg, VLC) play the audio line and leave it aside.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from rtpwire.audio import OPUS, OPUS_RATE, STATIC_FORMATS, AudioFormat
from rtpwire.errors import WireError
from rtpwire.net import check_group
from rtpwire.rapid_sync import LATENCY_URI, NTP64_URI

MAX_RATE = 384_000  # the highest rate a sound card plays; beyond is not audio
LINE = re.compile(r"^([a-z])=(.*)$")
# ASCII digits, and few of them: int() refuses more than 4300 (a ValueError of its own), and no field needs 10
RTPMAP = re.compile(r"^(\d{1,9}) ([^/\s]+)/(\d{1,9})(?:/(\d{1,9}))?$", re.ASCII)
AVP, SAVP = "RTP/AVP", "RTP/SAVP"  # plain RTP; SRTP (RFC 3711)
MAX_DESCRIPTION_CHARS = 8192  # far more than a stream needs; anything longer is not worth reading
REPAIR_ENCODING = "x-rs-fec"  # our Reed-Solomon repair packets (docs/fec.md): no registered name describes them
AUDIO_MID, REPAIR_MID = "S1", "R1"  # a=mid of the audio and the repair line, as a=group:FEC-FR lists them


@dataclass(frozen=True, slots=True)
class RepairFlow:
    """Where the stream's repair packets come (a port of the same group), their payload type, and the block they
    protect: after every `k` audio packets, `n - k` repair packets."""

    port: int
    payload_type: int
    k: int
    n: int


@dataclass(frozen=True, slots=True)
class Origin:
    """The o= line: who made the description. Its username, session id and address name the session whatever
    its version (RFC 8866 5.2); SAP announcements of one session, and their deletion, are matched by `key`."""

    username: str
    session_id: str
    version: str
    address: str

    @property
    def key(self) -> tuple[str, str, str]:
        return self.username, self.session_id, self.address

    def __str__(self) -> str:
        return f"{self.username} {self.session_id} {self.version} IN IP4 {self.address}"

    @classmethod
    def parse(cls, value: str) -> Origin:
        fields = value.split()
        if len(fields) != 6:
            raise WireError(f"SDP o= line has {len(fields)} fields, expected 6 "
                            "(username session-id version IN IP4 address)")
        username, session_id, version, net_type, _address_type, address = fields
        if net_type != "IN":
            raise WireError(f"SDP o= network type {net_type!r} is not IN")
        return cls(username, session_id, version, address)


@dataclass(frozen=True, slots=True)
class StreamDescription:
    origin: Origin
    name: str  # s=: the station's name
    group: str
    port: int  # RTP; RTCP on the next one
    fmt: AudioFormat
    ttl: int | None = None  # c=: how far the sender's packets go, for IPv4 multicast
    title: str = ""  # i=: what is playing, when the description is announced
    ptime_ms: float | None = None  # audio per packet
    tool: str = ""  # a=tool: what made it
    source: str | None = None  # a=source-filter (RFC 4570): the only address the stream comes from
    encrypted: bool = False  # RTP/SAVP: SRTP, whose key the description never carries
    repair: RepairFlow | None = None  # Reed-Solomon repair packets protect the stream
    inband_fec: bool = False  # Opus: its packets carry the codec's own FEC (useinbandfec=1)
    clock_extension_id: int | None = None  # a=extmap: the IDs of the header extensions carrying the station's
    latency_extension_id: int | None = None  # clock (RFC 6051) and its latency (`rtpwire.rapid_sync`)

    def __str__(self) -> str:
        """The description as SDP text, with the CRLF line ends RFC 8866 asks for."""
        fmt, repair, proto = self.fmt, self.repair, SAVP if self.encrypted else AVP
        lines = ["v=0", f"o={self.origin}", f"s={_one_line(self.name) or '-'}"]
        lines += [f"i={_one_line(self.title)}"] if self.title else []
        lines += [f"c=IN IP4 {self.group}" + ("" if self.ttl is None else f"/{self.ttl}"), "t=0 0"]
        lines += [f"a=tool:{_one_line(self.tool)}"] if self.tool else []
        lines += [f"a=source-filter: incl IN IP4 {self.group} {self.source}"] if self.source else []
        lines += [f"a=group:FEC-FR {AUDIO_MID} {REPAIR_MID}"] if repair else []
        lines += ["a=recvonly", f"m=audio {self.port} {proto} {fmt.payload_type}"]
        if fmt.encoding == OPUS:  # RFC 7587 7: always opus/48000/2; the fmtp says what is really sent
            fmtp = [f"sprop-stereo={int(fmt.channels == 2)}"] + (["useinbandfec=1"] if self.inband_fec else [])
            lines += [f"a=rtpmap:{fmt.payload_type} opus/{OPUS_RATE}/2",
                      f"a=fmtp:{fmt.payload_type} {'; '.join(fmtp)}"]
        else:
            lines += [f"a=rtpmap:{fmt.payload_type} L16/{fmt.rate}/{fmt.channels}"]
        lines += [f"a=ptime:{self.ptime_ms:g}"] if self.ptime_ms is not None else []
        lines += [f"a=extmap:{self.clock_extension_id} {NTP64_URI}"] if self.clock_extension_id else []
        lines += [f"a=extmap:{self.latency_extension_id} {LATENCY_URI}"] if self.latency_extension_id else []
        if repair:
            lines += [f"a=mid:{AUDIO_MID}", f"m=application {repair.port} {proto} {repair.payload_type}",
                      f"a=rtpmap:{repair.payload_type} {REPAIR_ENCODING}/{fmt.rate}",
                      f"a=fmtp:{repair.payload_type} k={repair.k};n={repair.n}", f"a=mid:{REPAIR_MID}"]
        return "\r\n".join(lines) + "\r\n"

    @classmethod
    def parse(cls, text: str | bytes) -> StreamDescription:
        """The stream a description describes; raises WireError saying what is missing or wrong."""
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError as e:
                raise WireError(f"SDP is not UTF-8 text (byte {e.start})") from None
        if len(text) > MAX_DESCRIPTION_CHARS:
            raise WireError(f"SDP of {len(text)} characters is too long (at most {MAX_DESCRIPTION_CHARS})")
        session, media, applications = _sections(text)
        origin = session.one("o")
        if origin is None:
            raise WireError("SDP has no o= line")
        offered: list[str] = []
        for section in media:
            fmt, ptime_ms = _playable(section, offered)
            if fmt is None:
                continue
            address = section.one("c") or session.one("c")
            if address is None:
                raise WireError("SDP has no c= line: it does not say where the stream is sent")
            group, ttl = _connection(address)
            extmaps = section.attributes("extmap") + session.attributes("extmap")
            return cls(origin=Origin.parse(origin), name=session.one("s") or "", group=group, port=section.port,
                       fmt=fmt, ttl=ttl, title=session.one("i") or "", ptime_ms=ptime_ms,
                       tool=session.attribute("tool") or "",
                       source=_source(section.attribute("source-filter") or session.attribute("source-filter")),
                       encrypted=section.encrypted, repair=_repair(applications),
                       inband_fec=fmt.encoding == OPUS and "useinbandfec=1" in _fmtp(section, fmt.payload_type),
                       clock_extension_id=_extension_id(extmaps, NTP64_URI),
                       latency_extension_id=_extension_id(extmaps, LATENCY_URI))
        if not offered:
            raise WireError("SDP describes no RTP audio stream")
        raise WireError(f"SDP offers no L16 or Opus audio (offered: {', '.join(offered)}); this listener plays "
                        "those only")


@dataclass
class _Section:
    """The lines of one section (the session, or one m= and what follows it), in order."""

    lines: list[tuple[str, str]] = field(default_factory=list)
    media: str = ""
    port: int = 0
    payload_types: list[int] = field(default_factory=list)
    encrypted: bool = False

    def one(self, kind: str) -> str | None:
        return next((value for key, value in self.lines if key == kind), None)

    def attribute(self, name: str) -> str | None:
        return next(iter(self.attributes(name)), None)

    def attributes(self, name: str) -> list[str]:
        prefix = name + ":"
        return [value[len(prefix):] for key, value in self.lines if key == "a" and value.startswith(prefix)]


def _sections(text: str) -> tuple[_Section, list[_Section], list[_Section]]:
    """The session section, the RTP audio media sections and the RTP application sections (where a repair flow
    is); other media are skipped."""
    lines = [line.rstrip("\r") for line in text.split("\n")]
    lines = [line for line in lines if line.strip()]
    if not lines or lines[0].strip() != "v=0":
        raise WireError("not an SDP description: it must begin with v=0")
    session = _Section()
    media: list[_Section] = []
    applications: list[_Section] = []
    current: _Section | None = session
    for number, line in enumerate(lines[1:], start=2):
        match = LINE.match(line)
        if match is None:
            raise WireError(f"SDP line {number} is not type=value: {line[:40]!r}")
        kind, value = match.groups()
        if kind == "m":
            current = _media_section(value)
            if current is not None:
                (media if current.media == "audio" else applications).append(current)
        elif current is not None:
            current.lines.append((kind, value))
    return session, media, applications


def _media_section(value: str) -> _Section | None:
    """A section for an `m=audio|application PORT RTP/AVP TYPES` line; None for other media and transports
    (skipped)."""
    fields = value.split()
    if len(fields) < 4:
        raise WireError(f"SDP m= line has {len(fields)} fields, expected at least 4 (media port proto format)")
    media, port_text, proto, *types = fields
    if media not in ("audio", "application") or proto not in (AVP, SAVP):
        return None
    port = _number(port_text.split("/")[0], 65534)
    if port is None or port < 1:
        raise WireError(f"SDP m= port {port_text[:20]!r} is not a port from 1 to 65534 (RTCP uses the next one)")
    payload_types = [number for t in types if (number := _number(t, 127)) is not None]
    if len(payload_types) != len(types):
        raise WireError(f"SDP m= payload types {' '.join(types)[:40]!r} are not RTP payload types (0-127)")
    return _Section(media=media, port=port, payload_types=payload_types, encrypted=proto == SAVP)


def _rtpmaps(section: _Section) -> dict[int, re.Match[str]]:
    """A section's a=rtpmap lines by payload type (the first of each)."""
    maps: dict[int, re.Match[str]] = {}
    for value in section.attributes("rtpmap"):
        match = RTPMAP.match(value.strip())
        if match is None:
            raise WireError(f"SDP a=rtpmap:{value[:40]!r} is not 'TYPE ENCODING/RATE[/CHANNELS]'")
        maps.setdefault(int(match.group(1)), match)
    return maps


def _fmtp(section: _Section, payload_type: int) -> set[str]:
    """The `name=value` parameters of a payload type's a=fmtp line, spaces removed."""
    prefix = f"{payload_type} "
    for value in section.attributes("fmtp"):
        if value.startswith(prefix):
            return {p.replace(" ", "") for p in value[len(prefix):].split(";") if p.strip()}
    return set()


def _playable(section: _Section, offered: list[str]) -> tuple[AudioFormat | None, float | None]:
    """The first L16 or Opus format a media section offers, and its ptime; what it offers otherwise is added to
    `offered`, for the message if nothing is playable."""
    maps = _rtpmaps(section)
    for payload_type in section.payload_types:
        match = maps.get(payload_type)
        if match is None:
            if payload_type in STATIC_FORMATS:
                return STATIC_FORMATS[payload_type], _ptime(section)
            offered.append(f"payload type {payload_type}")
            continue
        encoding, rate, channels = match.group(2), int(match.group(3)), int(match.group(4) or 1)
        if encoding.lower() == OPUS:
            if (rate, channels) != (OPUS_RATE, 2):
                raise WireError(f"SDP Opus must be opus/{OPUS_RATE}/2 (RFC 7587), not {encoding}/{rate}/{channels}")
            stereo = "sprop-stereo=1" in _fmtp(section, payload_type)
            return AudioFormat(OPUS_RATE, 2 if stereo else 1, payload_type, OPUS), _ptime(section)
        if encoding.upper() != "L16":
            offered.append(f"{encoding}/{rate}" + (f"/{channels}" if match.group(4) else ""))
            continue
        if not 1 <= rate <= MAX_RATE:
            raise WireError(f"SDP L16 rate {rate} Hz is out of range (1 to {MAX_RATE})")
        if channels not in (1, 2):
            raise WireError(f"SDP L16 stream has {channels} channels; this listener plays mono or stereo")
        return AudioFormat(rate=rate, channels=channels, payload_type=payload_type), _ptime(section)
    return None, None


def _repair(applications: list[_Section]) -> RepairFlow | None:
    """The first repair flow (our x-rs-fec) among the application sections; None if there is none."""
    for section in applications:
        maps = _rtpmaps(section)
        for payload_type in section.payload_types:
            match = maps.get(payload_type)
            if match is None or match.group(2).lower() != REPAIR_ENCODING:
                continue
            parameters = dict(p.partition("=")[::2] for p in _fmtp(section, payload_type))
            k, n = _number(parameters.get("k", ""), 255), _number(parameters.get("n", ""), 255)
            if k is None or n is None or not 1 <= k < n:
                raise WireError(f"SDP repair flow's a=fmtp k and n must be 1 <= k < n <= 255, not "
                                f"{parameters.get('k', '')[:10]!r} and {parameters.get('n', '')[:10]!r}")
            return RepairFlow(section.port, payload_type, k, n)
    return None


def _extension_id(extmaps: list[str], uri: str) -> int | None:
    """The ID an `a=extmap:ID[/DIRECTION] URI` gives the header extension `uri`; None if none does. Only the
    one-byte form's IDs (1-14) are read: that is the form the station sends."""
    for value in extmaps:
        fields = value.split()
        if len(fields) >= 2 and fields[1] == uri:
            element_id = _number(fields[0].split("/")[0], 14)
            if element_id is None or element_id < 1:
                raise WireError(f"SDP a=extmap ID {fields[0][:20]!r} is not a one-byte header extension ID (1-14)")
            return element_id
    return None


def _ptime(section: _Section) -> float | None:
    value = section.attribute("ptime")
    try:
        ptime_ms = float(value) if value is not None else None
    except ValueError:
        raise WireError(f"SDP a=ptime:{value[:20]!r} is not a number of milliseconds") from None
    if ptime_ms is not None and not 0 < ptime_ms <= 1000:
        raise WireError(f"SDP a=ptime:{value} is out of range (0 to 1000 ms)")
    return ptime_ms


def _connection(value: str) -> tuple[str, int | None]:
    """Group and TTL of a `c=IN IP4 GROUP[/TTL[/COUNT]]` line; this listener joins IPv4 multicast groups only."""
    fields = value.split()
    if len(fields) != 3 or fields[0] != "IN":
        raise WireError(f"SDP c= line {value[:60]!r} is not 'IN IP4 ADDRESS'")
    if fields[1] != "IP4":
        raise WireError(f"SDP c= address type {fields[1]!r} is not IP4; this listener joins IPv4 groups")
    address, *rest = fields[2].split("/")
    try:
        group = check_group(address)
    except ValueError as e:
        raise WireError(f"SDP c= address: {e}; this listener joins multicast streams") from None
    if not rest:
        return group, None
    ttl = _number(rest[0], 255)
    if ttl is None:
        raise WireError(f"SDP c= TTL {rest[0][:20]!r} is not a number from 0 to 255")
    return group, ttl


def _number(text: str, at_most: int) -> int | None:
    """The value of `text` if it is a number in ASCII digits up to `at_most`, else None. Not str.isdigit alone:
    it passes Unicode digits such as '²', which int() refuses, as it refuses more than 4300 digits."""
    if not (text.isascii() and text.isdigit()):
        return None
    significant = text.lstrip("0") or "0"
    if len(significant) > len(str(at_most)) or int(significant) > at_most:
        return None
    return int(significant)


def _source(value: str | None) -> str | None:
    """The one source an `a=source-filter: incl IN IP4 GROUP SOURCE` admits; None if there is no such filter
    (an exclusion, several sources or a wildcard say nothing this listener can lock onto)."""
    if value is None:
        return None
    fields = value.split()
    if len(fields) != 5 or fields[:3] != ["incl", "IN", "IP4"]:
        return None
    try:
        return str(ipaddress.IPv4Address(fields[4]))
    except ValueError:
        raise WireError(f"SDP a=source-filter source {fields[4][:40]!r} is not an IPv4 address") from None


def _one_line(text: str) -> str:
    """A value as an SDP line can hold it: no line breaks (nor NULs), which would end the line early."""
    return " ".join(text.replace("\0", " ").splitlines())
