"""The CB part (``--only cb``): the Centraal Boekhuis simulator against the issue's speed goals, in four
measurements, each its own module and its own entry in the results (one failing hides no other):

  cb_transfer  (a) a big file up and down with curl: CB vs bare pyftpdlib (and vsftpd)   goal >= 0.9x
  cb_sessions  (b) one whole short session with ftplib, N times: CB vs bare pyftpdlib    goal <= 1.2x
  cb_crowd     (c) N clients at once, each logging in and downloading its invoice       all succeed,
                   with the simulator's peak memory                                      <= 100 MB
  cb_ubl       (d) UBL 2.1 validation of one invoice, the schema built beforehand        goal <= 1 ms
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import cb_crowd, cb_sessions, cb_transfer, cb_ubl

PARTS = ("cb_transfer", "cb_sessions", "cb_crowd", "cb_ubl")


@dataclass(frozen=True)
class Sizes:
    file_bytes: int
    transfer_runs: int
    sessions: int
    clients: int
    invoices: int

    @classmethod
    def for_run(cls, quick: bool) -> "Sizes":
        if quick:
            return cls(file_bytes=20 * 2**20, transfer_runs=2, sessions=50, clients=50, invoices=50)
        return cls(file_bytes=200 * 2**20, transfer_runs=9, sessions=200, clients=300, invoices=200)


Work = Callable[[], dict]


def measurements(sizes: Sizes, workdir: Path, progress: Callable[[str], None]) -> list[tuple[str, Work]]:
    """(part, work) in the order they run; the caller times and guards each."""
    return [
        ("cb_transfer", lambda: cb_transfer.run(sizes.file_bytes, sizes.transfer_runs, workdir / "transfer",
                                                progress)),
        ("cb_sessions", lambda: cb_sessions.run(sizes.sessions, workdir / "sessions", progress)),
        ("cb_crowd", lambda: cb_crowd.run(sizes.clients, workdir / "crowd", progress)),
        ("cb_ubl", lambda: cb_ubl.run(sizes.invoices, progress)),
    ]
