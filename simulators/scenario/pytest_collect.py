"""Scenario files as pytest items (used by the project's root ``conftest.py``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest

from .loader import ScenarioError, load_scenario


@lru_cache(maxsize=1)
def _vocabulary():
    from .catalogue import full_vocabulary
    from .runner import bind_core

    vocab = full_vocabulary()
    bind_core(vocab)
    return vocab


def collect_scenario_file(parent: pytest.Collector, file_path: Path):
    if file_path.suffix in (".yaml", ".yml") and "scenarios" in file_path.parts:
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    def collect(self):
        yield ScenarioItem.from_parent(self, name=self.path.stem)


class ScenarioItem(pytest.Item):
    def runtest(self) -> None:
        from .runner import run_scenario

        try:
            scenario = load_scenario(self.path, _vocabulary())
        except ScenarioError as exc:
            raise ScenarioFailure(str(exc)) from None
        result = run_scenario(scenario, _vocabulary())
        if result.status != "passed":
            raise ScenarioFailure(f"{result.status}: {result.message}")

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, ScenarioFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, 0, f"scenario: {self.name}"


class ScenarioFailure(Exception):
    """A scenario that failed or errored; its message already says where and why."""
