"""The impairment relay: its command line, and real station -> relay -> listener processes on loopback."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import Launcher, Proc, noise_pcm, read_wav, write_wav
from simulation import aligned_correlation, music_pcm

from relay.app import parse_args
from relay.impairments import BurstLoss, Impairer, Impairments
from rtpwire.audio import OPUS_STEREO
from rtpwire.fec import REPAIR_PAYLOAD_TYPE, REPAIR_PORT_OFFSET
from rtpwire.sdp import Origin, RepairFlow, StreamDescription

SPP = 220  # the station's default packet: 5 ms


# --- the command line ---------------------------------------------------------------------------------------------

TO_ELSEWHERE = ["--group", "239.255.0.2"]


def test_loss_as_percentage_or_fraction():
    assert parse_args(["--loss", "5%", *TO_ELSEWHERE]).impairments.loss == pytest.approx(0.05)
    assert parse_args(["--loss", "0.05", *TO_ELSEWHERE]).impairments.loss == 0.05
    assert parse_args(["--loss", "100%", *TO_ELSEWHERE]).impairments.loss == 1.0


@pytest.mark.parametrize("text", ["5", "-1%", "101%", "nan", "five", "%", ""])
def test_probability_out_of_range_or_not_a_number_is_refused(text, capsys):
    with pytest.raises(SystemExit) as exit:
        parse_args([f"--duplicate={text}", *TO_ELSEWHERE])
    assert exit.value.code == 2
    assert "argument --duplicate: expected a fraction" in capsys.readouterr().err


def test_every_impairment_reaches_the_config():
    config = parse_args(["--from-group", "239.255.9.9", "--from-port", "6000", "--group", "239.255.9.10",
                         "--port", "6000", "--loss", "1%", "--burst-loss", "4%", "--burst-length", "5",
                         "--delay-ms", "30", "--jitter-ms", "20", "--reorder", "2%", "--reorder-delay-ms", "15",
                         "--duplicate", "3%", "--corrupt", "0.5%", "--seed", "77", "--duration", "9",
                         "--stats-json", "r.json", "--impair-rtcp"])
    assert config.impairments == Impairments(loss=0.01, burst=BurstLoss.from_mean(0.04, 5), delay_ms=30,
                                             jitter_ms=20, reorder=0.02, reorder_delay_ms=15, duplicate=0.03,
                                             corrupt=0.005, seed=77)
    assert (config.from_group, config.from_port, config.group, config.port) == ("239.255.9.9", 6000,
                                                                                "239.255.9.10", 6000)
    assert config.interface == "127.0.0.1" and config.impair_rtcp
    assert config.duration_s == 9 and config.stats_json == Path("r.json")
    assert config.rtcp_impairments() == config.impairments


def test_defaults_impair_nothing_and_choose_a_seed():
    config = parse_args(TO_ELSEWHERE)
    seed = config.impairments.seed
    assert config.impairments == Impairments(seed=seed) and 0 <= seed < 2**32
    assert config.duration_s is None and config.stats_json is None and not config.impair_rtcp


def test_rtcp_is_only_delayed_unless_impaired_too():
    config = parse_args(["--loss", "10%", "--jitter-ms", "20", "--delay-ms", "40", "--seed", "3", *TO_ELSEWHERE])
    assert config.rtcp_impairments() == Impairments(delay_ms=40, seed=3)


def test_burst_length_defaults_to_three_packets():
    assert parse_args(["--burst-loss", "5%", *TO_ELSEWHERE]).impairments.burst == BurstLoss.from_mean(0.05, 3)


@pytest.mark.parametrize(("args", "message"), [
    ([], "the relay would hear what it sends"),  # the output defaults to the station's group and port
    (["--group", "239.255.0.1", "--port", "5005"], "the relay would hear what it sends"),  # RTP onto its RTCP
    (["--group", "239.255.0.1", "--port", "5003"], "the relay would hear what it sends"),  # RTCP onto its RTP
    (["--group", "239.255.0.1", "--port", "5008"], "the relay would hear what it sends"),  # RTP onto its repair
    (["--group", "239.255.0.1", "--port", "5000"], "the relay would hear what it sends"),  # repair onto its RTP
    (["--burst-length", "4", *TO_ELSEWHERE], "--burst-length needs --burst-loss"),
    (["--burst-loss", "60%", "--burst-length", "1", *TO_ELSEWHERE], "lose at most 50%"),
    (["--burst-length", "0.5", "--burst-loss", "1%", *TO_ELSEWHERE], "must be at least 1"),
    (["--jitter-ms", "-5", *TO_ELSEWHERE], "must be between 0 and 10000"),
    (["--delay-ms", "20000", *TO_ELSEWHERE], "must be between 0 and 10000"),
    (["--from-group", "10.0.0.1", *TO_ELSEWHERE], "not a multicast address"),
    (["--from-port", "65535", *TO_ELSEWHERE], "RTCP uses port+1"),
    (["--seed", "lucky", *TO_ELSEWHERE], "invalid int value"),
])
def test_invalid_arguments_are_refused_with_a_clear_message(args, message, capsys):
    with pytest.raises(SystemExit) as exit:
        parse_args(args)
    assert exit.value.code == 2
    assert message in capsys.readouterr().err


def test_ports_two_apart_on_one_group_do_not_loop():
    config = parse_args(["--group", "239.255.0.1", "--port", "5006"])
    assert (config.from_port, config.port) == (5004, 5006)


def test_another_group_may_use_the_same_ports():
    config = parse_args(TO_ELSEWHERE)
    assert (config.from_group, config.from_port, config.group, config.port) == ("239.255.0.1", 5004,
                                                                                "239.255.0.2", 5004)


def test_help_explains_every_flag(capsys):
    with pytest.raises(SystemExit) as exit:
        parse_args(["--help"])
    assert exit.value.code == 0
    text = capsys.readouterr().out
    for flag in ("--from-group", "--from-port", "--group", "--port", "--interface", "--loss", "--burst-loss",
                 "--burst-length", "--delay-ms", "--jitter-ms", "--reorder", "--reorder-delay-ms", "--duplicate",
                 "--corrupt", "--seed", "--impair-rtcp", "--duration", "--stats-json"):
        assert flag in text


# --- end to end -------------------------------------------------------------------------------------------------


def relay_drops(impairments: Impairments, packets: int, leg: str = "rtp") -> set[int]:
    """Which of a stream's first `packets` RTP packets (or repair packets: `leg` "repair") a relay with these
    impairments drops: its impairer of that leg (salted by its name) makes the same draws as this one, packet for
    packet."""
    impairer = Impairer(impairments, salt=leg)
    return {i for i in range(packets) if not impairer.process(bytes(12), 0.0)}


def rebuildable(impairments: Impairments, blocks: int, k: int, n: int) -> tuple[set[int], set[int]]:
    """The RTP and repair packets a relay drops from `blocks` FEC blocks of K,N, checking that no block loses
    more than N - K of its N (so that every one is rebuilt)."""
    dropped = relay_drops(impairments, blocks * k)
    repair_dropped = relay_drops(impairments, blocks * (n - k), leg="repair")
    for block in range(blocks):
        lost = (len({i for i in dropped if i // k == block})
                + len({i for i in repair_dropped if i // (n - k) == block}))
        assert lost <= n - k, f"block {block} loses {lost} of {n}: the seed makes it unrecoverable"
    return dropped, repair_dropped


def start_behind_relay(launcher: Launcher, tmp_path: Path, name: str, relay_args: list[str],
                       listener_args: list[str], described: StreamDescription | None = None) -> tuple[Proc, Proc]:
    """A listener on a group of its own, and a relay from the station's group to it; both ready to receive. A
    stream `described` (a dynamic payload type: Opus) is joined through its description, moved to that group."""
    group, port = launcher.another_address()
    common = ("--duration", "90", "--stats-json", str(tmp_path / f"{name}-listener.json"), *listener_args)
    if described is None:
        listener = launcher.start("listener", *common, group=group, port=port)
    else:
        sdp_path = tmp_path / f"{name}.sdp"
        repair = described.repair and dataclasses.replace(described.repair, port=port + REPAIR_PORT_OFFSET)
        sdp_path.write_text(str(dataclasses.replace(described, group=group, port=port, repair=repair)))
        listener = launcher.start("listener", str(sdp_path), *common, on_group=False)
    listener.wait_for("listening on")
    relay = launcher.start("relay", "--from-group", launcher.group, "--from-port", str(launcher.port),
                           "--duration", "90", "--stats-json", str(tmp_path / f"{name}-relay.json"), *relay_args,
                           group=group, port=port)
    relay.wait_for("relaying")
    return listener, relay


def stop_and_read(listener: Proc, relay: Proc, tmp_path: Path, name: str) -> tuple[dict, dict]:
    """Once the station has left: stop both, cleanly, and their figures."""
    listener.wait_for("station left", timeout_s=30)
    assert listener.stop() == 0 and relay.stop() == 0
    for proc in (listener, relay):
        assert "Traceback" not in proc.stderr()
    return (json.loads((tmp_path / f"{name}-listener.json").read_text()),
            json.loads((tmp_path / f"{name}-relay.json").read_text()))


def test_listener_behind_a_lossy_jittery_relay_loses_exactly_what_the_relay_dropped(launcher, tmp_path):
    """5 % loss and 20 ms of jitter for 5 s (some 50 packets lost), the listener at its default 60 ms latency:
    every packet the relay dropped is counted lost, the only samples missing from playout are those lost packets'
    (no late packet, no stall), and all of them are concealed."""
    source = noise_pcm(5.0)
    packets = math.ceil(len(source) / SPP)
    dropped = relay_drops(Impairments(loss=0.05, jitter_ms=20, seed=2), packets)
    # The seed keeps the first packet and the last 100 ms, so that every loss is one the listener can know of:
    # loss is counted from the first packet heard, and the station's BYE (RTCP, which the jitter does not delay)
    # arrives some 60 ms before the last packets play: the end of the stream is then judged by what has arrived.
    assert 0 not in dropped and min(packets - i for i in dropped) > 20
    listener, relay = start_behind_relay(
        launcher, tmp_path, "a", ["--loss", "5%", "--jitter-ms", "20", "--seed", "2"], ["--output", "null"])
    station = launcher.start("station", "--once", str(write_wav(tmp_path / "song.wav", source)))
    assert station.popen.wait(60) == 0
    heard, relayed = stop_and_read(listener, relay, tmp_path, "a")
    rtp = relayed["rtp"]
    assert rtp["received"] == packets
    assert rtp["dropped"] == rtp["dropped_random"] == len(dropped)
    assert 0.03 < rtp["dropped"] / packets < 0.07
    assert rtp["overflow"] == rtp["send_errors"] == rtp["held_at_exit"] == 0
    assert rtp["sent"] == rtp["delivered"] == packets - len(dropped)
    assert relayed["rtcp"]["dropped"] == 0 and relayed["rtcp"]["sent"] == relayed["rtcp"]["received"] > 0
    assert heard["packets_lost"] == rtp["dropped"]
    assert heard["packets_received"] == rtp["sent"]
    assert heard["packets_late"] == heard["packets_duplicate"] == heard["resyncs"] == 0
    assert heard["samples_missing"] == heard["packets_lost"] * SPP  # nothing else was missing: no underrun of its own
    assert heard["samples_concealed"] == heard["samples_missing"]  # and every lost sample was made up
    assert heard["underruns"] <= 2 * heard["packets_lost"]  # a lost packet spoils one 10 ms read, or two it straddles
    assert heard["jitter_ms"] > 1.0  # the relay's jitter reached the listener


def test_listeners_behind_relays_with_different_seeds_lose_different_packets(launcher, tmp_path):
    """Two relays on one station, 10 % loss each, seeds 1 and 2: each listener's recording is the source but for
    exactly the packets its own relay's seed drops, so the two lose different packets, as predicted."""
    source = noise_pcm(4.0)
    packets = math.ceil(len(source) / SPP)
    expected = {seed: relay_drops(Impairments(loss=0.1, seed=seed), packets) for seed in (1, 2)}
    # recordings are aligned on the first packet, and loss is counted between the first and last packets heard
    assert all(0 not in drops and packets - 1 not in drops for drops in expected.values())
    assert expected[1] != expected[2]
    pairs = {seed: start_behind_relay(launcher, tmp_path, f"seed{seed}", ["--loss", "10%", "--seed", str(seed)],
                                      ["--output", str(tmp_path / f"seed{seed}.wav"), "--latency-ms", "200"])
             for seed in (1, 2)}
    station = launcher.start("station", "--once", str(write_wav(tmp_path / "song.wav", source)))
    assert station.popen.wait(30) == 0
    for seed, (listener, relay) in pairs.items():
        heard, relayed = stop_and_read(listener, relay, tmp_path, f"seed{seed}")
        assert relayed["rtp"]["dropped"] == heard["packets_lost"] == len(expected[seed])
        assert packets_not_heard(read_wav(tmp_path / f"seed{seed}.wav"), source) == expected[seed]


