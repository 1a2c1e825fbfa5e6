"""Start-up: wall time from spawning ``koppelsim sim`` to the first 200 of ``GET /readyz``.

The reference is a bare Flask app served by werkzeug's ``make_server`` — the floor for "a Python
process that imports Flask and answers HTTP" on this machine. Runs are interleaved (koppelsim, bare,
koppelsim, bare, ...) so a slow patch of the machine hurts both sides alike.

Both start from cached bytecode, as on a developer's machine from the second start on: the children
keep their ``.pyc`` files under the bench's own folder (``PYTHONPYCACHEPREFIX``), written by the
warm-up even where the environment says ``PYTHONDONTWRITEBYTECODE`` — with that set and no cache,
every start would compile koppelsim's ~150 modules from source (~0.15 s), which no developer pays.
"""

from __future__ import annotations

import os
import statistics
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from .procs import HOST, PYTHON, Child, free_port, wait_http_ok
from .simproc import spawn_sim

GOAL_SECONDS = 0.5  # the product owner's target (WireMock ~1.5 s, bare Flask ~0.3 s)

BARE_FLASK = """
import sys
from flask import Flask
from werkzeug.serving import make_server

app = Flask("bare")

@app.get("/readyz")
def readyz():
    return {"status": "ready"}

make_server(sys.argv[1], int(sys.argv[2]), app, threaded=True).serve_forever()
"""


def time_koppelsim(workdir: Path, state_dir: Path, label: str, only: str | None = None) -> float:
    started = time.perf_counter()
    child, ports = spawn_sim(workdir, state_dir, label, only=only)
    try:
        return wait_http_ok(ports.readyz, child) - started
    finally:
        child.stop()


def time_bare_flask(workdir: Path, label: str) -> float:
    port = free_port()
    started = time.perf_counter()
    child = Child([PYTHON, "-c", BARE_FLASK, HOST, str(port)], workdir / f"{label}.log")
    try:
        return wait_http_ok(f"http://{HOST}:{port}/readyz", child) - started
    finally:
        child.stop()


def summary(values: list[float]) -> dict:
    return {"runs": [round(v, 4) for v in values], "median": statistics.median(values), "min": min(values),
            "max": max(values)}


@contextmanager
def _children_env(**changes: str | None) -> Iterator[None]:
    """Environment variables for the children spawned meanwhile (None: unset), restored after."""
    saved = {name: os.environ.get(name) for name in changes}
    try:
        for name, value in changes.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run(runs: int, workdir: Path, progress: Callable[[str], None]) -> dict:
    workdir.mkdir(parents=True, exist_ok=True)
    with _children_env(PYTHONPYCACHEPREFIX=str(workdir / "pycache")):
        return _run(runs, workdir, progress)


def _run(runs: int, workdir: Path, progress: Callable[[str], None]) -> dict:
    # One unmeasured start of each first: the very first import after a checkout compiles .pyc files
    # and fills the page cache, which no developer pays twice.
    progress("startup: warm-up (unmeasured; writes the bytecode cache)")
    with _children_env(PYTHONDONTWRITEBYTECODE=None):
        time_koppelsim(workdir, workdir / "warmup-state", "warmup-sim")
        time_bare_flask(workdir, "warmup-bare")

    fresh, existing, bare = [], [], []
    for i in range(runs):
        fresh.append(time_koppelsim(workdir, workdir / f"fresh-{i}", f"fresh-{i}"))
        bare.append(time_bare_flask(workdir, f"bare-{i}"))
        progress(f"startup: fresh state {i + 1}/{runs}: koppelsim {fresh[-1]:.3f} s, bare Flask {bare[-1]:.3f} s")
    # "Existing" = a state dir that already has its database and TLS certificates from a first start.
    kept = workdir / "fresh-0"
    for i in range(runs):
        existing.append(time_koppelsim(workdir, kept, f"existing-{i}"))
        bare.append(time_bare_flask(workdir, f"bare-{runs + i}"))
        progress(f"startup: existing state {i + 1}/{runs}: koppelsim {existing[-1]:.3f} s, "
                 f"bare Flask {bare[-1]:.3f} s")
    # The Digipoort simulator alone (`--only digipoort`): the scope the start-up goal was set for, before
    # six more simulators and the hub joined `koppelsim sim`.
    digipoort_only = []
    for i in range(runs):
        digipoort_only.append(time_koppelsim(workdir, kept, f"only-{i}", only="digipoort"))
        bare.append(time_bare_flask(workdir, f"bare-{2 * runs + i}"))
        progress(f"startup: --only digipoort {i + 1}/{runs}: koppelsim {digipoort_only[-1]:.3f} s, "
                 f"bare Flask {bare[-1]:.3f} s")
    result = {"fresh": summary(fresh), "existing": summary(existing), "digipoort_only": summary(digipoort_only),
              "bare_flask": summary(bare), "goal_seconds": GOAL_SECONDS, "bytecode": "cached"}
    reference = result["bare_flask"]["median"]
    result["ratio_fresh"] = result["fresh"]["median"] / reference
    result["ratio_existing"] = result["existing"]["median"] / reference
    result["ratio_digipoort_only"] = result["digipoort_only"]["median"] / reference
    return result
