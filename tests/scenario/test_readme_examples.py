"""The scenario examples of the README and docs/ are real scenarios: they load and they pass."""

import re
from pathlib import Path

import pytest

from simulators.scenario.catalogue import full_vocabulary
from simulators.scenario.loader import load_scenario
from simulators.scenario.runner import bind_core, run_scenario

REPO = Path(__file__).resolve().parents[2]
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
EXAMPLES = [block for document in DOCUMENTS for block in re.findall(r"```yaml\n(.*?)```", document.read_text(), re.S)
            if block.startswith("name:")]


def test_the_readme_has_scenario_examples():
    assert len(EXAMPLES) >= 2


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.splitlines()[0][6:40] for e in EXAMPLES])
def test_a_readme_example_runs_and_passes(example, tmp_path):
    path = tmp_path / "example.yaml"
    path.write_text(example)
    vocab = full_vocabulary()
    bind_core(vocab)
    result = run_scenario(load_scenario(path, vocab), vocab)
    assert result.status == "passed", result.message
