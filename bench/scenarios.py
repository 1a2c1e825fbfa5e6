"""Scenarios: how long ``koppelsim run scenarios/digipoort`` takes, and how much simulated time that buys.

Twice, on purpose: as a subprocess (what CI pays, interpreter start included) and in-process through
the runner, which hands back ``ScenarioResult.seconds`` and ``simulated_seconds`` without parsing text.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path
from typing import Callable

from .procs import PYTHON, REPO, BenchError

SCENARIO_DIR = REPO / "scenarios" / "digipoort"
SUBPROCESS_TIMEOUT = 600.0
_SUMMARY = re.compile(r"(\d+) passed, (\d+) failed, (\d+) errors? in ([\d.]+) s")


def run_subprocess(folder: Path = SCENARIO_DIR) -> dict:
    started = time.perf_counter()
    try:
        done = subprocess.run([PYTHON, "-m", "simulators", "run", str(folder)], cwd=REPO, capture_output=True,
                              text=True, timeout=SUBPROCESS_TIMEOUT, env=_plain_env())
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"koppelsim run took longer than {SUBPROCESS_TIMEOUT:.0f} s") from exc
    wall = time.perf_counter() - started
    found = _SUMMARY.search(done.stdout)
    passed, failed, errors, reported = (int(found[1]), int(found[2]), int(found[3]), float(found[4])) \
        if found else (0, 0, 0, 0.0)
    return {"wall_seconds": wall, "exit_code": done.returncode, "passed": passed, "failed": failed,
            "errors": errors, "reported_seconds": reported}


def _plain_env() -> dict:
    return {**os.environ, "NO_COLOR": "1"}


def run_in_process(folder: Path = SCENARIO_DIR) -> dict:
    # Imported here: `--only startup` should not pay for the scenario machinery.
    from simulators.scenario.catalogue import full_vocabulary
    from simulators.scenario.loader import ScenarioError, discover, load_scenario
    from simulators.scenario.runner import bind_core, run_scenario

    vocab = full_vocabulary()
    bind_core(vocab)
    started = time.perf_counter()
    rows = []
    for path in discover([folder]):
        try:
            result = run_scenario(load_scenario(path, vocab), vocab)
        except ScenarioError as exc:
            rows.append({"file": path.name, "status": "error", "seconds": 0.0, "simulated_seconds": 0.0,
                         "message": str(exc)})
            continue
        rows.append({"file": path.name, "status": result.status, "seconds": result.seconds,
                     "simulated_seconds": result.simulated_seconds, "message": result.message[:300]})
    wall = time.perf_counter() - started
    real = sum(r["seconds"] for r in rows)
    simulated = sum(r["simulated_seconds"] for r in rows)
    return {"wall_seconds": wall, "scenario_seconds": real, "simulated_seconds": simulated,
            "simulated_per_real": simulated / real if real else 0.0,
            "passed": sum(r["status"] == "passed" for r in rows), "count": len(rows),
            "slowest": sorted(rows, key=lambda r: -r["seconds"])[:3], "scenarios": rows}


def run(quick: bool, progress: Callable[[str], None]) -> dict:
    result: dict = {}
    if quick:
        result["subprocess"] = None  # the in-process run carries the same figures; --quick skips the repeat
    else:
        progress("scenarios: python -m simulators run scenarios/digipoort (subprocess)")
        result["subprocess"] = run_subprocess()
        progress(f"scenarios: subprocess took {result['subprocess']['wall_seconds']:.2f} s")
    progress("scenarios: in-process through simulators.scenario.runner")
    result["in_process"] = run_in_process()
    progress(f"scenarios: in-process took {result['in_process']['wall_seconds']:.2f} s")
    return result
