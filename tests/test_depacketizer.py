"""Depacketizer: the payload types a listener plays, and their samples in the output's channel count."""

import numpy as np
import pytest

from listener.depacketizer import Depacketizer
from rtpwire.audio import L16_MONO, L16_STEREO, OPUS_STEREO, AudioFormat
from rtpwire.errors import WireError
from rtpwire.opus import OpusEncoder
from rtpwire.rtp import RtpPacket

STEREO_48K = AudioFormat(rate=48000, channels=2, payload_type=97)  # as a stream's SDP gives it


def packet(fmt: AudioFormat, pcm: np.ndarray) -> bytes:
    return bytes(RtpPacket(fmt.payload_type, 1, 0, 5, payload=fmt.encode(pcm)))


def test_the_static_types_of_the_outputs_rate_are_played():
    depacketizer = Depacketizer(L16_STEREO)
    for fmt in (L16_STEREO, L16_MONO):
        parsed, parsed_fmt = depacketizer.parse(packet(fmt, np.zeros((4, fmt.channels), dtype=np.int16)))
        assert parsed_fmt == fmt and parsed.payload_type == fmt.payload_type
    assert depacketizer.unsupported == ""


def test_a_type_not_played_here_is_refused_and_remembered():
    depacketizer = Depacketizer(L16_STEREO)
    with pytest.raises(WireError, match="unsupported RTP payload type 97") as refused:
        depacketizer.parse(packet(STEREO_48K, np.zeros((4, 2), dtype=np.int16)))
    assert depacketizer.unsupported == str(refused.value)


def test_the_type_a_description_gave_is_played_and_the_other_rates_are_not():
    depacketizer = Depacketizer(STEREO_48K)
    assert depacketizer.parse(packet(STEREO_48K, np.zeros((4, 2), dtype=np.int16)))[1] == STEREO_48K
    with pytest.raises(WireError):
        depacketizer.parse(packet(L16_STEREO, np.zeros((4, 2), dtype=np.int16)))  # 44.1 kHz: no resampling


def test_mono_is_played_on_every_channel():
    mono = np.array([[1], [-2], [32767]], dtype=np.int16)
    depacketizer = Depacketizer(L16_STEREO)
    pcm = depacketizer.decode(*depacketizer.parse(packet(L16_MONO, mono)))
    assert pcm.dtype == np.int16 and np.array_equal(pcm, np.hstack([mono, mono]))


def test_stereo_is_averaged_to_mono_rounded():
    stereo = np.array([[1, 2], [-3, -4], [32767, 32767], [-32768, 32767]], dtype=np.int16)
    depacketizer = Depacketizer(L16_MONO)
    pcm = depacketizer.decode(*depacketizer.parse(packet(L16_STEREO, stereo)))
    assert pcm.dtype == np.int16 and pcm[:, 0].tolist() == [2, -4, 32767, 0]


def test_a_payload_of_no_whole_frames_is_refused():
    depacketizer = Depacketizer(L16_STEREO)
    parsed = depacketizer.parse(bytes(RtpPacket(10, 1, 0, 5, payload=bytes(6))))
    with pytest.raises(WireError, match="not a whole number"):
        depacketizer.decode(*parsed)


def test_l16_audio_is_its_samples():
    pcm = np.arange(8, dtype=np.int16).reshape(4, 2)
    parsed, fmt = Depacketizer(L16_STEREO).parse(packet(L16_STEREO, pcm))
    audio, samples = Depacketizer(L16_STEREO).audio(parsed, fmt)
    assert np.array_equal(audio, pcm) and samples == 4


def test_opus_audio_is_its_payload_measured_from_its_header():
    """An Opus packet is decoded later, in order: here it is only measured (20 ms), or refused if it is none."""
    payload = OpusEncoder(2, 128, 960).encode(np.zeros((960, 2), dtype=np.int16))
    depacketizer = Depacketizer(OPUS_STEREO)
    parsed, fmt = depacketizer.parse(bytes(RtpPacket(OPUS_STEREO.payload_type, 1, 0, 5, payload=payload)))
    assert depacketizer.audio(parsed, fmt) == (payload, 960)
    with pytest.raises(WireError, match="Opus packet"):
        depacketizer.audio(RtpPacket(OPUS_STEREO.payload_type, 2, 960, 5, payload=b""), fmt)
