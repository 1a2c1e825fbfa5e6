"""Messages survive a restart (also a kill -9 of ``koppelsim sim``), a reset empties the mailbox, and a
delivery a crash interrupted leaves nothing behind."""

from __future__ import annotations

import json
import signal
import smtplib
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml

from simulators.core.runtime import settings_for_tests

from simulators.core.clock import monotonic, real_sleep
from simulators.mailbox.send import send_message

REPO = Path(__file__).resolve().parents[2]
START_SECONDS = 30.0  # real seconds for a `koppelsim sim` process to answer /readyz


def endpoint_of(runtime):
    endpoint = runtime.endpoint("mailbox-smtp")
    return endpoint.host, endpoint.port


def test_a_restart_on_the_same_state_dir_keeps_every_message(tmp_path, invoice_mail, runtime_factory):
    first = runtime_factory(tmp_path)
    first.start()
    try:
        for n in range(3):
            pdf = ("f.pdf", "application/pdf", b"%PDF " + bytes([n]))
            msg = invoice_mail(subject=f"bericht {n}", attachments=[pdf])
            send_message(*endpoint_of(first), msg)
        first.simulators["mailbox"].model.delete(2)
        before = first.simulators["mailbox"].model.messages()
        raws = {m["id"]: first.simulators["mailbox"].model.raw(m["id"]) for m in before}
    finally:
        first.stop()

    second = runtime_factory(tmp_path)
    second.start()
    try:
        model = second.simulators["mailbox"].model
        assert model.messages() == before
        assert {m["id"]: model.raw(m["id"]) for m in before} == raws
        assert [a.data for a in model.attachments(3)] == [b"%PDF " + bytes([2])]
        send_message(*endpoint_of(second), invoice_mail(subject="na de herstart"))
        # ids are never reused, also not the deleted one: a link to message 2 never shows another message
        assert [m["id"] for m in model.messages()] == [4, 3, 1]
    finally:
        second.stop()


def test_reset_removes_messages_and_files_and_the_mailbox_goes_on(mailbox, invoice_mail):
    send_message(mailbox.host, mailbox.port, invoice_mail())
    folder = mailbox.runtime.store.files_root / "mailbox"
    assert len(list(folder.glob("*.eml"))) == 1
    mailbox.runtime.reset()
    assert mailbox.model.messages() == [] and mailbox.model.count() == 0
    assert list(folder.glob("*.eml")) == []
    send_message(mailbox.host, mailbox.port, invoice_mail(subject="na de reset"))
    assert [m["subject"] for m in mailbox.model.messages()] == ["na de reset"]


def test_recover_removes_a_file_whose_delivery_never_committed(mailbox, invoice_mail):
    send_message(mailbox.host, mailbox.port, invoice_mail())
    folder = mailbox.runtime.store.files_root / "mailbox"
    orphan = folder / "999.eml"
    orphan.write_bytes(b"Subject: half delivered\r\n\r\n")
    assert mailbox.model.recover() == 1
    assert not orphan.exists()
    [kept] = mailbox.model.messages()
    assert (folder / f"{kept['id']}.eml").is_file()


# -- a real process, killed ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Sim:
    """`python -m simulators sim` on one state directory, started and killed at will."""

    def __init__(self, tmp_path: Path) -> None:
        self.state = tmp_path / "state"
        self.admin_port = free_port()
        self.config = tmp_path / "koppelsim.yaml"
        # Every listener on a free port (settings_for_tests): fixed defaults would clash with other
        # process tests running in parallel.
        self.config.write_text(yaml.safe_dump(settings_for_tests()))
        self.log = tmp_path / "sim.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "simulators", "sim", "--state-dir", str(self.state),
                 "--admin-port", str(self.admin_port), "--config", str(self.config)],
                cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        deadline = monotonic() + START_SECONDS
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"koppelsim sim exited with {self.process.returncode}:\n"
                                     f"{self.log.read_text()}")
            try:
                if self.get("/readyz")["status"] == "ready":
                    return
            except OSError:
                pass
            if monotonic() > deadline:
                raise AssertionError(f"koppelsim sim not ready within {START_SECONDS}s:\n"
                                     f"{self.log.read_text()}")
            real_sleep(0.05)  # waiting for a real process to bind its ports, not simulating time

    def get(self, path: str):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}{path}", timeout=5) as response:
            body = response.read()
        return json.loads(body) if response.headers.get_content_type() == "application/json" else body

    def smtp_port(self) -> int:
        return next(e["port"] for e in self.get("/api/endpoints") if e["name"] == "mailbox-smtp")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@pytest.mark.slow
def test_a_message_answered_250_survives_kill_9(tmp_path, invoice_mail):
    sim = Sim(tmp_path)
    try:
        sim.start()
        msg = invoice_mail(attachments=[("factuur.pdf", "application/pdf", b"%PDF-1.7 tiny")])
        with smtplib.SMTP("127.0.0.1", sim.smtp_port(), timeout=10) as client:
            assert client.send_message(msg) == {}  # 250: from here on the message must not be lost
        sim.kill()
        sim.start()
        [listed] = sim.get("/api/mailbox/messages")
        assert listed["subject"] == "Factuur 2026-0042"
        raw = sim.get(f"/api/mailbox/messages/{listed['id']}/raw")
        assert b"Subject: Factuur 2026-0042" in raw and len(raw) == listed["size"]
        assert sim.get(f"/api/mailbox/messages/{listed['id']}/attachments/0") == b"%PDF-1.7 tiny"
        # and the restarted mailbox receives again, on a new id
        with smtplib.SMTP("127.0.0.1", sim.smtp_port(), timeout=10) as client:
            client.send_message(invoice_mail(subject="na de herstart"))
        assert [m["id"] > listed["id"] for m in sim.get("/api/mailbox/messages")] == [True, False]
    finally:
        sim.stop()
