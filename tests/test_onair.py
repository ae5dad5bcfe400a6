"""OnAir: the station's step on fake time. Each slot is stepped at its deadline (or as late as a test says), and
what it sends is read back as listeners would: packets, reports, the source each packet came from."""

from __future__ import annotations

import numpy as np
import pytest
from fake_media import make_source, pcm
from fake_station import FIRST_SEQUENCE, SPP, SSRC, FakeSource, on_air

from listener.fec_decoder import FecDecoder
from rtpwire.audio import L16_STEREO, OPUS_STEREO
from rtpwire.fec import REPAIR_PAYLOAD_TYPE
from rtpwire.nowplaying import NowPlaying
from rtpwire.opus import OpusDecoder, OpusEncoder
from rtpwire.rtcp import Bye, SenderReport, parse_compound, unix_from_ntp
from rtpwire.rtp import RtpPacket
from rtpwire.srtp import SrtpReceiver, SrtpSender, generate_key, parse_key
from station.fec_encoder import FecEncoder
from station.onair import MAX_CATCH_UP_S, OnAir, Slot
from rtpwire.rapid_sync import CLOCK_ID, LATENCY_ID, packet_clock
from station.packetizer import CLOCK_PACKETS, Packetizer
from station.reporter import Reporter
from station.schedule import Schedule

RATE = L16_STEREO.rate
START_S = 100.0
WALL_OFFSET_S = 1_700_000_000.0
KEY = parse_key(generate_key())


def _steps(onair: OnAir, count: int, late_s: float = 0.0) -> list[Slot]:
    """`count` slots, each stepped `late_s` after its deadline."""
    return [onair.step(onair.next_deadline_s + late_s) for _ in range(count)]


def _packets(slots: list[Slot]) -> list[RtpPacket]:
    return [RtpPacket.parse(slot.rtp) for slot in slots if slot.rtp is not None]


def _values(slots: list[Slot]) -> list[int]:
    """The first sample of each packet: which source it came from."""
    return [int(L16_STEREO.decode(packet.payload)[0, 0]) for packet in _packets(slots)]


def _samples(slots: list[Slot]) -> np.ndarray:
    return np.concatenate([L16_STEREO.decode(packet.payload)[:, 0] for packet in _packets(slots)])


def _now_playing(rtcp: bytes | None) -> tuple[bool, str]:
    assert rtcp is not None
    state = NowPlaying.from_app(parse_compound(rtcp)[-1])
    return state.paused, state.title


# --- packets -------------------------------------------------------------------------------------------------

def test_a_packet_at_each_slot():
    onair = on_air(FakeSource("Blue Monk", 1))
    slots = _steps(onair, 8)
    packets = _packets(slots)
    assert [p.sequence for p in packets] == [(FIRST_SEQUENCE + i) % 65536 for i in range(8)]  # wrapping
    assert [p.timestamp for p in packets] == [i * SPP for i in range(8)]
    assert [p.marker for p in packets] == [True] + [False] * 7  # the first packet of the stream
    assert all(p.ssrc == SSRC and len(p.payload) == SPP * L16_STEREO.bytes_per_frame for p in packets)
    assert [slot.deadline_s for slot in slots] == [START_S + i * SPP / RATE for i in range(8)]
    assert _values(slots) == [1] * 8
    assert onair.packetizer.packet_count == 8
    assert not any(slot.finished or slot.note or slot.retired for slot in slots)


def test_repair_packets_follow_each_block_sealed_like_the_audio():
    """--fec 4,6 with SRTP: the slot that completes a block of 4 carries its 2 repair packets, sealed; each rebuilds
    the block's sealed datagrams."""
    key = parse_key(generate_key())
    onair = on_air(FakeSource("Blue Monk", 1), srtp=SrtpSender(key),
                   fec=FecEncoder(4, 6, ssrc=0xFEC, payload_type=REPAIR_PAYLOAD_TYPE, first_sequence=0))
    slots = _steps(onair, 8)
    assert [len(slot.repair) for slot in slots] == [0, 0, 0, 2, 0, 0, 0, 2]
    opened = [RtpPacket.parse(SrtpReceiver(key).unprotect(repair)) for repair in slots[3].repair]
    assert [p.payload_type for p in opened] == [REPAIR_PAYLOAD_TYPE] * 2 and opened[0].ssrc == 0xFEC
    decoder = FecDecoder()
    for slot in slots[:4]:
        if slot is not slots[1]:
            decoder.on_source(slot.rtp)
    assert decoder.on_repair(SrtpReceiver(key).unprotect(slots[3].repair[0])) == [slots[1].rtp]


