"""The pytest plugin works from another project's test suite, through its entry point."""

PROJECT_TEST = '''
import ftplib, hashlib, io
from clients.digipoort.messages import build_meta

def upload(digipoort, name, data):
    ftp = ftplib.FTP_TLS(context=digipoort.ssl_context())
    ftp.connect(digipoort.host, digipoort.port)
    ftp.auth(); ftp.login(digipoort.user, digipoort.password); ftp.prot_p()
    ftp.storbinary(f"STOR IN/{name}", io.BytesIO(data))
    return ftp

def test_a_submission_is_answered(digipoort, koppelsim):
    data = b"<icp/>"
    ftp = upload(digipoort, "icp.xml", data)
    meta = build_meta(context_id="mine", filename="icp.xml", content_type="application/xml",
                      sha256=hashlib.sha256(data).hexdigest(), size=len(data), berichtsoort="ICP",
                      aanleverkenmerk=None, eerder_aanleverkenmerk=None, identity_number="001000044B37",
                      identity_type="Fi", rol="Bedrijf", created="2026-11-20T08:00:00Z")
    ftp.storbinary("STOR IN/icp.meta", io.BytesIO(meta))
    assert any(n.endswith(".ok") for n in ftp.nlst("OUT"))
    koppelsim.advance("2h")
    assert digipoort.submissions()[0]["phase"] == "accepted"
    ftp.quit()

def test_state_is_reset_between_tests(digipoort, koppelsim):
    assert digipoort.submissions() == []
    assert digipoort.files("OUT") == []
    assert koppelsim.journal.entries(kind="digipoort.*") == []
'''

CONFTEST = '''
import pytest

@pytest.fixture(scope="session")
def koppelsim_config():
    return {"digipoort": {"accounts": [{"user": "team", "password": "pw"}], "answer_delay": "1h"}}
'''


def test_the_fixtures_work_in_another_project(pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_project=PROJECT_TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_a_user_overrides_the_configuration(pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_override='''
def test_accounts_come_from_the_override(digipoort):
    assert (digipoort.user, digipoort.password) == ("team", "pw")
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
