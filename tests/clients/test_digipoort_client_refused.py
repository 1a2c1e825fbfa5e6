"""An upload Digipoort refuses for good (552, too large): that submission is 'refused', the others go."""

from __future__ import annotations

import ftplib

import pytest

from clients.digipoort import ClientStore, Connection, DigipoortClient
from simulators.core.clock import VirtualClock
from simulators.core.config import config_from_dict
from simulators.core.runtime import Runtime, register_config_sections, settings_for_tests


@pytest.fixture
def small_digipoort(tmp_path):
    register_config_sections()
    settings = settings_for_tests()
    config = config_from_dict({"state_dir": str(tmp_path / "state"), "admin_port": 0, "clock": "virtual",
                               "digipoort": {**settings["digipoort"], "max_file_size": 2000}})
    rt = Runtime(config, clock=VirtualClock("2026-11-20T08:00:00Z"), only=["digipoort"])
    rt.start(admin=False)
    yield rt
    rt.stop()


@pytest.fixture
def client(small_digipoort, tmp_path) -> DigipoortClient:
    endpoint = small_digipoort.endpoint("digipoort-ftp")
    account = small_digipoort.simulators["digipoort"].config.accounts[0]
    connection = Connection(endpoint.host, endpoint.port, account.user, account.password,
                            small_digipoort.tls.client_context(), timeout=10)
    return DigipoortClient(connection, ClientStore(tmp_path / "client.db"), small_digipoort.clock)


def fields(**more) -> dict:
    return {"berichtsoort": "ICP", "identity": "001000044B37", "aanleverkenmerk": "Happyflow", **more}


def test_a_refused_upload_is_reported_with_the_servers_reply_and_never_retried(client, small_digipoort):
    big = client.prepare(b"<icp>" + b"x" * 5000 + b"</icp>", **fields())
    with pytest.raises(ftplib.error_perm, match="^552"):  # the server's reply, not "connection reset"
        client.deliver(big)
    sub = client.store.submission(big)
    assert sub["state"] == "refused" and sub["reason"].startswith("upload refused: 552")
    assert client.resume() == [] and client.outstanding() == []  # final: nothing was submitted
    assert small_digipoort.simulators["digipoort"].model.files(client.connection.user, "IN") == []


def test_resume_sends_every_other_submission_past_a_refused_one(client, small_digipoort):
    big = client.prepare(b"<icp>" + b"x" * 5000 + b"</icp>", **fields())
    small = client.prepare(b"<icp/>", **fields())
    assert client.resume() == [big, small]
    assert (client.status(big), client.status(small)) == ("refused", "sent")
    assert [s["contextId"] for s in small_digipoort.simulators["digipoort"].model.submissions()] == [small]
