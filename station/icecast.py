"""The station's feeds to Icecast servers (`--icecast URL`): the programme, as it goes on the air, encoded and sent
to each mount by ffmpeg, off the real-time loop.

The broadcaster hands each slot's PCM (after the volume; silence while paused) to `IcecastFeeds.offer`, which only
puts it on each feed's bounded queue: when a feed falls behind (its encoder stalled, its server gone) the queue
fills and slots are dropped and counted, never waited for. A thread per feed drains its queue into two ffmpeg
processes: an encoder (s16le on stdin to Ogg/Opus or MP3 on stdout) and a relay, ffmpeg's Icecast client copying
those bytes to the mount unchanged (`-f data`). Two, because of titles: Icecast takes an Ogg mount's title from the
stream's own comments, so a new track starts a new encoder, whose stream (a new chained Ogg logical stream, its
OpusTags holding the title) follows the old one on the same connection, and Icecast keeps its listeners. An MP3
mount has no such comments: its title is set through Icecast's admin request. Its encoder runs on.

The connection's state, when to try again and what the operator hears are `station.icecast_state`'s.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import queue
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from station.icecast_state import Connection, classify
from station.icecast_target import IcecastTarget

QUEUE_S = 2.0  # of programme a feed holds waiting for its encoder: beyond it, slots are dropped
PENDING_S = 1.0  # of PCM the encoder's stdin pipe may not take yet, kept; beyond it, dropped
DRAIN_WAIT_S = 0.05  # the feeder writes to its encoder in batches of about this much programme
POLL_CONNECTED_S = 5.0  # Icecast's status page (listener counts), while connected
POLL_CONNECTING_S = 0.5  # and while waiting for the mount to show there: the connection is confirmed by it
CONFIRM_S = 3.0  # a relay alive this long, still unlisted (no status page?), is taken as connected all the same
LISTED_S = 0.3  # a relay alive this long whose mount is listed is connected (a refused one ends sooner)
HTTP_TIMEOUT_S = 1.0
STOP_TIMEOUT_S = 2.0
NICE = 10  # the encoders and relays yield to the station (and its real-time loop), never the other way round


@dataclass(frozen=True)
class FeedSettings:
    """What every feed encodes, and says of the station."""

    rate: int
    channels: int
    slot_frames: int  # the programme comes a slot at a time
    bitrate_kbps: int
    name: str
    description: str

    @property
    def frame_bytes(self) -> int:
        return 2 * self.channels


def encoder_command(target: IcecastTarget, settings: FeedSettings, title: str) -> list[str]:
    """ffmpeg encoding the programme (s16le on stdin) to the mount's format on stdout: Opus at 48 kHz in Ogg, its
    title in the stream's comments, pages of 200 ms so that a listener starts soon; or MP3 without an ID3 tag."""
    pcm_in = ["-f", "s16le", "-ar", str(settings.rate), "-ac", str(settings.channels), "-i", "pipe:0"]
    bitrate = ["-b:a", f"{settings.bitrate_kbps}k"]
    if target.format == "ogg":
        coded = ["-c:a", "libopus", *bitrate, "-ar", "48000", "-metadata", f"title={title}",
                 "-f", "ogg", "-page_duration", "200000"]
    else:
        coded = ["-c:a", "libmp3lame", *bitrate, "-f", "mp3", "-id3v2_version", "0", "-write_xing", "0"]
    return ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostats", *pcm_in, "-map_metadata", "-1", *coded,
            "-flush_packets", "1", "pipe:1"]


def relay_command(target: IcecastTarget, settings: FeedSettings) -> list[str]:
    """ffmpeg's Icecast client, copying the encoder's bytes to the mount as they come, with the station's name and
    description for the mount."""
    about = ["-ice_name", settings.name] + (["-ice_description", settings.description] if settings.description
                                            else [])
    return ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostats", "-f", "data", "-probesize", "32",
            "-analyzeduration", "0", "-i", "pipe:0", "-map", "0", "-c", "copy", "-f", "data", "-flush_packets", "1",
            "-content_type", target.content_type, *about, target.source_url()]


class _Said:
    """What a process prints on stderr, its last lines, read on a thread of its own (a full pipe would stop it)."""

    def __init__(self, stream: Iterable[bytes]) -> None:
        self._lines: collections.deque[str] = collections.deque(maxlen=20)
        self._thread = threading.Thread(target=self._read, args=(stream,), name="icecast stderr", daemon=True)
        self._thread.start()

    def _read(self, stream: Iterable[bytes]) -> None:
        for line in stream:
            self._lines.append(line.decode(errors="replace"))

    def text(self, wait_s: float) -> str:
        self._thread.join(wait_s)  # the process has ended: its last words are on their way
        return "".join(self._lines)


