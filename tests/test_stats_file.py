"""--stats-json: the figures at exit, and a snapshot whenever SIGUSR1 asks, never half a file."""

import json
import signal
import time

from stats.file import StatsFile

WAIT_S = 5.0  # a bound against hanging on the writer thread, never a measure


class Counter:
    """Figures that change at every reading, to tell one snapshot from the next, and say as of when."""

    def __init__(self) -> None:
        self.readings = 0

    def __call__(self, now: float) -> dict[str, object]:
        self.readings += 1
        return {"readings": self.readings, "now": now}


def read(path):
    return json.loads(path.read_text())


def test_writes_the_figures_and_what_only_the_end_knows(tmp_path):
    path = tmp_path / "stats.json"
    StatsFile(path, Counter()).write(12.5, {"output_device": "pulse"})
    assert read(path) == {"readings": 1, "now": 12.5, "output_device": "pulse"}
    assert [p.name for p in tmp_path.iterdir()] == ["stats.json"]  # no partial file left behind


def test_without_a_path_nothing_is_written_nor_read(tmp_path):
    figures = Counter()
    stats = StatsFile(None, figures)
    stats.write(1.0)
    stats.ask(signal.SIGUSR1, None)
    stats.write_if_asked(2.0)
    assert figures.readings == 0 and list(tmp_path.iterdir()) == []


def test_a_request_is_written_once_at_the_loops_next_round(tmp_path):
    path = tmp_path / "stats.json"
    stats = StatsFile(path, Counter())
    stats.write_if_asked(1.0)
    assert not path.exists()
    stats.ask(signal.SIGUSR1, None)
    stats.ask(signal.SIGUSR1, None)  # two requests before the loop came round: one snapshot
    stats.write_if_asked(2.0)  # as of when the loop last drained its sockets
    stats.write_if_asked(3.0)
    assert read(path) == {"readings": 1, "now": 2.0}


def test_a_snapshot_replaces_the_previous_one_whole(tmp_path):
    path = tmp_path / "stats.json"
    stats = StatsFile(path, Counter())
    stats.write(1.0)
    first = path.stat().st_ino
    stats.write(2.0)
    assert read(path) == {"readings": 2, "now": 2.0}
    assert path.stat().st_ino != first  # renamed over it: a reader holds one version or the other


def test_write_soon_writes_from_a_thread_of_its_own(tmp_path):
    path = tmp_path / "stats.json"
    asked_s = time.monotonic()
    StatsFile(path, Counter()).write_soon(signal.SIGUSR1, None)
    deadline = time.monotonic() + WAIT_S
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    figures = read(path)
    assert figures["readings"] == 1 and figures["now"] >= asked_s  # as of when it was written
