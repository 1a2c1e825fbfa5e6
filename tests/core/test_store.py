"""The store: atomic file writes that never show half a file, and transactions that roll back."""

from __future__ import annotations

import os
import sqlite3

import pytest

from simulators.core.store import STAGING_DIR, Store, publish, remove_durably

_SCHEMA = "CREATE TABLE IF NOT EXISTS things (name TEXT PRIMARY KEY, n INTEGER);"


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "state")
    store.migrate("test", _SCHEMA)
    yield store
    store.close()


def names(store: Store) -> list[str]:
    return [r[0] for r in store.query("SELECT name FROM things ORDER BY name")]


def staging_files(store: Store) -> list[str]:
    staging = store.files_root / STAGING_DIR
    return sorted(p.name for p in staging.iterdir()) if staging.exists() else []


def test_a_new_store_creates_its_layout(tmp_path):
    store = Store(tmp_path / "a" / "b")
    try:
        assert store.state_dir == (tmp_path / "a" / "b").resolve()
        assert store.files_root.is_dir()
        assert store.db_path.is_file()
        assert store.query("PRAGMA journal_mode")[0][0] == "wal"
    finally:
        store.close()


def test_atomic_write_leaves_the_final_content_and_no_staging_file(store):
    target = store.area("acme", "IN") / "payload.xml"
    store.atomic_write(target, b"<xml>first</xml>")
    assert target.read_bytes() == b"<xml>first</xml>"
    store.atomic_write(target, b"second")  # replacing is atomic too
    assert target.read_bytes() == b"second"
    assert staging_files(store) == []
    assert sorted(p.name for p in target.parent.iterdir()) == ["payload.xml"]


def test_staging_names_live_in_the_files_area_not_in_the_visible_folder(store):
    target = store.area("acme", "OUT") / "x.ok"
    staging = store.new_staging_path()
    assert staging.parent == store.files_root / STAGING_DIR
    assert staging.parent != target.parent
    assert staging.suffix == ".part"
    assert store.new_staging_path() != staging  # unique per transfer


def test_area_creates_nested_folders_once(store):
    first = store.area("acme", "IN")
    assert first.is_dir() and first == store.files_root / "acme" / "IN"
    (first / "keep").write_bytes(b"1")
    assert store.area("acme", "IN") == first
    assert (first / "keep").exists()


def test_sweep_staging_removes_leftovers_of_interrupted_writes(store):
    assert store.sweep_staging() == 0  # nothing staged yet
    target = store.area("acme", "IN") / "big.bin"
    leftovers = [store.new_staging_path(), store.new_staging_path()]
    for path in leftovers:
        path.write_bytes(b"half a fi")
    assert len(staging_files(store)) == 2

    assert store.sweep_staging() == 2
    assert staging_files(store) == []
    assert not target.exists()
    assert store.sweep_staging() == 0


def test_publish_and_remove_durably(store, tmp_path):
    staging = store.new_staging_path()
    staging.write_bytes(b"done")
    final = store.area("x") / "final.txt"
    publish(staging, final)
    assert final.read_bytes() == b"done" and not staging.exists()
    assert remove_durably(final) is True
    assert not final.exists()
    assert remove_durably(final) is False


def test_transaction_commits_on_success(store):
    with store.transaction() as db:
        db.execute("INSERT INTO things VALUES ('a', 1)")
        db.execute("INSERT INTO things VALUES ('b', 2)")
    assert names(store) == ["a", "b"]


def test_transaction_rolls_back_on_exception(store):
    with store.transaction() as db:
        db.execute("INSERT INTO things VALUES ('kept', 1)")
    with pytest.raises(RuntimeError, match="boom"):
        with store.transaction() as db:
            db.execute("INSERT INTO things VALUES ('lost', 1)")
            db.execute("UPDATE things SET n = 99 WHERE name = 'kept'")
            raise RuntimeError("boom")
    assert names(store) == ["kept"]
    assert store.query("SELECT n FROM things WHERE name = 'kept'") == [(1,)]
    # and the store is usable afterwards (no transaction left open)
    with store.transaction() as db:
        db.execute("INSERT INTO things VALUES ('after', 1)")
    assert names(store) == ["after", "kept"]


def test_transaction_rolls_back_on_a_database_error(store):
    with store.transaction() as db:
        db.execute("INSERT INTO things VALUES ('a', 1)")
    with pytest.raises(Exception, match="UNIQUE"):
        with store.transaction() as db:
            db.execute("INSERT INTO things VALUES ('b', 1)")
            db.execute("INSERT INTO things VALUES ('a', 2)")
    assert names(store) == ["a"]


def test_nested_transaction_joins_the_outer_one(store):
    with store.transaction() as outer:
        outer.execute("INSERT INTO things VALUES ('outer', 1)")
        with store.transaction() as inner:
            assert inner is outer
            inner.execute("INSERT INTO things VALUES ('inner', 1)")
        # the inner block did not commit on its own: still one open transaction
        assert outer.in_transaction
    assert names(store) == ["inner", "outer"]


def test_an_outer_failure_rolls_back_what_a_nested_block_wrote(store):
    with pytest.raises(ValueError):
        with store.transaction() as outer:
            outer.execute("INSERT INTO things VALUES ('outer', 1)")
            with store.transaction() as inner:
                inner.execute("INSERT INTO things VALUES ('inner', 1)")
            raise ValueError("after the nested block")
    assert names(store) == []


