"""Scheduling priority where the system permits it: the stream must not suffer from a busy machine. The station's
pacing thread and a listener's sound writer (whose device buffer of 30 ms runs dry if the thread waits its turn
behind others) run under SCHED_FIFO.

A packet sent late is late for every listener. At normal priority the station competes for the CPU with
everything else on the machine, listeners on the same machine included: measured here, a hundred listeners on two
cores put a normal-priority station's send error p99 near 30 ms. So:

- The pacing thread runs under SCHED_FIFO: as soon as its deadline comes, ahead of any normal process, for a few
  percent of one core. Only that thread (SCHED_RESET_ON_FORK: nothing it starts inherits it); the kernel's
  real-time throttling (95 % of each second by default) bounds what even a runaway one could take.
- The rest of the station runs at nice -10, ahead of normal processes by CFS's weights (about nine times a normal
  process's share) without displacing them: its other threads, which hold the interpreter's lock the pacing thread
  needs (a normal-priority thread preempted while holding it would stall pacing all the same), and its decoding
  process, which must have the next track ready before the current one ends (on a saturated machine a normal one
  did not, and the stream fell silent in between).
"""

from __future__ import annotations

import os

PRIORITY = 10  # of 1..99: above every normal thread, below the kernel's own real-time threads (50 and up)
NICE = -10


def raise_priority() -> str | None:
    """Run the calling thread at nice NICE; called by the station's main thread before it starts any thread or
    process, which all inherit it. None if done, else a one-line note saying why not (not permitted: neither
    root nor CAP_SYS_NICE nor an RLIMIT_NICE), for the station to go on at normal priority."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, NICE)
    except OSError as e:
        return f"running at normal priority: raising it is not permitted ({e.strerror or e})"
    return None


def pace_in_real_time() -> str | None:
    """Put the calling thread under SCHED_FIFO; None if done, else a one-line note saying why not (not permitted,
    or not Linux), for the thread to go on at the priority it has."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO | os.SCHED_RESET_ON_FORK, os.sched_param(PRIORITY))
    except AttributeError:
        return "pacing at normal priority: no real-time scheduling on this system"
    except OSError as e:
        return f"pacing at normal priority: real-time scheduling not permitted ({e.strerror or e})"
    return None
