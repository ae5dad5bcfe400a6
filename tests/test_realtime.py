"""The station ahead of normal processes, its pacing in real time, where the system permits it; a one-line note
where it does not."""

import os

import sound.realtime as realtime


def test_done_silently_when_permitted(monkeypatch):
    calls = []
    monkeypatch.setattr(os, "sched_setscheduler", lambda pid, policy, param: calls.append((pid, policy, param)))
    assert realtime.pace_in_real_time() is None
    (pid, policy, param), = calls
    assert pid == 0  # the calling thread only: the pacing thread
    assert policy == os.SCHED_FIFO | os.SCHED_RESET_ON_FORK  # nothing it starts inherits it
    assert param.sched_priority == realtime.PRIORITY


def test_not_permitted_is_a_note_not_an_error(monkeypatch):
    def refuse(*_args):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "sched_setscheduler", refuse)
    note = realtime.pace_in_real_time()
    assert note == "pacing at normal priority: real-time scheduling not permitted (Operation not permitted)"


def test_a_system_without_it_is_a_note_too(monkeypatch):
    monkeypatch.delattr(os, "sched_setscheduler")
    assert realtime.pace_in_real_time() == "pacing at normal priority: no real-time scheduling on this system"


def test_the_rest_of_the_station_runs_ahead_of_normal_processes(monkeypatch):
    calls = []
    monkeypatch.setattr(os, "setpriority", lambda which, who, value: calls.append((which, who, value)))
    assert realtime.raise_priority() is None
    assert calls == [(os.PRIO_PROCESS, 0, realtime.NICE)]  # the calling thread: what it starts inherits it
    assert realtime.NICE < 0


def test_not_permitted_to_raise_it_is_a_note(monkeypatch):
    def refuse(*_args):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "setpriority", refuse)
    assert realtime.raise_priority() == "running at normal priority: raising it is not permitted (Permission denied)"
