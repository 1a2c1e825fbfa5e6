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


def test_a_configuration_with_accounts_of_its_own_still_gets_the_hubs(tmp_path):
    """The README's example lists acme and intermediair only: the hub's account and CB relation are added, so
    its runs log in; a reset of Digipoort or CB keeps them."""
    from simulators.core.clock import VirtualClock
    from simulators.core.config import config_from_dict
    from simulators.core.runtime import Runtime, register_config_sections, settings_for_tests

    register_config_sections()
    settings = settings_for_tests()
    config = config_from_dict({
        "state_dir": str(tmp_path / "state"), "admin_port": 0, "clock": "virtual",
        "digipoort": {**settings["digipoort"], "accounts": [{"user": "acme", "password": "s3cret"},
                                                            {"user": "intermediair", "password": "geheim"}]},
        "cbftp": {**settings["cbftp"], "accounts": [{"relation_id": "7000123", "password": "cb"}]},
        "hub": settings["hub"], "mailbox": settings["mailbox"]})
    runtime = Runtime(config, clock=VirtualClock("2026-11-20T08:00:00Z"),
                      only=["mailbox", "digipoort", "cbftp", "hub"])
    runtime.start(admin=False)
    try:
        runtime.reset("digipoort")
        runtime.reset("cbftp")
        hub = runtime.simulators["hub"].hub
        message = hub.prepare("a", "vat", period="2026-10", boxes={"1a": 10000, "1a_btw": 2100})
        report = hub.send_receive()
        assert report.problems == [], report.problems
        assert hub.message(message["number"])["status"] == "delivered"
        assert runtime.simulators["cbftp"].model.account("7000456") is not None
    finally:
        runtime.stop()
