"""The HTTP API of a real `python -m station --http 0` on loopback, with a real listener: what an operator in
another room does from a browser or a script, and what the listener hears of it."""

from __future__ import annotations

import http.client
import json
import re
import socket
from collections.abc import Iterator

import pytest
from conftest import Launcher, Proc, noise_pcm, wait_until, write_wav

URL = re.compile(r"dashboard: http://127\.0\.0\.1:(\d+)/\?token=(\S+)")
TIMEOUT_S = 10.0


class Api:
    """The station's API as a script uses it: the bearer token on every request."""

    def __init__(self, station: Proc) -> None:
        station.wait_for("dashboard: http://", stream="stdout")
        found = URL.search(station.stdout())
        assert found, station.stdout()
        self.port, self.token = int(found.group(1)), found.group(2)

    def ask(self, method: str, path: str, body: bytes | None = None, token: str | None = None) -> tuple[int, dict]:
        headers = {"Authorization": f"Bearer {self.token if token is None else token}"} if token != "" else {}
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT_S)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, json.loads(response.read())
        finally:
            connection.close()

    def command(self, line: str) -> dict:
        status, answer = self.ask("POST", "/api/command", json.dumps({"command": line}).encode())
        assert status == 200 and answer["ok"], answer
        return answer

    def status(self) -> dict:
        status, document = self.ask("GET", "/api/status")
        assert status == 200
        return document

    def events(self) -> Iterator[dict]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT_S)
        try:
            connection.request("GET", "/api/events", headers={"Authorization": f"Bearer {self.token}"})
            response = connection.getresponse()
            assert response.status == 200
            while line := response.readline():
                if line.startswith(b"data: "):
                    yield json.loads(line.removeprefix(b"data: "))
        finally:
            connection.close()


@pytest.fixture
def radio(launcher: Launcher, tmp_path) -> tuple[Api, Proc]:
    songs = [write_wav(tmp_path / f"{name}.wav", noise_pcm(20.0, seed=seed))
             for seed, name in enumerate(("Harbour Lights", "Blue Monk", "Night Train"))]
    station = launcher.start("station", "--http", "0", *map(str, songs), stdin=True)
    api = Api(station)
    listener = launcher.start("listener", "--output", "null", "--name", "Kitchen")
    listener.wait_for("| playing |")
    return api, listener


def test_refusals_then_status_pause_volume_next_and_queue_over_http(radio):
    api, listener = radio
    assert api.ask("GET", "/api/status", token="")[0] == 401
    assert api.ask("GET", "/api/status", token="wrong")[0] == 401
    assert api.ask("POST", "/api/command", b'{"command": "PAUSE"}', token="")[0] == 401
    status, answer = api.ask("POST", "/api/command", b'{"command": "PAUS"}')
    assert (status, answer) == (400, {"ok": False, "answer": "error: unknown command PAUS — did you mean PAUSE?"})
    assert api.ask("POST", "/api/command", b"{not json")[0] == 400
    assert api.ask("POST", "/api/command", b"[" * 60_000)[0] == 400
    assert api.ask("POST", "/api/command", b" " * 70_000)[0] == 413

    status = api.status()  # none of that reached the station
    assert (status["state"], status["source"], status["title"]) == ("playing", "files", "Harbour Lights")
    assert [track["title"] for track in status["queue"]["tracks"]] == ["Harbour Lights", "Blue Monk", "Night Train"]
    assert status["send"]["packets_sent"] > 0 and status["duration_s"] == pytest.approx(20.0, abs=0.01)
    kitchen = wait_until(lambda: [entry for entry in api.status()["listeners"] if entry["name"] == "Kitchen"],
                         "the listener in the status", TIMEOUT_S)[0]
    assert kitchen["fraction_lost_pct"] == 0 and kitchen["jitter_ms"] is not None
    status, history = api.ask("GET", "/api/history")  # what a dashboard opened now plots the last minutes from
    [kept] = [entry for entry in history["listeners"] if entry["name"] == "Kitchen"]
    assert status == 200 and kept["points"] and all(lost == 0 for _, lost, _ in kept["points"])

    assert api.command("PAUSE") == {"ok": True, "answer": "paused"}
    listener.wait_for("| paused |")  # the listener hears the pause
    assert api.status()["state"] == "paused"
    assert api.command("PLAY")["answer"] == "playing"
    assert api.command("VOLUME 40")["answer"] == "volume 40% (was 100%)"
    assert api.status()["volume_percent"] == 40

    assert api.command("NEXT")["answer"].startswith("skipped to 2. Blue Monk")
    listener.wait_for("Blue Monk | playing |")  # the listener is told the new title
    assert api.command("MOVE 3 1")["answer"] == "moved Night Train to 1"
    assert api.command("REMOVE 2")["answer"] == "removed 2. Harbour Lights"
    status = api.status()
    assert [track["title"] for track in status["queue"]["tracks"]] == ["Night Train", "Blue Monk"]
    assert status["title"] == "Blue Monk"


def test_events_arrive_and_follow_a_command(radio):
    api, _ = radio
    stream = api.events()
    first = next(stream)
    assert first["state"] == "playing" and first["title"] == "Harbour Lights"
    positions = [next(stream)["position_s"] for _ in range(3)]
    assert positions == sorted(positions) and positions[-1] > first["position_s"]  # the position moves on
    api.command("PAUSE")
    assert "paused" in [next(stream)["state"] for _ in range(2)]
    stream.close()


def test_a_port_in_use_stops_the_station_with_a_clear_error(launcher: Launcher, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        station = launcher.start("station", "--http", str(port), str(write_wav(tmp_path / "a.wav", noise_pcm(1.0))))
        assert station.popen.wait(TIMEOUT_S) == 3  # EXIT_NETWORK
    assert f"cannot serve HTTP on 127.0.0.1:{port}: " in station.stderr()
    assert "Traceback" not in station.stderr() and "dashboard:" not in station.stdout()
