"""One koppelsim per state dir: a second one on the same state refuses to start, naming the holder; the lock
goes with the process that held it, also when it is killed with SIGKILL."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from simulators.core.config import config_from_dict
from simulators.core.runtime import Runtime, register_config_sections, settings_for_tests
from simulators.core.statelock import StateDirInUse, StateDirLock

HOLDER = """
import sys
from pathlib import Path
from simulators.core.statelock import StateDirLock
StateDirLock(Path(sys.argv[1])).acquire()
print("held", flush=True)
sys.stdin.read()  # until the test kills us
"""


def runtime_on(state_dir) -> Runtime:
    register_config_sections()
    settings = {name: {**value, "enabled": name == "vies"} for name, value in settings_for_tests().items()}
    return Runtime(config_from_dict({"state_dir": str(state_dir), "admin_port": 0, **settings}))


def test_a_second_runtime_on_the_same_state_dir_is_refused_until_the_first_stops(tmp_path):
    first = runtime_on(tmp_path)
    try:
        with pytest.raises(StateDirInUse, match=rf"in use by another koppelsim \(pid \d+\).*--state-dir"):
            runtime_on(tmp_path)
    finally:
        first.stop()
    runtime_on(tmp_path).stop()  # free again once the first has stopped


def test_the_lock_of_a_killed_process_is_gone_at_once(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(StateDirInUse, match=f"pid {holder.pid}"):
            StateDirLock(tmp_path).acquire()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
    lock = StateDirLock(tmp_path)
    lock.acquire()  # no stale lock after kill -9: a restart after a crash just starts
    lock.release()
