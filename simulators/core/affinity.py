"""The HTTP simulators' threads kept on one CPU, chosen by measurement (bench/http.py, issue 4).

A listener serves each connection on a thread of its own, and Python runs one thread at a time (the GIL).
When those threads are spread over several CPUs, every hand-over of the GIL wakes a thread on another CPU,
with cold caches: with wrk's 32 connections a Twinfield booking cost ~1.6-1.7 ms of CPU instead of the
~0.6 ms it costs on one thread, and the simulator answered ~650 bookings/s. With every connection thread
on one CPU (the others stay free for the clients, the FTP simulators and SQLite's own work) it answered
~1,100/s at ~0.9 ms per booking on the same machine in the same minutes. What the threads give up is
running their GIL-free work (socket calls, SQLite, TLS) beside each other, which costs less than it wins.

Linux only (``os.sched_setaffinity`` pins the calling thread there); elsewhere, or with a single CPU to
choose from, nothing is pinned. ``http_cpu: any`` in the configuration switches it off.
"""

from __future__ import annotations

import os
import threading

_lock = threading.Lock()
_chosen: list[int | None] = []  # the one CPU, chosen once per process (empty: not chosen yet)


def shared_cpu() -> int | None:
    """The CPU every pinned thread of this process runs on; None when pinning is not possible or pointless.

    Chosen once, when the first connection comes: the CPU its thread runs on then, where the operating
    system placed it by the load it saw. So several simulator processes on one machine (instances side by
    side, pytest-xdist workers) do not all crowd onto the same CPU, as a fixed choice would make them."""
    with _lock:
        if not _chosen:
            allowed = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set()
            if len(allowed) < 2 or not hasattr(os, "sched_setaffinity"):
                _chosen.append(None)
            else:
                current = _current_cpu()
                _chosen.append(current if current in allowed else min(allowed))
        return _chosen[0]


def _current_cpu() -> int | None:
    """The CPU the calling thread runs on (field 39 of /proc/thread-self/stat), None where unknown."""
    try:
        with open("/proc/thread-self/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        return int(fields[36])  # field 39 counted from 1; the first two (pid, comm) are before ")"
    except (OSError, IndexError, ValueError):
        return None


def keep_on_shared_cpu() -> bool:
    """Pin the calling thread to ``shared_cpu()``; whether it was pinned."""
    cpu = shared_cpu()
    if cpu is None:
        return False
    try:
        os.sched_setaffinity(0, {cpu})  # 0: on Linux, the calling thread only
    except OSError:  # e.g. a container that changed the allowed set meanwhile: run unpinned
        return False
    return True
