"""How scenario runs are reported: one line per scenario while running, JUnit XML for CI.

The runner produces a ``ScenarioResult`` per scenario and hands it to ``Progress.record`` as soon as
the scenario finishes, so a long run shows where it is; ``write_junit`` turns the same results into
the file CI systems (GitLab, Jenkins, GitHub test reporters) display.
"""

from __future__ import annotations

import os
import re
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from simulators.core.clock import monotonic

STATUSES = ("passed", "failed", "error")

_LABELS = {"passed": "PASS", "failed": "FAIL", "error": "ERROR"}
_COLOURS = {"passed": "\x1b[32m", "failed": "\x1b[31m", "error": "\x1b[1;31m"}
_RESET = "\x1b[0m"
_INDENT = " " * 6  # lines a failure message up under the scenario's path

# Characters XML 1.0 cannot carry even escaped; a client's raw reply in a message must not make
# the whole report unreadable for CI.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass
class ScenarioResult:
    path: Path
    name: str
    status: str  # 'passed' | 'failed' (an expectation did not hold) | 'error' (could not run)
    seconds: float  # real time the scenario took
    message: str = ""
    simulated_seconds: float = 0.0  # how far the virtual clock moved

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {self.status!r}")
        self.path = Path(self.path)


def format_simulated(seconds: float) -> str:
    """``7500`` -> ``2h5m``, written the way scenarios write durations."""
    remaining = round(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def _shown(path: Path, root: Path) -> Path:
    try:
        return path.resolve().relative_to(root.resolve())
    except ValueError:  # outside the root: show it as given rather than with ../../..
        return path


def _wants_colour(stream: TextIO) -> bool:
    # https://no-color.org: an explicit opt-out wins over a terminal.
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


class Progress:
    """Prints ``PASS  <file>  <name> (0.12 s)`` per finished scenario, and totals at the end.

    Colour only on a terminal (and not with ``NO_COLOR`` set), so CI logs and files stay plain.
    Paths are shown relative to ``root`` (default: the current folder) when they lie inside it.
    """

    def __init__(self, stream: TextIO | None = None, *, color: bool | None = None,
                 root: Path | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.color = _wants_colour(self.stream) if color is None else color
        self.root = Path(root) if root is not None else Path.cwd()
        self.results: list[ScenarioResult] = []
        self._started = monotonic()

    def _paint(self, text: str, status: str) -> str:
        return f"{_COLOURS[status]}{text}{_RESET}" if self.color else text

    def record(self, result: ScenarioResult) -> None:
        """Print the line for one finished scenario (and its message, indented, unless it passed)."""
        self.results.append(result)
        timing = f"{result.seconds:.2f} s"
        if result.simulated_seconds > 0:
            timing += f", {format_simulated(result.simulated_seconds)} simulated"
        label = self._paint(f"{_LABELS[result.status]:<5}", result.status)
        lines = [f"{label} {_shown(result.path, self.root).as_posix()}  {result.name} ({timing})"]
        if result.status != "passed" and result.message:
            lines += [f"{_INDENT}{line}".rstrip() for line in result.message.rstrip().splitlines()]
        self.stream.write("\n".join(lines) + "\n")
        self.stream.flush()

    def summary(self, seconds: float | None = None) -> str:
        """Print and return ``12 passed, 1 failed, 0 errors in 3.4 s``; time defaults to since creation."""
        counts = {status: sum(r.status == status for r in self.results) for status in STATUSES}
        elapsed = monotonic() - self._started if seconds is None else seconds
        errors = counts["error"]
        text = (f"{counts['passed']} passed, {counts['failed']} failed, "
                f"{errors} error{'' if errors == 1 else 's'} in {elapsed:.1f} s")
        self.stream.write(self._paint(text, "passed" if counts["passed"] == len(self.results) else "failed")
                          + "\n")
        self.stream.flush()
        return text


def _classname(path: Path, root: Path) -> str:
    relative = _shown(path, root)
    parts = [part for part in relative.parent.parts if part not in (relative.anchor, ".", "..")]
    return ".".join(parts) or "scenarios"


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def write_junit(results: list[ScenarioResult], path: str | Path, *, root: Path | None = None,
                suite_name: str = "koppelsim") -> None:
    """Write ``results`` as JUnit XML: one testsuite, one testcase per scenario.

    ``classname`` is the scenario's folder relative to ``root`` (default: the current folder) with
    dots, e.g. ``scenarios.digipoort``, so CI groups scenarios by counterpart.
    """
    root = Path(root) if root is not None else Path.cwd()
    failures = sum(r.status == "failed" for r in results)
    errors = sum(r.status == "error" for r in results)
    totals = {"name": suite_name, "tests": str(len(results)), "failures": str(failures),
              "errors": str(errors), "time": f"{sum(r.seconds for r in results):.3f}"}
    suites = ET.Element("testsuites", totals)
    suite = ET.SubElement(suites, "testsuite", {**totals, "skipped": "0"})
    for result in results:
        case = ET.SubElement(suite, "testcase", {
            "classname": _xml_text(_classname(result.path, root)),
            "name": _xml_text(result.name),
            "file": _xml_text(_shown(result.path, root).as_posix()),
            "time": f"{result.seconds:.3f}",
        })
        if result.status != "passed":
            message = _xml_text(result.message or result.status)
            tag = "failure" if result.status == "failed" else "error"
            kind = "ScenarioFailure" if tag == "failure" else "ScenarioError"
            problem = ET.SubElement(case, tag, {"message": message.splitlines()[0] if message else tag,
                                                "type": kind})
            problem.text = message
        if result.simulated_seconds > 0:
            # In system-out rather than a testcase <properties>: the strict JUnit schema has no such
            # element, and some CI parsers reject it.
            out = ET.SubElement(case, "system-out")
            out.text = f"simulated time: {format_simulated(result.simulated_seconds)}"
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tree = ET.ElementTree(suites)
    ET.indent(tree)
    tree.write(target, encoding="utf-8", xml_declaration=True)