def test_l16_with_fec_behind_a_lossy_jittery_relay_recorded_bit_exact(launcher, tmp_path):
    """--fec 10,15 through 5 % loss and 20 ms of jitter on audio and repair packets alike, a seed where no block
    loses more than 5 of its 15: every packet the relay dropped is rebuilt, in time (the latency the station
    announces covers a block's wait), and the recording is the source, bit for bit."""
    blocks = 60
    source = noise_pcm(3.0, seed=12)[: blocks * 10 * SPP]  # whole blocks: a last one cut short has no repair
    impairments = Impairments(loss=0.05, jitter_ms=20, seed=3)
    dropped, repair_dropped = rebuildable(impairments, blocks, 10, 15)
    assert dropped and repair_dropped and 0 not in dropped
    listener, relay = start_behind_relay(launcher, tmp_path, "fec", ["--loss", "5%", "--jitter-ms", "20", "--seed",
                                                                      "3"], ["--output", str(tmp_path / "fec.wav")])
    station = launcher.start("station", "--once", "--fec", "10,15", str(write_wav(tmp_path / "song.wav", source)))
    assert station.popen.wait(30) == 0
    heard, relayed = stop_and_read(listener, relay, tmp_path, "fec")
    assert relayed["rtp"]["dropped"] == len(dropped) and relayed["repair"]["dropped"] == len(repair_dropped)
    assert relayed["repair"]["received"] == blocks * 5
    assert heard["packets_lost"] == heard["packets_recovered"] == len(dropped)
    assert heard["packets_unrecovered"] == heard["packets_rebuilt_late"] == heard["samples_missing"] == 0
    assert packets_not_heard(read_wav(tmp_path / "fec.wav"), source) == set()


