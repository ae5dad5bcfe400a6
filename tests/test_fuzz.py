"""Every parser of what comes from outside (RTP, FEC repair packets, RTCP and its APP packets, time sync, SAP,
SDP, console lines, the listener parts that take datagrams, the station's HTTP API) fuzzed with Hypothesis:
whatever the input, only the project's own error comes out (WireError on the wire, CommandError at the console),
never a crash; what parses is in range and serializes back.

Each example of a parser's test feeds it several inputs: a valid one, which must round-trip; the same damaged
(headers that lie about their flags, counts and lengths; bytes overwritten, inserted, cut off); and one that is
anything at all. Descriptions and command lines are made of the lines and words their parsers know, with values
in range and out of it.

Hypothesis's cost is per draw, so strategies draw little: fields of a packet come from one blob of bytes, lines
and words from pools made at import. FUZZ_EXAMPLES sets how many examples each test runs: 10,000 in `make test`
(and so in CI), a million in `make fuzz`; unset, as in a plain `pytest` or its fast part (`-m "not e2e"`),
DEFAULT_EXAMPLES, enough to catch a parser broken outright in seconds.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import os
import struct
from collections.abc import Callable
from typing import TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from listener.directory import Directory
from listener.fec_decoder import FecDecoder
from listener.receiver import Receiver, ReceiverConfig
from rtpwire.audio import L16_STEREO, AudioFormat
from rtpwire.errors import WireError
from rtpwire.fec import MAX_BLOCK_PACKETS, MIN_SYMBOL_BYTES, RepairPayload
from rtpwire.net import check_group
from rtpwire.nowplaying import APP_NAME, MAX_LATENCY_US, MAX_TITLE_BYTES, NowPlaying
from rtpwire.rtcp import (MAX_COUNT, PT_APP, PT_BYE, PT_RR, PT_SDES, PT_SR, SDES_CNAME, SDES_NAME, SDES_NOTE, App, Bye,
                          ReceiverReport, ReportBlock, RtcpPacket, SdesChunk, SenderReport, SourceDescription, compound,
                          parse_compound)
from rtpwire.rtp import RtpPacket
from rtpwire.sap import SDP_TYPE, SapPacket
from rtpwire.sdp import MAX_RATE, Origin, StreamDescription
from rtpwire.timesync import MAGIC, PACKET, TimeRequest, TimeResponse
from station.console import (ALIASES, COMMANDS, MAX_SEEK_S, About, Choice, CommandError, CommandName, Commands,
                             Paths, Percent, Positions, Seek, SeekTarget, Words, argument_choices, parse_command,
                             takes_paths)
from station.fec_encoder import FecEncoder
from station.queue import REPEAT_MODES
from station.status_document import Identity, encode, history_document, status_document
from station.web_api import EVENTS, Reply, Request, WebApi

DEFAULT_EXAMPLES = 500
# No deadline: the CI machine is shared, and a slow example is not a wrong one. No example database: each run
# explores afresh and leaves nothing behind; a failure prints the input it shrank to.
settings.register_profile("fuzz", max_examples=int(os.environ.get("FUZZ_EXAMPLES", DEFAULT_EXAMPLES)),
                          deadline=None, database=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FUZZ = settings.get_profile("fuzz")

T = TypeVar("T")
U = TypeVar("U")
SSRCS = st.sampled_from([1, 2, 0xDEAD_BEEF])  # few, so that packets of one source meet
ARBITRARY = st.binary(max_size=200)


def blob(size: int) -> st.SearchStrategy[bytes]:
    """`size` bytes in one draw, to cut fields from; they shrink to zeros."""
    return st.binary(min_size=size, max_size=size)


def parsed_or_refused(parse: Callable[[T], U], data: T) -> U | None:
    """What `parse` makes of `data`, or None if it refused it with a WireError that says something; any other
    exception escapes, and fails the test."""
    try:
        return parse(data)
    except WireError as error:
        assert str(error), "a WireError must say what is wrong"
        return None


# --- damage ---------------------------------------------------------------------------------------------------

# Each a number: its low 2 bits say what, the next 8 the byte, the rest where.
MUTATIONS = st.lists(st.integers(0, (1 << 26) - 1), max_size=2)
SET, TRUNCATE, INSERT, DELETE = range(4)


def mutate(data: bytes, mutations: list[int]) -> bytes:
    """`data` with bytes overwritten, inserted, deleted, or cut off: what a bad link or a hostile sender makes."""
    out = bytearray(data)
    for mutation in mutations:
        kind, value, position = mutation & 3, (mutation >> 2) & 0xFF, mutation >> 10
        if kind == SET and out:
            out[position % len(out)] = value
        elif kind == TRUNCATE:
            del out[position % (len(out) + 1):]
        elif kind == INSERT:
            out.insert(position % (len(out) + 1), value)
        elif kind == DELETE and out:
            del out[position % len(out)]
    return bytes(out)


# --- RTP ------------------------------------------------------------------------------------------------------

def rtp_packet(header: bytes, csrc: bytes, payload: bytes,
               extensions: list[tuple[int, bytes]]) -> RtpPacket:
    """A packet with the marker, type, sequence, timestamp and SSRC of `header`'s 12 bytes, as many CSRCs (at most
    15) as `csrc` has whole words, and one-byte header extension elements."""
    _, second, sequence, timestamp, ssrc = struct.unpack("!BBHII", header)
    count = min(15, len(csrc) // 4)
    return RtpPacket(payload_type=second & 0x7F, sequence=sequence, timestamp=timestamp, ssrc=ssrc, payload=payload,
                     marker=bool(second & 0x80), csrc=struct.unpack(f"!{count}I", csrc[:4 * count]),
                     extensions=tuple(extensions))


EXTENSION_ELEMENTS = st.lists(st.tuples(st.integers(1, 14), st.binary(min_size=1, max_size=16)), max_size=3)
RTP_PACKETS = st.builds(rtp_packet, blob(12), st.binary(max_size=64), st.binary(max_size=64), EXTENSION_ELEMENTS)


def with_extras(packet: RtpPacket, extras: bytes) -> tuple[bytes, bool]:
    """`packet` as another sender might send it, and whether it is still honest (so parses to `packet`). Per
    `extras[0]`'s bits: a header extension (bit 0) of `extras[1] % 4` words, claiming that length, or (bit 1) the
    16 bits of extras[2:4]; padding (bit 2) of `extras[4]` bytes, counted by its last byte or (bit 3) not; another
    version (bits 4-5); another CSRC count (bit 6: `extras[5] % 16`)."""
    flags = extras[0]
    data = bytearray(bytes(packet))
    honest = True
    if flags & 0x01:
        words = extras[1] % 4
        claimed = int.from_bytes(extras[2:4], "big") if flags & 0x02 else words
        at = 12 + 4 * len(packet.csrc)
        data[at:at] = b"\xbe\xde" + claimed.to_bytes(2, "big") + bytes(4 * words)
        data[0] |= 0x10
        honest = claimed == words and not packet.extensions  # the packet's own extension would become payload
    if flags & 0x04:
        count, counted = extras[4], not flags & 0x08
        data += bytes(max(0, count - 1)) + bytes([count]) if counted else bytes([count])
        data[0] |= 0x20
        honest = honest and counted and count > 0
    if flags & 0x30:
        data[0] ^= (flags & 0x30) << 2
        honest = False
    if flags & 0x40:
        data[0] = (data[0] & 0xF0) | extras[5] % 16
        honest = honest and extras[5] % 16 == len(packet.csrc)
    return bytes(data), honest


@FUZZ
@given(RTP_PACKETS, blob(6), MUTATIONS, ARBITRARY)
def test_rtp(packet: RtpPacket, extras: bytes, mutations: list[int], arbitrary: bytes) -> None:
    """A packet round-trips, and parses to itself with an extension and padding; damaged or arbitrary datagrams
    parse to packets that serialize back, or raise WireError."""
    assert RtpPacket.parse(bytes(packet)) == packet
    decorated, honest = with_extras(packet, extras)
    if honest:
        assert RtpPacket.parse(decorated) == packet
    for data in (decorated, mutate(decorated, mutations), arbitrary):
        parsed = parsed_or_refused(RtpPacket.parse, data)
        if parsed is not None:
            assert len(parsed.payload) <= len(data) - 12 - 4 * len(parsed.csrc)
            assert RtpPacket.parse(bytes(parsed)) == parsed  # what was kept serializes back


# --- FEC repair packets ---------------------------------------------------------------------------------------

def repair_payload(fields: bytes, symbol: bytes) -> RepairPayload:
    """A valid payload with the SSRC (one of SSRCS, by `fields[0]`), timestamp and first sequence number of
    `fields`' 13 bytes, and K, N and index brought in range; `symbol` padded to the shortest a block has."""
    which, timestamp, sequence, k, spread, index = struct.unpack("!IIHBBB", fields)
    k = 1 + k % (MAX_BLOCK_PACKETS - 1)
    n = k + 1 + spread % (MAX_BLOCK_PACKETS - k)
    return RepairPayload([1, 2, 0xDEAD_BEEF][which % 3], timestamp, sequence, k, n, k + index % (n - k),
                         symbol + bytes(MIN_SYMBOL_BYTES - len(symbol)) if len(symbol) < MIN_SYMBOL_BYTES else symbol)


