"""The journal: append-only, stamped with clock time, queryable, and self-explaining when an
expectation fails."""

from __future__ import annotations

import json
import sqlite3

import pytest

from simulators.core.clock import VirtualClock, format_instant, monotonic, real_sleep
from simulators.core.journal import FLUSH_AT, Journal, JournalMismatch


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock("2026-11-20T08:00:00Z")


@pytest.fixture
def journal(tmp_path, clock):
    journal = Journal(tmp_path / "journal.db", clock)
    yield journal
    journal.close()


@pytest.fixture
def session(journal, clock):
    """A small FTP session plus a scheduler event, over simulated time."""
    journal.record("digipoort", "ftp.connect", "s1", remote="127.0.0.1:5000")
    journal.record("digipoort", "ftp.reply", "s1", code="220", text="ready")
    journal.record("digipoort", "ftp.command", "s1", command="USER", arg="acme")
    journal.record("digipoort", "ftp.reply", "s1", code="530", text="Login incorrect.")
    clock.advance("2h")
    journal.record("digipoort", "file.created", None, user="acme", folder="OUT", name="x.ok", size=12)
    journal.record("cbftp", "ftp.reply", "s9", code="226", text="Transfer complete.")
    return journal


def test_record_returns_increasing_ids_and_entries_are_flat_dicts(journal):
    first = journal.record("digipoort", "ftp.connect", "s1", remote="127.0.0.1:5000")
    second = journal.record("digipoort", "ftp.reply", "s1", code="220", text="Grüß Gott")
    assert second > first
    assert journal.entries() == [
        {"id": first, "at": "2026-11-20T08:00:00.000Z", "sim": "digipoort", "kind": "ftp.connect",
         "session": "s1", "remote": "127.0.0.1:5000"},
        {"id": second, "at": "2026-11-20T08:00:00.000Z", "sim": "digipoort", "kind": "ftp.reply",
         "session": "s1", "code": "220", "text": "Grüß Gott"},
    ]
    assert journal.last_id() == second


def test_entries_are_stamped_with_clock_time_not_wall_time(session):
    stamps = [e["at"] for e in session.entries()]
    assert stamps == ["2026-11-20T08:00:00.000Z"] * 4 + ["2026-11-20T10:00:00.000Z"] * 2


def test_values_that_are_not_json_are_stored_as_text(journal):
    from pathlib import Path

    journal.record("digipoort", "file.created", path=Path("/x/y"), count=3, ok=True, nothing=None)
    (entry,) = journal.entries()
    assert (entry["path"], entry["count"]) == ("/x/y", 3)
    assert entry["ok"] is True and entry["nothing"] is None


def test_filter_by_sim(session):
    assert [e["kind"] for e in session.entries(sim="cbftp")] == ["ftp.reply"]
    assert len(session.entries(sim="digipoort")) == 5
    assert session.entries(sim="twinfield") == []


def test_filter_by_kind_exact_and_glob(session):
    assert [e["code"] for e in session.entries(kind="ftp.reply")] == ["220", "530", "226"]
    assert [e["kind"] for e in session.entries(sim="digipoort", kind="ftp.*")] == [
        "ftp.connect", "ftp.reply", "ftp.command", "ftp.reply"]
    assert [e["kind"] for e in session.entries(kind="*.created")] == ["file.created"]
    assert [e["kind"] for e in session.entries(kind="ftp.[cr]e*")] == ["ftp.reply", "ftp.reply", "ftp.reply"]
    assert session.entries(kind="ftp.?") == []
    assert session.entries(kind="ftp") == []  # exact, not a prefix


def test_filter_since_an_id(session):
    all_ids = [e["id"] for e in session.entries()]
    assert [e["id"] for e in session.entries(since=all_ids[3])] == all_ids[4:]
    assert session.entries(since=session.last_id()) == []


def test_filter_by_field_pattern(session):
    found = session.entries(match={"code": "5*"})
    assert [(e["kind"], e["code"]) for e in found] == [("ftp.reply", "530")]
    assert [e["name"] for e in session.entries(match={"folder": "OUT", "size": 12})] == ["x.ok"]
    assert session.entries(match={"code": 530}) == found  # a number matches its text
    assert session.entries(match={"session": "s9"})[0]["sim"] == "cbftp"
    any_of = session.entries(kind="ftp.reply", match={"code": ["220", "226"]}, sim="digipoort")
    assert [e["code"] for e in any_of] == ["220"]


