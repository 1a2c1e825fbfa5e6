"""What the review found: restarts, internal failures and repeated events never lose or double an answer."""

from __future__ import annotations

import ftplib
import hashlib
import io
from pathlib import Path

import pytest

from clients.digipoort.messages import build_meta
from simulators.core.clock import VirtualClock
from simulators.core.config import config_from_dict
from simulators.core.runtime import Runtime, register_config_sections, settings_for_tests
from simulators.digipoort.answers import EVENT_ANSWER, EVENT_RETRY


def runtime_on(state: Path, clock: VirtualClock) -> Runtime:
    register_config_sections()
    runtime = Runtime(config_from_dict({"state_dir": str(state), "admin_port": 0, **settings_for_tests()}),
                      clock=clock)
    runtime.start(admin=False)
    return runtime


def submit(runtime: Runtime, ref: str, **meta_fields) -> str:
    """Upload data + meta over FTPS; returns the final reply to the meta upload."""
    endpoint = runtime.endpoint("digipoort-ftp")
    data = f"<icp ref='{ref}'/>".encode()
    fields = {"berichtsoort": "ICP", "aanleverkenmerk": None, **meta_fields}
    meta = build_meta(context_id=ref, filename=f"{ref}.xml", content_type="application/xml",
                      sha256=hashlib.sha256(data).hexdigest(), size=len(data), eerder_aanleverkenmerk=None,
                      identity_number="001000044B37", identity_type="Fi", rol="Bedrijf",
                      created="2026-11-20T08:00:00Z", **fields)
    ftp = ftplib.FTP_TLS(context=runtime.tls.client_context(), timeout=10)
    ftp.connect(endpoint.host, endpoint.port)
    ftp.auth()
    ftp.login("acme", "acme-secret")
    ftp.prot_p()
    try:
        ftp.storbinary(f"STOR IN/{ref}.xml", io.BytesIO(data))
        try:
            return ftp.storbinary(f"STOR IN/{ref}.meta", io.BytesIO(meta))
        except ftplib.Error as exc:
            return str(exc)
    finally:
        ftp.quit()


def test_submissions_after_a_restart_get_new_references(tmp_path):
    clock = VirtualClock("2026-11-20T08:00:00Z")
    first = runtime_on(tmp_path / "state", clock)
    submit(first, "before")
    before = first.simulators["digipoort"].model.submissions()[0]["kenmerk"]
    first.stop()
    second = runtime_on(tmp_path / "state", clock)
    try:
        assert submit(second, "after").startswith("226")
        subs = second.simulators["digipoort"].model.submissions()
        assert [s["contextId"] for s in subs] == ["before", "after"]
        assert subs[1]["kenmerk"] != before and subs[1]["phase"] == "delivered"
    finally:
        second.stop()


def test_an_internal_failure_still_answers_the_client_with_an_error_file(tmp_path):
    clock = VirtualClock("2026-11-20T08:00:00Z")
    runtime = runtime_on(tmp_path / "state", clock)
    model = runtime.simulators["digipoort"].model
    try:
        # Break something the model needs while it runs: the meta schema disappears.
        broken = tmp_path / "gone.xsd"
        model.config.meta_schema = str(broken)
        assert submit(runtime, "unlucky").startswith("226")
        [sub] = model.submissions()
        assert (sub["phase"], sub["foutcode"]) == ("refused", "ALS400")
        assert "interne fout" in sub["foutbeschrijving"]
        assert [f["name"] for f in model.files("acme", "OUT")] == [f"unlucky_{sub['kenmerk']}.error"]
        model.config.meta_schema = None  # and the server keeps serving
        assert submit(runtime, "lucky").startswith("226")
        assert model.submissions()[-1]["phase"] == "delivered"
    finally:
        runtime.stop()


def test_a_submission_whose_answer_event_went_missing_is_answered_after_a_restart(tmp_path):
    clock = VirtualClock("2026-11-20T08:00:00Z")
    first = runtime_on(tmp_path / "state", clock)
    submit(first, "orphan")
    first.scheduler.cancel_kind(EVENT_ANSWER)  # as if the event had been lost
    first.stop()
    second = runtime_on(tmp_path / "state", clock)
    try:
        second.scheduler.advance("1m")
        [sub] = second.simulators["digipoort"].model.submissions()
        assert sub["phase"] == "accepted" and sub["answer"]["state"] == "written"
    finally:
        second.stop()


def test_a_retry_event_that_fires_twice_counts_once(tmp_path):
    clock = VirtualClock("2026-11-20T08:00:00Z")
    runtime = runtime_on(tmp_path / "state", clock)
    model = runtime.simulators["digipoort"].model
    try:
        submit(runtime, "shaky", aanleverkenmerk="TechnischProbleemAfleveren")
        runtime.scheduler.advance("11m")  # the answer moment: 420, a retry is planned
        [sub] = model.submissions()
        assert [s["statuscode"] for s in sub["statuses"]][-1] == 420
        model.deliver(sub["kenmerk"], clock.now(), retry=False, attempt=0)  # the old event, once more
        assert len(runtime.scheduler.pending(EVENT_RETRY)) == 1
        assert [s["statuscode"] for s in model.submission(sub["kenmerk"])["statuses"]].count(420) == 1
        runtime.scheduler.advance("7h")
        assert model.submission(sub["kenmerk"])["phase"] == "accepted"
    finally:
        runtime.stop()


@pytest.mark.parametrize("context_id", [".hidden", "-dash", "a" * 101])
def test_a_context_id_that_would_make_a_hidden_or_odd_file_name_is_refused(tmp_path, context_id):
    clock = VirtualClock("2026-11-20T08:00:00Z")
    runtime = runtime_on(tmp_path / "state", clock)
    try:
        submit(runtime, "x")  # a normal one first
        endpoint = runtime.endpoint("digipoort-ftp")
        data = b"<x/>"
        meta = build_meta(context_id=context_id, filename="x.xml", content_type="application/xml",
                          sha256=hashlib.sha256(data).hexdigest(), size=len(data), berichtsoort="ICP",
                          aanleverkenmerk=None, eerder_aanleverkenmerk=None, identity_number="001000044B37",
                          identity_type="Fi", rol="Bedrijf", created="2026-11-20T08:00:00Z")
        ftp = ftplib.FTP_TLS(context=runtime.tls.client_context(), timeout=10)
        ftp.connect(endpoint.host, endpoint.port)
        ftp.auth()
        ftp.login("acme", "acme-secret")
        ftp.prot_p()
        ftp.storbinary("STOR IN/x.xml", io.BytesIO(data))
        ftp.storbinary("STOR IN/odd.meta", io.BytesIO(meta))
        ftp.quit()
        refused = runtime.simulators["digipoort"].model.submissions(phase="refused")
        assert [s["foutcode"] for s in refused] == ["ALS100"]
        out = [f["name"] for f in runtime.simulators["digipoort"].model.files("acme", "OUT")]
        assert any(n.startswith("odd_") and n.endswith(".error") for n in out)
    finally:
        runtime.stop()
