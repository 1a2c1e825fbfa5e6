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


HTTP_SIMULATORS_TEST = '''
import pytest
import requests
from xml.sax.saxutils import escape

from clients.twinfield import TwinfieldClient, TwinfieldFault, TwinfieldOAuth

LINES = [{"type": "total", "dim1": "1300", "dim2": "{customer}", "debitcredit": "debit", "value": "121.00"},
         {"type": "detail", "dim1": "8000", "debitcredit": "credit", "value": "100.00", "vatcode": "VH"}]


def test_a_booking_through_the_login_page(twinfield, koppelsim):
    oauth = TwinfieldOAuth(twinfield.base_url, twinfield.client_id, twinfield.client_secret,
                           twinfield.redirect_uri, koppelsim.clock, timeout=10)
    tokens = oauth.login(twinfield.organisation, twinfield.user, twinfield.password)
    client = TwinfieldClient(oauth, tokens, koppelsim.clock, office=twinfield.office, timeout=10)
    assert client.cluster_url == twinfield.cluster_url  # from accesstokenvalidation, as against the real one
    customer = client.create_customer("Jan Jansen", "jan@example.com")
    lines = [{**line, "dim2": customer} if line["type"] == "total" else line for line in LINES]
    assert client.post_transaction("VRK", lines, invoicenumber="5869") == "202600001"
    [booking] = twinfield.bookings(invoicenumber="5869")
    assert [line["value"] for line in booking["lines"]] == ["121.00", "100.00", "21.00"]


def test_an_issued_token_dies_after_an_hour_of_simulated_time(twinfield, koppelsim):
    token = twinfield.access_token()
    body = (f'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header>'
            f'<Header xmlns="http://www.twinfield.com/"><AccessToken>{token}</AccessToken>'
            f'<CompanyCode>{twinfield.office}</CompanyCode></Header></soap:Header><soap:Body>'
            f'<ProcessXmlString xmlns="http://www.twinfield.com/"><xmlRequest>'
            f'{escape("<list><type>offices</type></list>")}</xmlRequest></ProcessXmlString></soap:Body></soap:Envelope>')
    post = lambda: requests.post(twinfield.wsdl_url.removesuffix("?wsdl"), data=body, timeout=10,
                                 headers={"Content-Type": "text/xml; charset=utf-8"})
    assert post().status_code == 200
    koppelsim.advance("61m")
    answer = post()
    assert answer.status_code == 401 and "Token invalid" in answer.text  # fault 354


def test_the_shop_signs_on_the_simulated_clock(ccvshop):
    made = ccvshop.create_order(notify=False)
    orders = list(ccvshop.client(timeout=10).orders())
    assert [o.id for o in orders] == [made["id"]]


def test_vies_knows_what_the_test_adds(vies, monkeypatch):
    stdnum_vat = pytest.importorskip("stdnum.eu.vat")
    pytest.importorskip("zeep")
    monkeypatch.setattr(stdnum_vat, "vies_wsdl", vies.wsdl_url)  # stdnum reads its WSDL URL from here
    vies.add_number("NL123456782B01", valid=True, name="Webwinkel BV")
    answer = stdnum_vat.check_vies("NL123456782B01", timeout=10)
    assert answer["valid"] and answer["name"] == "Webwinkel BV"
    assert [r["number"] for r in vies.requests()] == ["123456782B01"]


def test_each_simulator_is_reset_between_tests(twinfield, ccvshop, vies):
    assert twinfield.bookings() == [] and twinfield.customers() == []
    assert ccvshop.orders() == []
    assert vies.requests() == []
'''


def test_the_http_simulators_work_in_another_project(pytester):
    pytester.makepyfile(test_http_simulators=HTTP_SIMULATORS_TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=5)


def test_a_user_picks_the_twinfield_user_and_client(pytester):
    pytester.makeconftest('''
import pytest

@pytest.fixture(scope="session")
def koppelsim_config():
    return {"twinfield": {
        "users": [{"user": "shop", "password": "shop-pw", "organisation": "KOPPELSIM", "offices": ["NLA000002"]}],
        "clients": [{"client_id": "mine", "client_secret": "mine-secret", "redirect_uris": ["http://app/cb"]}]}}
''')
    pytester.makepyfile(test_pick='''
def test_the_handle_is_the_configured_one(twinfield):
    assert (twinfield.user, twinfield.password, twinfield.office) == ("shop", "shop-pw", "NLA000002")
    assert (twinfield.client_id, twinfield.client_secret, twinfield.redirect_uri) == ("mine", "mine-secret", "http://app/cb")
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