def test_opus_with_fec_behind_a_lossy_jittery_relay_sounds_as_sent(launcher, tmp_path):
    """Opus (128 kbit/s, 10 ms) with --fec 10,15 through 5 % loss and 20 ms of jitter, every block rebuildable:
    what the listener records is the music, lined up past the codec's delay."""
    source = music_pcm(4.0, rate=48000)
    blocks = len(source) // 480 // 10
    impairments = Impairments(loss=0.05, jitter_ms=20, seed=5)
    dropped, _ = rebuildable(impairments, blocks, 10, 15)
    assert dropped and 0 not in dropped
    described = StreamDescription(Origin("-", "1", "1", "127.0.0.1"), "relayed", launcher.group, launcher.port,
                                  OPUS_STEREO, repair=RepairFlow(0, REPAIR_PAYLOAD_TYPE, 10, 15))
    listener, relay = start_behind_relay(launcher, tmp_path, "opus", ["--loss", "5%", "--jitter-ms", "20", "--seed",
                                                                       "5"], ["--output", str(tmp_path / "opus.wav")],
                                         described)
    station = launcher.start("station", "--once", "--codec", "opus", "--fec", "10,15",
                             str(write_wav(tmp_path / "song.wav", source, rate=48000)))
    assert station.popen.wait(30) == 0
    heard, _ = stop_and_read(listener, relay, tmp_path, "opus")
    assert heard["packets_recovered"] == heard["packets_lost"] > 0
    assert aligned_correlation(read_wav(tmp_path / "opus.wav"), source) >= 0.99