def test_a_failure_in_a_nested_block_rolls_back_the_whole_unit(store):
    with pytest.raises(KeyError):
        with store.transaction() as outer:
            outer.execute("INSERT INTO things VALUES ('outer', 1)")
            with store.transaction() as inner:
                inner.execute("INSERT INTO things VALUES ('inner', 1)")
                raise KeyError("inner")
    assert names(store) == []


def test_committed_data_survives_reopening_the_store(tmp_path):
    store = Store(tmp_path)
    store.migrate("test", _SCHEMA)
    with store.transaction() as db:
        db.execute("INSERT INTO things VALUES ('durable', 7)")
    store.close()
    again = Store(tmp_path)
    try:
        assert again.query_dicts("SELECT name, n FROM things") == [{"name": "durable", "n": 7}]
    finally:
        again.close()


def test_migrate_is_idempotent(store):
    store.migrate("test", _SCHEMA)
    store.migrate("other", _SCHEMA)  # IF NOT EXISTS: a second component with the same table is fine
    with store.transaction() as db:
        db.execute("INSERT INTO things VALUES ('x', 1)")
    assert names(store) == ["x"]


def test_atomic_write_is_fsynced_content_of_the_exact_size(store):
    data = os.urandom(256 * 1024)
    target = store.area("bulk") / "random.bin"
    store.atomic_write(target, data)
    assert target.stat().st_size == len(data)
    assert target.read_bytes() == data


# -- TableCache: read-mostly lookups kept until their tables change ---------------------------------------


def test_a_kept_result_is_served_until_its_table_changes(store):
    from simulators.core.store import TableCache

    with store.transaction() as db:
        db.execute("INSERT INTO things VALUES ('a', 1)")
    cache = TableCache(store, "things")
    sql = "SELECT n FROM things WHERE name = ?"
    assert cache.rows(sql, ("a",)) == ((1,),)
    before = store.changes("things")
    with store.transaction() as db:
        db.execute("UPDATE things SET n = 2 WHERE name = 'a'")
    assert store.changes("things") > before
    assert cache.rows(sql, ("a",)) == ((2,),)
    store.query("DELETE FROM things")  # a statement outside store.transaction() is counted too
    assert cache.rows(sql, ("a",)) == ()


def test_a_result_read_inside_a_transaction_that_rolls_back_is_not_served(store):
    from simulators.core.store import TableCache

    cache = TableCache(store, "things")
    sql = "SELECT n FROM things WHERE name = ?"
    assert cache.rows(sql, ("x",)) == ()
    with pytest.raises(RuntimeError):
        with store.transaction() as db:
            db.execute("INSERT INTO things VALUES ('x', 5)")
            assert cache.rows(sql, ("x",)) == ((5,),)  # this transaction sees its own write
            raise RuntimeError("rolled back")
    assert cache.rows(sql, ("x",)) == ()


def test_a_kept_result_is_not_read_again_while_nothing_changes(store):
    from simulators.core.store import TableCache

    with store.transaction() as db:
        db.execute("INSERT INTO things VALUES ('a', 1)")
    cache = TableCache(store, "things")
    first = cache.rows("SELECT * FROM things")
    with store.transaction() as db:
        db.execute("CREATE TABLE IF NOT EXISTS other (x INTEGER)")
        db.execute("INSERT INTO other VALUES (1)")  # an unwatched table does not count
    assert cache.rows("SELECT * FROM things") is first


def test_change_counts_are_per_table_and_the_watch_is_idempotent(store):
    store.migrate("more", "CREATE TABLE IF NOT EXISTS more (x INTEGER);")
    store.watch("things", "more")
    store.watch("things")
    things, more = store.changes("things"), store.changes("more")
    with store.transaction() as db:
        db.execute("INSERT INTO things VALUES ('a', 1)")
        db.execute("INSERT INTO things VALUES ('b', 1)")
    assert (store.changes("things"), store.changes("more")) == (things + 2, more)
    with pytest.raises(ValueError):
        store.watch("things; DROP TABLE things")


def test_store_write_is_one_atomic_statement_and_says_how_many_rows_it_changed(tmp_path):
    store = Store(tmp_path)
    store.migrate("t", "CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)")
    assert store.write("INSERT INTO t (k, v) VALUES (?, ?), (?, ?)", ("a", 1, "b", 2)) == 2
    with pytest.raises(sqlite3.IntegrityError):  # the second row breaks the key: neither is written
        store.write("INSERT INTO t (k, v) VALUES (?, ?), (?, ?)", ("c", 3, "a", 4))
    assert store.query("SELECT k, v FROM t ORDER BY k") == [("a", 1), ("b", 2)]
    assert store.write("UPDATE t SET v = v + 1 WHERE k = ?", ("z",)) == 0
    store.close()
    reopened = Store(tmp_path)  # committed on its own: there for the next process
    assert reopened.query("SELECT COUNT(*) FROM t") == [(2,)]
    reopened.close()


def test_store_write_inside_a_transaction_joins_it(tmp_path):
    store = Store(tmp_path)
    store.migrate("t", "CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY)")
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.write("INSERT INTO t (k) VALUES (?)", ("a",))
            raise RuntimeError("the unit fails after the write")
    assert store.query("SELECT COUNT(*) FROM t") == [(0,)]
    store.close()
