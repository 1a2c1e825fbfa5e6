"""The Digipoort client against the simulator, over real FTPS: polling, linking, cleaning up, resuming."""

from __future__ import annotations

from datetime import timedelta

import pytest

from clients.digipoort import ClientStore, Connection, DigipoortClient, PollPolicy


@pytest.fixture
def client(digipoort, koppelsim, tmp_path) -> DigipoortClient:
    connection = Connection(digipoort.host, digipoort.port, digipoort.user, digipoort.password,
                            digipoort.ssl_context(), timeout=10)
    return DigipoortClient(connection, ClientStore(tmp_path / "client.db"), koppelsim.clock)


def submit(client: DigipoortClient, **fields) -> str:
    defaults = {"berichtsoort": "ICP", "identity": "001000044B37", "aanleverkenmerk": "Happyflow"}
    return client.submit(b"<icp/>", **{**defaults, **fields})


def test_back_off_doubles_while_nothing_arrives_and_is_capped(client, koppelsim):
    submit(client, aanleverkenmerk="ZwaarbelastStatusInformatie")  # answered only after 1h10m
    client.poll()  # collects the .ok: something new, so the next look is soon again
    start = koppelsim.now()
    assert client.next_poll_at() == start + timedelta(seconds=30)
    intervals = []
    for _ in range(7):
        koppelsim.advance(client.next_poll_at() - koppelsim.now())
        before = koppelsim.now()
        assert client.poll() == []
        intervals.append(client.next_poll_at() - before)
    assert intervals == [timedelta(minutes=m) for m in (1, 2, 4, 8, 15, 15, 15)]


def test_every_response_is_linked_to_its_submission_and_removed_from_the_server(client, koppelsim, digipoort):
    first, second = submit(client), submit(client, berichtsoort="Omzetbelasting")
    events = client.poll()
    assert sorted((e.kind, e.ref) for e in events) == sorted([("ok", first), ("ok", second)])
    koppelsim.advance("15m")
    events = client.poll()
    assert sorted((e.kind, e.ref) for e in events) == sorted([("accepted", first), ("accepted", second)])
    assert digipoort.files("OUT") == []
    assert {r["ref"]: r["state"] for r in client.submissions()} == {first: "accepted", second: "accepted"}
    stored = client.store.rows("SELECT name, ref, removed FROM responses ORDER BY name")
    assert len(stored) == 6 and all(r["removed"] == 1 and r["ref"] in (first, second) for r in stored)


def test_after_an_error_the_client_removes_the_data_file_digipoort_left_in_IN(client, digipoort):
    ref = submit(client, aanleverkenmerk="AanleverFault")
    assert digipoort.files("IN") == [f"{ref}.xml"]  # Digipoort keeps it (seed 001, step 2a)
    [event] = client.poll()
    assert (event.kind, event.ref) == ("error", ref) and event.detail.startswith("ALS100")
    assert digipoort.files("IN") == []
    assert client.status(ref) == "error"
    assert client.next_poll_at() is None  # nothing outstanding: no more looking


def test_responses_of_another_client_on_the_same_account_are_left_alone(client, koppelsim, digipoort, tmp_path):
    other = DigipoortClient(client.connection, ClientStore(tmp_path / "someone-else.db"), koppelsim.clock)
    ref = submit(other)
    assert client.poll() == []  # the other one's .ok is not ours to take
    assert [e.kind for e in other.poll()] == ["ok"]
    koppelsim.advance("15m")
    assert client.poll() == []
    assert [(e.kind, e.ref) for e in other.poll()] == [("accepted", ref)]
    assert digipoort.files("OUT") == []


def test_a_client_that_collects_unknown_responses_keeps_them_as_unknown(client, koppelsim, digipoort, tmp_path):
    client.collect_unknown = True
    other = DigipoortClient(client.connection, ClientStore(tmp_path / "someone-else.db"), koppelsim.clock)
    submit(other)
    other.poll()
    koppelsim.advance("15m")
    [event] = client.poll()  # our client sees an answer it never asked for
    assert event.kind == "unknown" and event.ref is None
    assert client.store.rows("SELECT kind, ref FROM responses") == [
        {"kind": "answer", "ref": None}, {"kind": "answer_meta", "ref": None}]
    assert digipoort.files("OUT") == []


def test_an_answer_collected_before_its_ok_is_applied_when_the_ok_arrives(client, koppelsim, digipoort):
    client.collect_unknown = True
    ref = client.prepare(b"<icp/>", berichtsoort="ICP", identity="001000044B37", aanleverkenmerk="Happyflow")
    client.deliver(ref)
    koppelsim.advance("15m")
    ok_name = next(n for n in digipoort.files("OUT") if n.endswith(".ok"))
    # Hide the .ok for one poll (as if it were listed late): move it aside through the file system.
    folder = digipoort.model.folder(digipoort.user, "OUT")
    (folder / ok_name).rename(folder.parent / ok_name)
    [early] = client.poll()
    assert early.kind == "unknown"
    (folder.parent / ok_name).rename(folder / ok_name)
    [ok] = client.poll()
    assert (ok.kind, ok.ref) == ("ok", ref)
    assert client.status(ref) == "accepted"


def test_resume_waits_for_a_meta_file_digipoort_has_not_taken_yet(client, koppelsim, digipoort):
    # Heavy load: Digipoort leaves the meta file in IN for 5 minutes. A client that crashed right after
    # sending it must see that and not send it again.
    ref = client.prepare(b"<x/>", berichtsoort="ICP", identity="001000044B37",
                         aanleverkenmerk="ZwaarbelastAanleveren")
    with client._session() as ftp:
        client._deliver(ftp, ref)
    client.store.set_state(ref, "meta_sending", "2026-11-20T08:00:00Z")  # as if it died before noting 'sent'
    assert client.resume() == [ref]
    assert client.status(ref) == "sent"
    koppelsim.advance("6m")
    client.poll()
    assert client.status(ref) == "transported"
    assert len(digipoort.submissions()) == 1


def test_a_custom_poll_policy(client, koppelsim):
    client.policy = PollPolicy(initial=timedelta(minutes=1), maximum=timedelta(minutes=3), factor=3)
    submit(client)
    client.poll()
    assert client.next_poll_at() == koppelsim.now() + timedelta(minutes=1)
    koppelsim.advance("1m")
    client.poll()
    assert client.next_poll_at() == koppelsim.now() + timedelta(minutes=3)
