"""The koppeling against the real simulators on real sockets: the dashboard API, a Twinfield that holds
the answer past the koppeling's timeout after booking, and a koppeling process killed with SIGKILL while
it waits for Twinfield's answer to its booking."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys

import pytest
import yaml

from simulators.core.clock import monotonic, real_sleep

ROWS = {"shipping": 0, "payment_option": 0, "extra_costs": 0, "credit_points": 0, "coupon": 0, "paymethod_id": 11,
        "country": "NL", "b2b": False}


def wait_for(condition, timeout: float, what: str) -> None:
    """Wait on real I/O (another process, a server thread), boundedly."""
    deadline = monotonic() + timeout
    while monotonic() < deadline:
        if condition():
            return
        real_sleep(0.05)
    raise AssertionError(f"gave up after {timeout}s waiting for {what}")


def test_dashboard_api_reports_errors_with_detail_and_processes_again(world):
    good = world.order(rows=[{"price": 12.10, "tax": 21}], **ROWS)
    bad = world.order(rows=[{"price": 24.20, "tax": 21}], **ROWS)
    world.runtime.rules.add("twinfield", {"when": {"kind": "transaction", "invoicenumber": bad["ordernumber_full"]},
                                          "reject": {"msg": "Periode 2026/11 is afgesloten."}, "times": 1})
    koppeling = world.koppeling()
    assert koppeling.sync() == {"posted": 1, "errors": 1, "settled": 0, "skipped": 0}
    [posted] = koppeling.reporting()
    assert posted["id"] == f"order-{good['id']}" and posted["twinfield"] == {"kind": "transaction",
                                                                            "number": "202600001"}
    [error] = koppeling.errors()
    assert error["id"] == f"order-{bad['id']}" and error["check"] == "twinfield" and error["retry"] is False
    detail = koppeling.error_detail(error["id"])
    assert detail["messages"] == ["Periode 2026/11 is afgesloten."]
    assert detail["request"].startswith('<transaction destiny="temporary"') and detail["attempts"] == 1
    assert detail["sale"]["total"] == "24.20"
    with pytest.raises(KeyError):
        koppeling.error_detail(f"order-{good['id']}")
    again = koppeling.process_again(error["id"])
    assert again["twinfield"]["number"] == "202600002" and koppeling.errors() == []
    assert len(world.bookings(code="VRK")) == 2
    assert koppeling.sync()["skipped"] == 2  # posted items are never looked at again


def test_twinfield_books_then_holds_the_answer_past_the_timeout(world):
    order = world.order(rows=[{"price": 121.00, "tax": 21}], **ROWS)
    world.runtime.rules.add("twinfield", {"when": {"kind": "transaction"}, "times": 1,
                                          "timeout": {"booked": True, "mode": "hold", "seconds": 2}})
    koppeling = world.koppeling(twinfield_timeout=0.5)
    counts = koppeling.sync()
    assert counts["posted"] == 1, koppeling.errors()
    assert [b["invoicenumber"] for b in world.bookings()] == [order["ordernumber_full"]]
    assert koppeling.reporting()[0]["twinfield"]["number"] == "202600001"
    assert koppeling.sync()["posted"] == 0 and len(world.bookings()) == 1


@pytest.mark.slow
def test_a_koppeling_killed_with_sigkill_mid_booking_posts_nothing_twice(world):
    order = world.order(rows=[{"price": 121.00, "tax": 21}], **ROWS)
    # Twinfield books, then holds its answer for 5 real seconds: the process is killed while it waits for it.
    world.runtime.rules.add("twinfield", {"when": {"kind": "transaction"}, "times": 1,
                                          "timeout": {"booked": True, "mode": "hold", "seconds": 5}})
    config = world.workdir / "koppeling.yaml"
    config.write_text(yaml.safe_dump(world.settings()), encoding="utf-8")
    state = world.workdir / "koppeling.db"
    process = subprocess.Popen([sys.executable, "-m", "simulators", "koppeling", "--config", str(config),
                                "--state", str(state), "--at", world.clock.now().isoformat(), "run", "--once"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        def posting() -> bool:
            if not state.exists():
                return False
            with sqlite3.connect(state, timeout=5) as db:
                try:
                    return db.execute("SELECT state FROM items").fetchall() == [("posting",)]
                except sqlite3.OperationalError:
                    return False  # the schema is not there yet

        wait_for(posting, 30, "the koppeling to record its intent")
        wait_for(lambda: len(world.bookings()) == 1, 10, "Twinfield to book (its answer is held back)")
        assert posting()  # the koppeling has not heard back: its state still says 'posting'
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=10) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)
    koppeling = world.koppeling()  # the restart: same state file
    assert koppeling.sync() == {"posted": 0, "errors": 0, "settled": 1, "skipped": 1}
    assert len(world.bookings()) == 1 and len(world.tw.dimensions("NLA000001", "DEB")) == 1
    [posted] = koppeling.reporting()
    assert posted["id"] == f"order-{order['id']}" and posted["twinfield"]["number"] == "202600001"


def test_the_sync_command_posts_the_shops_orders_once(world):
    world.order(rows=[{"price": 121.00, "tax": 21}], **ROWS)
    world.order(rows=[{"price": 60.50, "tax": 21}], **ROWS)
    config = world.workdir / "koppeling.yaml"
    config.write_text(yaml.safe_dump(world.settings()), encoding="utf-8")
    command = [sys.executable, "-m", "simulators", "koppeling", "--config", str(config), "--state",
               str(world.workdir / "koppeling.db"), "--at", world.clock.now().isoformat(), "sync"]
    first = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == {"posted": 2, "errors": 0, "settled": 0, "skipped": 0}
    again = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert json.loads(again.stdout) == {"posted": 0, "errors": 0, "settled": 0, "skipped": 2}
    assert sorted(b["lines"][0]["value"] for b in world.bookings()) == ["121.00", "60.50"]
