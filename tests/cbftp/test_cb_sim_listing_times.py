"""What CB's listings say about time follows the simulator's clock, never the host's: LIST (including its
choice between "hh:mm" and the year for a file over six months old), MLSD/MLST ``modify`` facts and
MDTM. A file shows the simulated moment CB placed it; a folder the simulated moment of its last change
(the account made, a file taken from in/, placed in or removed from out/).

Each test runs CB in a runtime of its own whose virtual clock starts in March 2025, far from the host's
clock, so a host time that leaks into a listing cannot look right. Everything is read with
``ftplib.FTP_TLS`` under CB's rulebook (explicit FTPS, PROT P, passive, one login per 10 minutes).
"""

from __future__ import annotations

import ftplib
import io
from datetime import datetime, timedelta

import pytest

from clients.cbftp.digicom import Order, OrderLine, build_opdnaw

from .wire import CBAlone

RELATION, PASSWORD = "7000123", "cb-secret"  # the account CB's configuration seeds
START = "2025-03-04T05:06:07Z"  # simulated; the host's clock is years away


class CB(CBAlone):
    """CB alone on a virtual clock that starts in March 2025."""

    def __init__(self, state_dir, **cbftp) -> None:
        super().__init__(state_dir, datetime.fromisoformat(START.replace("Z", "+00:00")), **cbftp)


@pytest.fixture
def make_cb(tmp_path):
    made: list[CB] = []

    def make(**cbftp) -> CB:
        made.append(CB(tmp_path / f"state-{len(made)}", **cbftp))
        return made[-1]

    yield make
    for cb in made:
        cb.runtime.stop()


def close_quietly(ftp: ftplib.FTP) -> None:
    try:
        ftp.quit()
    except (OSError, EOFError, ftplib.Error):
        ftp.close()


def order_bytes(now: datetime) -> bytes:
    order = Order(order_number="PO-TIME", lines=[OrderLine("9789085013402", 1)])
    return build_opdnaw(order, sender_relation_id=RELATION, reference="REF-TIME", now=now)


def listed(ftp: ftplib.FTP, path: str) -> dict[str, str]:
    """LIST's lines by name: the date part (month, day, then "hh:mm" or the year) of ``ls -l``."""
    lines: list[str] = []
    ftp.retrlines(f"LIST {path}", lines.append)
    return {line.split()[-1]: " ".join(line.split()[5:8]) for line in lines}


def modified(ftp: ftplib.FTP, path: str) -> dict[str, str]:
    """MLSD's ``modify`` fact by name."""
    return {name: facts["modify"] for name, facts in ftp.mlsd(path, facts=["modify"])}


def ls_date(moment: datetime) -> str:
    """The date part of a LIST line for a file at most six months old (UTC, as pyftpdlib shows it)."""
    return f"{moment:%b %d %H:%M}"


def fact(moment: datetime) -> str:
    return f"{moment:%Y%m%d%H%M%S}"


def test_every_time_a_client_sees_is_simulated_time(make_cb):
    cb = make_cb()
    made = cb.now()  # the account and its folders: made at start
    uploaded = cb.advance("1h")
    ftp = cb.login()
    try:
        assert ftp.storlines("STOR in/order1.txt", io.BytesIO(order_bytes(uploaded))).startswith("226")
        (receipt,) = cb.model.present(RELATION, "out")

        assert listed(ftp, "/") == {RELATION: ls_date(made)}
        assert listed(ftp, f"/{RELATION}") == {"in": ls_date(uploaded), "out": ls_date(uploaded)}
        assert listed(ftp, "out") == {receipt: ls_date(uploaded)}
        assert listed(ftp, f"out/{receipt}") == {receipt: ls_date(uploaded)}

        assert modified(ftp, "/") == {RELATION: fact(made)}
        assert modified(ftp, f"/{RELATION}") == {"in": fact(uploaded), "out": fact(uploaded)}
        assert modified(ftp, "out") == {receipt: fact(uploaded)}
        assert f"modify={fact(uploaded)};" in ftp.sendcmd(f"MLST out/{receipt}")
        assert f"modify={fact(made)};" in ftp.sendcmd("MLST /")
        assert ftp.sendcmd(f"MDTM out/{receipt}") == f"213 {fact(uploaded)}"
    finally:
        close_quietly(ftp)


def test_a_file_over_six_simulated_months_old_shows_its_year(make_cb):
    """ls shows "hh:mm" for the last six months and the year before that: measured on the simulated clock
    (on the host's, a file of March 2025 would show its year at once; the test's clock stands years from it)."""
    cb = make_cb(retention="400d")
    placed = cb.now()
    cb.model.place_file(RELATION, "old.txt", b"old\r\n")
    cb.advance("179d")
    ftp = cb.login()
    try:
        assert listed(ftp, "out") == {"old.txt": ls_date(placed)}
    finally:
        close_quietly(ftp)
    cb.advance("2d")
    ftp = cb.login()
    try:
        assert listed(ftp, "out") == {"old.txt": f"{placed:%b %d %Y}"}
        assert modified(ftp, "out") == {"old.txt": fact(placed)}
    finally:
        close_quietly(ftp)


def test_out_is_dated_by_each_file_fetched_deleted_or_expired(make_cb):
    cb = make_cb(retention="1d")
    made = cb.now()
    cb.advance("1m")
    for name in ("fetch.txt", "delete.txt", "expire.txt"):
        cb.model.place_file(RELATION, name, b"x\r\n")
    placed = cb.now()
    ftp = cb.login()  # 10 minutes later
    try:
        assert modified(ftp, f"/{RELATION}")["out"] == fact(placed)
        ftp.retrlines("RETR out/fetch.txt", lambda line: None)
        assert modified(ftp, f"/{RELATION}")["out"] == fact(cb.now())
        cb.advance("5m")
        assert ftp.delete("out/delete.txt").startswith("250")
        deleted = cb.now()
        assert modified(ftp, f"/{RELATION}") == {"in": fact(made), "out": fact(deleted)}
    finally:
        close_quietly(ftp)
    expiry = placed + timedelta(days=1)
    cb.advance("2d")
    ftp = cb.login()
    try:
        assert listed(ftp, "out") == {}
        assert modified(ftp, f"/{RELATION}")["out"] == fact(expiry)
    finally:
        close_quietly(ftp)
