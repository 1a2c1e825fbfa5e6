"""The scenario expectation ``mailbox.messages``: what it accepts, and failures that explain themselves."""

from __future__ import annotations

import textwrap
from types import SimpleNamespace

import pytest

from simulators.mailbox.scenario import vocabulary
from simulators.mailbox.send import send_message
from simulators.scenario.catalogue import full_vocabulary
from simulators.scenario.loader import ScenarioError, load_scenario
from simulators.scenario.runner import bind_core, run_scenario


@pytest.fixture
def check(mailbox):
    handler = vocabulary().expect_specs["mailbox.messages"].handler
    return lambda expected: handler(SimpleNamespace(runtime=mailbox.runtime), expected)


@pytest.fixture
def two_invoices(mailbox, invoice_mail):
    send_message(mailbox.host, mailbox.port, invoice_mail(
        to=["boekhouding@acme.test", "archief@acme.test"], subject="Factuur 2026-0041",
        attachments=[("factuur-0041.pdf", "application/pdf", b"%PDF"),
                     ("factuur-0041.xml", "application/xml", b"<x/>")]))
    send_message(mailbox.host, mailbox.port, invoice_mail(to="inkoop@bakker.test", subject="Herinnering"))


def test_count_and_has_hold(check, two_invoices):
    check({"count": 2})
    check({"has": [{"to": "archief@acme.test", "subject": "Factuur *", "attachments": ["*.pdf", "*.xml"]},
                   {"from": "facturen@cb.test", "to": ["boekhouding@acme.test", "archief@acme.test"]},
                   {"to": "*@bakker.test", "subject": "Herinnering"}]})
    check({"count": 2, "has": [{"attachments": "factuur-0041.pdf"}]})


def test_a_wrong_count_lists_what_was_received(check, two_invoices):
    with pytest.raises(AssertionError) as failed:
        check({"count": 1})
    assert "holds 2 message(s), expected 1" in str(failed.value)
    assert "'Herinnering'" in str(failed.value) and "'Factuur 2026-0041'" in str(failed.value)


def test_a_missing_message_shows_the_closest_ones_and_how_they_differ(check, two_invoices):
    with pytest.raises(AssertionError) as failed:
        check({"has": [{"to": "archief@acme.test", "attachments": ["*.pdf", "*.zip"]}]})
    message = str(failed.value)
    assert message.splitlines()[0].startswith("no message in the mailbox matches")
    assert "closest: #" in message
    assert "attachments: no '*.zip' among ['factuur-0041.pdf', 'factuur-0041.xml']" in message


def test_an_empty_mailbox_says_so(check, mailbox):
    check({"count": 0})
    with pytest.raises(AssertionError, match="the mailbox is empty"):
        check({"has": [{"subject": "*"}]})


def write(tmp_path, text: str):
    path = tmp_path / "mailbox.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def vocab():
    words = full_vocabulary()
    bind_core(words)
    return words


def test_a_scenario_runs_with_the_mailbox_started_and_checks_it(tmp_path):
    words = vocab()
    passed = run_scenario(load_scenario(write(tmp_path, """
        name: nothing was mailed
        expect:
          mailbox.messages: {count: 0}
          journal: {no: {kind: smtp.message}}
    """), words), words)
    assert passed.status == "passed", passed.message
    failed = run_scenario(load_scenario(write(tmp_path, """
        name: an invoice mail was expected
        expect:
          mailbox.messages:
            has: [{to: boekhouding@acme.test, attachments: ["*.pdf"]}]
    """), words), words)
    assert failed.status == "failed" and "the mailbox is empty" in failed.message


def test_a_misspelt_field_is_refused_when_the_scenario_is_loaded(tmp_path):
    with pytest.raises(ScenarioError) as refused:
        load_scenario(write(tmp_path, """
            name: typo
            expect:
              mailbox.messages:
                has: [{to: a@acme.test, attachements: ["*.pdf"]}]
        """), vocab())
    assert "attachements" in str(refused.value) and ":5:" in str(refused.value)
