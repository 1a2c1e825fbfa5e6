"""Run reports: progress lines for people, JUnit XML for CI."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from simulators.scenario.report import Progress, ScenarioResult, format_simulated, write_junit


def results(root: Path) -> list[ScenarioResult]:
    folder = root / "scenarios" / "digipoort"
    return [
        ScenarioResult(folder / "happy.yaml", "Happy path", "passed", 0.123, simulated_seconds=7500),
        ScenarioResult(folder / "reject.yaml", "Rejected", "failed", 0.5,
                       "expect.digipoort.status: expected rejected, got delivered\n  closest entry: x"),
        ScenarioResult(root / "scenarios" / "cbftp" / "tls.yaml", "TLS", "error", 1.0,
                       "server did not start \x00\x1b[31m in 5 s"),
    ]


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_junit_parses_back_with_counts(tmp_path):
    target = tmp_path / "reports" / "junit.xml"
    write_junit(results(tmp_path), target, root=tmp_path)
    root = ET.parse(target).getroot()
    assert root.tag == "testsuites"
    suite = root.find("testsuite")
    assert suite.get("name") == "koppelsim"
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "1")
    assert float(suite.get("time")) == pytest.approx(1.623)
    cases = suite.findall("testcase")
    assert [(c.get("classname"), c.get("name"), c.get("time")) for c in cases] == [
        ("scenarios.digipoort", "Happy path", "0.123"),
        ("scenarios.digipoort", "Rejected", "0.500"),
        ("scenarios.cbftp", "TLS", "1.000"),
    ]
    assert cases[0].find("failure") is None and cases[0].find("error") is None
    assert "2h5m" in cases[0].find("system-out").text
    failure = cases[1].find("failure")
    assert failure.get("message") == "expect.digipoort.status: expected rejected, got delivered"
    assert "closest entry: x" in failure.text
    error = cases[2].find("error")
    assert error is not None and error.get("message").startswith("server did not start")


def test_junit_with_no_results(tmp_path):
    write_junit([], tmp_path / "junit.xml")
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("0", "0", "0")


def test_progress_lines_are_plain_on_a_non_terminal(tmp_path):
    stream = io.StringIO()
    progress = Progress(stream, root=tmp_path)
    for result in results(tmp_path):
        progress.record(result)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "PASS  scenarios/digipoort/happy.yaml  Happy path (0.12 s, 2h5m simulated)"
    assert lines[1] == "FAIL  scenarios/digipoort/reject.yaml  Rejected (0.50 s)"
    assert lines[2] == "      expect.digipoort.status: expected rejected, got delivered"
    assert lines[3] == "        closest entry: x"
    assert lines[4] == "ERROR scenarios/cbftp/tls.yaml  TLS (1.00 s)"
    assert "\x1b[32m" not in stream.getvalue()


def test_summary_counts(tmp_path):
    stream = io.StringIO()
    progress = Progress(stream, root=tmp_path)
    for result in results(tmp_path)[:2]:
        progress.record(result)
    assert progress.summary(seconds=3.42) == "1 passed, 1 failed, 0 errors in 3.4 s"
    assert stream.getvalue().endswith("1 passed, 1 failed, 0 errors in 3.4 s\n")


def test_colour_only_on_a_terminal(tmp_path, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    terminal = FakeTerminal()
    progress = Progress(terminal, root=tmp_path)
    progress.record(results(tmp_path)[0])
    assert terminal.getvalue().startswith("\x1b[32mPASS \x1b[0m scenarios/digipoort/happy.yaml")

    monkeypatch.setenv("NO_COLOR", "1")
    plain = FakeTerminal()
    Progress(plain, root=tmp_path).record(results(tmp_path)[0])
    assert "\x1b[" not in plain.getvalue()


def test_status_is_checked():
    with pytest.raises(ValueError, match="status"):
        ScenarioResult(Path("x.yaml"), "x", "skipped", 0.0)


@pytest.mark.parametrize("seconds, text",
                         [(0, "0s"), (90, "1m30s"), (7500, "2h5m"), (3 * 86400 + 60, "3d1m")])
def test_format_simulated(seconds, text):
    assert format_simulated(seconds) == text
