"""The L16 audio format (RFC 3551): big-endian signed 16-bit PCM on the wire, native int16 arrays in memory."""

import numpy as np
import pytest

from rtpwire.audio import (L16_MONO, L16_STEREO, PCM_DTYPE, STATIC_FORMATS, AudioFormat,
                           format_for_payload_type, formats_playable_as)
from rtpwire.errors import WireError


def random_pcm(rng: np.random.Generator, frames: int, channels: int) -> np.ndarray:
    pcm = rng.integers(-32768, 32768, size=(frames, channels), dtype=np.int16)
    pcm[0] = -32768  # the extremes are where a wrong signedness or byte order shows
    pcm[-1] = 32767
    return pcm


def test_static_formats():
    assert (L16_STEREO.rate, L16_STEREO.channels, L16_STEREO.payload_type) == (44100, 2, 10)
    assert (L16_MONO.rate, L16_MONO.channels, L16_MONO.payload_type) == (44100, 1, 11)
    assert STATIC_FORMATS == {10: L16_STEREO, 11: L16_MONO}


def test_format_for_payload_type():
    assert format_for_payload_type(10) is L16_STEREO
    assert format_for_payload_type(11) is L16_MONO


@pytest.mark.parametrize("payload_type", [0, 8, 12, 95])
def test_format_for_unknown_payload_type(payload_type):
    with pytest.raises(WireError, match=rf"^unsupported RTP payload type {payload_type} \(expected L16: 10 or 11\)$"):
        format_for_payload_type(payload_type)


@pytest.mark.parametrize("payload_type", [96, 127])
def test_unknown_dynamic_payload_type_points_at_the_sdp(payload_type):
    with pytest.raises(WireError) as error:
        format_for_payload_type(payload_type)
    assert str(error.value) == (f"unsupported RTP payload type {payload_type} (expected L16: 10 or 11; dynamic type "
                                f"{payload_type} is described by the stream's SDP: python -m listener FILE.sdp)")


def test_format_for_a_dynamic_payload_type_among_given_formats():
    l16_48k = AudioFormat(rate=48000, channels=2, payload_type=97)
    assert format_for_payload_type(97, {97: l16_48k}) is l16_48k
    with pytest.raises(WireError, match=r"^unsupported RTP payload type 10 \(expected L16: 97\)$"):
        format_for_payload_type(10, {97: l16_48k})


def test_formats_playable_as_the_default_output_are_the_static_ones():
    assert formats_playable_as(L16_STEREO) == STATIC_FORMATS
    assert formats_playable_as(L16_MONO) == STATIC_FORMATS


def test_formats_playable_at_48k_are_only_the_streams_own():
    """A 48 kHz output cannot play the static types' 44.1 kHz without resampling, so they are refused."""
    l16_48k_mono = AudioFormat(rate=48000, channels=1, payload_type=96)
    assert formats_playable_as(l16_48k_mono) == {96: l16_48k_mono}


def test_a_44k_dynamic_type_is_playable_alongside_the_static_ones():
    dynamic = AudioFormat(rate=44100, channels=2, payload_type=100)
    assert formats_playable_as(dynamic) == {10: L16_STEREO, 11: L16_MONO, 100: dynamic}


def test_bytes_per_frame():
    assert L16_STEREO.bytes_per_frame == 4
    assert L16_MONO.bytes_per_frame == 2
    assert AudioFormat(rate=8000, channels=6, payload_type=96).bytes_per_frame == 12


def test_samples_for():
    assert L16_STEREO.samples_for(0.005) == 220
    assert L16_MONO.samples_for(0.005) == 220
    assert L16_STEREO.samples_for(0.02) == 882
    assert L16_STEREO.samples_for(1.0) == 44100
    assert L16_STEREO.samples_for(0.0) == 0
    assert AudioFormat(rate=8000, channels=1, payload_type=96).samples_for(0.02) == 160
    assert isinstance(L16_STEREO.samples_for(0.005), int)


def test_encode_is_big_endian_mono():
    pcm = np.array([[0x0102]], dtype=np.int16)
    assert L16_MONO.encode(pcm) == b"\x01\x02"


def test_encode_known_samples_stereo_interleaved():
    pcm = np.array([[0x0102, -2], [-32768, 32767]], dtype=np.int16)
    assert L16_STEREO.encode(pcm) == b"\x01\x02\xff\xfe" b"\x80\x00\x7f\xff"


def test_encode_interleaves_fortran_ordered_and_strided_arrays():
    pcm = np.array([[1, 2], [3, 4], [5, 6], [7, 8]], dtype=np.int16)
    expected = b"".join(v.to_bytes(2, "big") for v in (1, 2, 3, 4, 5, 6, 7, 8))
    assert L16_STEREO.encode(np.asfortranarray(pcm)) == expected
    assert L16_STEREO.encode(pcm[::2]) == b"".join(v.to_bytes(2, "big") for v in (1, 2, 5, 6))


def test_encode_does_not_modify_input():
    pcm = np.array([[0x0102, 0x0304]], dtype=np.int16)
    L16_STEREO.encode(pcm)
    assert pcm.tolist() == [[0x0102, 0x0304]]
    assert pcm.dtype == np.int16


def test_decode_known_bytes():
    pcm = L16_STEREO.decode(b"\x01\x02\xff\xfe\x80\x00\x7f\xff")
    assert pcm.shape == (2, 2)
    assert pcm.tolist() == [[0x0102, -2], [-32768, 32767]]


def test_decode_gives_native_writable_int16():
    pcm = L16_MONO.decode(b"\x00\x01\x00\x02")
    assert pcm.dtype == PCM_DTYPE
    assert pcm.dtype.isnative
    assert pcm.shape == (2, 1)
    assert pcm.flags.writeable
    pcm[0, 0] = 5  # consumers may scale or mix in place


def test_decode_empty_payload():
    assert L16_STEREO.decode(b"").shape == (0, 2)
    assert L16_MONO.decode(b"").shape == (0, 1)


@pytest.mark.parametrize("fmt, frames", [(L16_STEREO, 220), (L16_MONO, 220), (L16_STEREO, 1), (L16_MONO, 4410)])
def test_round_trip_random(fmt, frames):
    rng = np.random.default_rng(frames * fmt.channels)
    pcm = random_pcm(rng, frames, fmt.channels)
    payload = fmt.encode(pcm)
    assert len(payload) == frames * fmt.bytes_per_frame
    decoded = fmt.decode(payload)
    assert decoded.dtype == np.int16
    assert decoded.shape == pcm.shape
    np.testing.assert_array_equal(decoded, pcm)
    assert fmt.encode(decoded) == payload


def test_decode_accepts_memoryview():
    payload = L16_STEREO.encode(np.array([[1, -1]], dtype=np.int16))
    assert L16_STEREO.decode(memoryview(payload)).tolist() == [[1, -1]]


@pytest.mark.parametrize("fmt, length", [(L16_MONO, 1), (L16_MONO, 3), (L16_MONO, 881),
                                         (L16_STEREO, 1), (L16_STEREO, 2), (L16_STEREO, 6), (L16_STEREO, 879)])
def test_decode_rejects_partial_frames(fmt, length):
    with pytest.raises(WireError, match=rf"^L16 payload of {length} bytes is not a whole number of "
                                        rf"{fmt.channels}-channel frames$"):
        fmt.decode(bytes(length))


def test_silence():
    silence = L16_STEREO.silence(220)
    assert silence.shape == (220, 2)
    assert silence.dtype == PCM_DTYPE
    assert not silence.any()
    assert L16_STEREO.encode(silence) == bytes(880)


def test_describe():
    assert L16_STEREO.describe() == "L16 44100 Hz stereo (PT 10)"
    assert L16_MONO.describe() == "L16 44100 Hz mono (PT 11)"
    assert AudioFormat(rate=48000, channels=6, payload_type=96).describe() == "L16 48000 Hz 6 channels (PT 96)"
