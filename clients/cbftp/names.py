"""CB's file-name rule (seed 002), checked before a file is queued so CB never has to refuse it.

Seed 002: a name may hold the digits 0-9, the letters a-z (upper and/or lower case), '.', '-' and '_';
every other character (space, trema, &, <, >, {, } ...) is not allowed, nor is upper case in the
extension. The pattern is ASCII on purpose: ``str.isalnum`` would let 'ë' and '²' through.

Two limits come from the simulator, not the seed (``simulators/cbftp/names.py``): at most 255
characters, and no leading '.'. The client keeps them too, so what it queues is what CB takes.
"""

from __future__ import annotations

import os
import re

_ALLOWED = re.compile(r"[0-9A-Za-z._-]{1,255}")  # fullmatch: a trailing newline does not slip through


def name_problem(name: str) -> str | None:
    """Why CB would refuse ``name`` as a file name, or None when it is allowed."""
    if not _ALLOWED.fullmatch(name):
        return "file names may only hold 0-9, a-z, A-Z, '.', '-' and '_' (1 to 255 of them)"
    if name.startswith("."):
        return "a file name may not start with '.'"
    extension = os.path.splitext(name)[1]
    if extension != extension.lower():
        return f"upper case is not allowed in the extension ({extension})"
    return None
