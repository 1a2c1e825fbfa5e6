"""E-invoice collection when the CB client's received file has gone missing from its inbox."""

from __future__ import annotations

from types import SimpleNamespace

from clients.hub import Hub, HubStore
from simulators.core.clock import VirtualClock


class FakeCB:
    """A CB client whose store lists a received invoice whose file is no longer there."""

    def __init__(self, path: str) -> None:
        self.connection = SimpleNamespace(relation_id="7000123")
        self.store = SimpleNamespace(received_files=lambda kind: [{"name": "f-1.xml", "path": path}])

    def session(self):
        return SimpleNamespace(skipped=None, incomplete={})


def test_a_missing_inbox_file_is_kept_as_unknown_once_and_the_run_goes_on(tmp_path):
    hub = Hub(HubStore(tmp_path / "hub.db"), VirtualClock("2026-11-20T08:00:00Z"),
              cb_clients=[FakeCB(str(tmp_path / "gone.xml"))])
    first = hub.send_receive()
    assert first.problems == [] and first.unknown == ["cb:7000123/f-1.xml"]
    (kept,) = hub.unknown()["invoices"]
    assert "could not be read" in kept["content"] and kept["problem"].startswith("not a readable UBL invoice")
    assert hub.send_receive().invoices == []  # taken once, not again (and no FileNotFoundError forever)
    assert [r["state"] for r in hub.runs()] == ["done", "done"]


def test_an_invoice_cb_deleted_while_only_part_arrived_is_named_as_a_problem(tmp_path):
    class PartialCB(FakeCB):
        def session(self):
            return SimpleNamespace(skipped=None, incomplete={"7000123_K1.xml": "1,000 of 2,446 bytes arrived"})

    hub = Hub(HubStore(tmp_path / "hub.db"), VirtualClock("2026-11-20T08:00:00Z"),
              cb_clients=[PartialCB(str(tmp_path / "gone.xml"))])
    assert "cb:7000123: 7000123_K1.xml incomplete (1,000 of 2,446 bytes arrived)" in hub.send_receive().problems
