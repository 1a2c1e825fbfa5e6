"""Who may reach which office: the token's organisation and the user's offices; the legacy session.asmx."""

from __future__ import annotations

import requests
from lxml import etree

TIMEOUT = 10
TNS = "http://www.twinfield.com/"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"


def test_a_user_sees_only_its_own_offices(tw):
    assert [o.text for o in tw.process("<list><type>offices</type></list>", company=None)] == ["NLA000001"]
    accountant = tw.token("accountant")
    listed = tw.process("<list><type>offices</type></list>", accountant, company=None)
    assert [(o.text, o.get("name")) for o in listed] == [("NLA000001", "Webwinkel BV"),
                                                         ("NLA000002", "Webwinkel Holding BV")]


def test_an_office_of_the_organisation_the_user_may_not_reach_is_refused(tw, sales_xml, customer):
    answer = tw.process(sales_xml("X1", office="NLA000002"))
    assert answer.find("header/office").get("msg") == "U heeft geen toegang tot administratie NLA000002."
    assert tw.bookings() == []


def test_another_organisations_office_is_not_even_named(tw, sales_xml, customer):
    answer = tw.process(sales_xml("X2", office="NLA999999"))
    assert answer.find("header/office").get("msg") == "Administratie NLA999999 bestaat niet."
    read = tw.process("<read><type>dimensions</type><office>NLA999999</office><dimtype>DEB</dimtype>"
                      "<code>4000</code></read>")
    assert read.get("result") == "0" and read.get("msg") == "Administratie NLA999999 bestaat niet."


def test_a_company_code_the_user_may_not_reach_is_fault_102_403(tw, soap):
    token = tw.token()
    response = tw.post("processxml", soap.envelope(soap.process_string("<list><type>offices</type></list>"), token,
                                                   "NLA000002"))
    assert response.status_code == 403
    fault = etree.fromstring(response.content).find(f".//{{{SOAP11}}}Fault")
    assert (fault.findtext("detail/code"), fault.findtext("faultstring")) == ("102", "Access is denied.")


def test_a_token_without_the_user_scope_is_fault_351(tw, soap):
    tokens = tw.login(scope="openid twf.organisation offline_access")
    response = tw.post("processxml", soap.envelope(soap.process_string("<list><type>offices</type></list>"),
                                                   tokens.access_token))
    fault = etree.fromstring(response.content).find(f".//{{{SOAP11}}}Fault")
    assert response.status_code == 401 and fault.findtext("detail/code") == "351"


def session_call(tw, body: str, session: str | None = None) -> requests.Response:
    header = f'<soap:Header><Header xmlns="{TNS}"><SessionID>{session}</SessionID></Header></soap:Header>' \
        if session else ""
    envelope = (f'<soap:Envelope xmlns:soap="{SOAP11}">{header}<soap:Body>{body}</soap:Body>'
                f"</soap:Envelope>").encode()
    return requests.post(f"{tw.base}/webservices/session.asmx", data=envelope, timeout=TIMEOUT,
                         headers={"Content-Type": "text/xml; charset=utf-8"})


def logon(tw, password: str = "accountant-secret") -> tuple[str, str | None, str | None]:
    response = session_call(tw, f'<Logon xmlns="{TNS}"><user>accountant</user><password>{password}</password>'
                                f"<organisation>KOPPELSIM</organisation></Logon>")
    root = etree.fromstring(response.content)
    return (root.findtext(f".//{{{TNS}}}LogonResult"), root.findtext(f".//{{{TNS}}}SessionID"),
            root.findtext(f".//{{{TNS}}}cluster"))


def test_legacy_logon_returns_a_session_id_in_the_header_and_the_cluster(tw, soap):
    result, session, cluster = logon(tw)
    assert result == "Ok" and session and cluster == tw.base
    assert logon(tw, "wrong")[0] == "Invalid"
    body = soap.envelope(soap.process_string("<list><type>offices</type></list>"), None, None, session=session)
    listed = etree.fromstring(etree.fromstring(tw.post("processxml", body).content).find(
        f".//{{{TNS}}}ProcessXmlStringResult").text.encode())
    assert [o.text for o in listed] == ["NLA000001", "NLA000002"]
    chosen = session_call(tw, f'<SelectCompany xmlns="{TNS}"><company>NLA000002</company></SelectCompany>', session)
    assert etree.fromstring(chosen.content).findtext(f".//{{{TNS}}}SelectCompanyResult") == "Ok"
    refused = session_call(tw, f'<SelectCompany xmlns="{TNS}"><company>NLA999999</company></SelectCompany>', session)
    assert etree.fromstring(refused.content).findtext(f".//{{{TNS}}}SelectCompanyResult") == "Invalid"


def test_a_session_expires_after_twenty_idle_minutes_and_keepalive_renews_it(tw, soap):
    _, session, _ = logon(tw)
    tw.advance("15m")
    assert session_call(tw, f'<KeepAlive xmlns="{TNS}"/>', session).status_code == 200
    tw.advance("15m")  # 30 minutes after logon, 15 after the keep-alive
    assert session_call(tw, f'<KeepAlive xmlns="{TNS}"/>', session).status_code == 200
    tw.advance("21m")
    expired = session_call(tw, f'<KeepAlive xmlns="{TNS}"/>', session)
    assert expired.status_code == 401
    assert etree.fromstring(expired.content).findtext(f".//{{{SOAP11}}}Fault/detail/code") == "103"


def test_abandon_ends_a_session(tw):
    _, session, _ = logon(tw)
    assert session_call(tw, f'<Abandon xmlns="{TNS}"/>', session).status_code == 200
    assert session_call(tw, f'<KeepAlive xmlns="{TNS}"/>', session).status_code == 401


def test_access_token_logon_makes_a_session_from_a_token(tw):
    token = tw.token()
    response = session_call(tw, f'<AccessTokenLogon xmlns="{TNS}"><accessToken>{token}</accessToken>'
                                "</AccessTokenLogon>")
    root = etree.fromstring(response.content)
    assert root.findtext(f".//{{{TNS}}}AccessTokenLogonResult") == "Ok"
    assert root.findtext(f".//{{{TNS}}}SessionID") and root.findtext(f".//{{{TNS}}}AccessToken") == token
    bad = session_call(tw, f'<AccessTokenLogon xmlns="{TNS}"><accessToken>nope</accessToken></AccessTokenLogon>')
    assert etree.fromstring(bad.content).findtext(f".//{{{TNS}}}AccessTokenLogonResult") == "TokenInvalid"


def test_with_legacy_logon_switched_off_a_password_logon_needs_oauth(tw):
    tw.sim.configure(legacy_logon=False)
    assert logon(tw)[0] == "OAuth2AuthenticationRequired"