def test_a_short_read_is_a_whole_opus_frame_of_silence_after_it():
    """The end of the queue, or the next track not decoded yet: L16 sends what there is; an Opus packet must be a
    whole frame, so the rest is silence (the encoder would refuse it, and the station's loop with it)."""

    class Short:
        title, finished, failure = "short", False, None

        def read(self, frames: int) -> np.ndarray:
            return np.full((100, 2), 3000, dtype=np.int16)

    packetizer = Packetizer(OPUS_STEREO, SSRC, 0, 0, encode=OpusEncoder(2, 128, 480).encode)
    schedule = Schedule(start_s=START_S, rate=OPUS_STEREO.rate, samples_per_packet=480)
    reporter = Reporter(packetizer, schedule, cname="test@localhost", name="Test Radio")
    onair = OnAir(Short(), None, packetizer, reporter, schedule, 0.0)  # type: ignore[arg-type]
    slot = onair.step(START_S)
    assert len(OpusDecoder(2).decode(RtpPacket.parse(slot.rtp).payload)) == 480


def test_nothing_on_the_air_sends_reports_only():
    onair = on_air()
    slots = _steps(onair, 202)  # the first slot a second or more after the first is slot 201
    assert [slot.rtp for slot in slots] == [None] * len(slots)
    assert [slot.deadline_s for slot in slots if slot.rtcp is not None] == [START_S, START_S + 201 * SPP / RATE]
    assert _now_playing(slots[0].rtcp) == (False, "")
    assert not any(slot.finished for slot in slots)


def test_full_volume_sends_the_source_untouched():
    onair = on_air(FakeSource("Blue Monk", -32768))
    assert onair.set_volume(100) == 100
    assert np.all(_samples(_steps(onair, 10)) == -32768)


def test_volume_is_applied_to_the_files_with_a_ramp():
    onair = on_air(FakeSource("Blue Monk", 10000))
    assert onair.set_volume(50) == 100
    values = _samples(_steps(onair, 12)).astype(int)
    ramp_samples = round(0.02 * RATE)
    assert len(values) >= 12 * SPP
    assert np.all(np.diff(values[:ramp_samples]) <= 0) and values[0] < 10000
    assert np.all(values[ramp_samples:] == 5000)
    assert onair.volume_percent == 50


def test_volume_applies_to_a_live_source_too():
    onair = on_air(FakeSource("Blue Monk", 1), live=FakeSource("live: pulse", 10000))
    onair.set_volume(0)
    values = _samples(_steps(onair, 12))
    assert not values[round(0.02 * RATE):].any()


# --- reports -------------------------------------------------------------------------------------------------

