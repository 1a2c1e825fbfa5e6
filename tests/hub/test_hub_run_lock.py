"""The run lock (flock on hub.db.lock) and the scheduled task that must survive a refused run."""

from __future__ import annotations

import subprocess

import pytest

from clients.hub import RunInProgress
from clients.hub.run import RunLock
from simulators.core.clock import VirtualClock
from simulators.core.config import config_from_dict
from simulators.core.runtime import Runtime, register_config_sections, settings_for_tests


@pytest.fixture
def scheduled(tmp_path):
    """The hub with its hourly scheduled task, as in `make sim`."""
    register_config_sections()
    settings = settings_for_tests()
    config = config_from_dict({"state_dir": str(tmp_path / "state"), "admin_port": 0, "clock": "virtual",
                               "mailbox": settings["mailbox"], "digipoort": settings["digipoort"],
                               "hub": {**settings["hub"], "schedule": "1h"}})
    rt = Runtime(config, clock=VirtualClock("2026-11-20T08:00:00Z"), only=["mailbox", "digipoort", "hub"])
    rt.start(admin=False)
    yield rt
    rt.stop()


def test_a_running_row_left_by_a_dead_run_does_not_block_even_when_its_pid_is_reused(runtime, hub):
    stranger = subprocess.Popen(["sleep", "60"])  # an unrelated, living process that got the dead hub's pid
    try:
        with hub.store.transaction() as db:
            db.execute("INSERT INTO runs (trigger, pid, started_at, state) VALUES ('cli', ?, 'x', 'running')",
                       (stranger.pid,))
        report = hub.send_receive()  # the lock is the flock, free: the old row is only a record
        assert report.problems == []
        assert [r["state"] for r in hub.runs()] == ["done", "interrupted"]
    finally:
        stranger.kill()
        stranger.wait()


def test_the_lock_is_held_across_open_files_and_released_by_its_holder(runtime, hub):
    held = RunLock(hub.store.path)
    assert held.acquire()
    try:
        with pytest.raises(RunInProgress, match="already in progress"):
            hub.send_receive()
        assert not RunLock(hub.store.path).acquire()
    finally:
        held.release()
    assert hub.send_receive().problems == []


def test_a_refused_scheduled_run_is_skipped_and_the_next_ones_still_come(scheduled):
    hub = scheduled.simulators["hub"].hub
    other = RunLock(hub.store.path)  # another process's long run (the CLI, say) holds the lock
    assert other.acquire()
    try:
        scheduled.scheduler.advance("1h")  # the scheduled run is refused ...
    finally:
        other.release()
    assert scheduled.scheduler.failed() == []  # ... handled: not an error of the scheduler
    skipped = [e for e in scheduled.journal.entries() if e["kind"] == "hub.run_skipped"]
    assert len(skipped) == 1 and "already in progress" in skipped[0]["reason"]
    assert scheduled.scheduler.pending("hub.send_receive")  # the next run is planned
    scheduled.scheduler.advance("5h")
    assert len([r for r in hub.runs(100) if r["trigger"] == "schedule"]) == 5
