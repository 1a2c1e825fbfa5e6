"""The Digipoort FTP client (seed 001): submit, poll OUT with back-off, link answers, resume."""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["ClientStore", "Connection", "DigipoortClient", "Event", "PollPolicy"]

_HOMES = {"ClientStore": ".store", "Connection": ".client", "DigipoortClient": ".client", "Event": ".client",
          "PollPolicy": ".client"}


def __getattr__(name: str) -> Any:
    # Loaded on first use (PEP 562): `koppelsim sim` builds the `digipoort` command's parser through this
    # package and should not pay for ftplib and the client it never runs.
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name], __name__), name)
