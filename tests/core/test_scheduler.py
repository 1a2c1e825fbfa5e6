"""The scheduler: delayed work as events on the clock, fired in due order while time moves, each
seeing the clock stand on its own due time; durable events survive a restart."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest

from simulators.core.clock import UTC, ClockError, VirtualClock, parse_instant
from simulators.core.scheduler import Scheduler
from simulators.core.store import Store

START = parse_instant("2026-11-20T08:00:00Z")


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START)


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "state")
    yield store
    store.close()


@pytest.fixture
def scheduler(clock, store) -> Scheduler:
    return Scheduler(clock, store)


class Recorder:
    """A handler that writes down (name, payload, due, what the clock said while it ran)."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.calls: list[tuple] = []

    def durable(self, name: str):
        def handler(payload: dict, due: datetime) -> None:
            self.calls.append((name, payload, due, self.clock.now()))

        return handler

    def transient(self, name: str):
        def callback(due: datetime) -> None:
            self.calls.append((name, None, due, self.clock.now()))

        return callback

    @property
    def names(self) -> list[str]:
        return [c[0] for c in self.calls]


def test_durable_events_fire_in_due_order_each_seeing_its_own_due_time(clock, scheduler):
    rec = Recorder(clock)
    scheduler.register("ping", rec.durable("ping"))
    scheduler.schedule("ping", at(90), {"n": 3})
    scheduler.schedule("ping", at(30), {"n": 1})
    scheduler.schedule("ping", at(60), {"n": 2})

    landed = scheduler.advance("2h")

    assert landed == at(120) == clock.now()
    assert [c[1] for c in rec.calls] == [{"n": 1}, {"n": 2}, {"n": 3}]
    for _, _, due, seen in rec.calls:
        assert seen == due, "the clock must stand on the event's due time while it fires"
    assert [c[2] for c in rec.calls] == [at(30), at(60), at(90)]
    assert scheduler.pending() == []


def test_events_with_the_same_due_time_fire_in_the_order_they_were_scheduled(clock, scheduler):
    rec = Recorder(clock)
    scheduler.register("ping", rec.durable("ping"))
    for n in range(5):
        scheduler.schedule("ping", at(10), {"n": n})
    scheduler.advance("10m")
    assert [c[1]["n"] for c in rec.calls] == [0, 1, 2, 3, 4]


def test_only_events_due_within_the_jump_fire(clock, scheduler):
    rec = Recorder(clock)
    scheduler.register("ping", rec.durable("ping"))
    scheduler.schedule("ping", at(60), {"n": "on the edge"})
    scheduler.schedule("ping", at(61), {"n": "later"})
    scheduler.advance("1h")
    assert [c[1]["n"] for c in rec.calls] == ["on the edge"]
    assert [p["payload"] for p in scheduler.pending()] == [{"n": "later"}]
    scheduler.advance("1m")
    assert [c[1]["n"] for c in rec.calls] == ["on the edge", "later"]


def test_an_event_scheduled_by_a_handler_within_the_jump_fires_in_the_same_jump(clock, scheduler):
    rec = Recorder(clock)

    def first(payload: dict, due: datetime) -> None:
        rec.calls.append(("first", payload, due, clock.now()))
        scheduler.schedule_in("second", "30m", {"from": "first"})  # relative to the pinned clock
        scheduler.schedule_in("second", "5h", {"from": "first, too late"})

    scheduler.register("first", first)
    scheduler.register("second", rec.durable("second"))
    scheduler.schedule("first", at(60))

    scheduler.advance("2h")

    assert rec.names == ["first", "second"]
    assert rec.calls[1][2] == at(90) and rec.calls[1][3] == at(90)
    assert [(p["kind"], p["due"]) for p in scheduler.pending()] == [("second", "2026-11-20T14:00:00.000Z")]


def test_a_recurring_event_that_plans_its_next_occurrence_keeps_recurring(clock, scheduler):
    # The common pattern (CB's weekly maintenance, its monthly invoice run): "if none of my kind is
    # pending, plan the next one". The event firing now is not pending, or it would plan nothing.
    fired: list[datetime] = []

    def weekly(payload: dict, due: datetime) -> None:
        fired.append(due)
        if not scheduler.pending("weekly"):
            scheduler.schedule("weekly", due + timedelta(days=7))

    scheduler.register("weekly", weekly)
    scheduler.schedule("weekly", at(60))
    scheduler.advance("22d")
    assert fired == [at(60) + timedelta(days=7 * n) for n in range(4)]
    assert [p["due"] for p in scheduler.pending("weekly")] == ["2026-12-18T09:00:00.000Z"]


