"""How the station codes its stream: the codec, its packet, and FEC, from the command line to its stages."""

import argparse

import numpy as np
import pytest

from rtpwire.audio import L16_MONO, OPUS_MONO
from rtpwire.opus import OpusDecoder, packet_samples
from rtpwire.sdp import RepairFlow
from station.coding import Coding, fec_blocks


@pytest.mark.parametrize(("text", "blocks"), [("off", None), ("OFF", None), ("10,15", (10, 15)), ("1,2", (1, 2)),
                                              ("254,255", (254, 255))])
def test_fec_blocks(text, blocks):
    assert fec_blocks(text) == blocks


@pytest.mark.parametrize("text", ["", "10", "15,10", "10,10", "0,5", "10,256", "a,b", "10,15,20"])
def test_fec_blocks_refused(text):
    with pytest.raises(argparse.ArgumentTypeError, match="expected off or K,N with 1 <= K < N <= 255"):
        fec_blocks(text)


def test_l16_payload_and_no_encoder_of_its_own():
    coding = Coding("l16", channels=1, frame_ms=5.0)
    assert (coding.fmt, coding.samples_per_packet, coding.payload_bytes) == (L16_MONO, 220, 440)
    assert coding.encoder() is None and coding.fec_encoder(1, 1) is None and coding.repair_flow(5004) is None
    assert coding.block_wait_ms == 0


def test_opus_encoder_makes_packets_of_its_frame():
    coding = Coding("opus", channels=1, frame_ms=20.0, bitrate_kbps=64)
    assert (coding.fmt, coding.samples_per_packet, coding.payload_bytes) == (OPUS_MONO, 960, 160)
    encode = coding.encoder()
    packet = encode(np.zeros((960, 1), dtype=np.int16))
    assert packet_samples(packet) == 960 and len(OpusDecoder(1).decode(packet)) == 960


def test_fec_block_wait_and_repair_flow():
    coding = Coding("opus", channels=2, frame_ms=10.0, bitrate_kbps=128, fec=(10, 15))
    assert coding.block_wait_ms == 90
    assert coding.repair_flow(6000) == RepairFlow(6004, 127, 10, 15)
    encoder = coding.fec_encoder(ssrc=7, first_sequence=1)
    assert (encoder.k, encoder.n, encoder.ssrc) == (10, 15, 7)
    assert coding.describe() == "128 kbit/s, Reed-Solomon FEC 10,15"
    assert Coding("l16", channels=2, frame_ms=5.0).describe() == ""
