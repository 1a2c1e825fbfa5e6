"""The pytest plugin starts the mailbox with everything else: another project's tests can mail to it,
and every test starts with an empty mailbox."""

PROJECT_TEST = '''
import smtplib
from email.message import EmailMessage

def send(koppelsim, subject):
    endpoint = koppelsim.endpoint("mailbox-smtp")
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "app@mine.test", "me@mine.test", subject
    msg.set_content("hallo")
    with smtplib.SMTP(endpoint.host, endpoint.port, timeout=10) as client:
        code, greeting = client.noop()[0], client.ehlo()[1]
        client.send_message(msg)
    return greeting

def test_my_app_mails_the_mailbox(koppelsim):
    greeting = send(koppelsim, "van mijn app")
    assert greeting.splitlines()[0] == b"mail.mine.test"
    mailbox = koppelsim.runtime.simulators["mailbox"].model
    assert [m["subject"] for m in mailbox.messages()] == ["van mijn app"]
    koppelsim.journal.expect({"kind": "smtp.message", "subject": "van mijn app"})

def test_the_mailbox_is_empty_again(koppelsim):
    assert koppelsim.runtime.simulators["mailbox"].model.messages() == []
    assert koppelsim.journal.entries(kind="smtp.*") == []
'''

CONFTEST = '''
import pytest

@pytest.fixture(scope="session")
def koppelsim_config():
    return {"mailbox": {"hostname": "mail.mine.test"}}
'''


def test_the_mailbox_works_from_another_projects_tests(pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_project=PROJECT_TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