def test_transient_callbacks_interleave_with_durable_events_in_time_order(clock, scheduler):
    rec = Recorder(clock)
    scheduler.register("durable", rec.durable("durable"))
    scheduler.schedule("durable", at(60), {"n": "d60"})
    scheduler.call_at(at(30), rec.transient("t30"))
    scheduler.schedule("durable", at(120), {"n": "d120"})
    scheduler.call_at(at(90), rec.transient("t90"))
    scheduler.call_at(at(200), rec.transient("t200"))

    scheduler.advance("3h")

    assert rec.names == ["t30", "durable", "t90", "durable"]
    assert [c[2] for c in rec.calls] == [at(30), at(60), at(90), at(120)]
    assert all(seen == due for _, _, due, seen in rec.calls)
    assert scheduler.next_due() == at(200)


def test_a_cancelled_transient_callback_never_fires(clock, scheduler):
    rec = Recorder(clock)
    keep = scheduler.call_at(at(20), rec.transient("keep"))
    drop = scheduler.call_at(at(10), rec.transient("drop"))
    drop.cancel()
    assert scheduler.next_due() == at(20)  # the cancelled one is skipped
    scheduler.advance("1h")
    assert rec.names == ["keep"]
    assert not keep.cancelled and drop.cancelled
    assert scheduler.next_due() is None


def test_a_failing_handler_does_not_stop_other_events(clock, scheduler, caplog):
    rec = Recorder(clock)

    def broken(payload: dict, due: datetime) -> None:
        raise RuntimeError("handler blew up")

    def broken_callback(due: datetime) -> None:
        raise RuntimeError("callback blew up")

    scheduler.register("broken", broken)
    scheduler.register("ok", rec.durable("ok"))
    scheduler.schedule("broken", at(10))
    scheduler.call_at(at(15), broken_callback)
    scheduler.schedule("ok", at(20), {"n": 1})
    scheduler.schedule("broken", at(25))
    scheduler.schedule("ok", at(30), {"n": 2})

    with caplog.at_level(logging.ERROR, logger="simulators.core.scheduler"):
        scheduler.advance("1h")

    assert [c[1] for c in rec.calls] == [{"n": 1}, {"n": 2}]
    assert scheduler.pending() == []  # a failed event is not retried forever ...
    failed = scheduler.failed()  # ... nor dropped: it is kept, with why, after 1+2+4+8 minutes of retries
    assert [(f["kind"], f["attempts"], f["error"]) for f in failed] == [
        ("broken", 5, "RuntimeError: handler blew up")] * 2
    assert scheduler.describe()["failed"] == 2
    assert "handler blew up" in caplog.text and "callback blew up" in caplog.text
    assert clock.now() == at(60)


def test_moving_the_virtual_clock_directly_also_fires_due_events(clock, scheduler):
    rec = Recorder(clock)
    scheduler.register("ping", rec.durable("ping"))
    scheduler.schedule("ping", at(30), {"n": 1})
    clock.advance("1h")
    assert [(c[1], c[2]) for c in rec.calls] == [({"n": 1}, at(30))]


def test_advance_to_accepts_an_iso_instant(clock, scheduler):
    rec = Recorder(clock)
    scheduler.register("ping", rec.durable("ping"))
    scheduler.schedule("ping", at(45))
    assert scheduler.advance_to("2026-11-20T10:00:00+01:00") == at(60)
    assert rec.calls[0][2:] == (at(45), at(45))


def test_an_event_due_in_the_past_fires_at_the_next_opportunity(clock, scheduler):
    rec = Recorder(clock)
    scheduler.register("ping", rec.durable("ping"))
    scheduler.schedule("ping", at(-30), {"late": True})
    assert scheduler.run_due() == 1
    assert rec.calls[0][1] == {"late": True}
    assert scheduler.run_due() == 0


def test_scheduling_an_unregistered_kind_is_refused(scheduler):
    with pytest.raises(KeyError, match="no-such-kind"):
        scheduler.schedule("no-such-kind", at(10))
    assert scheduler.pending() == []


def test_pending_cancel_kind_and_clear(clock, scheduler):
    rec = Recorder(clock)
    scheduler.register("a", rec.durable("a"))
    scheduler.register("b", rec.durable("b"))
    id_a2 = scheduler.schedule("a", at(20), {"x": 2})
    id_a1 = scheduler.schedule("a", at(10), {"x": 1})
    id_b = scheduler.schedule("b", at(15))

    assert [(p["id"], p["kind"]) for p in scheduler.pending()] == [(id_a1, "a"), (id_b, "b"), (id_a2, "a")]
    assert scheduler.pending("a") == [
        {"id": id_a1, "due": "2026-11-20T08:10:00.000Z", "kind": "a", "payload": {"x": 1}},
        {"id": id_a2, "due": "2026-11-20T08:20:00.000Z", "kind": "a", "payload": {"x": 2}},
    ]
    assert scheduler.describe() == {"pending": 3, "failed": 0, "next_due": "2026-11-20T08:10:00.000Z",
                                    "by_kind": {"a": 2, "b": 1}}

    assert scheduler.cancel_kind("a") == 2
    assert scheduler.cancel_kind("a") == 0
    assert [p["kind"] for p in scheduler.pending()] == ["b"]

    scheduler.call_at(at(5), rec.transient("t"))
    scheduler.clear()
    assert scheduler.pending() == [] and scheduler.next_due() is None
    scheduler.advance("1h")
    assert rec.calls == []
    assert scheduler.describe() == {"pending": 0, "failed": 0, "next_due": None, "by_kind": {}}