def packets_not_heard(recording: np.ndarray, source: np.ndarray) -> set[int]:
    """The source's packets a recording lacks, by their index. The recording is aligned on its first sound (the
    first packet); a packet is missing if its last sample is not the source's (whatever the listener made up in its
    place: silence, or concealment, whose crossfade back into real audio is over well before a packet's end), and
    every other packet must be the source's bit for bit but for that crossfade, in the packet after a missing one.
    """
    start = int(np.argmax(np.any(recording != 0, axis=1)))
    played = recording[start: start + len(source)]
    assert len(played) == len(source), "the recording ends before the source does"
    spans = [(i * SPP, min((i + 1) * SPP, len(source))) for i in range(math.ceil(len(source) / SPP))]
    missing = {i for i, (_, end) in enumerate(spans) if not np.array_equal(played[end - 1], source[end - 1])}
    for i, (begin, end) in enumerate(spans):
        if i not in missing and i - 1 not in missing:
            assert np.array_equal(played[begin:end], source[begin:end]), f"packet {i} heard, but not as sent"
    return missing


def test_every_impairment_at_once_counted_alike_by_relay_and_listener(launcher, tmp_path):
    """Loss, burst loss, delay, jitter, reordering, duplication and corruption together, for 3 s: the listener
    counts as lost what the relay dropped and as duplicates what it duplicated; corruption (the payload only) is
    played, not counted."""
    source = noise_pcm(3.0)
    packets = math.ceil(len(source) / SPP)
    impairments = Impairments(loss=0.02, burst=BurstLoss.from_mean(0.03, 3), seed=5)
    dropped = relay_drops(impairments, packets)
    assert 0 not in dropped and packets - 1 not in dropped  # loss is counted between the first and last heard
    listener, relay = start_behind_relay(
        launcher, tmp_path, "all", ["--loss", "2%", "--burst-loss", "3%", "--burst-length", "3", "--delay-ms", "10",
                                    "--jitter-ms", "10", "--reorder", "5%", "--duplicate", "5%", "--corrupt", "5%",
                                    "--seed", "5"], ["--output", "null"])
    station = launcher.start("station", "--once", str(write_wav(tmp_path / "song.wav", source)))
    assert station.popen.wait(30) == 0
    heard, relayed = stop_and_read(listener, relay, tmp_path, "all")
    rtp = relayed["rtp"]
    assert rtp["received"] == packets and rtp["dropped"] == len(dropped)
    assert min(rtp["dropped_random"], rtp["dropped_burst"], rtp["duplicated"], rtp["reordered"],
               rtp["corrupted"]) > 0
    assert heard["packets_lost"] == rtp["dropped"]
    assert heard["packets_duplicate"] == rtp["duplicated"]
    assert heard["packets_received"] == rtp["sent"] - rtp["duplicated"]
    assert heard["packets_late"] == heard["packets_malformed"] == 0


def test_relay_stops_by_itself_after_duration(launcher, tmp_path):
    group, port = launcher.another_address()
    relay = launcher.start("relay", "--from-group", launcher.group, "--from-port", str(launcher.port),
                           "--duration", "0.5", "--seed", "9", "--stats-json", str(tmp_path / "r.json"),
                           group=group, port=port)
    assert relay.popen.wait(15) == 0
    stats = json.loads((tmp_path / "r.json").read_text())
    assert stats["impairments"]["seed"] == 9 and stats["rtp"]["received"] == stats["rtcp"]["received"] == 0
    assert "--seed 9 repeats it" in relay.stderr() and "RTP: 0 received" in relay.stderr()


def test_relay_that_cannot_join_says_where_and_exits_3(launcher):
    group, port = launcher.another_address()
    relay = launcher.start("relay", "--from-group", launcher.group, "--interface", "198.51.100.7",
                           group=group, port=port)  # TEST-NET-2: no interface has it, so the join fails
    assert relay.popen.wait(15) == 3
    assert "cannot join" in relay.stderr() and launcher.group in relay.stderr()
    assert "Traceback" not in relay.stderr()
