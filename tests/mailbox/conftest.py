"""A running koppelsim with the test mailbox and the admin API, on free ports and a virtual clock."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from simulators.core.clock import VirtualClock
from simulators.core.config import config_from_dict
from simulators.core.runtime import Runtime, register_config_sections

START = "2026-11-20T08:00:00Z"
TIMEOUT = 10  # real seconds, for real I/O only


def make_runtime(state_dir: Path, **mailbox: Any) -> Runtime:
    register_config_sections()
    config = config_from_dict({"state_dir": str(state_dir), "admin_port": 0,
                               "mailbox": {"port": 0, **mailbox}})
    return Runtime(config, clock=VirtualClock(START), only=["mailbox"])


@dataclass
class Mailbox:
    """What a test needs: where to send mail, the admin API, the runtime behind them."""

    runtime: Runtime

    @property
    def host(self) -> str:
        return self.runtime.endpoint("mailbox-smtp").host

    @property
    def port(self) -> int:
        return self.runtime.endpoint("mailbox-smtp").port

    @property
    def model(self):
        return self.runtime.simulators["mailbox"].model

    def smtp(self) -> smtplib.SMTP:
        return smtplib.SMTP(self.host, self.port, timeout=TIMEOUT)

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        base = self.runtime.endpoint("admin").url
        return requests.request(method, base + path.lstrip("/"), timeout=TIMEOUT, **kwargs)


@pytest.fixture
def runtime_factory():
    """``make_runtime(state_dir, **mailbox_settings)``, for tests that start and stop their own."""
    return make_runtime


@pytest.fixture(scope="module")
def running(tmp_path_factory) -> Iterator[Runtime]:
    runtime = make_runtime(tmp_path_factory.mktemp("mailbox"), max_message_bytes=64 * 1024)
    runtime.start()
    yield runtime
    runtime.stop()


@pytest.fixture
def mailbox(running: Runtime) -> Mailbox:
    running.reset()
    return Mailbox(running)


@pytest.fixture
def invoice_mail():
    """Builds messages as the Centraal Boekhuis simulator would send them (a fixture: with pytest's
    importlib mode, test modules cannot import from conftest)."""
    return build_invoice_mail


def build_invoice_mail(to: str | list[str] = "boekhouding@acme.test", subject: str = "Factuur 2026-0042",
                       attachments: list[tuple[str, str, bytes]] = ()) -> EmailMessage:
    """A message as the Centraal Boekhuis simulator would send it: text, optional attachments."""
    msg = EmailMessage()
    msg["From"] = "facturen@cb.test"
    msg["To"] = ", ".join(to) if isinstance(to, list) else to
    msg["Subject"] = subject
    msg["Message-ID"] = "<factuur-0042@cb.test>"
    msg.set_content("Bijgaand de factuur.\n")
    for name, content_type, data in attachments:
        maintype, _, subtype = content_type.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg
