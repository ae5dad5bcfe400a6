"""The Opus codec wrapper: round trip through libopus, packet sizes, corrupt packets, in-band FEC and PLC."""

import numpy as np
import pytest

from rtpwire.errors import WireError
from rtpwire.opus import (
    FRAME_MS_ALLOWED,
    FRAME_SAMPLES_ALLOWED,
    OPUS_RATE,
    OpusDecoder,
    OpusEncoder,
    packet_has_fec,
    packet_samples,
)

FRAME = 480  # 10 ms
LOOKAHEAD_SAMPLES = 312  # libopus' delay at 48 kHz, application AUDIO: 2.5 ms + 4 ms of delay compensation


def music_like(frames: int, channels: int = 2, seed: int = 0) -> np.ndarray:
    """A chord plucked every 250 ms, a different voicing on each side, over a little noise: tonal, with attacks,
    and not silent anywhere, so that the encoder treats it as music."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / OPUS_RATE
    notes = (220.0, 277.18, 329.63, 440.0)
    left = sum(np.sin(2 * np.pi * f * t * (1 + 0.002 * np.sin(2 * np.pi * 5 * t))) / (k + 1)
               for k, f in enumerate(notes))
    right = sum(np.sin(2 * np.pi * 1.5 * f * t + k) / (k + 1) for k, f in enumerate(notes))
    pluck = np.exp(-(t % 0.25) * 12)
    mix = np.stack([left, right], axis=1) * pluck[:, None] + rng.normal(0, 0.02, (frames, 2))
    pcm = (mix / np.abs(mix).max() * 0.5 * 32767).astype(np.int16)
    return pcm if channels == 2 else pcm[:, :1].copy()


def encode_all(pcm: np.ndarray, encoder: OpusEncoder) -> list[bytes]:
    step = encoder.frame_samples
    return [encoder.encode(pcm[start: start + step]) for start in range(0, len(pcm) - step + 1, step)]


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(float).ravel(), b.astype(float).ravel()
    return float(a @ b / np.sqrt((a @ a) * (b @ b)))


def test_frame_sizes():
    assert FRAME_SAMPLES_ALLOWED == (120, 240, 480, 960)
    assert FRAME_MS_ALLOWED == (2.5, 5, 10, 20)


def test_round_trip_after_the_codec_delay():
    pcm = music_like(OPUS_RATE)
    encoder = OpusEncoder(2, 128, FRAME)
    decoder = OpusDecoder(2)
    out = np.concatenate([decoder.decode(packet) for packet in encode_all(pcm, encoder)])
    assert encoder.lookahead_samples == LOOKAHEAD_SAMPLES
    assert out.shape == pcm.shape and out.dtype == np.int16
    assert correlation(out[LOOKAHEAD_SAMPLES:], pcm[:-LOOKAHEAD_SAMPLES]) >= 0.99
    assert correlation(out[LOOKAHEAD_SAMPLES + 48:], pcm[:-LOOKAHEAD_SAMPLES - 48]) < 0.9  # the delay is that one


def test_128_kbits_in_10_ms_frames_is_160_bytes_a_packet():
    packets = encode_all(music_like(2 * OPUS_RATE), OpusEncoder(2, 128, FRAME))
    assert 150 <= np.mean([len(packet) for packet in packets]) <= 170  # 128000 / 100 / 8 = 160, VBR
    half = encode_all(music_like(2 * OPUS_RATE), OpusEncoder(2, 64, FRAME))
    assert 75 <= np.mean([len(packet) for packet in half]) <= 85


@pytest.mark.parametrize("frame_samples", FRAME_SAMPLES_ALLOWED)
def test_packet_samples_for_each_frame_size(frame_samples):
    encoder = OpusEncoder(2, 128, frame_samples)
    packets = encode_all(music_like(10 * frame_samples), encoder)
    assert [packet_samples(packet) for packet in packets] == [frame_samples] * 10
    decoder = OpusDecoder(2)
    assert all(decoder.decode(packet).shape == (frame_samples, 2) for packet in packets)


def test_encoder_refuses_other_frame_sizes_and_shapes():
    with pytest.raises(ValueError, match="expected one of"):
        OpusEncoder(2, 128, 441)
    encoder = OpusEncoder(2, 128, FRAME)
    with pytest.raises(ValueError, match=r"\(480, 2\) int16"):
        encoder.encode(music_like(FRAME - 1))
    with pytest.raises(ValueError, match=r"\(480, 2\) int16"):
        encoder.encode(music_like(FRAME, channels=1))
    with pytest.raises(ValueError, match=r"\(480, 2\) int16"):
        encoder.encode(music_like(FRAME).astype(np.float32))


@pytest.mark.parametrize("payload, message", [
    (b"", "empty Opus packet"),
    (b"\x03", "TOC 0x03"),  # code 3: the frame count byte is missing
    (b"\x03\x00", "corrupted"),  # code 3 with no frames
    (b"\x03\x31" + bytes(60), "corrupted"),  # 49 frames: more than 120 ms
    (b"\x02\xff\x01", "corrupted"),  # code 2: a first frame longer than the packet
])
def test_corrupt_packets_raise_wire_error(payload, message):
    with pytest.raises(WireError, match=message):
        packet_samples(payload)
    with pytest.raises(WireError, match="empty Opus packet|not decodable: corrupted stream"):  # libopus says
        OpusDecoder(2).decode(payload)
    with pytest.raises(WireError, match=message):
        packet_has_fec(payload)


def test_random_bytes_decode_or_raise_wire_error_only():
    rng = np.random.default_rng(7)
    decoder = OpusDecoder(2)
    outcomes = {"decoded": 0, "refused": 0}
    for _ in range(2000):
        payload = rng.integers(0, 256, int(rng.integers(1, 80)), dtype=np.uint8).tobytes()
        try:
            pcm = decoder.decode(payload)
        except WireError:
            outcomes["refused"] += 1
        else:
            assert pcm.shape == (packet_samples(payload), 2)
            outcomes["decoded"] += 1
    assert outcomes["decoded"] and outcomes["refused"]


def test_decoder_converts_channels():
    stereo = encode_all(music_like(4 * FRAME), OpusEncoder(2, 128, FRAME))
    mono = encode_all(music_like(4 * FRAME, channels=1), OpusEncoder(1, 64, FRAME))
    assert all(OpusDecoder(1).decode(packet).shape == (FRAME, 1) for packet in stereo)
    to_stereo = [OpusDecoder(2).decode(packet) for packet in mono]
    assert all(pcm.shape == (FRAME, 2) and np.array_equal(pcm[:, 0], pcm[:, 1]) for pcm in to_stereo)


def test_reset_decodes_as_a_fresh_decoder():
    packets = encode_all(music_like(10 * FRAME), OpusEncoder(2, 128, FRAME))
    used = OpusDecoder(2)
    for packet in packets[:5]:
        used.decode(packet)
    used.reset()
    fresh = OpusDecoder(2)
    assert all(np.array_equal(used.decode(packet), fresh.decode(packet)) for packet in packets[5:])


def lost_frame(packets: list[bytes], lost: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frame `lost` as decoded with nothing lost, rebuilt from the next packet's FEC, and concealed."""
    decoders = [OpusDecoder(2) for _ in range(3)]
    for packet in packets[:lost]:
        for decoder in decoders:
            decoder.decode(packet)
    return (decoders[0].decode(packets[lost]), decoders[1].rebuild(packets[lost + 1], FRAME),
            decoders[2].conceal(FRAME))


