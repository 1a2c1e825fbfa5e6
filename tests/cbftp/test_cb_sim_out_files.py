"""Every file waiting in out/ has exactly one record, and its retention expiry removes that file and no other:
also when two error files share a stem, and after a restart that finds what a crash (or an older version
that replaced unread files) left behind (``Outbox.settle_out_folders``).

CB runs in a runtime of its own on a virtual clock; a "crash" is staged as test_cb_restart.py does it: the
runtime stopped, the files a crash would leave written into the state directory, a new runtime started on
it. Files are read through ``ftplib.FTP_TLS`` under CB's rulebook.
"""

from __future__ import annotations

import ftplib
import hashlib
import io
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from lxml import etree

from clients.cbftp.digicom import Order, OrderLine, build_opdnaw, parse_ontbev
from simulators.core.clock import format_instant, parse_duration

from .wire import CBAlone

RELATION, PASSWORD = "7000123", "cb-secret"  # the account CB's configuration seeds
START = datetime.fromisoformat("2026-03-02T10:00:00+00:00")  # a Monday, far from a maintenance window
NOT_DIGICOM = b"this is not a Digicom message\r\n"
SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


class CB(CBAlone):
    """CB alone on a virtual clock; ``stop`` then ``start`` is a restart on the same state."""

    def __init__(self, state_dir: Path) -> None:
        super().__init__(state_dir, START)

    def out(self) -> Path:
        return self.model.folder(RELATION, "out")

    def upload(self, name: str, data: bytes) -> None:
        ftp = self.login()
        try:
            assert ftp.storlines(f"STOR in/{name}", io.BytesIO(data)).startswith("226")  # ASCII, as CB asks
        finally:
            close_quietly(ftp)

    def fetch(self, name: str) -> bytes:
        ftp = self.login()
        try:
            lines: list[str] = []
            ftp.retrlines(f"RETR out/{name}", lines.append)
        finally:
            close_quietly(ftp)
        return "\r\n".join(lines).encode("latin-1") + b"\r\n"

    def listed(self) -> list[str]:
        ftp = self.login()
        try:
            return sorted(n.rsplit("/", 1)[-1] for n in ftp.nlst("out"))
        finally:
            close_quietly(ftp)

    def out_rows(self) -> list[tuple[str, str]]:
        return [(r["name"], r["state"]) for r in self.model.files(RELATION, "out")]

    def removed(self, **match: str) -> list[dict]:
        return self.runtime.journal.entries(kind="file.removed", match=match)


@pytest.fixture
def cb(tmp_path):
    handle = CB(tmp_path / "state")
    yield handle
    handle.stop()


def close_quietly(ftp: ftplib.FTP) -> None:
    try:
        ftp.quit()
    except (OSError, EOFError, ftplib.Error):
        ftp.close()


def error_file_of(body: bytes) -> str:
    return etree.fromstring(body.replace(b"\r\n", b"\n"), SAFE_XML).findtext("filename")


def test_the_first_error_file_expires_on_its_own_day_and_the_second_on_its_own(cb):
    """Once the second error file replaced the first under the first's record, whose expiry then took it."""
    cb.upload("dup.txt", NOT_DIGICOM)
    first_placed = cb.now()
    cb.advance("1d")
    cb.upload("dup.opd", NOT_DIGICOM)
    second_placed = cb.now()
    assert cb.listed() == ["dup-2.fout.xml", "dup.fout.xml"]

    cb.runtime.scheduler.advance_to(first_placed + parse_duration("30d") + timedelta(minutes=1))
    assert cb.removed(name="dup.fout.xml", reason="expired")
    assert cb.listed() == ["dup-2.fout.xml"]
    assert error_file_of(cb.fetch("dup-2.fout.xml")) == "dup.opd"
    assert cb.out_rows() == [("dup.fout.xml", "expired"), ("dup-2.fout.xml", "downloaded")]

    cb.runtime.scheduler.advance_to(second_placed + parse_duration("31d"))
    assert cb.removed(reason="expired") == cb.removed(name="dup.fout.xml", reason="expired")  # nothing more


