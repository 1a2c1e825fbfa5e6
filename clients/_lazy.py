"""Package exports loaded on first use (PEP 562).

Every ``koppelsim`` command, ``koppelsim sim`` too, builds the parsers of the client commands through the
client packages; a package that imported its whole client up front would make each start-up pay for
ftplib, requests and the rest of a client it never runs.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable


def lazy_exports(package: str, homes: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``homes`` maps each exported name to its submodule."""

    def __getattr__(name: str) -> Any:
        if name not in homes:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(homes[name], package), name)

    return __getattr__
