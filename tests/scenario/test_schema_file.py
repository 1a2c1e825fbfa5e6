"""scenarios/schema.json is what `koppelsim schema` prints — regenerate it when the vocabulary changes."""

import json
from pathlib import Path

from simulators.scenario.catalogue import scenario_schema

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "scenarios" / "schema.json"


def test_the_committed_schema_matches_the_vocabulary():
    committed = json.loads(SCHEMA_FILE.read_text())
    assert committed == json.loads(json.dumps(scenario_schema())), (
        "scenarios/schema.json is stale: run `koppelsim schema > scenarios/schema.json`")


def test_every_scenario_in_the_repository_names_its_words_in_the_schema():
    steps = set(json.loads(SCHEMA_FILE.read_text())["properties"]["steps"]["items"]["properties"])
    assert {"advance", "expect", "digipoort.submit", "digipoort.ftp"} <= steps