def test_an_answer_placed_but_not_recorded_before_a_crash_is_replaced_by_the_one_answer(cb):
    """The crash came between placing the receipt in out/ and committing its record: the order is still in
    in/ and is taken again at the restart; the unrecorded file goes, so the order has one receipt, recorded."""
    cb.stop()
    local_day = f"{START.astimezone(ZoneInfo('Europe/Amsterdam')):%Y%m%d}"
    orphan = f"{RELATION}u0001{local_day}.ont"  # the name the retaken order's receipt gets, too
    stray = "answer-of-nothing.ont"
    order = build_opdnaw(Order(order_number="PO-CRASH", lines=[OrderLine("9789085013402", 1)]),
                         sender_relation_id=RELATION, reference="REF-CRASH", now=START)
    state_files = cb.state_dir / "files" / "cbftp" / "accounts" / RELATION / RELATION
    (state_files / "in" / "crash.txt").write_bytes(order)
    (state_files / "out" / orphan).write_bytes(b"#00010#0002ONTBEV")  # half an answer, never recorded
    (state_files / "out" / stray).write_bytes(b"nobody recorded this\r\n")

    cb.start(START + timedelta(minutes=1))
    assert sorted(cb.model.present(RELATION, "out")) == [orphan]
    ((name, state),) = cb.out_rows()
    assert (name, state) == (orphan, "present")
    (row,) = cb.model.files(RELATION, "out")
    assert row["sha256"] == hashlib.sha256((cb.out() / orphan).read_bytes()).hexdigest()
    assert {e["name"] for e in cb.removed(reason="placed but not recorded before a restart")} == {orphan, stray}
    assert cb.listed() == [orphan]
    assert parse_ontbev(cb.fetch(orphan)).original_reference == "REF-CRASH"

    cb.stop()  # a second restart finds everything in order
    cb.start(START + timedelta(hours=1))
    assert cb.out_rows() == [(orphan, "downloaded")]
    assert len(cb.removed(reason="placed but not recorded before a restart")) == 2


def test_rows_an_older_version_left_for_a_replaced_file_are_settled_at_the_restart(cb):
    """Before the fix, a second error file of one stem replaced the first and both records said "present":
    the restart keeps the newest as the file's record; the older one's expiry no longer takes the file."""
    model = cb.model
    model.place_file(RELATION, "dup.fout.xml", b"<error><filename>dup.txt</filename></error>\r\n")
    cb.advance("1d")
    newer = b"<error><filename>dup.opd</filename></error>\r\n"
    now = cb.now()
    with model.store.transaction() as db:  # what the old place_out did: the same name, written over
        model.store.atomic_write(cb.out() / "dup.fout.xml", newer, now)
        cur = db.execute("INSERT INTO cb_files (relation_id, folder, name, kind, size, sha256, at, state) "
                         "VALUES (?, 'out', 'dup.fout.xml', 'error', ?, ?, ?, 'present')",
                         (RELATION, len(newer), hashlib.sha256(newer).hexdigest(), format_instant(now)))
        cb.runtime.scheduler.schedule("cbftp.expire", now + parse_duration("30d"),
                                      {"relation_id": RELATION, "name": "dup.fout.xml", "file_id": cur.lastrowid})
    assert cb.out_rows() == [("dup.fout.xml", "present"), ("dup.fout.xml", "present")]

    cb.stop()
    cb.start(now + timedelta(minutes=1))
    assert cb.out_rows() == [("dup.fout.xml", "removed"), ("dup.fout.xml", "present")]
    assert cb.removed(name="dup.fout.xml", reason="replaced by a newer file of the same name")

    cb.runtime.scheduler.advance_to(START + timedelta(days=30, minutes=5))  # the older record's expiry
    assert cb.model.present(RELATION, "out") == ["dup.fout.xml"]
    assert error_file_of(cb.fetch("dup.fout.xml")) == "dup.opd"
    assert cb.out_rows() == [("dup.fout.xml", "removed"), ("dup.fout.xml", "downloaded")]
