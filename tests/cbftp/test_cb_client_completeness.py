"""The CB client's yardstick for a download a crash interrupted (``clients/cbftp/completeness.py``): every
way a server may put a stored file on the wire in ASCII, and every point a transfer can be cut at. A part
cut short must never pass as certainly complete; the whole file must always pass as possibly complete,
and as certainly complete when the server inserted a CR before every LF (a Unix server's text file).
"""

from __future__ import annotations

import itertools

import pytest

from clients.cbftp.completeness import Tally

# Stored files made of these pieces: LF and CRLF line ends, lone CRs, a line end at the very start or end.
PIECES = (b"ab", b"\n", b"\r\n", b"\r", b"x")


def stored_files() -> list[bytes]:
    files = {b""}
    for length in range(1, 5):
        files.update(b"".join(p) for p in itertools.product(PIECES, repeat=length))
    return sorted(files)


def unix_server(stored: bytes) -> bytes:
    """What pyftpdlib (the simulator) sends in TYPE A: a CR before every LF that has none."""
    out = bytearray()
    for i, octet in enumerate(stored):
        if octet == 0x0A and (i == 0 or stored[i - 1] != 0x0D):
            out += b"\r"
        out.append(octet)
    return bytes(out)


def naive_server(stored: bytes) -> bytes:
    """A server that puts a CR before every LF, also one that had it."""
    return stored.replace(b"\n", b"\r\n")


def windows_server(stored: bytes) -> bytes:
    """A server that sends its (CRLF) text files as they are."""
    return stored


def tally(data: bytes, pieces: int = 1) -> Tally:
    """Fed in ``pieces`` blocks, so a CRLF split over two blocks is counted too."""
    counted, step = Tally(), max(1, -(-len(data) // pieces))
    for start in range(0, len(data), step):
        counted.feed(data[start:start + step])
    return counted


@pytest.mark.parametrize("server", [unix_server, naive_server, windows_server])
def test_no_part_cut_short_passes_as_certainly_complete(server):
    for stored in stored_files():
        wire = server(stored)
        for cut in range(len(wire)):
            part = tally(wire[:cut], pieces=3)
            assert not part.certainly_complete(len(stored), binary=False), (stored, wire[:cut])
        assert tally(wire, pieces=3).possibly_complete(len(stored), binary=False), (stored, wire)


def test_a_whole_lf_text_file_is_certainly_complete_unless_it_ends_in_a_lone_cr():
    for stored in stored_files():
        if b"\r\n" in stored:
            continue  # an original CRLF: see the next test
        whole = tally(unix_server(stored), pieces=2)
        assert whole.certainly_complete(len(stored), binary=False) == (not stored.endswith(b"\r")), stored


def test_a_crlf_file_sent_as_it_is_is_never_certain_a_part_cut_short_can_look_the_same():
    stored, cut_short_lf_file = b"a\r\nb\r\n", unix_server(b"a\nb\nc\n")[:6]
    assert cut_short_lf_file == stored  # the same octets; CB's SIZE (6) fits both
    assert tally(stored).possibly_complete(6, binary=False) and not tally(stored).certainly_complete(6, binary=False)


def test_a_binary_part_is_complete_exactly_at_cbs_size():
    data = bytes(range(256)) * 4
    assert tally(data, pieces=5).certainly_complete(len(data), binary=True)
    assert not tally(data[:-1]).certainly_complete(len(data), binary=True)
    assert not tally(data[:-1]).possibly_complete(len(data), binary=True)


def test_reading_a_part_back_counts_as_receiving_it(tmp_path):
    data = unix_server(b"line\n" * 300_000)  # over one read chunk, so a CRLF falls across two
    (tmp_path / "part").write_bytes(data)
    assert Tally.of_file(tmp_path / "part") == tally(data)
