"""The listener's session: the paced outputs' reading, in time order, on fake time; when a lost speaker is tried
again, and its figures over its lives."""

from collections import deque

import numpy as np
import pytest
from simulation import audible, broadcast, link, receiver, tone_pcm

from listener.outputs import SpeakerLives
from listener.receiver import Channel, Receiver, ReceiverConfig
from listener.session import PACED_WAKE_S, PERIOD_S, RETRY_S, Paced, Retry
from rtpwire.audio import L16_STEREO
from sound.pulse_stream import PulseSink
from stats.histogram import Histogram


class LoggedReceiver(Receiver):
    """A real receiver that notes what it was handed and read, and when, in order."""

    def __init__(self, now: float) -> None:
        super().__init__(ReceiverConfig(L16_STEREO, 0.06, wall_offset_s=0.0), now)
        self.log: list[tuple[str, float]] = []

    def on_rtp(self, data: bytes, now: float, source: tuple[str, int] | None = None) -> None:
        self.log.append(("rtp", now))
        super().on_rtp(data, now, source)

    def on_rtcp(self, data: bytes, now: float, source: tuple[str, int] | None = None) -> None:
        self.log.append(("rtcp", now))
        super().on_rtcp(data, now, source)

    def read(self, frames: int, now: float):
        self.log.append(("read", now))
        return super().read(frames, now)


def test_the_paced_reading_replays_arrivals_and_deadlines_in_time_order():
    """The paced loop wakes seldom, but what it hands the receiver, and when it reads, is in the order of the
    kernel's arrival stamps and the periods' deadlines: a datagram that arrived after a deadline is handed after
    that read, even when both were waiting at one wake-up; and nothing is read from the end on."""
    start_s = 100.0
    receiver = LoggedReceiver(start_s)
    heard_rtcp: list[float] = []
    written = []
    paced = Paced(receiver, lambda _data, now: heard_rtcp.append(now), written.append, next_s=start_s,
                  end_s=start_s + 2 * PACED_WAKE_S)
    paced.catch_up(deque(), start_s)  # the first wake-up: one period due, nothing arrived yet
    station = ("127.0.0.1", 40000)
    paced.catch_up(deque([(start_s + 0.005, Channel.RTP, b"rtp", station),
                          (start_s + 0.015, Channel.RTCP, b"rtcp", station),
                          (start_s + 0.025, Channel.RTP, b"rtp", station)]), start_s + PACED_WAKE_S)
    handed = [entry for entry in receiver.log if entry[0] != "read"]
    assert [kind for kind, _ in handed] == ["rtp", "rtcp", "rtp"]
    assert heard_rtcp == [handed[1][1]]
    assert receiver.log == sorted(receiver.log, key=lambda entry: entry[1])  # one timeline
    reads = [now for kind, now in receiver.log if kind == "read"]
    assert len(reads) >= 3 and reads[0] < handed[0][1] < reads[1]
    paced.catch_up(deque(), start_s + 10.0)  # a late last wake-up: caught up to the end, not beyond
    reads = [now for kind, now in receiver.log if kind == "read"]
    assert len(written) == len(reads) == round(2 * PACED_WAKE_S / PERIOD_S)
    assert reads[-1] < start_s + 2 * PACED_WAKE_S


@pytest.mark.parametrize("samples_per_packet", [44, 220])
def test_the_read_period_follows_a_low_latency_which_holds_bit_exact(samples_per_packet):
    """At 10 ms of latency a 10 ms read would wait for packets the station has not sent yet; half the latency
    does not: over a 0.5 ms link, 1 ms and 5 ms packets play bit-exact, with no underrun and no growth of the
    latency."""
    latency_s = 0.01
    source = tone_pcm(1.0)
    datagrams = link(broadcast(source, start_s=0.1, samples_per_packet=samples_per_packet, latency_s=latency_s),
                     delay_s=0.0005)
    r = receiver(latency_s=latency_s)
    written: list[np.ndarray] = []
    paced = Paced(r, lambda _data, _now: None, written.append, next_s=0.0, end_s=1.5)
    waiting = deque((d.time_s, d.channel, d.data, ("127.0.0.1", 1)) for d in datagrams)
    for wake_s in np.arange(0.0, 1.6, PACED_WAKE_S):
        paced.catch_up(deque(a for a in waiting if a[0] <= wake_s), wake_s)
        waiting = deque(a for a in waiting if a[0] > wake_s)
    out = np.concatenate(written)
    stats = r.stats(1.5)
    assert stats["underruns"] == stats["packets_late"] == stats["latency_samples_added"] == 0
    assert {len(w) for w in written} == {round(latency_s * 44100) // 2}
    assert np.array_equal(audible(out), source)


def test_the_read_period_is_10_ms_at_the_usual_latencies():
    r = receiver(latency_s=0.08)
    paced = Paced(r, lambda _data, _now: None, lambda _pcm: None, next_s=0.0, end_s=1.0)
    assert paced.frames == round(PERIOD_S * 44100)


def test_a_lost_device_is_tried_again_every_period_and_a_late_loop_does_not_catch_up():
    lost_s = 50.0
    retry = Retry(RETRY_S, lost_s + RETRY_S)
    wake_ups = np.arange(lost_s, lost_s + 3 * RETRY_S + 1e-9, PACED_WAKE_S)
    due = [now for now in wake_ups if retry.due(now)]
    assert due == pytest.approx([lost_s + RETRY_S, lost_s + 2 * RETRY_S, lost_s + 3 * RETRY_S])
    assert retry.due(lost_s + 10 * RETRY_S)  # the loop was held up: one attempt, not seven
    assert not retry.due(lost_s + 10.5 * RETRY_S) and retry.due(lost_s + 11 * RETRY_S)


class Life:
    """A speaker's figures as `SpeakerLives` reads them, once it is closed: what it counted, and its pulls' DAC
    leads."""

    def __init__(self, sink: str, leads_s: list[float], underflows: int, errors: int) -> None:
        self.device = PulseSink(sink, 2)
        self.device_latency = Histogram(resolution_s=1e-4, limit_s=5.0)
        for lead_s in leads_s:
            self.device_latency.add(lead_s)
        self._counts = {"callback_errors": errors, "device_underflows": underflows, "device_timing_restarts": 1}

    def counts(self) -> dict[str, int]:
        return self._counts

    def stats(self) -> dict[str, object]:
        return {"output_device": self.device.describe(), "output_realtime": True} | self._counts


def test_a_speakers_figures_add_up_over_its_lives():
    """A device lost and back: nothing the first life counted is lost or overwritten by the second's."""
    lives = SpeakerLives()
    lives.add(Life("room", [0.030] * 3, underflows=2, errors=1))
    first = lives.stats()
    assert first["device_reopens"] == 0 and first["device_latency_ms"] == 30.0
    lives.add(Life("room", [0.040], underflows=1, errors=0))
    assert lives.stats() == {"output_device": "PulseAudio room", "device_latency_ms": 32.5, "output_realtime": True,
                             "callback_errors": 1, "device_underflows": 3, "device_timing_restarts": 2,
                             "device_reopens": 1}
    assert set(first) == set(lives.stats())  # the same keys, one life or more
