"""A feed's connection on fake time: backoff, refusals not retried in a storm, the operator told once."""

import pytest

from station.icecast_state import MAX_RETRY_S, MOUNT_IN_USE_RETRY_S, Backoff, Connection, Fault, classify

REFUSED = Fault("refused", "connection refused: retrying")


def test_backoff_doubles_up_to_its_cap_and_starts_over():
    backoff = Backoff(first_s=0.5, cap_s=4)
    assert [backoff.next_wait_s() for _ in range(6)] == [0.5, 1, 2, 4, 4, 4]
    backoff.reset()
    assert backoff.next_wait_s() == 0.5


def test_a_server_down_is_retried_with_backoff_and_the_operator_told_once():
    connection = Connection("h:8000/a.ogg")
    assert connection.due(0.0) and connection.state == "connecting"
    assert connection.failed(0.0, REFUSED) == "icecast h:8000/a.ogg: connection refused: retrying"
    assert connection.state == "retrying" and not connection.due(0.4) and connection.due(0.5)
    assert connection.failed(0.5, REFUSED) is None
    assert not connection.due(1.4) and connection.due(1.5)
    assert connection.connected(2.0) == "icecast h:8000/a.ogg: connected after 2.0 s"  # down at start
    assert connection.state == "connected" and connection.connects == 1
    assert connection.last_error == "connection refused: retrying"  # kept, for STATUS and the stats


def test_a_lost_connection_is_retried_at_once_after_it_held():
    connection = Connection("h:8000/a.ogg")
    assert connection.connected(1.0) == "icecast h:8000/a.ogg: connected"
    for t in range(5):  # an outage's backoff...
        connection.failed(10.0 + t, REFUSED)
    assert connection.connected(100.0) == "icecast h:8000/a.ogg: connected again after 90.0 s"
    connection.failed(200.0, Fault("lost", "Broken pipe: retrying"))  # ...is forgotten once connected again
    assert connection.due(200.5) and connection.connects == 2


def test_the_backoff_is_capped():
    connection = Connection("h:8000/a.ogg")
    now = 0.0
    for _ in range(20):
        connection.failed(now, REFUSED)
        while not connection.due(now):
            now += 0.5
    connection.failed(now, REFUSED)
    assert connection.due(now + MAX_RETRY_S) and not connection.due(now + MAX_RETRY_S - 0.5)


def test_wrong_credentials_are_never_retried_and_a_mount_in_use_only_every_minute():
    unauthorized = Connection("h:8000/a.ogg")
    assert "401" in unauthorized.failed(0.0, classify("x: Server returned 401 Unauthorized (authorization failed)"))
    assert unauthorized.state == "unauthorized" and not unauthorized.due(1e9)
    in_use = Connection("h:8000/a.ogg")
    assert "403" in in_use.failed(0.0, classify("HTTP error 403 Forbidden"))
    assert in_use.state == "mount in use"
    assert not in_use.due(MOUNT_IN_USE_RETRY_S - 1) and in_use.due(MOUNT_IN_USE_RETRY_S)


@pytest.mark.parametrize("said, kind", [
    ("[tcp @ 0x1] Connection to tcp://h:8000 failed: Connection refused\nicecast://source:***@h:8000/a.ogg: "
     "Connection refused", "refused"),
    ("av_interleaved_write_frame(): Broken pipe", "lost"),
    ("", "lost"),
])
def test_faults_are_told_apart(said, kind):
    fault = classify(said)
    assert fault.kind == kind and "icecast://" not in fault.text
