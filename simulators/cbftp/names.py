"""CB's rules for file names and transfer types (seed 002), shared by the FTP server and CB's own files."""

from __future__ import annotations

import os
import re

from .config import BINARY_EXTENSIONS

# Letters, digits, '.', '-', '_'; no upper case in the extension.
_NAME = re.compile(r"^[0-9A-Za-z._-]{1,255}$")


def name_problem(name: str) -> str | None:
    """Why CB refuses this file name, or None."""
    if not _NAME.fullmatch(name) or name.startswith("."):  # fullmatch: "$" alone would let "x.pdf\n" through
        return "file names may only hold 0-9, a-z, A-Z, '.', '-' and '_' (at most 255)"
    extension = os.path.splitext(name)[1]
    if extension != extension.lower():
        return f"upper case is not allowed in the extension ({extension})"
    return None


def binary_expected(name: str) -> bool:
    """Binary for .epub .jpg .pdf .zip; ASCII for everything else."""
    return os.path.splitext(name)[1].lower() in BINARY_EXTENSIONS