def test_limit(session):
    assert [e["code"] for e in session.entries(kind="ftp.reply", limit=2)] == ["220", "530"]
    assert len(session.entries(limit=100)) == 6
    assert [e["code"] for e in session.entries(match={"code": "*"}, limit=1)] == ["220"]


def test_limit_zero_returns_nothing(session):
    assert session.entries(limit=0) == []


def test_count(session):
    assert session.count({"kind": "ftp.reply"}) == 3
    assert session.count({"kind": "ftp.reply"}, since=session.last_id() - 1) == 1


def test_expect_returns_the_first_match(session):
    entry = session.expect({"kind": "ftp.reply", "code": "5*"})
    assert entry["code"] == "530" and entry["text"] == "Login incorrect."
    first = session.expect({"kind": "ftp.reply"})
    assert first["code"] == "220"
    later = session.expect({"kind": "ftp.reply"}, since=first["id"])
    assert later["code"] == "530"


def test_expect_failure_names_the_closest_entries_and_how_they_differ(session):
    with pytest.raises(JournalMismatch) as info:
        session.expect({"sim": "digipoort", "kind": "ftp.reply", "code": "250"})
    message = str(info.value)
    lines = message.splitlines()
    assert lines[0] == "no journal entry matches {'sim': 'digipoort', 'kind': 'ftp.reply', 'code': '250'}"
    closest = [line for line in lines if line.startswith("  closest: ")]
    assert len(closest) == 3  # the nearest three, best first
    # the two Digipoort replies match 2 of 3 fields and come first, oldest first
    assert '"code": "220"' in closest[0] and '"kind": "ftp.reply"' in closest[0]
    assert '"code": "530"' in closest[1]
    assert "    - code: expected '250', got '220'" in lines
    assert "    - code: expected '250', got '530'" in lines
    # the closest entries show clock time but not the noisy id and session
    assert '"at": "2026-11-20T08:00:00.000Z"' in closest[0]
    assert '"session"' not in closest[0] and '"id"' not in closest[0]
    assert isinstance(info.value, AssertionError)  # pytest shows it as a plain assertion failure


def test_expect_failure_names_a_missing_field(session):
    with pytest.raises(JournalMismatch, match=r"- user: expected 'bob', got absent"):
        session.expect({"kind": "ftp.command", "user": "bob"})


def test_expect_on_an_empty_journal_says_so(journal):
    with pytest.raises(JournalMismatch, match=r"\(the journal is empty\)"):
        journal.expect({"kind": "ftp.reply"})


def test_expect_since_ignores_older_entries(session):
    last = session.last_id()
    with pytest.raises(JournalMismatch):
        session.expect({"code": "530"}, since=last)


def test_expect_none(session):
    session.expect_none({"kind": "ftp.reply", "code": "4*"})
    session.expect_none({"code": "530"}, since=session.last_id())
    with pytest.raises(JournalMismatch) as info:
        session.expect_none({"kind": "ftp.reply", "code": "5*"})
    message = str(info.value)
    assert message.startswith("expected no journal entry like {'kind': 'ftp.reply', 'code': '5*'}, found:")
    assert '"code": "530"' in message
    assert '"code": "220"' not in message


def test_long_entries_are_shortened_in_messages(journal):
    journal.record("digipoort", "ftp.reply", "s1", code="220", text="x" * 1000)
    with pytest.raises(JournalMismatch) as info:
        journal.expect({"kind": "ftp.reply", "code": "221"})
    closest = [line for line in str(info.value).splitlines() if "closest:" in line][0]
    assert closest.endswith("...")
    assert len(closest) < 300


def test_clear_empties_the_journal_and_ids_keep_growing(session):
    last = session.last_id()
    session.clear()
    assert session.entries() == []
    assert session.last_id() == 0
    new_id = session.record("digipoort", "ftp.connect")
    assert new_id > last  # AUTOINCREMENT: an id is never reused, so `since` stays meaningful


