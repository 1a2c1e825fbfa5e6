"""Whether a download on disk is all of CB's file, judged from sizes: after a crash nothing else is left.

CB deletes a file from out/ once it has sent it all (seed 002), so a client killed before it had read
the whole transfer cannot fetch it again; what is on disk then has to prove itself complete, or it is
not counted as received.

The yardstick is CB's ``SIZE``, asked in TYPE I: the octets CB stores. (The simulator, like pyftpdlib
and many servers, refuses SIZE in TYPE A; a server that answers it there may give either number, so it
is not asked.) A binary transfer carries exactly those octets. An ASCII transfer carries them in network
ASCII, every line end as CRLF: a server that keeps LF line ends puts a CR before each LF, one that keeps
CRLF sends them as they are. The client keeps what the wire brought, so for a text file of S stored
octets the part holds L octets with C CRLF pairs, and:

* S == L - C (and the part does not end in a lone CR): the whole file of a server that inserted a CR
  before every LF. No part cut short looks like this: it always lacks at least one original octet.
  This is **certain**.
* L - C < S <= L: the whole file (a server that kept some CRLF), or a part of an LF file cut short by
  exactly as many octets as it has line ends: the two look the same. Only **possible**; enough when CB
  said 226 (it sent everything), never enough after a crash.
* anything else: cut short (or not CB's file at all).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

_CHUNK = 1024 * 1024


@dataclass
class Tally:
    """Counts what a download brings as it arrives (or as a part is read back): octets, CRLF pairs, and
    whether the last octet is a CR (whose LF may still have been on its way)."""

    octets: int = 0
    crlf: int = 0
    ends_in_cr: bool = False

    def feed(self, data: bytes) -> None:
        if not data:
            return
        self.crlf += data.count(b"\r\n") + (1 if self.ends_in_cr and data[:1] == b"\n" else 0)
        self.octets += len(data)
        self.ends_in_cr = data[-1:] == b"\r"

    @classmethod
    def of_file(cls, path: Path) -> "Tally":
        tally = cls()
        with open(path, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                tally.feed(chunk)
        return tally

    def certainly_complete(self, stored_size: int, binary: bool) -> bool:
        """No part cut short can look like this (see the module's docstring)."""
        if binary:
            return self.octets == stored_size
        return self.octets - self.crlf == stored_size and not self.ends_in_cr

    def possibly_complete(self, stored_size: int, binary: bool) -> bool:
        """The whole file could look like this; after CB's 226 that is enough."""
        if binary:
            return self.octets == stored_size
        return self.octets - self.crlf <= stored_size <= self.octets