REPAIR_PAYLOADS = st.builds(repair_payload, blob(13), st.binary(max_size=64))


@FUZZ
@given(REPAIR_PAYLOADS, MUTATIONS, ARBITRARY)
def test_fec_repair(payload: RepairPayload, mutations: list[int], arbitrary: bytes) -> None:
    """A repair payload round-trips; damaged or arbitrary, it parses to one in range, every byte of which means
    something, or raises WireError."""
    assert RepairPayload.parse(bytes(payload)) == payload
    for data in (mutate(bytes(payload), mutations), arbitrary):
        parsed = parsed_or_refused(RepairPayload.parse, data)
        if parsed is not None:
            assert 1 <= parsed.k < parsed.n <= MAX_BLOCK_PACKETS and parsed.k <= parsed.index < parsed.n
            assert bytes(parsed) == data


# A station's stream (SSRC 1, sequence numbers from 100, sources of several lengths) in blocks of 4 of 6, and the
# repairs it sends: 2 for each block.
FEC_SOURCES = [bytes(RtpPacket(96, 100 + i, 480 * i, 1, payload=bytes(range(7 * i % 50)))) for i in range(8)]
_FEC_ENCODER = FecEncoder(4, 6, ssrc=9, payload_type=127, first_sequence=0)
FEC_REPAIRS = [repair for source in FEC_SOURCES for repair in _FEC_ENCODER.add(source)]


def near_the_stream(payload: RepairPayload) -> bytes:
    """A made-up repair datagram for a block that starts among the stream's sequence numbers, or near them."""
    made_up = RepairPayload(payload.source_ssrc, payload.first_timestamp, 96 + payload.first_sequence % 16,
                            payload.k, payload.n, payload.index, payload.symbol)
    return bytes(RtpPacket(127, 0, 0, 9, payload=bytes(made_up)))


REPAIR_DATAGRAMS = st.one_of(st.sampled_from(FEC_REPAIRS),
                             st.builds(mutate, st.sampled_from(FEC_REPAIRS), MUTATIONS),
                             REPAIR_PAYLOADS.map(near_the_stream), ARBITRARY)


