"""Raw HTTP against the SOAP endpoint: what a broken or hostile client sends is refused with an honest
answer (a SOAP 1.1 fault, 413, 415, 405, 404), and the server keeps serving after each."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import requests
from lxml import etree

from simulators.core.clock import monotonic

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"


def fault_of(response: requests.Response) -> tuple[str, str]:
    """(faultcode, faultstring) of a SOAP 1.1 fault answer; fails when the answer is anything else."""
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8", response.headers
    root = etree.fromstring(response.content)
    assert root.tag == f"{{{SOAP}}}Envelope"
    fault = root.find(f"{{{SOAP}}}Body/{{{SOAP}}}Fault")
    assert fault is not None, response.text
    return fault.findtext("faultcode"), fault.findtext("faultstring")


def still_serving(vies, envelope) -> None:
    answer = vies.post(envelope("NL", "123456782B01"))
    assert answer.status_code == 200 and b"<ns2:valid>true</ns2:valid>" in answer.content


def test_a_valid_request_gets_the_real_shape_byte_for_byte(vies, envelope):
    response = vies.post(envelope("NL", "123456782B01"))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert response.text == (
        '<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"><env:Header/><env:Body>'
        '<ns2:checkVatResponse xmlns:ns2="urn:ec.europa.eu:taxud:vies:services:checkVat:types">'
        "<ns2:countryCode>NL</ns2:countryCode><ns2:vatNumber>123456782B01</ns2:vatNumber>"
        "<ns2:requestDate>2026-11-21+01:00</ns2:requestDate><ns2:valid>true</ns2:valid>"
        "<ns2:name>KOPPELSIM TEST B.V.</ns2:name>"
        "<ns2:address>KERKSTRAAT 00001\n1234AB AMSTERDAM</ns2:address>"
        "</ns2:checkVatResponse></env:Body></env:Envelope>")


def test_a_service_fault_has_the_real_shape_and_http_200(vies, envelope):
    response = vies.post(envelope("XX", "123"))
    assert response.status_code == 200
    assert response.text == (
        '<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"><env:Header/><env:Body>'
        "<env:Fault><faultcode>env:Server</faultcode><faultstring>INVALID_INPUT</faultstring></env:Fault>"
        "</env:Body></env:Envelope>")


def test_the_fault_status_can_be_500(vies, envelope):
    vies.sim.configure(fault_http_status=500)
    response = vies.post(envelope("XX", "123"))
    assert response.status_code == 500 and fault_of(response) == ("env:Server", "INVALID_INPUT")


@pytest.mark.parametrize("body, reason", [
    ("<soapenv:Envelope xmlns:soapenv='http://schemas.xmlsoap.org/soap/envelope/'><soapenv:Body>",
     "not well-formed"),
    ("", "empty"),
    ("this is not xml", "not well-formed"),
    (b"<?xml version='1.0' encoding='UTF-8'?><a>\xff\xfe</a>", "not valid UTF-8"),
])
def test_unreadable_xml_is_a_client_fault(vies, envelope, body, reason):
    response = vies.post(body)
    assert response.status_code == 500
    code, text = fault_of(response)
    assert code == "env:Client" and reason in text
    still_serving(vies, envelope)


def test_an_external_entity_is_refused_and_nothing_is_read(vies, envelope):
    xxe = ('<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           + envelope("NL", "&x;"))
    response = vies.post(xxe)
    code, text = fault_of(response)
    assert code == "env:Client" and "DOCTYPE" in text
    assert b"root:" not in response.content
    assert vies.model.requests() == []  # refused before any check
    still_serving(vies, envelope)


def test_billion_laughs_is_refused_at_once(vies, envelope):
    entities = '<!ENTITY a0 "ha">' + "".join(f'<!ENTITY a{i} "&a{i - 1};&a{i - 1};&a{i - 1};&a{i - 1};">'
                                             for i in range(1, 12))
    bomb = f'<?xml version="1.0"?><!DOCTYPE e [{entities}]>' + envelope("NL", "&a11;")
    started = monotonic()
    response = vies.post(bomb)
    assert monotonic() - started < 2
    assert fault_of(response)[0] == "env:Client" and "DOCTYPE" in fault_of(response)[1]
    still_serving(vies, envelope)


def test_an_unknown_operation_is_a_client_fault(vies, envelope):
    response = vies.post(envelope("NL", "123456782B01", operation="checkVatPlease"))
    code, text = fault_of(response)
    assert code == "env:Client"
    assert text.startswith("Unexpected wrapper element {urn:ec.europa.eu:taxud:vies:services:checkVat:types}"
                           "checkVatPlease found.")
    wrong_namespace = envelope("NL", "1").replace("checkVat:types", "checkVat:typos")
    assert "Unexpected wrapper element" in fault_of(vies.post(wrong_namespace))[1]
    still_serving(vies, envelope)


def test_not_an_envelope_or_an_empty_body(vies, envelope):
    assert "not a SOAP 1.1 Envelope but checkVat" in fault_of(vies.post("<checkVat/>"))[1]
    empty = f'<e:Envelope xmlns:e="{SOAP}"><e:Body/></e:Envelope>'
    assert fault_of(vies.post(empty))[1] == "the SOAP Body holds no operation"
    still_serving(vies, envelope)


def test_soap_12_is_refused(vies, envelope):
    soap12 = envelope("NL", "1").replace(SOAP, "http://www.w3.org/2003/05/soap-envelope")
    assert fault_of(vies.post(soap12))[0] == "env:VersionMismatch"
    typed = vies.post(soap12, content_type="application/soap+xml; charset=utf-8")
    assert typed.status_code == 415 and "SOAP 1.2" in fault_of(typed)[1]
    still_serving(vies, envelope)


@pytest.mark.parametrize("content_type",
                         ["application/json", "application/x-www-form-urlencoded", "text/plain"])
def test_a_wrong_content_type_gets_415(vies, envelope, content_type):
    response = vies.post(envelope("NL", "123456782B01"), content_type=content_type)
    assert response.status_code == 415
    code, text = fault_of(response)
    assert code == "env:Client" and f"Unsupported Content-Type: {content_type}" in text
    assert vies.model.requests() == []
    still_serving(vies, envelope)


def test_an_oversized_body_gets_413(vies, envelope):
    limit = vies.model.config.max_body_bytes
    padding = "<!--" + "x" * limit + "-->"
    response = vies.post(envelope("NL", "123456782B01") + padding)
    assert response.status_code == 413
    chunked = requests.post(vies.service_url(), data=iter([envelope("NL", "1").encode(), padding.encode()]),
                            headers={"Content-Type": "text/xml"}, timeout=10)
    assert chunked.status_code == 413
    still_serving(vies, envelope)


def test_the_soap_action_is_checked_only_when_strict(vies, envelope):
    assert vies.post(envelope("NL", "123456782B01"), SOAPAction="checkVat").status_code == 200
    vies.sim.configure(strict_soap_action=True)
    refused = vies.post(envelope("NL", "123456782B01"), SOAPAction="checkVat")
    assert fault_of(refused) == ("env:Client", "The given SOAPAction checkVat does not match an operation.")
    assert vies.post(envelope("NL", "123456782B01"), SOAPAction='""').status_code == 200
    assert vies.post(envelope("NL", "123456782B01")).status_code == 200  # no SOAPAction at all


def test_other_methods_and_paths(vies):
    assert requests.get(vies.service_url(), timeout=10).status_code == 405
    assert requests.put(vies.wsdl_url(), timeout=10).status_code == 405
    missing = requests.get(vies.base + "/taxation_customs/vies/services/nothing", timeout=10)
    assert missing.status_code == 404 and "checkVatService.wsdl" in missing.text
    index = requests.get(vies.base + "/", timeout=10)
    assert index.status_code == 200 and "checkVatTestService" in index.text


def test_refusals_are_journaled(vies, envelope):
    since = vies.runtime.journal.last_id()
    vies.post("<broken")
    vies.post(envelope("NL", "1"), content_type="application/json")
    entries = vies.runtime.journal.entries(sim="vies", kind="soap.refused", since=since)
    reasons = [e["reason"] for e in entries]
    assert reasons == ["not_well_formed", "content_type"]


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_posts_a_request_file(vies, envelope, tmp_path):
    request = tmp_path / "check.xml"
    request.write_text(envelope("BE", "0403170701"))
    done = subprocess.run(["curl", "-sS", "-H", "Content-Type: text/xml; charset=utf-8", "--data-binary",
                           f"@{request}", vies.service_url()], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert "<ns2:name>NV EXEMPLE</ns2:name>" in done.stdout
    form = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-d", f"@{request}",
                           vies.service_url()], capture_output=True, text=True, timeout=30)
    assert form.stdout == "415"  # curl -d sends a form type: refused, as the real service does


def test_many_clients_at_once(vies, envelope):
    """Twenty concurrent checks are all answered (a threaded server), each recorded once."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda _: vies.post(envelope("NL", "123456782B01")).status_code, range(20)))
    assert answers == [200] * 20
    assert len(vies.model.requests()) == 20


def test_request_date_follows_the_simulated_clock_in_brussels_time(runtime_factory, tmp_path, envelope):
    runtime = runtime_factory(tmp_path)
    runtime.start()
    try:
        endpoint = runtime.endpoint("vies-soap")
        url = f"http://{endpoint.host}:{endpoint.port}/taxation_customs/vies/services/checkVatService"

        def request_date() -> bytes:
            answer = requests.post(url, data=envelope("NL", "123456782B01"),
                                   headers={"Content-Type": "text/xml"}, timeout=10).content
            return answer.split(b"<ns2:requestDate>")[1].split(b"</")[0]

        assert request_date() == b"2026-11-21+01:00"  # 09:30 UTC
        runtime.scheduler.advance("14h")  # 23:30 UTC: already the next day in Brussels
        assert request_date() == b"2026-11-22+01:00"
        runtime.scheduler.advance_to("2027-07-01T12:00:00Z")  # summer time
        assert request_date() == b"2027-07-01+02:00"
    finally:
        runtime.stop()