def _spawn(argv: list[str], **pipes: int) -> subprocess.Popen[bytes]:
    """One of the feed's ffmpeg processes, at a lower priority than the station (children inherit the station's
    nice -10, where it has it): short of CPU, the Icecast feed falls behind and drops, multicast does not."""
    popen = subprocess.Popen(argv, **pipes)  # type: ignore[call-overload]
    try:
        os.setpriority(os.PRIO_PROCESS, popen.pid, NICE)
    except OSError:  # gone already: the feed sees it end
        pass
    return popen


def _wait_or_stop(popen: subprocess.Popen[bytes]) -> None:
    """Waits for a process of ours whose input was closed to end by itself; if it does not within STOP_TIMEOUT_S,
    ends it by its PID. ffmpeg blocked on a pipe that says nothing more never notices a SIGTERM (it reads on
    after the signal), so the end of its input is what ends it, at once."""
    try:
        popen.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        _stop(popen)


def _stop(popen: subprocess.Popen[bytes]) -> None:
    """Ends a process of ours by its PID: SIGTERM, then SIGKILL; bounded."""
    if popen.poll() is None:
        popen.terminate()
        try:
            popen.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait(STOP_TIMEOUT_S)


class _Encoder:
    """One encoder process: PCM in without ever blocking, its output pumped into the relay after the output of the
    encoder before it (`after`), so that chained streams follow each other whole."""

    def __init__(self, argv: list[str], relay_stdin: Callable[[bytes], None],
                 after: _Encoder | None, frame_bytes: int, pending_max: int) -> None:
        self.popen = _spawn(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert self.popen.stdin is not None and self.popen.stdout is not None and self.popen.stderr is not None
        os.set_blocking(self.popen.stdin.fileno(), False)
        self.said = _Said(self.popen.stderr)
        self._send = relay_stdin
        self._after = after
        self._frame_bytes = frame_bytes
        self._pending_max = pending_max
        self._pending = bytearray()
        self._pump = threading.Thread(target=self._pump_out, name="icecast pump", daemon=True)
        self._pump.start()

    def write(self, pcm: bytes) -> int:
        """Hands `pcm` to the encoder as far as its pipe takes it; the frames dropped (the encoder stalled)."""
        self._pending += pcm
        try:
            del self._pending[:os.write(self.popen.stdin.fileno(), self._pending)]  # type: ignore[union-attr]
        except (BlockingIOError, BrokenPipeError):  # full; or ended, which the feed sees from its exit
            pass
        excess = len(self._pending) - self._pending_max
        if excess <= 0:
            return 0
        excess -= excess % self._frame_bytes  # whole frames, so that the stream stays aligned on them
        del self._pending[:excess]
        return excess // self._frame_bytes

    def finish(self) -> None:
        """No more PCM: the encoder ends its stream (the last pages, end of stream) and exits."""
        self._pending.clear()
        self.popen.stdin.close()  # type: ignore[union-attr]

    def _pump_out(self) -> None:
        if self._after is not None:
            self._after._pump.join()
        stdout = self.popen.stdout
        assert stdout is not None
        relaying = True
        while chunk := stdout.read1(65536):
            if not relaying:
                continue  # read and dropped: an encoder whose output nobody reads could never end
            try:
                self._send(chunk)
            except (BrokenPipeError, OSError, ValueError):  # the relay ended
                relaying = False

    def close(self) -> None:
        """Ends the encoder by the end of its input, its last pages pumped to the relay."""
        self.finish()
        _wait_or_stop(self.popen)
        self._pump.join(STOP_TIMEOUT_S)


class _Link:
    """One connection to the mount: the relay (ffmpeg's Icecast client) and the encoder feeding it; a new track on
    an Ogg mount chains a new encoder behind the last."""

    def __init__(self, target: IcecastTarget, settings: FeedSettings, title: str) -> None:
        self._target = target
        self._settings = settings
        self.pumped = 0  # bytes handed to the relay
        self.confirmed = False  # the mount has it: Icecast lists it, or it has held for CONFIRM_S
        self.started_s = time.monotonic()
        self.relay = _spawn(relay_command(target, settings), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
        assert self.relay.stderr is not None
        self._relay_said = _Said(self.relay.stderr)
        self._relay_lock = threading.Lock()
        self.encoder = self._encoder(title, None)
        self._finished: list[_Encoder] = []

    def _encoder(self, title: str, after: _Encoder | None) -> _Encoder:
        pending_max = round(PENDING_S * self._settings.rate) * self._settings.frame_bytes
        return _Encoder(encoder_command(self._target, self._settings, title), self._to_relay, after,
                        self._settings.frame_bytes, pending_max)

    def _to_relay(self, data: bytes) -> None:
        with self._relay_lock:
            self.relay.stdin.write(data)  # type: ignore[union-attr]
            self.relay.stdin.flush()  # type: ignore[union-attr]
            self.pumped += len(data)

    def retitle(self, title: str) -> None:
        """A new logical stream, with `title` in its comments, after the current one."""
        old, self.encoder = self.encoder, None  # type: ignore[assignment]
        old.finish()
        self._finished = [e for e in self._finished if e.popen.poll() is None] + [old]
        self.encoder = self._encoder(title, old)

    def write(self, pcm: bytes) -> int:
        """To the current encoder; the frames dropped."""
        return self.encoder.write(pcm)

    def ended(self) -> bool:
        return self.relay.poll() is not None or self.encoder.popen.poll() is not None

    def error_text(self) -> str:
        """What the relay (or else the encoder) said as it ended, without the password."""
        said = self._relay_said.text(0.5) if self.relay.poll() is not None else ""
        return self._target.redact(said or self.encoder.said.text(0.5))

    def close(self) -> None:
        """Ends the encoders, then the relay, each by the end of its input: the mount gets the stream's end."""
        for encoder in (*self._finished, self.encoder):
            encoder.close()
        with self._relay_lock, contextlib.suppress(OSError):  # a relay that ended already (refused, cut off)
            self.relay.stdin.close()  # type: ignore[union-attr]
        _wait_or_stop(self.relay)


class IcecastFeed:
    """One mount fed: a queue the real-time loop puts the programme on, and the thread that encodes and sends it,
    reconnects, sets titles and reads the listener count."""

    def __init__(self, target: IcecastTarget, settings: FeedSettings, notify: Callable[[str], None]) -> None:
        self.target = target
        self._settings = settings
        self._notify = notify
        slots = max(1, round(QUEUE_S * settings.rate / settings.slot_frames))
        self._queue: queue.Queue[tuple[bytes, str]] = queue.Queue(maxsize=slots)
        self.connection = Connection(target.describe())
        self._link: _Link | None = None  # the connection open, if any
        self._sent_before = 0  # bytes sent on the connections before it
        self.listeners: int | None = None  # as Icecast's status page last said; None: not known
        self._dropped_queued = 0  # frames: the real-time loop's count
        self._dropped_pending = 0  # frames: the feeder's
        self._title = ""
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"icecast {target.describe()}", daemon=True)

    @property
    def bytes_sent(self) -> int:
        """The bytes handed to ffmpeg's Icecast client on connections that were made (not on refused ones)."""
        link = self._link
        return self._sent_before + (link.pumped if link is not None and link.confirmed else 0)

    @property
    def frames_dropped(self) -> int:
        return self._dropped_queued + self._dropped_pending

    def start(self) -> None:
        self._thread.start()

    def offer(self, pcm: bytes, title: str) -> None:
        """From the real-time loop: never blocks; a full queue drops the slot."""
        try:
            self._queue.put_nowait((pcm, title))
        except queue.Full:
            self._dropped_queued += len(pcm) // self._settings.frame_bytes

    def stop(self) -> None:
        self._stopping.set()

    def join(self, timeout_s: float) -> None:
        self._thread.join(timeout_s)

    def figures(self) -> dict[str, object]:
        return {"state": self.connection.state, "connects": self.connection.connects,
                "bytes_sent": self.bytes_sent, "last_error": self.connection.last_error,
                "listeners": self.listeners, "frames_dropped": self.frames_dropped}

    def _drain(self) -> bytes:
        """What the queue holds, waiting a little for it; the newest title seen."""
        try:
            pcm, self._title = self._queue.get(timeout=DRAIN_WAIT_S)
        except queue.Empty:
            return b""
        chunks = [pcm]
        while True:
            try:
                pcm, self._title = self._queue.get_nowait()
            except queue.Empty:
                return b"".join(chunks)
            chunks.append(pcm)

    def _run(self) -> None:
        """The feed; should it fail (a bug), the operator hears of it and the station goes on without it."""
        try:
            self._feed()
        except Exception as e:
            self._notify(f"icecast {self.target.describe()}: the feed failed, and stops: {type(e).__name__}: "
                         f"{self.target.redact(str(e))}")
            raise

    def _feed(self) -> None:
        link: _Link | None = None
        listed, next_poll_s = False, 0.0
        titled = ""  # the title the mount has
        try:
            while not self._stopping.is_set():
                pcm = self._drain()
                now = time.monotonic()
                if link is None and self.connection.due(now):
                    link = self._link = _Link(self.target, self._settings, self._title)
                    titled = self._title if self.target.format == "ogg" else ""
                if link is None:
                    continue  # the programme meanwhile is not kept: a reconnected mount plays what is on now
                if self.target.format == "ogg" and self._title != titled:
                    link.retitle(self._title)
                    titled = self._title
                self._dropped_pending += link.write(pcm) if pcm else 0
                if link.ended():
                    line = self.connection.failed(now, classify(link.error_text()))
                    self._end(link)
                    link = None
                    if line:
                        self._notify(line)
                    continue
                if now >= next_poll_s:
                    listed = self._poll()
                    next_poll_s = now + (POLL_CONNECTED_S if link.confirmed else POLL_CONNECTING_S)
                alive_s = now - link.started_s
                if not link.confirmed and (listed and alive_s >= LISTED_S or alive_s >= CONFIRM_S):
                    link.confirmed = True
                    self._notify(self.connection.connected(now))
                if link.confirmed and self.target.format == "mp3" and self._title != titled:
                    self._set_title(self._title)
                    titled = self._title
        finally:
            if link is not None:
                self._end(link)

    def _end(self, link: _Link) -> None:
        link.close()
        self._sent_before += link.pumped if link.confirmed else 0
        self._link, self.listeners = None, None

    def _poll(self) -> bool:
        """Reads Icecast's status page: the mount's listener count; whether the mount is listed there."""
        import urllib.request  # HTTP (and OpenSSL behind it) only for a station with a feed: not at every start

        try:
            with urllib.request.urlopen(self.target.status_url(), timeout=HTTP_TIMEOUT_S) as response:
                self.listeners = listeners_on(json.loads(response.read()), self.target.mount)
        except (OSError, ValueError):
            self.listeners = None
        return self.listeners is not None

    def _set_title(self, title: str) -> None:
        """An MP3 mount's title, through Icecast's admin request (as the source's user); a failure is not worth
        the operator's attention, the next track tries again."""
        import urllib.request

        request = urllib.request.Request(self.target.metadata_url(title),
                                         headers={"Authorization": self.target.authorization()})
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:
                response.read()
        except OSError:
            pass


def listeners_on(status: object, mount: str) -> int | None:
    """From Icecast's status-json.xsl document, the listeners on `mount`; None if the mount is not listed. Icecast
    gives `source` as an object for one mount, a list for several, and leaves it out for none."""
    stats = status.get("icestats", {}) if isinstance(status, dict) else {}
    sources = stats.get("source", []) if isinstance(stats, dict) else []
    for source in sources if isinstance(sources, list) else [sources]:
        if isinstance(source, dict) and str(source.get("listenurl", "")).endswith(mount):
            listeners = source.get("listeners")
            return listeners if isinstance(listeners, int) else 0
    return None


class IcecastFeeds:
    """Every `--icecast` mount, as the station sees them: one offer per slot, their figures, their listeners."""

    def __init__(self, targets: list[IcecastTarget], settings: FeedSettings, notify: Callable[[str], None]) -> None:
        self.feeds = [IcecastFeed(target, settings, notify) for target in targets]

    def start(self) -> None:
        for feed in self.feeds:
            feed.start()

    def offer(self, pcm: np.ndarray, title: str) -> None:
        """One slot of the programme, from the real-time loop: queued for each feed, never waited for."""
        data = pcm.tobytes()
        for feed in self.feeds:
            feed.offer(data, title)

    def close(self) -> None:
        for feed in self.feeds:
            feed.stop()
        for feed in self.feeds:
            feed.join(STOP_TIMEOUT_S * 3)

    def figures(self) -> dict[str, dict[str, object]]:
        """--stats-json's `icecast`: per mount (HOST:PORT/MOUNT), its state and counts."""
        return {feed.target.describe(): feed.figures() for feed in self.feeds}

    def listener_count(self) -> int:
        return sum(feed.listeners or 0 for feed in self.feeds)

    def lines(self) -> list[str]:
        """STATUS's lines, one per mount."""
        return [f"icecast {feed.target.describe()}: {feed.connection.state}, {_listeners(feed.listeners)}, "
                f"{feed.bytes_sent / 1e6:.1f} MB sent, {feed.connection.connects} connects, "
                f"{feed.frames_dropped} frames dropped"
                + (f"; last error: {feed.connection.last_error}" if feed.connection.last_error else "")
                for feed in self.feeds]

    def listeners_lines(self) -> list[str]:
        """LISTENERS's lines: what each Icecast mount reports."""
        return [f"icecast {feed.target.describe()}: {_listeners(feed.listeners)} ({feed.connection.state})"
                for feed in self.feeds]


def _listeners(count: int | None) -> str:
    return "listeners unknown" if count is None else f"{count} listener" + ("" if count == 1 else "s")
