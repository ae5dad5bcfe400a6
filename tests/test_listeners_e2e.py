"""Receiver reports end to end: real listeners on loopback appear in the station's LISTENERS, by the names given
them, and leave it."""

import re
import time

from conftest import Proc, noise_pcm, write_wav

from station.audience import NO_LISTENERS

WAIT_S = 20.0  # first reports come 1 to 3 s after a listener starts (RFC 3550's halved initial interval)


def poll_listeners(station: Proc, done, timeout_s: float = WAIT_S) -> str:
    """Asks LISTENERS twice a second until `done(answers since the first ask)` holds; what was answered."""
    start = len(station.stdout())
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        station.send("LISTENERS")
        time.sleep(0.5)
        answers = station.stdout()[start:]
        if done(answers):
            return answers
    raise AssertionError(f"LISTENERS never showed what was expected within {timeout_s} s; stdout:\n"
                         f"{station.stdout()}\nstderr:\n{station.stderr()}")


def latest_table(answers: str) -> list[str]:
    """The rows of the last LISTENERS table answered (after its count line and its header)."""
    lines = answers.splitlines()
    counts = [i for i, line in enumerate(lines) if re.fullmatch(r"\d+ listeners?", line)]
    if not counts:
        return []
    start = counts[-1]
    return lines[start + 2: start + 2 + int(lines[start].split()[0])]


def names_by_cname(rows: list[str]) -> dict[str, str]:
    """Each row's CNAME, and the NAME in the column before it."""
    return {cname: name for name, cname in (re.match(r"[0-9a-f]{8}  (.+?) +(listener-\S+) ", row).groups()
                                            for row in rows)}


def test_three_listeners_appear_in_listeners_by_name_and_leave_with_bye(launcher, tmp_path):
    station = launcher.start("station", str(write_wav(tmp_path / "loop.wav", noise_pcm(1.0))), stdin=True)
    station.wait_for("now playing", stream="stdout")
    names = ["Kitchen", "Living room", None]
    listeners = [launcher.start("listener", "--output", "null", *(("--name", name) if name else ()))
                 for name in names]
    cnames = []
    for listener in listeners:
        listener.wait_for("reporting as")
        cnames.append(re.search(r"reporting as (\S+)", listener.stderr())[1])
    assert len(set(cnames)) == 3 and all(cname.startswith("listener-") for cname in cnames)

    def all_three(answers: str) -> bool:
        """The latest table lists every listener by its name ("-" without one), each with reception figures
        about the station."""
        rows = latest_table(answers)
        return (names_by_cname(rows) == {cname: name or "-" for cname, name in zip(cnames, names)}
                and all(" % " in row for row in rows))

    poll_listeners(station, all_three)
    for listener in listeners:
        assert listener.stop() == 0
    poll_listeners(station, lambda answers: NO_LISTENERS in answers)
    assert station.popen.poll() is None
    assert station.stop() == 0
    for proc in (station, *listeners):
        assert "Traceback" not in proc.stderr()