def test_a_report_at_the_first_slot_then_once_an_interval():
    onair = on_air(FakeSource("Blue Monk", 1))
    slots = _steps(onair, 3 * RATE // SPP)  # 3 s of slots
    reported_s = [slot.deadline_s - START_S for slot in slots if slot.rtcp is not None]
    assert len(reported_s) == 3 and reported_s[0] == 0.0
    assert all(1.0 <= b - a < 1.0 + SPP / RATE for a, b in zip(reported_s, reported_s[1:]))
    # the RTP of a slot goes before its report, which counts it
    assert parse_compound(slots[0].rtcp)[0].packet_count == 1


def test_the_first_report_comes_before_the_first_packet_and_the_next_an_interval_later():
    onair = on_air(FakeSource("Blue Monk", 1))
    first = parse_compound(onair.report(START_S - 0.05))
    assert isinstance(first[0], SenderReport) and first[0].packet_count == 0
    assert _now_playing(onair.report(START_S - 0.05)) == (False, "Blue Monk")
    slots = _steps(onair, RATE // SPP + 1)
    assert [slot.deadline_s for slot in slots if slot.rtcp is not None] == [START_S + 191 * SPP / RATE]


def test_reports_map_wall_clock_to_rtp_time_through_one_offset_however_late_the_step():
    """Every SR pairs its RTP timestamp with the wall-clock time of the very instant it was computed for: the
    step's `now` plus the offset, never a clock read later (listeners would schedule playout milliseconds off)."""
    onair = on_air(FakeSource("Blue Monk", 1), wall_offset_s=WALL_OFFSET_S, interval_s=0.05)
    slots: list[Slot] = []
    for late_s in (0.0, 0.0031, 0.017, 0.1, 0.0007):
        slots += _steps(onair, 40, late_s)
        onair.toggle()
    reports = [parse_compound(slot.rtcp)[0] for slot in slots if slot.rtcp is not None]
    assert len(reports) >= 10
    origins = [unix_from_ntp(r.ntp_timestamp) - r.rtp_timestamp / RATE for r in reports]
    assert max(origins) - min(origins) < 1.5 / RATE  # RTP timestamps are whole samples
    assert origins[0] == pytest.approx(WALL_OFFSET_S + START_S, abs=1.5 / RATE)


def test_bye_says_why_and_counts_what_was_sent():
    onair = on_air(FakeSource("Blue Monk", 1), wall_offset_s=WALL_OFFSET_S)
    _steps(onair, 5)
    report, bye = parse_compound(onair.bye(START_S + 1.0, "station stopped by the operator"))[::2]
    assert isinstance(report, SenderReport) and report.packet_count == 5
    assert unix_from_ntp(report.ntp_timestamp) == pytest.approx(START_S + 1.0 + WALL_OFFSET_S, abs=1e-6)
    assert bye == Bye((SSRC,), "station stopped by the operator")


# --- pause and play ------------------------------------------------------------------------------------------

def test_pause_sends_no_audio_but_tells_listeners_at_once_and_resume_is_marked():
    files = FakeSource("Blue Monk", 1)
    onair = on_air(files)
    _steps(onair, 3)
    assert onair.pause()
    assert not onair.pause()  # paused already
    paused = _steps(onair, 4)
    assert [slot.rtp for slot in paused] == [None] * 4
    assert _now_playing(paused[0].rtcp) == (True, "Blue Monk")
    assert [slot.rtcp for slot in paused[1:]] == [None] * 3
    assert files.reads == 3  # the files wait where they were
    assert not any(slot.finished for slot in paused)
    assert onair.play()
    assert not onair.play()
    resumed = _steps(onair, 2)
    packets = _packets(resumed)
    assert [p.marker for p in packets] == [True, False]  # a timestamp gap: the first packet of a talkspurt
    assert [p.timestamp for p in packets] == [7 * SPP, 8 * SPP]  # the station's clock went on meanwhile
    assert [p.sequence for p in packets] == [(FIRST_SEQUENCE + 3 + i) % 65536 for i in range(2)]  # no gap
    assert _now_playing(resumed[0].rtcp) == (False, "Blue Monk")
    assert resumed[1].rtcp is None


def test_toggle():
    onair = on_air(FakeSource("Blue Monk", 1))
    assert onair.toggle() is True
    assert onair.paused and onair.now_playing().paused
    assert _now_playing(_steps(onair, 1)[0].rtcp) == (True, "Blue Monk")
    assert onair.toggle() is False
    assert not onair.paused
    assert _now_playing(_steps(onair, 1)[0].rtcp) == (False, "Blue Monk")


def test_a_live_source_is_read_and_dropped_while_paused():
    """So that its backlog stays current and PLAY resumes live, not with what was said meanwhile."""
    live = FakeSource("live: pulse", 7)
    onair = on_air(live=live)
    onair.pause()
    assert [slot.rtp for slot in _steps(onair, 3)] == [None] * 3
    assert live.reads == 3


# --- the queue -----------------------------------------------------------------------------------------------

def _queue_on_air() -> OnAir:
    files, _, _ = make_source({"a.wav": pcm(0, 44100), "b.wav": pcm(0, 22050), "c.wav": pcm(0, 22050)},
                              repeat="queue")
    files.start()
    return on_air(files)


def test_a_new_title_is_reported_to_listeners_at_once_but_a_listing_is_not():
    onair = _queue_on_air()
    _steps(onair, 1)
    onair.with_files(lambda files: files.listing())
    assert _steps(onair, 1)[0].rtcp is None
    item = onair.with_files(lambda files: files.skip())
    assert (item.number, item.title) == (2, "b")
    slot = _steps(onair, 1)[0]  # the report with the new title goes with the next packet
    assert _now_playing(slot.rtcp) == (False, "b")
    assert _values([slot]) == [0]  # b from its start


def test_end_of_queue_finishes():
    files, _, _ = make_source({"a.wav": pcm(0, 2 * SPP + 60)})
    files.start()
    onair = on_air(files)
    slots = _steps(onair, 4)
    assert [len(p.payload) for p in _packets(slots)] == [SPP * 4, SPP * 4, 60 * 4]
    assert [slot.finished for slot in slots] == [False, False, False, True]


# --- MIC and FILES -------------------------------------------------------------------------------------------

def test_the_live_source_given_is_on_the_air_first():
    live = FakeSource("live: USB Audio CODEC (#3)", 7)
    onair = on_air(FakeSource("Blue Monk", 1), live=live)
    assert onair.source is live and onair.live is live
    assert _values(_steps(onair, 2)) == [7, 7]


def test_switching_between_two_packets_keeps_one_stream():
    files = FakeSource("Blue Monk", 1)
    onair = on_air(files)
    slots = _steps(onair, 2)
    first, second = FakeSource("live: 3", 100), FakeSource("live: pulse", 101)
    assert onair.use_live(first) is None
    slots += _steps(onair, 2)
    assert onair.use_live(second) is first  # retired: the edge closes it
    slots += _steps(onair, 2)
    assert onair.use_files() is second
    slots += _steps(onair, 2)
    assert _values(slots) == [1, 1, 100, 100, 101, 101, 1, 1]
    packets = _packets(slots)
    assert [p.sequence for p in packets] == [(FIRST_SEQUENCE + i) % 65536 for i in range(8)]
    assert [p.timestamp for p in packets] == [i * SPP for i in range(8)]
    assert [p.marker for p in packets] == [True] + [False] * 7  # no gap, no burst: the same timeline
    assert [_now_playing(slots[i].rtcp)[1] for i in (2, 4, 6)] == ["live: 3", "live: pulse", "Blue Monk"]
    assert files.closes == first.closes == second.closes == 0  # closing is the edge's business
    assert onair.live is None and onair.source is files


def test_failing_live_source_falls_back_to_the_files():
    files = FakeSource("Blue Monk", 1)
    live = FakeSource("live: USB Audio CODEC (#3)", 7)
    live.fail_after = 5
    onair = on_air(files, live=live)
    slots = _steps(onair, 5 + files.enough)
    failed = slots[4]
    assert failed.retired is live  # for the edge to close
    assert failed.note == "capture device live: USB Audio CODEC (#3) stopped: back to the files"
    assert [slot.note for slot in slots].count(None) == len(slots) - 1
    assert [slot.retired for slot in slots].count(None) == len(slots) - 1
    assert live.reads == 5  # not read once it failed
    assert live.closes == 0
    assert onair.live is None and onair.now_playing() == NowPlaying(paused=False, title="Blue Monk")

    values = _values(slots)
    assert values[:5] == [7] * 5  # the live source, then the files, with nothing in between
    assert set(values[5:]) == {1} and len(values) >= 5 + files.enough
    packets = _packets(slots)
    assert [p.sequence for p in packets] == [(FIRST_SEQUENCE + i) % 65536 for i in range(len(packets))]
    assert [p.timestamp for p in packets] == [i * SPP for i in range(len(packets))]
    assert _now_playing(slots[5].rtcp) == (False, "Blue Monk")  # said at once
    assert not any(slot.finished for slot in slots)


def test_failing_live_source_without_files_goes_quiet_but_stays_on_the_air():
    live = FakeSource("live: pulse", 7)
    live.fail_after = 3
    onair = on_air(live=live)
    slots = _steps(onair, 10)
    assert slots[2].retired is live
    assert slots[2].note == "capture device live: pulse stopped: nothing on the air until MIC or FILES"
    assert not any(slot.finished for slot in slots)  # no end of queue: the operator can bring a source back
    assert _now_playing(slots[3].rtcp) == (False, "")
    back = FakeSource("live: 3", 100)
    assert onair.use_live(back) is None
    slots += _steps(onair, 10)
    values = _values(slots)
    assert values[:3] == [7] * 3
    assert set(values[3:]) == {100} and len(values) == 13


# --- catching up ---------------------------------------------------------------------------------------------

def test_a_stall_skips_ahead_counting_the_slots_skipped():
    onair = on_air(FakeSource("Blue Monk", 1))
    _steps(onair, 2)
    stalled_to = onair.next_deadline_s + 1.0  # the machine was suspended a second
    slot = onair.step(stalled_to)
    skipped_to = round((stalled_to - START_S) * RATE) // SPP
    assert slot.deadline_s == START_S + skipped_to * SPP / RATE <= stalled_to
    assert onair.slots_skipped == skipped_to - 2
    (packet,) = _packets([slot])
    assert packet.timestamp == skipped_to * SPP and packet.marker  # the stream's time went on
    assert packet.sequence == (FIRST_SEQUENCE + 2) % 65536  # listeners count no packet lost
    assert onair.next_deadline_s == START_S + (skipped_to + 1) * SPP / RATE


def test_a_slot_late_within_the_catch_up_limit_is_sent_all_the_same():
    onair = on_air(FakeSource("Blue Monk", 1))
    slots = _steps(onair, 5, late_s=MAX_CATCH_UP_S * 0.99)
    assert [p.timestamp for p in _packets(slots)] == [i * SPP for i in range(5)]
    assert onair.slots_skipped == 0


# --- SRTP ----------------------------------------------------------------------------------------------------

def test_sealed_packets_and_reports_open_with_the_key():
    plain, sealed = on_air(FakeSource("Blue Monk", 1)), on_air(FakeSource("Blue Monk", 1), srtp=SrtpSender(KEY))
    receiver = SrtpReceiver(KEY)
    assert receiver.unprotect_rtcp(sealed.report(START_S - 0.05)) == plain.report(START_S - 0.05)
    for clear, secret in zip(_steps(plain, 5), _steps(sealed, 5)):
        assert secret.rtp != clear.rtp and receiver.unprotect(secret.rtp) == clear.rtp
        assert (secret.rtcp is None) == (clear.rtcp is None)
        if clear.rtcp is not None:
            assert receiver.unprotect_rtcp(secret.rtcp) == clear.rtcp
    assert receiver.unprotect_rtcp(sealed.bye(START_S + 1, "end")) == plain.bye(START_S + 1, "end")
    assert receiver.failed_authentication == receiver.replayed == 0


def test_a_new_track_sends_the_clock_at_once():
    """The first packets, and those of a new title, carry the station's clock (RFC 6051); others only now and
    then."""
    source = FakeSource("Blue Monk", 1)
    onair = on_air(source)
    first = _packets(_steps(onair, 5))
    source.title = "Round Midnight"
    after = _packets(_steps(onair, 5))
    carries = [packet_clock(p, CLOCK_ID, LATENCY_ID)[0] is not None for p in first + after]
    assert carries == [True] * CLOCK_PACKETS + [False] * 2 + [True] * CLOCK_PACKETS + [False] * 2
