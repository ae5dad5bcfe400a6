"""A PulseAudio playback stream through libpulse itself (ctypes), each block written knowing when it will play.

Why not PortAudio: through its ALSA backend and the ALSA pulse plugin, the DAC times that streams on one sink
report disagree by up to 1.5 ms, and listeners placing samples by them are that far out of step. libpulse's own
timing snapshots, asked for every UPDATE_S and fitted over a few seconds (`DacClock`), keep three streams on one
sink within a sample or two (`python -m bench.sync`).

Two threads: libpulse's threaded mainloop runs the callbacks below, which only note what happened and wake the
writer; the writer thread (under SCHED_FIFO where permitted) waits (the mainloop's lock released meanwhile) until a
block is writable, asks `fill` for exactly that block with the monotonic time its first frame plays, and writes
it; it asks for timing snapshots but never waits for one, as a busy server takes up to 20 ms to answer, two
thirds of the stream's buffer. It never raises: an
exception from `fill` is counted and the block is silence. A stream or a server that fails ends it, and
`is_active()` says so. The server is whichever libpulse finds (PULSE_SERVER, or the user's), never spawned; one
that does not answer (stopped, wedged) is given up on after CONNECT_S, not libpulse's 30 s, as the listener tries
a lost sink again from its receiving loop.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rtpwire.audio import AudioFormat
from sound.wallclock import wall_minus_monotonic_s
from sound.dac_clock import DacClock, Snapshot
from sound.realtime import pace_in_real_time

UPDATE_S = 0.05  # a timing snapshot this often; before each block while there is no estimate yet
TLENGTH_S = 0.04  # the buffer asked for, sink included: the server grants the stream 30 ms of it
JOIN_S = 5.0  # the writer ends within a block of being asked; beyond this it is stuck in `fill`
CONNECT_S = 2.0  # a server answers a connection and a new stream within milliseconds: beyond this it is wedged

_VP = ctypes.c_void_p
_NOTIFY = ctypes.CFUNCTYPE(None, _VP, _VP)
_REQUEST = ctypes.CFUNCTYPE(None, _VP, ctypes.c_size_t, _VP)
_SUCCESS = ctypes.CFUNCTYPE(None, _VP, ctypes.c_int, _VP)
_SINK_INFO = ctypes.CFUNCTYPE(None, _VP, _VP, ctypes.c_int, _VP)  # (context, pa_sink_info *, eol, userdata)
_TIME_EVENT = ctypes.CFUNCTYPE(None, _VP, _VP, _VP, _VP)
_SAMPLE_S16LE = 3
_NO_VALUE = 0xFFFFFFFF  # (uint32_t) -1: the server's default for a buffer attribute
_SIZE_ERROR = ctypes.c_size_t(-1).value
_CONTEXT_NOAUTOSPAWN = 0x0001
_CONTEXT_READY, _CONTEXT_ENDED = 4, (5, 6)  # FAILED, TERMINATED
_STREAM_READY, _STREAM_ENDED = 2, (3, 4)
_OPERATION_RUNNING, _OPERATION_DONE, _OPERATION_CANCELLED = 0, 1, 2
_STREAM_FLAGS = 0x0002 | 0x0008 | 0x2000  # INTERPOLATE_TIMING | AUTO_TIMING_UPDATE | ADJUST_LATENCY
_STREAM_DONT_MOVE = 0x0200
_SEEK_RELATIVE = 0


class PulseError(Exception):
    """No libpulse, no server, no such sink, or a stream the server refused: the message says which."""


class _SampleSpec(ctypes.Structure):
    _fields_ = [("format", ctypes.c_int), ("rate", ctypes.c_uint32), ("channels", ctypes.c_uint8)]


class _SinkInfoHead(ctypes.Structure):
    """The first fields of pa_sink_info, up to its sample spec: all that is read of it, through libpulse's
    pointer (never allocated here, so the rest of the struct need not be declared)."""

    _fields_ = [("name", ctypes.c_char_p), ("index", ctypes.c_uint32), ("description", ctypes.c_char_p),
                ("sample_spec", _SampleSpec)]


class _BufferAttr(ctypes.Structure):
    _fields_ = [("maxlength", ctypes.c_uint32), ("tlength", ctypes.c_uint32), ("prebuf", ctypes.c_uint32),
                ("minreq", ctypes.c_uint32), ("fragsize", ctypes.c_uint32)]


class _Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]


class _TimingInfo(ctypes.Structure):
    _fields_ = [("timestamp", _Timeval), ("synchronized_clocks", ctypes.c_int), ("sink_usec", ctypes.c_uint64),
                ("source_usec", ctypes.c_uint64), ("transport_usec", ctypes.c_uint64), ("playing", ctypes.c_int),
                ("write_index_corrupt", ctypes.c_int), ("write_index", ctypes.c_int64),
                ("read_index_corrupt", ctypes.c_int), ("read_index", ctypes.c_int64),
                ("configured_sink_usec", ctypes.c_uint64), ("configured_source_usec", ctypes.c_uint64),
                ("since_underrun", ctypes.c_int64)]


_SIGNATURES: dict[str, tuple[Any, list[Any]]] = {
    "pa_threaded_mainloop_new": (_VP, []),
    "pa_threaded_mainloop_get_api": (_VP, [_VP]),
    "pa_threaded_mainloop_start": (ctypes.c_int, [_VP]),
    "pa_threaded_mainloop_lock": (None, [_VP]),
    "pa_threaded_mainloop_unlock": (None, [_VP]),
    "pa_threaded_mainloop_wait": (None, [_VP]),
    "pa_threaded_mainloop_signal": (None, [_VP, ctypes.c_int]),
    "pa_threaded_mainloop_stop": (None, [_VP]),
    "pa_threaded_mainloop_free": (None, [_VP]),
    "pa_context_new": (_VP, [_VP, ctypes.c_char_p]),
    "pa_context_set_state_callback": (None, [_VP, _NOTIFY, _VP]),
    "pa_context_connect": (ctypes.c_int, [_VP, ctypes.c_char_p, ctypes.c_int, _VP]),
    "pa_context_get_state": (ctypes.c_int, [_VP]),
    "pa_context_errno": (ctypes.c_int, [_VP]),
    "pa_context_disconnect": (None, [_VP]),
    "pa_context_unref": (None, [_VP]),
    "pa_context_rttime_new": (_VP, [_VP, ctypes.c_uint64, _TIME_EVENT, _VP]),
    "pa_rtclock_now": (ctypes.c_uint64, []),
    "pa_strerror": (ctypes.c_char_p, [ctypes.c_int]),
    "pa_stream_new": (_VP, [_VP, ctypes.c_char_p, ctypes.POINTER(_SampleSpec), _VP]),
    "pa_stream_set_state_callback": (None, [_VP, _NOTIFY, _VP]),
    "pa_stream_set_write_callback": (None, [_VP, _REQUEST, _VP]),
    "pa_stream_set_underflow_callback": (None, [_VP, _NOTIFY, _VP]),
    "pa_stream_connect_playback": (ctypes.c_int, [_VP, ctypes.c_char_p, ctypes.POINTER(_BufferAttr), ctypes.c_int,
                                                  _VP, _VP]),
    "pa_stream_get_state": (ctypes.c_int, [_VP]),
    "pa_stream_get_device_name": (ctypes.c_char_p, [_VP]),
    "pa_stream_get_buffer_attr": (ctypes.POINTER(_BufferAttr), [_VP]),
    "pa_stream_writable_size": (ctypes.c_size_t, [_VP]),
    "pa_stream_write": (ctypes.c_int, [_VP, ctypes.c_char_p, ctypes.c_size_t, _VP, ctypes.c_int64, ctypes.c_int]),
    "pa_stream_update_timing_info": (_VP, [_VP, _SUCCESS, _VP]),
    "pa_stream_get_timing_info": (ctypes.POINTER(_TimingInfo), [_VP]),
    "pa_stream_get_latency": (ctypes.c_int, [_VP, ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(ctypes.c_int)]),
    "pa_stream_disconnect": (ctypes.c_int, [_VP]),
    "pa_stream_unref": (None, [_VP]),
    "pa_context_get_sink_info_by_name": (_VP, [_VP, ctypes.c_char_p, _SINK_INFO, _VP]),
    "pa_operation_get_state": (ctypes.c_int, [_VP]),
    "pa_operation_unref": (None, [_VP]),
}


@functools.cache
def _libpulse() -> ctypes.CDLL:
    """libpulse with the prototypes used here (a CDLL releases the interpreter's lock during each call: the
    mainloop's thread needs it to run the callbacks while the writer waits on the mainloop's lock)."""
    path = ctypes.util.find_library("pulse")
    if path is None:
        raise PulseError("libpulse is not installed")
    lib = ctypes.CDLL(path)
    for name, (restype, argtypes) in _SIGNATURES.items():
        function = getattr(lib, name)
        function.restype, function.argtypes = restype, argtypes
    return lib


@dataclass(frozen=True)
class PulseSink:
    name: str
    channels: int  # the sink's own: a stream of more is mixed down into them by the server

    def describe(self) -> str:
        return f"PulseAudio {self.name}"


Fill = Callable[[int, float], bytes]  # (frames, monotonic time the first one plays) -> exactly those frames, s16le


class PlaybackStream:
    """A started 16-bit playback stream of `fmt` on `sink` (None: the server's default, or PULSE_SINK), written in
    blocks of `block_frames`; PulseError if there is no server, no such sink, or the stream cannot be made."""

    def __init__(self, fmt: AudioFormat, sink: str | None, fill: Fill, block_frames: int, name: str,
                 tlength_s: float = TLENGTH_S, connect_s: float = CONNECT_S) -> None:
        self._lib = _libpulse()
        self._fmt = fmt
        self._fill = fill
        self._block_frames = block_frames
        self._block_bytes = block_frames * fmt.bytes_per_frame
        self.clock = DacClock(fmt.rate)
        self.errors = 0  # exceptions from `fill`, and timing requests refused
        self.underflows = 0  # the stream ran dry (a busy machine): a gap, and late blocks dropped
        self._written_frames = 0  # the stream's write index, in frames: every write is appended
        self._stopping = False
        self.priority_note: str | None = None  # why the writer could not run in real time, if it could not
        self._wall_offset_s = wall_minus_monotonic_s()  # timing snapshots carry wall-clock times
        # libpulse calls these from its thread as long as the stream lives: they must outlive it
        self._on_change = _NOTIFY(lambda _object, _userdata: self._wake())
        self._on_request = _REQUEST(lambda _stream, _nbytes, _userdata: self._wake())
        self._on_underflow = _NOTIFY(lambda _stream, _userdata: self._underflow())
        self._on_timing = _SUCCESS(lambda _stream, _success, _userdata: self._answered())
        self._on_deadline = _TIME_EVENT(lambda _api, _event, _tv, _userdata: self._give_up())
        self._connect_s = connect_s
        self._unanswered = False  # `connect_s` passed: connecting waits no longer
        self._timing: tuple[int, float] | None = None  # a timing request on its way: the operation, when asked
        self._answered_s: float | None = None  # when its answer came
        self._mainloop = self._lib.pa_threaded_mainloop_new()
        self._context: int | None = None
        self._stream: int | None = None
        self._thread: threading.Thread | None = None
        try:
            self.sink, self.tlength_s = self._connect(sink, name, tlength_s)
        except PulseError:
            self.close()
            raise
        self._thread = threading.Thread(target=self._write_blocks, name="pulse-writer", daemon=True)
        self._thread.start()

    def _connect(self, sink: str | None, name: str, tlength_s: float) -> tuple[PulseSink, float]:
        """The sink the stream plays on, and the buffer length granted."""
        lib, mainloop = self._lib, self._mainloop
        if not mainloop or lib.pa_threaded_mainloop_start(mainloop) < 0:
            raise PulseError("cannot start libpulse's event loop")
        lib.pa_threaded_mainloop_lock(mainloop)
        try:
            self._context = lib.pa_context_new(lib.pa_threaded_mainloop_get_api(mainloop), name.encode())
            lib.pa_context_set_state_callback(self._context, self._on_change, None)
            # fires once, a harmless wake-up if the stream is playing by then: freed with the loop
            lib.pa_context_rttime_new(self._context, lib.pa_rtclock_now() + round(self._connect_s * 1e6),
                                      self._on_deadline, None)
            if lib.pa_context_connect(self._context, None, _CONTEXT_NOAUTOSPAWN, None) < 0:
                raise self._error("cannot connect to the PulseAudio server")
            self._wait_for(lambda: lib.pa_context_get_state(self._context), _CONTEXT_READY, _CONTEXT_ENDED,
                           "cannot connect to the PulseAudio server")
            spec = _SampleSpec(_SAMPLE_S16LE, self._fmt.rate, self._fmt.channels)
            self._stream = lib.pa_stream_new(self._context, name.encode(), ctypes.byref(spec), None)
            if not self._stream:
                raise self._error(f"cannot make a PulseAudio stream of {self._fmt.describe()}")
            lib.pa_stream_set_state_callback(self._stream, self._on_change, None)
            lib.pa_stream_set_write_callback(self._stream, self._on_request, None)
            lib.pa_stream_set_underflow_callback(self._stream, self._on_underflow, None)
            tlength_bytes = self._fmt.samples_for(tlength_s) * self._fmt.bytes_per_frame
            # no prebuffering: a stream that runs dry plays on (silence), and the blocks that come too late for
            # their time are dropped by the server, instead of the whole stream stopping and playing later: frame n
            # always plays at frame 0's time + n / rate, an underflow or not, and the fit holds
            attr = _BufferAttr(_NO_VALUE, tlength_bytes, 0, self._block_bytes, _NO_VALUE)
            where = f"PulseAudio sink {sink}" if sink else "the default PulseAudio sink"
            # a sink named stays the stream's: when it goes away the stream ends, instead of the server moving it
            # to its default sink, another room's speaker maybe; on the default sink, it follows the default
            flags = _STREAM_FLAGS | (_STREAM_DONT_MOVE if sink else 0)
            if lib.pa_stream_connect_playback(self._stream, sink.encode() if sink else None, ctypes.byref(attr),
                                              flags, None, None) < 0:
                raise self._error(f"cannot play on {where}")
            self._wait_for(lambda: lib.pa_stream_get_state(self._stream), _STREAM_READY, _STREAM_ENDED,
                           f"cannot play on {where}")
            granted = lib.pa_stream_get_buffer_attr(self._stream).contents.tlength
            sink_name = lib.pa_stream_get_device_name(self._stream)
            return (PulseSink(sink_name.decode(), self._sink_channels(sink_name)),
                    granted / self._fmt.bytes_per_frame / self._fmt.rate)
        finally:
            lib.pa_threaded_mainloop_unlock(mainloop)

    def _sink_channels(self, sink_name: bytes) -> int:
        """The channels of the sink the stream plays on, asked of the server (the mainloop's lock held); the
        stream's own if the server does not say."""
        channels = [self._fmt.channels]

        def note(_context: int, info: int, eol: int, _userdata: int) -> None:
            if info and not eol:
                channels[0] = ctypes.cast(info, ctypes.POINTER(_SinkInfoHead)).contents.sample_spec.channels
            self._wake()

        on_info = _SINK_INFO(note)  # kept alive until the operation is done
        operation = self._lib.pa_context_get_sink_info_by_name(self._context, sink_name, on_info, None)
        if operation:
            try:
                self._wait_for(lambda: self._lib.pa_operation_get_state(operation), _OPERATION_DONE,
                               (_OPERATION_CANCELLED,), "cannot ask PulseAudio about its sink")
            except PulseError:
                pass  # no answer: the stream plays all the same, as its own channels
            finally:
                self._lib.pa_operation_unref(operation)
        return channels[0]

    def _wait_for(self, state: Callable[[], int], ready: int, ended: tuple[int, ...], what: str) -> None:
        """Wait (the mainloop's lock held) until `state` is `ready`; PulseError saying `what` if it ends instead,
        or if the server has not answered within `connect_s` of connecting."""
        while (now := state()) != ready:
            if now in ended:
                raise self._error(what)
            if self._unanswered:
                raise PulseError(f"{what}: no answer within {self._connect_s:g} s")
            self._lib.pa_threaded_mainloop_wait(self._mainloop)

    def _error(self, what: str) -> PulseError:
        code = self._lib.pa_context_errno(self._context) if self._context else 0
        return PulseError(f"{what}: {self._lib.pa_strerror(code).decode()}")

    # --- in libpulse's thread, its lock held ---------------------------------------------------------------

    def _wake(self) -> None:
        self._lib.pa_threaded_mainloop_signal(self._mainloop, 0)

    def _answered(self) -> None:
        self._answered_s = time.monotonic()
        self._wake()

    def _give_up(self) -> None:
        self._unanswered = True
        self._wake()

    def _underflow(self) -> None:
        self.underflows += 1
        self._wake()

    # --- the writer thread --------------------------------------------------------------------------------

    def _write_blocks(self) -> None:
        self.priority_note = pace_in_real_time()
        lib, mainloop = self._lib, self._mainloop
        next_update_s = 0.0
        lib.pa_threaded_mainloop_lock(mainloop)
        try:
            while not self._stopping and self._connected():
                if self._timing is not None:
                    self._collect_snapshot()
                writable = lib.pa_stream_writable_size(self._stream)
                if writable == _SIZE_ERROR:
                    return
                if writable < self._block_bytes:
                    lib.pa_threaded_mainloop_wait(mainloop)
                    continue
                now = time.monotonic()
                if self._timing is None and now >= next_update_s:
                    self._ask_snapshot(now)
                    next_update_s = now + UPDATE_S if self.clock.line is not None else now
                dac_s = self.clock.frame_time_s(self._written_frames)
                if dac_s is None:
                    dac_s = self._guess_s(now)
                lib.pa_threaded_mainloop_unlock(mainloop)
                try:
                    data = self._fill_block(dac_s)
                finally:
                    lib.pa_threaded_mainloop_lock(mainloop)
                if lib.pa_stream_write(self._stream, data, len(data), None, 0, _SEEK_RELATIVE) < 0:
                    return
                self._written_frames += self._block_frames
        finally:
            if self._timing is not None:
                lib.pa_operation_unref(self._timing[0])
                self._timing = None
            lib.pa_threaded_mainloop_unlock(mainloop)

    def _connected(self) -> bool:
        return (self._lib.pa_context_get_state(self._context) == _CONTEXT_READY
                and self._lib.pa_stream_get_state(self._stream) == _STREAM_READY)

    def _fill_block(self, dac_s: float) -> bytes:
        try:
            data = self._fill(self._block_frames, dac_s)
            if len(data) == self._block_bytes:
                return data
        except Exception:
            pass
        self.errors += 1
        return bytes(self._block_bytes)

    def _ask_snapshot(self, now: float) -> None:
        """Ask the server where the stream is; a later turn of the writer collects the answer."""
        operation = self._lib.pa_stream_update_timing_info(self._stream, self._on_timing, None)
        if not operation:
            self.errors += 1
            return
        self._timing = (operation, now)
        self._answered_s = None

    def _collect_snapshot(self) -> None:
        """Once the server answered: hand the snapshot to the clock if it is valid: the stream plays (not in its
        first milliseconds, nor while its sink starts), and the server knows its read index."""
        assert self._timing is not None
        operation, asked_s = self._timing
        answered_s = self._answered_s
        if answered_s is None or self._lib.pa_operation_get_state(operation) == _OPERATION_RUNNING:
            return
        self._lib.pa_operation_unref(operation)
        self._timing = None
        info = self._lib.pa_stream_get_timing_info(self._stream)
        if not info or not info.contents.playing or info.contents.read_index_corrupt:
            return
        timing = info.contents
        taken_s = timing.timestamp.tv_sec + timing.timestamp.tv_usec / 1e6 - self._wall_offset_s
        read_s = timing.read_index / self._fmt.bytes_per_frame / self._fmt.rate
        self.clock.add(Snapshot(taken_s, taken_s + timing.sink_usec / 1e6 - read_s, answered_s - asked_s))

    def _guess_s(self, now: float) -> float:
        """Before the clock knows (the stream's first few blocks): libpulse's own latency figure, a millisecond
        or so off, or failing that (no timing yet at all) the buffer's length."""
        latency_us, negative = ctypes.c_uint64(), ctypes.c_int()
        if self._lib.pa_stream_get_latency(self._stream, ctypes.byref(latency_us), ctypes.byref(negative)) < 0:
            return now + self.tlength_s
        return now + (-1 if negative.value else 1) * latency_us.value / 1e6

    # --- any thread -----------------------------------------------------------------------------------------

    def is_active(self) -> bool:
        """False once the stream ended: it failed, or its server went away."""
        return self._thread is not None and self._thread.is_alive()

    def close(self) -> None:
        """Stop the writer, disconnect, and free libpulse's loop. If the writer is stuck in `fill`, everything is
        left to the process's exit rather than freed under it."""
        lib, mainloop = self._lib, self._mainloop
        if not mainloop:
            return
        if self._thread is not None:
            lib.pa_threaded_mainloop_lock(mainloop)
            self._stopping = True
            self._wake()
            lib.pa_threaded_mainloop_unlock(mainloop)
            self._thread.join(JOIN_S)
            if self._thread.is_alive():
                return
        lib.pa_threaded_mainloop_lock(mainloop)
        if self._stream:
            lib.pa_stream_disconnect(self._stream)
            lib.pa_stream_unref(self._stream)
            self._stream = None
        if self._context:
            lib.pa_context_disconnect(self._context)
            lib.pa_context_unref(self._context)
            self._context = None
        lib.pa_threaded_mainloop_unlock(mainloop)
        lib.pa_threaded_mainloop_stop(mainloop)
        lib.pa_threaded_mainloop_free(mainloop)
        self._mainloop = None