@FUZZ
@given(st.integers(0, 255), st.lists(REPAIR_DATAGRAMS, min_size=1, max_size=4))
def test_fec_decoder(lost: int, repairs: list[bytes]) -> None:
    """The stream's sources but the `lost` ones (a bit each), its repairs, damaged, made up or anything, in the
    middle: rebuilt or counted, never a crash; what is rebuilt is a packet of the stream that had not arrived,
    each once. Not always the station's: Hypothesis finds made-up repairs that rebuild a packet with the right
    header, as a forger can (the code is linear; only SRTP stops that: test_fec_decoder.py)."""
    decoder = FecDecoder()
    sources = [source for i, source in enumerate(FEC_SOURCES) if not lost >> i & 1]
    held: set[bytes] = set()  # arrived or rebuilt so far
    rebuilt = []
    for is_source, datagram in [(True, d) for d in sources[:4]] + [(False, d) for d in repairs] + \
            [(True, d) for d in sources[4:]]:
        if is_source:
            held.add(datagram)
        out = decoder.on_source(datagram) if is_source else decoder.on_repair(datagram)
        assert len(set(out)) == len(out) and not set(out) & held
        held |= set(out)
        rebuilt += out
    assert all(RtpPacket.parse(datagram).ssrc == 1 for datagram in rebuilt)  # a packet of the stream
    stats = decoder.stats()
    assert stats["repair_received"] == len(repairs) and stats["packets_rebuilt"] == len(rebuilt)
    assert stats["repair_malformed"] + stats["repair_foreign"] + stats["repair_stale"] <= len(repairs)


# --- RTCP -----------------------------------------------------------------------------------------------------

def report_block(data: bytes) -> ReportBlock:
    ssrc, fraction_lost, highest, jitter, last_sr, dlsr = struct.unpack("!IB3xIIII", data)
    return ReportBlock(ssrc, fraction_lost, int.from_bytes(data[5:8], "big", signed=True), highest, jitter, last_sr,
                       dlsr)


def sender_report(ssrc: int, data: bytes, reports: tuple[ReportBlock, ...]) -> SenderReport:
    return SenderReport(ssrc, *struct.unpack("!QIII", data), reports=reports)


BLOCK_LISTS = st.lists(blob(24).map(report_block), max_size=2).map(tuple)  # up to 31 are legal; 2 reach every path
SHORT_TEXT = st.text(max_size=12)  # well within the 255 bytes an SDES item or a BYE reason holds
SENDER_REPORTS = st.builds(sender_report, SSRCS, blob(20), BLOCK_LISTS)


def sdes_chunk(ssrc: int, texts: list[str]) -> SdesChunk:
    """A chunk of items with `texts`, of types CNAME, NAME, NOTE and one no one defined, in turn."""
    kinds = (SDES_CNAME, SDES_NAME, SDES_NOTE, 255)
    return SdesChunk(ssrc, tuple((kinds[i % len(kinds)], text) for i, text in enumerate(texts)))


RTCP_PACKETS = st.one_of(
    SENDER_REPORTS,
    st.builds(ReceiverReport, SSRCS, BLOCK_LISTS),
    st.builds(SourceDescription, st.lists(st.builds(sdes_chunk, SSRCS, st.lists(SHORT_TEXT, max_size=2)),
                                          max_size=2).map(tuple)),
    st.builds(Bye, st.lists(SSRCS, max_size=2).map(tuple), SHORT_TEXT),
    st.builds(lambda ssrc, kind, data: App(ssrc, *kind, data + bytes(-len(data) % 4)), SSRCS,
              st.sampled_from(list(itertools.product([APP_NAME, b"abcd"], range(MAX_COUNT + 1)))),  # name, subtype
              st.binary(max_size=12)),
)
# Each a number: which packet's header lies (mod the count), about what (mod 5), and a value (the rest).
RTCP_LIES = st.lists(st.integers(0, (1 << 24) - 1), max_size=2)
TYPES = [PT_SR, PT_RR, PT_SDES, PT_BYE, PT_APP, 205, 206, 207, 0, 255]


