"""Restart and crash safety of ``koppelsim sim`` as a real process: kill -9 at awkward moments, start it
again on the same state directory, and check that nothing accepted is lost, nothing is answered twice
and nothing half written ever shows in IN or OUT (models.py "Crash safety"; store.py).

The process runs on the system clock (as ``koppelsim sim`` does for developers); simulated time is moved
with the admin API (``POST /api/clock``), never by sleeping. The only real-time waits are bounded polls
for a real process to come up or for its scheduler thread to finish a jump.
"""

from __future__ import annotations

import ftplib
import hashlib
import io
import ssl
from pathlib import Path

import pytest
from lxml import etree

from clients.digipoort.messages import build_meta
from simulators.core.runtime import settings_for_tests
from simulators.core.clock import monotonic, real_sleep
from simulators.process import SimProcess, free_port

pytestmark = pytest.mark.slow
WAIT_SECONDS = 10.0  # real time for the running process to act on something we did
META_NS = "urn:koppelsim:digipoort:ftp-meta:1"


class Sim(SimProcess):
    """`python -m simulators sim` on fixed ports and one state directory, started and killed at will."""

    def __init__(self, tmp_path: Path) -> None:
        settings = settings_for_tests()  # every other listener on a free port
        settings["digipoort"]["answer_delay"] = "1h"
        super().__init__(tmp_path, settings)

    def choose_ports(self) -> None:
        """A fixed FTP port, so a client reconnects to the same after a restart."""
        self.ftp_port = free_port()
        self.settings["digipoort"]["port"] = self.ftp_port
        super().choose_ports()

    # -- talking to it ----------------------------------------------------------------------------

    def ftp(self) -> ftplib.FTP_TLS:
        context = ssl.create_default_context(cafile=str(self.state / "tls" / "ca.pem"))
        client = ftplib.FTP_TLS(context=context, timeout=10)
        client.connect("127.0.0.1", self.ftp_port)
        client.auth()
        client.login("acme", "acme-secret")
        client.prot_p()
        return client

    def folder(self, name: str) -> Path:
        return self.state / "files" / "digipoort" / "accounts" / "acme" / name

    def staging(self) -> Path:
        return self.state / "files" / ".staging"

    def wait_for(self, condition, what: str) -> None:
        deadline = monotonic() + WAIT_SECONDS
        while not condition():
            if monotonic() > deadline:
                raise AssertionError(f"{what} did not happen within {WAIT_SECONDS}s:\n{self.output()}")
            real_sleep(0.05)


@pytest.fixture
def sim(tmp_path):
    process = Sim(tmp_path)
    try:
        yield process
    finally:
        process.kill9()


def quit_quietly(client: ftplib.FTP) -> None:
    try:
        client.quit()
    except (OSError, EOFError, ftplib.Error):
        client.close()


def names(client: ftplib.FTP, folder: str) -> list[str]:
    return sorted(n.rsplit("/", 1)[-1] for n in client.nlst(folder))


def submit(client: ftplib.FTP, ref: str) -> str:
    """Data file then meta file; returns the kenmerk of the ``.ok``."""
    payload = f"<aangifte ref='{ref}'/>".encode()
    client.storbinary(f"STOR IN/{ref}.xml", io.BytesIO(payload))
    client.storbinary(f"STOR IN/{ref}.meta", io.BytesIO(build_meta(
        context_id=ref, filename=f"{ref}.xml", content_type="application/xml",
        sha256=hashlib.sha256(payload).hexdigest(), size=len(payload), berichtsoort="ICP",
        aanleverkenmerk="Happyflow", eerder_aanleverkenmerk=None, identity_number="001000044B37",
        identity_type="Fi", rol="Bedrijf", created="2026-11-20T08:00:00Z")))
    (ok,) = [n for n in names(client, "OUT") if n.startswith(f"{ref}_") and n.endswith(".ok")]
    return ok[: -len(".ok")].rsplit("_", 1)[1]