def test_without_fec_128_kbits_is_celt_and_rebuild_is_concealment():
    packets = encode_all(music_like(OPUS_RATE // 2), OpusEncoder(2, 128, FRAME))
    assert all(packet[0] >> 3 >= 16 for packet in packets)  # TOC configurations 16-31: CELT only
    assert not any(map(packet_has_fec, packets))
    _, rebuilt, concealed = lost_frame(packets, 20)
    assert np.array_equal(rebuilt, concealed)


def test_fec_at_128_kbits_switches_to_hybrid_and_rebuilds_a_lost_frame():
    """What --opus-fec does to music at 128 kbit/s: libopus leaves CELT for hybrid (SILK below 8 kHz, which
    carries the LBRR copy of the frame before), so a lost frame comes back from the next packet far better than
    the codec's concealment guesses it."""
    packets = encode_all(music_like(OPUS_RATE // 2), OpusEncoder(2, 128, FRAME, fec_percent=20))
    assert all(12 <= packet[0] >> 3 < 16 for packet in packets)  # TOC configurations 12-15: hybrid
    lost = next(i for i in range(20, len(packets) - 1) if packet_has_fec(packets[i + 1]))
    original, rebuilt, concealed = lost_frame(packets, lost)
    assert correlation(rebuilt, original) > 0.9
    assert correlation(rebuilt, original) > correlation(concealed, original) + 0.2


def test_conceal_and_rebuild_take_multiples_of_2_5_ms():
    packets = encode_all(music_like(4 * FRAME), OpusEncoder(2, 128, FRAME))
    decoder = OpusDecoder(2)
    decoder.decode(packets[0])
    assert decoder.conceal(120).shape == (120, 2)
    assert decoder.conceal(3 * FRAME).shape == (3 * FRAME, 2)
    assert decoder.rebuild(packets[2], 2 * FRAME).shape == (2 * FRAME, 2)
    for frames in (0, 100):
        with pytest.raises(ValueError, match="multiples of 120"):
            decoder.conceal(frames)
    with pytest.raises(WireError, match="empty"):
        decoder.rebuild(b"", FRAME)