def with_lies(packets: list[RtcpPacket], lies: list[int]) -> bytes:
    """The compound packet, with headers lying about their version, padding, count, type or length."""
    raws = [bytearray(bytes(packet)) for packet in packets]
    for lie in lies:
        raw, what, value = raws[lie % len(raws)], (lie >> 2) % 5, lie >> 5
        if what == 0:
            raw[0] = (raw[0] & 0x3F) | (value & 0xC0)
        elif what == 1:  # the padding flag, and padding whose last byte counts it (or not)
            raw[0] |= 0x20
            raw += bytes(3) + bytes([value & 0xFF])
            raw[2:4] = ((len(raw) - 4) // 4).to_bytes(2, "big")
        elif what == 2:
            raw[0] = (raw[0] & 0xE0) | (value & 0x1F)
        elif what == 3:
            raw[1] = TYPES[value % len(TYPES)]
        else:  # a length a few words off, or anything
            words = int.from_bytes(raw[2:4], "big") + (value & 7) - 4 if value & 8 else value >> 4
            raw[2:4] = max(0, words & 0xFFFF).to_bytes(2, "big")
    return b"".join(raws)


def check_rtcp(packets: list[RtcpPacket]) -> None:
    """What parsed serializes again, and once serialized (texts made valid UTF-8 and cut to 255 bytes, data padded
    to 32 bits) parses to itself."""
    if packets:
        again = parse_compound(compound(*packets))
        assert [type(p) for p in again] == [type(p) for p in packets]
        assert parse_compound(compound(*again)) == again


@FUZZ
@given(st.lists(RTCP_PACKETS, min_size=1, max_size=3), RTCP_LIES, MUTATIONS, ARBITRARY)
def test_rtcp(packets: list[RtcpPacket], lies: list[int], mutations: list[int], arbitrary: bytes) -> None:
    """Compound packets round-trip; with lying headers, damaged, or arbitrary, they parse to packets that
    serialize back, or raise WireError."""
    assert parse_compound(compound(*packets)) == packets
    for data in (mutate(with_lies(packets, lies), mutations), arbitrary):
        parsed = parsed_or_refused(parse_compound, data)
        if parsed is not None:
            check_rtcp(parsed)


# --- the station's state, in RTCP APP ---------------------------------------------------------------------

TITLES = st.text(st.characters(min_codepoint=1, exclude_categories=("Cs",)), max_size=70)  # NULs are padding
# Paused (low bit) and the latency (the rest; 0: none announced) as one number.
STATES = st.builds(lambda state, title: NowPlaying(bool(state & 1), title, state >> 1 or None),
                   st.integers(0, 2 * MAX_LATENCY_US + 1), TITLES)


def rdio_data(header: int, title: bytes) -> bytes:
    """The data of an APP packet named RDIO, from `header`'s bits: flags (any, low 8 bits), a latency (in range if
    bit 8, else anything: bits 11 and up) whole or (bits 9-10) cut short; then `title`, in UTF-8 or not; padded."""
    latency = 1 + (header >> 11) % MAX_LATENCY_US if header & 0x100 else (header >> 11) & 0xFFFF_FFFF
    data = bytes([header & 0xFF]) + latency.to_bytes(4, "big")[:[4, 0, 2, 3][(header >> 9) & 3]] + title
    return data + bytes(-len(data) % 4)


# Each (SSRC, name) one draw: Hypothesis's cost is per draw.
APPS = st.builds(lambda source, data: App(*source, data=data),
                 st.sampled_from(list(itertools.product([1, 2, 0xDEAD_BEEF], [APP_NAME, APP_NAME, b"RDIo"]))),
                 st.builds(rdio_data, st.integers(0, (1 << 43) - 1),
                           st.binary(max_size=20) | st.text(max_size=20).map(str.encode)))


@FUZZ
@given(STATES, APPS, ARBITRARY)
def test_now_playing(state: NowPlaying, app: App, arbitrary: bytes) -> None:
    """A state round-trips through RTCP as the station sends it (a long title cut at a character); other APP
    packets read as a state in range, or raise WireError."""
    ssrc = app.ssrc
    [sent] = parse_compound(bytes(state.to_app(ssrc)))
    title = state.title.encode()[:MAX_TITLE_BYTES].decode("utf-8", "ignore")
    assert NowPlaying.from_app(sent) == NowPlaying(state.paused, title, state.latency_us)
    for received in (app, App(ssrc, APP_NAME, data=arbitrary)):
        parsed = parsed_or_refused(NowPlaying.from_app, received)
        if parsed is None:
            continue
        assert parsed.latency_us is None or 0 < parsed.latency_us <= MAX_LATENCY_US
        if len(parsed.title.encode()) <= MAX_TITLE_BYTES:  # longer ones are cut when sent again
            assert NowPlaying.from_app(parsed.to_app(ssrc)) == parsed


# --- time sync ----------------------------------------------------------------------------------------------

# Magic, version, kind, reserved: each right or wrong; and whether a request's t1 and t2 are zero. One draw.
TIMESYNC_HEADERS = st.sampled_from(list(itertools.product([MAGIC, MAGIC, b"RDTs"], [1, 1, 0, 2], range(4),
                                                          [0, 0, 1, 0xFFFF], [True, False])))


@FUZZ
@given(blob(24), TIMESYNC_HEADERS, MUTATIONS, ARBITRARY)
def test_timesync(times: bytes, header: tuple, mutations: list[int], arbitrary: bytes) -> None:
    """Requests and responses round-trip; packets with any field wrong, damaged, or arbitrary parse to exactly
    what they are, or raise WireError."""
    t0, t1, t2 = struct.unpack("!QQQ", times)
    assert TimeRequest.parse(bytes(TimeRequest(t0))) == TimeRequest(t0)
    assert TimeResponse.parse(bytes(TimeResponse(t0, t1, t2))) == TimeResponse(t0, t1, t2)
    *fields, zeros = header
    for data in (mutate(PACKET.pack(*fields, t0, *((0, 0) if zeros else (t1, t2))), mutations), arbitrary):
        for kind in (TimeRequest, TimeResponse):
            parsed = parsed_or_refused(kind.parse, data)
            if parsed is not None:
                assert bytes(parsed) == data  # every bit of a valid packet means something


# --- SDP ------------------------------------------------------------------------------------------------------

# Numbers as parsers meet them: in range, on the edges and past them, and what only looks like one (str.isdigit
# passes Unicode digits, which int() refuses; int() refuses more than 4300 digits; float() reads 400 as inf).
NUMBER_SAMPLES = ["0", "1", "2", "5", "10", "11", "96", "97", "127", "128", "255", "256", "5004", "65534", "65535",
                  "44100", "48000", "384000", "384001", "4294967296", "-1", "+5", "0x10", "1_0", "1e3", "1.5", "nan",
                  "inf", "", "²", "١٢", "٣", "0" * 20 + "5", "9" * 20, "1" * 400, "0" * 4301, "7" * 4301, "x"]
ANY_VALUE = st.text(max_size=20)
MULTICAST = st.integers(0xE000_0000, 0xEFFF_FFFF).map(lambda n: str(ipaddress.IPv4Address(n)))
ADDRESSES = ["239.255.1.2", "224.2.1.1", "10.0.0.1", "255.255.255.255", "ff15::1", "*", "239.1.2", ""]


def combinations(template: str, *choices: list[str]) -> list[str]:
    return [template.format(*values) for values in itertools.product(*choices)]


def sdp_line(start: str, right: list[str], wrong: list[str],
             anything: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A line, mostly one of the `right` ones, so that a description gets deep before something in it is wrong;
    else one of the `wrong` ones, or `anything`: random values in the line's form."""
    right_ones = st.sampled_from(right)
    return st.one_of(*[right_ones] * 6, st.sampled_from(wrong), anything).map(start.__add__)


# Each kind of line the parser reads: a few right forms, many wrong ones (each wrong value in each place), and the
# form with random numbers.
ORIGIN_LINES = sdp_line("o=", ["- 1 1 IN IP4 10.0.0.5", "- 2970755911 1 IN IP4 127.0.0.1", "u 7 2 IN IP6 ::1"],
                        combinations("- {} 1 {} IP4 {}", NUMBER_SAMPLES, ["IN", "XX"], ADDRESSES)
                        + ["", "-", "a b c d e", "a b c IN IP4 x y", "\u3000 1 1 IN IP4 10.0.0.5"],
                        st.text(max_size=30))
CONNECTION_LINES = sdp_line("c=", ["IN IP4 239.255.1.2/1", "IN IP4 239.255.1.2", "IN IP4 224.2.1.1/127/3"],
                            combinations("{} {}{}", ["IN IP4", "IN IP6", "XX IP4", "IN", "IN IP4 IP4"], ADDRESSES,
                                         ["", "/", "/1/2/3", *("/" + number for number in NUMBER_SAMPLES)]),
                            st.builds("IN IP4 {}/{}".format, MULTICAST, st.integers(0, 300)))
MEDIA_LINES = sdp_line("m=", ["audio 5004 RTP/AVP 10", "audio 5004 RTP/AVP 97", "audio 5004 RTP/SAVP 11 97",
                              "audio 6100/2 RTP/AVP 96 10", "video 5000 RTP/AVP 96"],
                       combinations("{} {} {} {}", ["audio", "video"], NUMBER_SAMPLES,
                                    ["RTP/AVP", "RTP/SAVP", "udp"], ["10", "97", "", "10 97"])
                       + combinations("audio 5004 RTP/AVP {}", NUMBER_SAMPLES) + ["audio", "audio 5004 RTP/AVP"],
                       st.builds("audio {} RTP/AVP {}".format, st.integers(0, 70_000), st.integers(0, 130)))
RTPMAP_LINES = sdp_line("a=rtpmap:", ["97 L16/48000/2", "96 L16/44100", "97 l16/8000/1", "96 PCMU/8000",
                                      "10 L16/44100/2"],
                        combinations("{} L16/{}", NUMBER_SAMPLES, ["44100", "44100/2"])
                        + combinations("97 {}/{}", ["L16", "opus", ""], NUMBER_SAMPLES)
                        + combinations("97 L16/48000/{}", NUMBER_SAMPLES) + ["97", "97 L16", "L16/48000"],
                        st.builds("{} L16/{}/{}".format, st.integers(0, 130), st.integers(0, 400_000),
                                  st.integers(0, 3)))
PTIME_LINES = sdp_line("a=ptime:", ["5", "20", "2.5"], NUMBER_SAMPLES + ["-5", "1e-300", "1001", "0.0"],
                       st.floats().map(str))
SOURCE_FILTER_LINES = sdp_line("a=source-filter: ", ["incl IN IP4 239.255.1.2 10.0.0.1", "incl IN IP4 * 127.0.0.1"],
                               combinations("{} IN {} * {}", ["incl", "excl"], ["IP4", "IP6"], ADDRESSES)
                               + ["incl IN IP4 * 10.0.0.1 10.0.0.2", "incl", ""],
                               st.builds("incl IN IP4 * {}".format, st.integers(0, 0xFFFF_FFFF)))
OTHER_LINES = st.sampled_from(["t=0 0", "a=recvonly", "b=AS:1536", "v=0", "m=", "a=rtpmap:", "a=tool:x", "s=",
                               "i=title", "", " ", "=", "x", "x=", "é=1", "a=tool:\0"]) | ANY_VALUE
MEDIA_SECTION_LINES = st.lists(st.one_of(RTPMAP_LINES, PTIME_LINES, CONNECTION_LINES, SOURCE_FILTER_LINES,
                                         OTHER_LINES), max_size=2)
MORE_SESSION_LINES = st.lists(SOURCE_FILTER_LINES | OTHER_LINES, max_size=1)
MEDIA_COUNTS, MISHAPS, LINE_ENDS = st.integers(0, 2), st.integers(0, 9), st.sampled_from(["\r\n", "\n"])


@st.composite
def sdp_texts(draw: st.DrawFn) -> str:
    """A description made of the lines the parser knows, with values in range or not; now and then one line
    missing, or all of them shuffled."""
    lines = ["v=0", draw(ORIGIN_LINES), "s=Radio", draw(CONNECTION_LINES), "t=0 0", *draw(MORE_SESSION_LINES)]
    for _ in range(draw(MEDIA_COUNTS)):
        lines += [draw(MEDIA_LINES), *draw(MEDIA_SECTION_LINES)]
    mishap = draw(MISHAPS)
    if mishap == 0:
        del lines[draw(st.integers(0, len(lines) - 1))]
    elif mishap == 1:
        lines = draw(st.permutations(lines))
    return draw(LINE_ENDS).join(lines) + "\r\n"


# Alphabets as few intervals of code points, which Hypothesis draws from quickest.
WORD = st.characters(min_codepoint=0x21, max_codepoint=0x17F, exclude_categories=("Cc", "Zs"))  # no whitespace
ONE_LINE = st.characters(min_codepoint=0x20, max_codepoint=0x2027, exclude_categories=("Cc",))  # no line end
USERNAMES = st.text(WORD, min_size=1, max_size=10)  # the first field of o=


def description(numbers: bytes, username: str, name: str, texts: str) -> StreamDescription:
    """A valid description with the texts given (`texts` cut in two: the title and the tool), its numbers cut from
    `numbers`' 32 bytes."""
    group, source, rate, port, kind, ttl, ptime, flags, session, version, address = struct.unpack(
        "!IIIHBBHHIII", numbers)
    cut = (flags >> 8) % (len(texts) + 1)
    return StreamDescription(
        origin=Origin(username, str(session), str(version), str(ipaddress.IPv4Address(address))), name=name,
        group=str(ipaddress.IPv4Address(0xE000_0000 | group & 0x0FFF_FFFF)), port=1 + port % 65534,
        fmt=AudioFormat(rate=1 + rate % MAX_RATE, channels=1 + kind % 2, payload_type=kind // 2),
        ttl=ttl if flags & 1 else None, title=texts[:cut], ptime_ms=(1 + ptime % 4000) / 4 if flags & 2 else None,
        tool=texts[cut:], source=str(ipaddress.IPv4Address(source)) if flags & 4 else None, encrypted=bool(flags & 8))


DESCRIPTIONS = st.builds(description, blob(32), USERNAMES, st.text(ONE_LINE, min_size=1, max_size=20),
                         st.text(ONE_LINE, max_size=30))


def check_description(description: StreamDescription) -> None:
    """In range; and what it serializes to parses to the same stream (its texts made single lines)."""
    assert 1 <= description.port <= 65534 and description.ttl in (None, *range(256))
    assert 1 <= description.fmt.rate <= MAX_RATE and description.fmt.channels in (1, 2)
    assert 0 <= description.fmt.payload_type <= 127
    assert description.ptime_ms is None or 0 < description.ptime_ms <= 1000
    assert check_group(description.group) == description.group
    assert description.source is None or ipaddress.IPv4Address(description.source)
    again = StreamDescription.parse(str(description))
    assert (again.origin, again.group, again.port, again.fmt, again.ttl, again.source, again.encrypted) == \
        (description.origin, description.group, description.port, description.fmt, description.ttl,
         description.source, description.encrypted)
    assert StreamDescription.parse(str(again)) == again


@FUZZ
@given(DESCRIPTIONS, sdp_texts(), MUTATIONS, st.text(max_size=100))
def test_sdp(description: StreamDescription, text: str, mutations: list[int], arbitrary: str) -> None:
    """A description round-trips, as text and as bytes; descriptions made of known lines, damaged ones (as bytes,
    not always UTF-8) and arbitrary text parse to a stream in range, or raise WireError. So do their o= lines."""
    assert StreamDescription.parse(str(description)) == description
    assert StreamDescription.parse(str(description).encode()) == description
    for data in (text, mutate(text.encode(), mutations), arbitrary):
        parsed = parsed_or_refused(StreamDescription.parse, data)
        if parsed is not None:
            check_description(parsed)
    for value in [line[2:] for line in text.splitlines() if line.startswith("o=")] + [arbitrary]:
        origin = parsed_or_refused(Origin.parse, value)
        if origin is not None:
            assert Origin.parse(str(origin)) == origin


# --- SAP ------------------------------------------------------------------------------------------------------

# Two stations, the first also as a newer version of itself; a description with no o= line; one that is not SDP;
# what a deletion carries. How descriptions go wrong in depth is test_sdp's part.
STATION_SDPS = [
    "v=0\r\no=- 7 1 IN IP4 10.0.0.5\r\ns=Radio\r\nc=IN IP4 239.255.1.2/1\r\nt=0 0\r\nm=audio 5004 RTP/AVP 10\r\n",
    "v=0\r\no=- 7 2 IN IP4 10.0.0.5\r\ns=Radio\r\ni=Blue Monk\r\nc=IN IP4 239.255.1.2/1\r\nt=0 0\r\n"
    "m=audio 5004 RTP/AVP 10\r\n",
    "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=No Name\nc=IN IP4 239.255.77.7/1\nm=audio 5990 RTP/AVP 97\n"
    "a=rtpmap:97 L16/48000/2\n",
    "v=0\r\ns=no origin\r\nc=IN IP4 239.255.1.2\r\nm=audio 5004 RTP/AVP 10\r\n",
    "v=0\r\no=- 7 1 IN IP4 10.0.0.5\r\n",
    "not SDP",
]
ORIGINS = st.integers(0, (1 << 129) - 1).map(  # IPv4 or IPv6, as a number (Hypothesis' ip_addresses is slower)
    lambda n: str(ipaddress.IPv4Address(n >> 97) if n & 1 else ipaddress.IPv6Address(n >> 1)))
SAP_PACKETS = st.builds(
    lambda origin, payload, message_id_hash, kind: SapPacket(origin, payload, message_id_hash, *kind),
    ORIGINS, st.sampled_from(STATION_SDPS).map(str.encode) | st.binary(max_size=40), st.integers(0, 0xFFFF),
    st.sampled_from(list(itertools.product([False, True], [SDP_TYPE, SDP_TYPE, "text/plain", "", "v=1"]))))


def with_header(packet: SapPacket, header: bytes) -> bytes:
    """`packet` with the lies of `header`'s 4 bytes (all zero: none): flag bits flipped (address type, deletion,
    encryption, compression) and version changed (`header[0]`); `header[2] % 4` words of authentication data,
    claimed as such or (`header[3]` bit 0) as `header[1]`; the payload type left out (`header[3]` bit 1)."""
    data = bytearray(bytes(packet))
    data[0] ^= header[0]
    words = header[2] % 4
    data[1] = header[1] if header[3] & 1 else words
    address_end = 4 + (16 if ":" in packet.origin else 4)
    data[address_end:address_end] = bytes(4 * words)
    if header[3] & 2:
        start = address_end + 4 * words
        del data[start:data.index(0, start) + 1]
    return bytes(data)


@FUZZ
@given(SAP_PACKETS, blob(4), MUTATIONS, ARBITRARY)
def test_sap(packet: SapPacket, header: bytes, mutations: list[int], arbitrary: bytes) -> None:
    """Packets round-trip; with any flags, authentication lengths and address types, damaged, or arbitrary,
    they parse to packets that serialize back, or raise WireError."""
    assert SapPacket.parse(bytes(packet)) == packet
    for data in (mutate(with_header(packet, header), mutations), arbitrary):
        parsed = parsed_or_refused(SapPacket.parse, data)
        if parsed is not None:
            assert ipaddress.ip_address(parsed.origin) and 0 <= parsed.message_id_hash <= 0xFFFF
            assert SapPacket.parse(bytes(parsed)) == parsed


# --- the listener's directory of stations ---------------------------------------------------------------------

def announcement(which: int, header: bytes, mutations: list[int]) -> bytes:
    """One of STATION_SDPS (`which` // 4) announced, or deleted (bit 0), with an honest header or (bit 1) the lies
    of `header`, and damaged by `mutations`."""
    packet = SapPacket.announcing("10.0.0.5", STATION_SDPS[which // 4], deletion=bool(which & 1))
    return mutate(with_header(packet, header if which & 2 else bytes(4)), mutations)


ANNOUNCEMENTS = st.builds(announcement, st.integers(0, 4 * len(STATION_SDPS) - 1), blob(4), MUTATIONS)


@FUZZ
@given(st.lists(ANNOUNCEMENTS | ARBITRARY, min_size=1, max_size=3))
def test_directory(datagrams: list[bytes]) -> None:
    """Announcements and deletions, valid or not, and anything else on the SAP port: a listener lists the
    stations it can play, counts the rest, and never raises."""
    directory = Directory()
    for now, data in enumerate(datagrams):
        before = directory.unplayable
        directory.on_sap(data, float(now))
        assert directory.unplayable in (before, before + 1)
        assert directory.unplayable == before or directory.last_unplayable
    for station in directory.stations():
        check_description(station.description)


# --- the listener's receiver ----------------------------------------------------------------------------------

def received_rtp(fields: int) -> bytes:
    """RTP as a station sends it, mostly: of a few sources and types, sequence numbers and timestamps close to
    each other (so packets meet in the jitter buffer), or anywhere, and up to 70 bytes of audio (whole stereo
    frames or not). From `fields`' bits, shrinking to zero."""
    anywhere, payload = (fields >> 40) & 3, bytes(range(fields >> 42))
    sequence = (fields >> 8) & 0xFFFF if anywhere & 1 else (fields >> 8) & 0x1F
    timestamp = (fields >> 8) & 0xFFFF_FFFF if anywhere & 2 else 220 * sequence
    return bytes(RtpPacket(payload_type=[10, 11, 96, 10][fields & 3], sequence=sequence, timestamp=timestamp,
                           ssrc=[1, 2, 0xDEAD_BEEF, 1][(fields >> 2) & 3], payload=payload,
                           marker=bool(fields & 0x10)))


RECEIVED_RTP = st.builds(received_rtp, st.integers(0, 70 << 42))
RECEIVED_RTCP = st.one_of(SENDER_REPORTS, APPS, st.builds(Bye, st.lists(SSRCS, max_size=1).map(tuple))).map(bytes)
SOURCES = [("10.0.0.1", 5000), ("10.0.0.1", 5001), ("10.0.0.66", 5000), None]
WAITS_S = [0.0, 0.001, 0.005, 0.02, 0.1, 0.5, 3.0, 100.0]  # up to a station's timeouts, and past them
# Each a datagram, and a number: its low bit says on which port it arrives, the rest how long after the last one.
ARRIVALS = st.lists(st.tuples(st.one_of(RECEIVED_RTP, RECEIVED_RTP, RECEIVED_RTCP, ARBITRARY),
                              st.integers(0, 2 * len(WAITS_S) - 1)), min_size=1, max_size=4)


@FUZZ
@given(ARRIVALS)
def test_receiver(arrivals: list[tuple[bytes, int]]) -> None:
    """Datagrams on either port, in any order, from a few sources, with the sound card reading in between: played
    or counted, never a crash."""
    receiver = Receiver(ReceiverConfig(L16_STEREO, 0.06, 0.0), 0.0)
    now = 0.0
    for index, (data, how) in enumerate(arrivals):
        now += WAITS_S[how >> 1]
        source = SOURCES[(how + index) % len(SOURCES)]  # the station's, a stranger's, unknown: the lock and its counts
        (receiver.on_rtcp if how & 1 else receiver.on_rtp)(data, now, source)
        assert receiver.read(441, now).shape == (441, 2)
    receiver.stats(now)


# --- the station's console ------------------------------------------------------------------------------------

NAMES = st.sampled_from([*COMMANDS, *ALIASES, *(name.lower() for name in [*COMMANDS, *ALIASES]), "Play", "PLAYY",
                         "volum", "?"]) | st.text(max_size=6)
ARGUMENT_COUNTS = st.integers(0, 3)
# The words arguments are made of, right and wrong for each kind (positions, seconds, percent, choices, paths,
# command names).
ARGUMENT_WORDS = (NUMBER_SAMPLES + combinations("{}{}{}", ["+", "-"], ["5", "1.5", "1" * 400], ["", ":00", ":75", "."])
                  + combinations("{}:{}", ["1", "0" * 20, "9" * 20, "1" * 400, "7" * 4301], ["00", "30", "60", "5"])
                  + ["50%", "50 %", "101%", "%", "on", "off", "ON", *REPEAT_MODES, '"', "'", "\\", '"a b"', "'a",
                     "media/", "-", "\0", *COMMANDS])
# Whole lines, one draw each: every command and alias with each argument word (and none, and two).
LINES = combinations("{} {}", [*COMMANDS, *ALIASES], ["", *ARGUMENT_WORDS, "1 2", "2 1", "a b"])
# More words after a space of some kind, one draw each.
ARGUMENTS = st.sampled_from(combinations("{}{}", [" ", " ", "  ", "\t", "\u3000", "\x0b", "\x1c"], ARGUMENT_WORDS)) \
    | st.text(max_size=8).map(" ".__add__)


@st.composite
def console_lines(draw: st.DrawFn) -> str:
    """A command name or alias, in any case, followed by words its parsers know and others."""
    line = draw(NAMES)
    for _ in range(draw(ARGUMENT_COUNTS)):
        line += draw(ARGUMENTS)
    return line


def check_command(line: str) -> None:
    """The command a line is, with arguments of the kind it takes; or a CommandError that says something."""
    try:
        command = parse_command(line)
    except CommandError as error:
        assert str(error), "a CommandError must say what was expected"
        return
    if command is None:
        assert not line.strip()
        return
    arguments, args = COMMANDS[command.name].arguments, command.args
    if isinstance(arguments, Positions):
        assert len(args) in ((0, arguments.count) if arguments.optional else (arguments.count,))
        assert all(isinstance(number, int) and number >= 1 for number in args)
    elif isinstance(arguments, Percent):
        assert len(args) == 1 and isinstance(args[0], int) and 0 <= args[0] <= 100
    elif isinstance(arguments, SeekTarget):
        assert len(args) == 1 and isinstance(args[0], Seek) and abs(args[0].seconds) <= MAX_SEEK_S
    elif isinstance(arguments, Choice):
        assert len(args) == 1 and args[0] in arguments.choices
    elif isinstance(arguments, Paths):
        assert args and all(isinstance(path, str) for path in args)
    elif isinstance(arguments, CommandName):
        assert len(args) <= 1 and all(name in COMMANDS for name in args)
    elif isinstance(arguments, Words):
        assert all(isinstance(word, str) and word for word in args)
    else:
        assert args == ()


@FUZZ
@given(st.sampled_from(LINES) | console_lines(), st.text(max_size=40))
def test_console(line: str, arbitrary: str) -> None:
    """Lines made of command names and the words their arguments take, and arbitrary ones: a command with
    arguments in range, or CommandError. Completion, asked about whatever the first word is, never raises."""
    for text in (line, arbitrary):
        check_command(text)
        first = text.split(maxsplit=1)[0] if text.split() else text
        assert isinstance(argument_choices(first), tuple) and takes_paths(first) in (True, False)


# --- the HTTP API ---------------------------------------------------------------------------------------------

WEB_TOKEN = "fuzz-token-0123456789-abcdefghij"
WEB_METHODS = st.sampled_from(["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "get"]) | st.text(max_size=8)
WEB_PATHS = st.sampled_from(["/", "/api/status", "/api/history", "/api/events", "/api/command",
                             "/static/dashboard.js",
                             "/static/index.html", "/static/../../etc/passwd", "//api/command", "/api/command/"]) \
    | st.text(max_size=30)
# Headers, the query and bodies from pools of what matters (the token right, nearly right and wrong, in every
# place it could be), or anything at all: few draws an example.
HEADERS = st.sampled_from([
    ("authorization", f"Bearer {WEB_TOKEN}"), ("authorization", f"bearer  {WEB_TOKEN} "), ("authorization", "Bearer"),
    ("authorization", f"Bearer {WEB_TOKEN}x"), ("authorization", f"Basic {WEB_TOKEN}"),
    ("authorization", f"Bearer {WEB_TOKEN[:-1]}"), ("cookie", f"radio_token={WEB_TOKEN}"),
    ("cookie", f'radio_token="{WEB_TOKEN}"'), ("cookie", f"a=b; radio_token={WEB_TOKEN}; c"),
    ("cookie", "radio_token="), ("cookie", '=;"\\\x00'), ("content-type", "application/json"),
    ("content-length", "-1"), ("origin", "http://evil")]) \
    | st.tuples(st.sampled_from(["authorization", "cookie"]) | st.text(max_size=12), st.text(max_size=60))
QUERIES = st.sampled_from([{}, {"token": WEB_TOKEN}, {"token": ""}, {"token": WEB_TOKEN + " "}]) \
    | st.dictionaries(st.text(max_size=6), st.text(max_size=20), max_size=2)
COMMAND_LINES = st.sampled_from(LINES) | console_lines() | st.text(max_size=30)
WEB_BODIES = COMMAND_LINES.map(lambda line: json.dumps({"command": line}).encode()) \
    | st.sampled_from([b"", b"{", b"[" * 5000, b'{"command": null}', b'{"command": ["PAUSE"]}', b"\xff\xfe"]) \
    | ARBITRARY


class RecordedCommands:
    """The console's commands on a real Station, recording every line the API passes on; ADD, which would
    walk whatever folders the fuzzer names, is answered without running. One for all the examples (a Station
    takes milliseconds to build): the commands with the token change it as they go, which is fine, as each
    example compares the state before and after itself."""

    def __init__(self) -> None:
        from fake_station import queue_station
        self.station, self.onair, _ = queue_station()
        self.commands = Commands(self.station, About("239.255.0.1:5004", sdp=lambda title: ""))
        self.lines: list[str] = []
        status_document(self.station, WEB_IDENTITY)  # the first status takes the decoded track over from its head:
        # the queue knows its duration after, which a later status (by the cookie, without the bearer) would change

    def __call__(self, line: str) -> str | None:
        self.lines.append(line)
        if line.split()[:1] and line.split()[0].upper() == "ADD":
            return "error: ADD is not run by the fuzzer"
        return self.commands.answer(line)

    def state(self) -> tuple:
        """What a command could change: paused, the title, the volume, the source, the queue."""
        return (self.onair.now_playing(), self.onair.volume_percent, self.onair.live, self.station.queue_listing())


WEB_IDENTITY = Identity("Fuzz Radio", "239.255.0.1", 5004, "L16")
RECORDED = RecordedCommands()
WEB_ASSETS = {"index.html": b"<meta content='__TOKEN__'>", "dashboard.js": b"", "dashboard.css": b""}


@FUZZ
@given(WEB_METHODS, WEB_PATHS, st.lists(HEADERS, max_size=3), QUERIES, WEB_BODIES)
def test_web_api(method: str, path: str, header_list: list[tuple[str, str]], query: dict, body: bytes) -> None:
    """Any method, path, headers, query and body: a reply (or the event stream), never an exception; JSON
    replies say ok; and without the bearer token no command reaches the station and its state stays as it was."""
    headers = dict(reversed(header_list))  # the first of a name counts, as the edge does
    recorded = RECORDED
    recorded.lines.clear()
    api = WebApi(WEB_TOKEN, lambda: encode(status_document(recorded.station, WEB_IDENTITY)), recorded, WEB_ASSETS,
                 history=lambda: encode(history_document(recorded.station)))
    scheme, _, credentials = headers.get("authorization", "").strip().partition(" ")
    bearer = scheme.lower() == "bearer" and credentials.strip() == WEB_TOKEN
    before = None if bearer else recorded.state()
    reply = api.respond(Request(method, path, query, headers, body))
    if reply is not EVENTS:
        assert isinstance(reply, Reply) and reply.status in (200, 400, 401, 404, 405, 413)
        if reply.content_type == "application/json" and (reply.status != 200 or path == "/api/command"):
            assert isinstance(json.loads(reply.body)["ok"], bool)
    if not bearer:
        assert recorded.lines == [] and recorded.state() == before
