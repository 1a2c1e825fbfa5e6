"""`koppelsim run`: progress lines, summary, exit codes, JUnit."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

PASSING = """name: A happy submission
steps:
  - digipoort.submit: {as: s, aanleverkenmerk: Happyflow, berichtsoort: ICP, identity: "001000044B37", content: "<x/>"}
  - advance: 20m
expect:
  digipoort.status: {s: accepted}
"""
FAILING = PASSING.replace("{s: accepted}", "{s: rejected}").replace("A happy", "A wrongly expected")
INVALID = "name: broken\nsteps:\n  - advance: 2x\n"


def run(*paths: Path, junit: Path | None = None) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", "simulators", "run", *map(str, paths)]
    if junit:
        args += ["--junit", str(junit)]
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


def test_all_passing_exits_zero_with_a_line_per_scenario(tmp_path):
    (tmp_path / "a.yaml").write_text(PASSING)
    (tmp_path / "b.yaml").write_text(PASSING.replace("A happy", "Another happy"))
    done = run(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("PASS") == 2
    assert "2 passed, 0 failed, 0 errors" in done.stdout


def test_a_failure_and_an_invalid_file_exit_non_zero_and_land_in_junit(tmp_path):
    (tmp_path / "ok.yaml").write_text(PASSING)
    (tmp_path / "fail.yaml").write_text(FAILING)
    (tmp_path / "invalid.yaml").write_text(INVALID)
    report = tmp_path / "junit.xml"
    done = run(tmp_path, junit=report)
    assert done.returncode == 1
    assert "phase is 'accepted', expected 'rejected'" in done.stdout
    assert "invalid.yaml:3: steps[0].advance" in done.stdout
    assert "1 passed, 1 failed, 1 error" in done.stdout
    suite = ET.parse(report).getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "1")


def test_a_path_that_does_not_exist_is_named(tmp_path):
    done = run(tmp_path / "nope")
    assert done.returncode == 2
    assert "nope" in done.stderr