def assert_nothing_half_written(sim: Sim) -> None:
    """Every file in IN and OUT is complete: XML that parses, answers matching their meta files; no
    staging names or hidden files anywhere in the account."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    for folder in ("IN", "OUT"):
        for path in sim.folder(folder).iterdir():
            assert path.is_file() and not path.name.startswith(".") and not path.name.endswith(".part"), path
            etree.fromstring(path.read_bytes(), parser)  # raises on a truncated file
    q = f"{{{META_NS}}}"
    for meta_path in sim.folder("OUT").glob("*.meta"):
        content = etree.fromstring(meta_path.read_bytes(), parser).find(f"{q}data-reference/{q}content")
        answer = (sim.folder("OUT") / meta_path.name[: -len(".meta")]).read_bytes()
        assert int(content.findtext(q + "size")) == len(answer)
        assert content.findtext(q + "checksum") == hashlib.sha256(answer).hexdigest()


def test_kill_9_with_an_answer_pending_loses_nothing_and_answers_exactly_once(sim):
    sim.start()
    client = sim.ftp()
    try:
        kenmerk = submit(client, "crash1")
        ok_name = f"crash1_{kenmerk}.ok"
        assert names(client, "OUT") == [ok_name] and names(client, "IN") == []
    finally:
        quit_quietly(client)
    ok_bytes = (sim.folder("OUT") / ok_name).read_bytes()
    statuses_before = sim.http("GET", f"/api/digipoort/submissions/{kenmerk}/statuses")
    assert [s["statuscode"] for s in statuses_before] == [105, 100, 110, 200, 301, 301, 405, 400]
    assert sim.http("GET", "/api/clock")["scheduler"]["pending"] >= 1  # the answer, due in 1 h

    sim.kill9()
    sim.start()

    # Before time moves: the accepted submission, its statuses and its .ok are all still there.
    assert sim.http("GET", f"/api/digipoort/submissions/{kenmerk}/statuses") == statuses_before
    client = sim.ftp()
    try:
        assert names(client, "OUT") == [ok_name]
        sim.http("POST", "/api/clock", {"advance": "2h"})
        answer_names = sorted([ok_name, kenmerk, f"{kenmerk}.meta"])

        def answered() -> bool:
            out = sorted(f["name"] for f in sim.http("GET", "/api/digipoort/files/acme/OUT"))
            return out == answer_names
        sim.wait_for(answered, "the answer after POST /api/clock")
        assert names(client, "OUT") == answer_names
        sim.http("POST", "/api/clock", {"advance": "2h"})  # more time brings nothing more
        assert names(client, "OUT") == answer_names and names(client, "IN") == []
    finally:
        quit_quietly(client)

    assert (sim.folder("OUT") / ok_name).read_bytes() == ok_bytes
    answered_entries = sim.http("GET", f"/api/journal?kind=digipoort.answered&kenmerk={kenmerk}")
    assert len(answered_entries) == 1, answered_entries
    submission = sim.http("GET", f"/api/digipoort/submissions/{kenmerk}")
    assert submission["phase"] == "accepted" and submission["contextId"] == "crash1"
    assert [s["statuscode"] for s in submission["statuses"]] == [105, 100, 110, 200, 301, 301, 405, 400, 500]
    assert submission["statuses"][:-1] == statuses_before
    assert len(sim.http("GET", "/api/digipoort/submissions")) == 1
    assert_nothing_half_written(sim)


def test_upload_in_progress_when_killed_leaves_nothing_in_IN(sim):
    sim.start()
    client = sim.ftp()
    client.voidcmd("TYPE I")
    data = client.transfercmd("STOR IN/interrupted.xml")
    try:
        data.sendall(b"<aangifte>" + b"x" * 65536)

        def staged() -> bool:
            return sim.staging().is_dir() and any(p.stat().st_size > 0 for p in sim.staging().iterdir())
        sim.wait_for(staged, "the first bytes of the upload reaching the staging area")
        sim.kill9()
    finally:
        data.close()
        client.close()
    assert list(sim.folder("IN").iterdir()) == []

    sim.start()
    assert list(sim.staging().iterdir()) == [], "the interrupted transfer's staging file is swept at start"
    client = sim.ftp()
    try:
        assert names(client, "IN") == []
        kenmerk = submit(client, "after1")  # and the restarted server takes a normal submission
        assert names(client, "OUT") == [f"after1_{kenmerk}.ok"]
    finally:
        quit_quietly(client)
    assert sim.http("GET", "/api/journal?kind=file.created&folder=IN&name=interrupted.xml") == []
    assert_nothing_half_written(sim)