def test_durable_events_survive_a_restart(tmp_path):
    state = tmp_path / "state"
    clock = VirtualClock(START)
    store = Store(state)
    before = Scheduler(clock, store)
    before.register("answer", lambda payload, due: None)
    before.schedule("answer", at(120), {"kenmerk": "abc", "outcome": "accepted"})
    before.schedule("answer", at(600), {"kenmerk": "later"})
    store.close()

    # A new process: new clock (time moved on while we were down), new Store on the same dir.
    later_clock = VirtualClock(at(180))
    store2 = Store(state)
    try:
        after = Scheduler(later_clock, store2)
        fired: list[tuple] = []
        after.register("answer", lambda payload, due: fired.append((payload, due, later_clock.now())))
        assert [p["payload"]["kenmerk"] for p in after.pending()] == ["abc", "later"]

        assert after.run_due() == 1
        assert fired == [({"kenmerk": "abc", "outcome": "accepted"}, at(120), at(180))]
        assert [p["payload"]["kenmerk"] for p in after.pending()] == ["later"]
    finally:
        store2.close()


def test_transient_callbacks_do_not_survive_a_restart(tmp_path):
    clock = VirtualClock(START)
    store = Store(tmp_path)
    Scheduler(clock, store).call_at(at(10), lambda due: None)
    store.close()
    store2 = Store(tmp_path)
    try:
        assert Scheduler(VirtualClock(START), store2).next_due() is None
    finally:
        store2.close()


def test_an_event_of_a_kind_nobody_handles_after_restart_is_dropped_not_stuck(tmp_path, caplog):
    store = Store(tmp_path)
    sched = Scheduler(VirtualClock(START), store)
    sched.register("gone", lambda payload, due: None)
    sched.schedule("gone", at(1))
    store.close()
    store2 = Store(tmp_path)
    try:
        after = Scheduler(VirtualClock(at(5)), store2)
        with caplog.at_level(logging.ERROR, logger="simulators.core.scheduler"):
            assert after.run_due() == 1
        assert after.pending() == []
        assert "unknown kind 'gone'" in caplog.text
    finally:
        store2.close()


def test_advance_refuses_a_bad_duration_without_moving(clock, scheduler):
    with pytest.raises(ClockError):
        scheduler.advance("2x")
    assert clock.now() == START


def test_advance_by_a_negative_number_is_refused(clock, scheduler):
    with pytest.raises(ClockError, match="backwards"):
        scheduler.advance(-300)


def test_advance_to_the_past_is_refused(clock, scheduler):
    with pytest.raises(ClockError, match="backwards"):
        scheduler.advance_to(at(-60))


def test_advance_to_the_past_never_moves_the_clock_back(clock, scheduler):
    scheduler.advance("1h")
    try:
        scheduler.advance_to(START)
    except ClockError:
        pass
    assert clock.now() == at(60)


def test_the_real_time_loop_is_not_started_on_a_virtual_clock(scheduler):
    scheduler.start()
    assert scheduler._thread is None
    scheduler.stop()  # and stopping is harmless
    scheduler.stop()


def test_system_clock_time_travel_fires_due_events_through_the_background_loop(tmp_path):
    # The real-time loop waits on a condition; a time-travel jump must wake it at once (no sleeping here:
    # we wait on an Event with a generous real-I/O timeout).
    import threading

    from simulators.core.clock import SystemClock

    store = Store(tmp_path)
    clock = SystemClock()
    sched = Scheduler(clock, store)
    fired = threading.Event()
    seen: list[datetime] = []

    def handler(payload: dict, due: datetime) -> None:
        seen.append(due)
        fired.set()

    sched.register("far", handler)
    due = datetime.now(UTC) + timedelta(hours=5)
    sched.schedule("far", due)
    sched.start()
    try:
        assert not fired.is_set()
        clock.advance("6h")
        assert fired.wait(5), "the scheduler loop did not fire the event after the clock jumped"
        assert abs(seen[0] - due) < timedelta(milliseconds=2)
    finally:
        sched.stop()
        store.close()
    assert sched._thread is None
