"""``ScenarioError``: what a QA engineer sees when a scenario file cannot be loaded.

It sits in its own module because both halves of loading raise it: ``yamlread`` (the file and its
YAML) and ``loader`` (the schema). Import it from ``loader``, the public face of scenario loading.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable

# Where a value sits in a scenario: ("steps", 2, "advance") is steps[2].advance.
Location = tuple[str | int, ...]


class ScenarioError(Exception):
    """A scenario that cannot be loaded; ``str()`` is ``<file>:<line>: <field path>: <message>``.

    Line and field are left out when they do not apply (a missing file, an error about the file as
    a whole). All parts are also attributes, for tools that show them differently.
    """

    def __init__(self, path: str | Path, message: str, line: int | None = None, field: str = "") -> None:
        # All arguments go to Exception so the error pickles (pytest-xdist sends it between workers).
        super().__init__(str(path), message, line, field)
        self.path, self.message, self.line, self.field = str(path), message, line, field

    def __str__(self) -> str:
        head = f"{self.path}:{self.line}" if self.line else self.path
        return ": ".join(part for part in (head, self.field, self.message) if part)


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_.*/-]+")


def format_field_path(where: Iterable[str | int]) -> str:
    """``("steps", 2, "advance")`` -> ``steps[2].advance``; odd keys are quoted: ``given['a b']``."""
    text = ""
    for part in where:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]"
    return text
