"""In `make sim` the built-in hub runs send/receive every hour. It has its own Digipoort account and CB relation,
so a run takes nothing a developer's own client waits for: not the answer in acme's OUT, not the invoice in
7000123's out/ (and it does not log in to CB within that customer's 10 minutes)."""

from __future__ import annotations

from clients.digipoort import ClientStore, Connection, DigipoortClient


def test_a_hub_run_leaves_the_users_digipoort_answer_and_cb_invoice_alone(digipoort, koppelsim, tmp_path):
    hub = koppelsim.runtime.simulators["hub"]
    assert (hub.config.digipoort_user, hub.config.cb_relation_ids) == ("hub", ["7000456"])
    cb = koppelsim.runtime.simulators["cbftp"].model
    for relation_id in ("7000123", "7000456"):  # what a first start of `make sim` places in each out/
        cb.issue_invoice(relation_id)
    waiting = cb.present("7000123", "out")
    assert waiting, "the user's invoice waits in out/"

    connection = Connection(digipoort.host, digipoort.port, "acme", "acme-secret", digipoort.ssl_context(),
                            timeout=10)
    client = DigipoortClient(connection, ClientStore(tmp_path / "client.db"), koppelsim.clock)
    ref = client.submit(b"<icp/>", berichtsoort="ICP", identity="001000044B37", aanleverkenmerk="Happyflow")
    koppelsim.advance("15m")  # the answer is due, in acme's OUT

    report = hub.hub.send_receive()
    assert report.unknown == [] and report.problems == [], report.as_dict()
    client.poll()
    assert client.status(ref) == "accepted"
    assert cb.present("7000123", "out") == waiting
    assert hub.hub.invoices("a"), "the hub's own relation's invoice went to tenant A"
    assert cb.present("7000456", "out") == []
    assert cb.findings() == []
