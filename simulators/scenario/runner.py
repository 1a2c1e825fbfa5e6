"""Running scenarios: a fresh runtime on a virtual clock per scenario, real sockets, real clients.

Every scenario gets its own state directory and listeners on free ports, so many run in parallel
(``pytest -n auto``) without clashing. Time moves only when a step says so; a two-hour answer delay
costs microseconds.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from ..core.clock import VirtualClock, parse_instant
from ..core.config import config_from_dict
from ..core.matching import matches
from ..core.runtime import Runtime, register_config_sections, settings_for_tests
from .catalogue import full_vocabulary
from .loader import Scenario, ScenarioError, Step, discover, load_scenario
from .report import Progress, ScenarioResult, write_junit
from .vocabulary import Vocabulary

DEFAULT_START = "2026-11-20T08:00:00Z"


class ExpectationFailed(AssertionError):
    """An expectation did not hold; the message says what was expected and what was found."""


@dataclass
class Run:
    """What step and expectation handlers get: the scenario, its runtime and per-simulator state."""

    scenario: Scenario
    runtime: Runtime
    workdir: Path
    vocab: Vocabulary
    state: dict[str, Any] = field(default_factory=dict)  # each simulator's scenario-side objects
    current_line: int | None = None
    cleanups: list[Callable[[], None]] = field(default_factory=list)  # run at the end, newest first

    @property
    def clock(self) -> VirtualClock:
        return self.runtime.clock  # type: ignore[return-value]

    def resolve(self, relative: str) -> Path:
        """A file named in a scenario, relative to the scenario file."""
        path = (self.scenario.path.parent / relative).resolve()
        if not path.is_file():
            raise ExpectationFailed(f"file {relative!r} not found next to {self.scenario.path.name}")
        return path

    def check(self, expectations: dict, lines: dict[str, int] | None = None) -> None:
        failures = []
        for name, expected in expectations.items():
            try:
                self.vocab.expect_specs[name].handler(self, expected)
            except AssertionError as exc:  # ExpectationFailed, JournalMismatch or a handler's own
                where = f"line {lines[name]}: " if lines and name in lines else ""
                failures.append(f"{where}{name}: {exc}")
        if failures:
            raise ExpectationFailed("\n".join(failures))


def bind_core(vocab: Vocabulary) -> None:
    vocab.step_specs["advance"].handler = lambda run, d: run.runtime.scheduler.advance(d)
    vocab.step_specs["set_clock"].handler = lambda run, t: run.runtime.scheduler.advance_to(t)
    vocab.step_specs["expect"].handler = lambda run, e: run.check(e)
    vocab.expect_specs["journal"].handler = _expect_journal
    vocab.given_specs["clock"].handler = lambda run, value: None  # applied when the clock is made


def _expect_journal(run: Run, spec: dict) -> None:
    journal = run.runtime.journal
    for pattern in _as_list(spec.get("has", [])):
        journal.expect(pattern)
    for pattern in _as_list(spec.get("no", [])):
        journal.expect_none(pattern)
    for count in _as_list(spec.get("count", [])):
        found = sum(1 for e in journal.entries() if matches(count["pattern"], e))
        for key, ok in (("equals", found == count.get("equals")), ("at_least", found >= count.get("at_least", 0)),
                        ("at_most", found <= count.get("at_most", found))):
            if key in count and not ok:
                raise ExpectationFailed(f"{found} journal entries match {count['pattern']!r}; expected {key} "
                                        f"{count[key]}")


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def run_scenario(scenario: Scenario, vocab: Vocabulary) -> ScenarioResult:
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="koppelsim-scenario-"))
    clock = VirtualClock(parse_instant(scenario.given.get("clock", DEFAULT_START)))
    sim_start = clock.now()
    runtime: Runtime | None = None
    run: Run | None = None
    status, message = "passed", ""
    try:
        register_config_sections()
        config = config_from_dict({"state_dir": str(workdir / "state"), "admin_port": 0, "clock": "virtual",
                                   **settings_for_tests()})
        runtime = Runtime(config, clock=clock)
        run = Run(scenario, runtime, workdir, vocab)
        for section, value in scenario.given.items():
            vocab.given_specs[section].handler(run, value)
        runtime.start(admin=False)
        for step in scenario.steps:
            _run_step(run, step)
        run.current_line = scenario.expect_line
        run.check(scenario.expect, scenario.expect_lines)
    except AssertionError as exc:
        status, message = "failed", _where(scenario, exc)
    except Exception as exc:  # a broken step is an error of the scenario run, reported, never hidden
        status, message = "error", _where(scenario, exc)
    finally:
        simulated = (clock.now() - sim_start).total_seconds()
        for cleanup in reversed(run.cleanups if run is not None else []):
            cleanup()
        if runtime is not None:
            _stop_quietly(runtime)
        shutil.rmtree(workdir, ignore_errors=True)
    return ScenarioResult(scenario.path, scenario.name, status, time.perf_counter() - started, message, simulated)


def _run_step(run: Run, step: Step) -> None:
    run.current_line = step.line
    try:
        run.vocab.step_specs[step.action].handler(run, step.args)
    except AssertionError as exc:
        raise ExpectationFailed(f"step {step.index + 1} ({step.action}) at line {step.line}: {exc}") from exc
    except Exception as exc:
        raise RuntimeError(f"step {step.index + 1} ({step.action}) at line {step.line}: "
                           f"{type(exc).__name__}: {exc}") from exc


def _where(scenario: Scenario, exc: BaseException) -> str:
    return f"{scenario.path}: {exc}"


def _stop_quietly(runtime: Runtime) -> None:
    try:
        runtime.stop()
    except Exception as exc:  # a stop failure must not hide the scenario's own result
        print(f"koppelsim: stopping the runtime failed: {exc}", file=sys.stderr)


def run_paths(paths: Iterable[str], junit: str | None = None) -> int:
    """``koppelsim run``: every scenario under ``paths``, a progress line each, a summary, an exit code."""
    vocab = full_vocabulary()
    bind_core(vocab)
    progress = Progress(sys.stdout)
    started = time.perf_counter()
    results: list[ScenarioResult] = []
    try:
        files = discover(paths)
    except ScenarioError as exc:
        print(f"koppelsim: {exc}", file=sys.stderr)
        return 2
    for path in files:
        try:
            scenario = load_scenario(path, vocab)
        except ScenarioError as exc:
            result = ScenarioResult(path, path.stem, "error", 0.0, str(exc))
        else:
            result = run_scenario(scenario, vocab)
        results.append(result)
        progress.record(result)
    progress.summary(time.perf_counter() - started)
    if junit:
        write_junit(results, junit)
    if not results:
        print("koppelsim: no scenario files found", file=sys.stderr)
        return 2
    return 0 if all(r.status == "passed" for r in results) else 1