def test_the_journal_survives_reopening(tmp_path, clock):
    journal = Journal(tmp_path / "j.db", clock)
    journal.record("digipoort", "ftp.connect", "s1")
    journal.close()
    again = Journal(tmp_path / "j.db", clock)
    try:
        assert [e["kind"] for e in again.entries()] == ["ftp.connect"]
    finally:
        again.close()


# -- the journal: rows made off the recording thread ----------------------------------------------------

WAIT_SECONDS = 10.0  # real time for the journal's thread to write a full batch


@pytest.fixture
def batch_journal(tmp_path):
    clock = VirtualClock("2026-11-20T08:00:00Z")
    journal = Journal(tmp_path / "journal.db", clock)
    yield journal, clock
    journal.close()


def test_an_entry_shows_its_values_as_they_were_when_recorded(batch_journal):
    journal, clock = batch_journal
    names, detail = ["a.pdf"], {"size": 1}
    journal.record("cbftp", "test.mutable", "s1", names=names, detail=detail, text="Grüß", n=3, ok=True, none=None)
    recorded_at = clock.now()
    names.append("b.pdf")
    detail["size"] = 2
    clock.advance("1h")  # the row is made later: its stamp is still the moment of recording
    (entry,) = journal.entries(kind="test.mutable")
    assert entry["names"] == ["a.pdf"] and entry["detail"] == {"size": 1}
    assert (entry["text"], entry["n"], entry["ok"], entry["none"]) == ("Grüß", 3, True, None)
    assert entry["at"] == format_instant(recorded_at)


def test_plain_values_are_stored_as_the_same_json_text_as_before(batch_journal, tmp_path):
    journal, _ = batch_journal
    data = {"command": "STOR", "arg": "/7000123/in/ä \"x\".pdf", "size": 1024, "ratio": 0.5, "big": 10**30,
            "user": None, "ok": False}
    journal.record("cbftp", "test.plain", "s1", **data)
    journal.entries()  # written now
    with sqlite3.connect(tmp_path / "journal.db") as db:
        (text,) = db.execute("SELECT data FROM journal WHERE kind = 'test.plain'").fetchone()
    assert text == json.dumps(data, ensure_ascii=False, default=str)


def test_a_full_batch_is_written_without_anyone_reading(batch_journal, tmp_path):
    journal, _ = batch_journal
    for i in range(FLUSH_AT):
        journal.record("cbftp", "test.batch", f"s{i}", i=i)
    deadline = monotonic() + WAIT_SECONDS
    written = 0
    while monotonic() < deadline:
        with sqlite3.connect(tmp_path / "journal.db") as db:  # another reader: journal.entries() would flush
            (written,) = db.execute("SELECT COUNT(*) FROM journal WHERE kind = 'test.batch'").fetchone()
        if written == FLUSH_AT:
            break
        real_sleep(0.01)
    assert written == FLUSH_AT
    assert [e["i"] for e in journal.entries(kind="test.batch")] == list(range(FLUSH_AT))


def test_the_journal_thread_lives_on_after_a_failed_write_and_writes_the_batch_again(tmp_path):
    clock = VirtualClock("2026-11-20T08:00:00Z")
    journal = Journal(tmp_path / "journal.db", clock)
    real = journal._db

    class FailsOnce:  # the first batch meets a full disk, say; the next attempt succeeds
        failed = False

        def __getattr__(self, name):
            return getattr(real, name)

        def executemany(self, *args):
            if not FailsOnce.failed:
                FailsOnce.failed = True
                raise sqlite3.OperationalError("database or disk is full")
            return real.executemany(*args)

    journal._db = FailsOnce()
    try:
        for i in range(FLUSH_AT):  # a full batch: the journal's thread is woken to write it
            journal.record("cbftp", "test.retry", f"s{i}", i=i)
        deadline = monotonic() + WAIT_SECONDS
        written = 0
        while monotonic() < deadline:
            with sqlite3.connect(tmp_path / "journal.db") as db:  # another reader: entries() would flush
                (written,) = db.execute("SELECT COUNT(*) FROM journal WHERE kind = 'test.retry'").fetchone()
            if written == FLUSH_AT:
                break
            real_sleep(0.01)
        assert FailsOnce.failed and written == FLUSH_AT
        assert journal._flusher.is_alive()
    finally:
        journal._db = real
        journal.close()
