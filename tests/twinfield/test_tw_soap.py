"""The SOAP services over real HTTP: WSDLs pointing here (zeep reads them and calls), SOAP 1.1 and 1.2,
dispatch without SOAPAction, the three ProcessXml operations, the invalid-token fault, and every kind of
bad input: XXE, entity expansion, DOCTYPE, malformed XML, unknown operations, too many lines, too much body."""

from __future__ import annotations

import base64
import gzip
import zlib

import pytest
import requests
from lxml import etree

TIMEOUT = 10
TNS = "http://www.twinfield.com/"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
WSDL = "http://schemas.xmlsoap.org/wsdl/"


def result_of(response: requests.Response, operation: str = "ProcessXmlString") -> etree._Element:
    found = etree.fromstring(response.content).find(f".//{{{TNS}}}{operation}Result")
    return etree.fromstring(found.text.encode()) if operation != "ProcessXmlDocument" else found[0]


def fault_of(response: requests.Response) -> dict:
    fault = etree.fromstring(response.content).find(f".//{{{SOAP11}}}Fault")
    return {"faultcode": fault.findtext("faultcode"), "faultstring": fault.findtext("faultstring"),
            "faultactor": fault.findtext("faultactor"), "code": fault.findtext("detail/code"),
            "message": fault.findtext("detail/message"), "source": fault.findtext("detail/source")}


@pytest.mark.parametrize("service", ["processxml", "finder", "session"])
def test_each_wsdl_points_at_this_simulator(tw, service):
    response = requests.get(f"{tw.base}/webservices/{service}.asmx?wsdl", timeout=TIMEOUT)
    assert response.status_code == 200 and "xml" in response.headers["Content-Type"]
    doc = etree.fromstring(response.content)
    assert doc.get("targetNamespace") == TNS
    addresses = [el.get("location") for el in doc.iter() if isinstance(el.tag, str)
                 and etree.QName(el).localname == "address"]
    assert addresses and set(addresses) == {f"{tw.base}/webservices/{service}.asmx"}
    upper = requests.get(f"{tw.base}/webservices/{service}.asmx?WSDL", timeout=TIMEOUT)
    assert upper.content == response.content


def _operations(doc: etree._Element) -> set[str]:
    return {op.get("name") for pt in doc.iter(f"{{{WSDL}}}portType") for op in pt.iter(f"{{{WSDL}}}operation")}


@pytest.mark.parametrize("service,reference_file", [
    ("processxml", "processxml.wsdl"), ("processxml", "murb-twinfield/wsdls_accounting_process.wsdl"),
    ("finder", "murb-twinfield/wsdls_accounting_finder.wsdl"), ("session", "murb-twinfield/wsdls_session.wsdl")])
def test_our_wsdls_offer_every_operation_of_the_reference_wsdls(tw, reference, service, reference_file):
    text = (reference / reference_file).read_bytes()
    theirs = etree.fromstring(text[text.index(b"<?xml"):] if b"<?xml" in text else text)
    ours = etree.fromstring(requests.get(f"{tw.base}/webservices/{service}.asmx?wsdl", timeout=TIMEOUT).content)
    assert _operations(theirs) <= _operations(ours), _operations(theirs) - _operations(ours)
    # the same message element names, so a client generated from theirs talks to ours
    names = lambda doc: {el.get("name") for el in doc.iter("{http://www.w3.org/2001/XMLSchema}element")}  # noqa
    assert names(theirs) <= names(ours), names(theirs) - names(ours)


def test_zeep_reads_our_wsdl_and_calls_process_xml_string(tw):
    zeep = pytest.importorskip("zeep")
    token = tw.token()
    client = zeep.Client(f"{tw.base}/webservices/processxml.asmx?wsdl")
    header = client.get_element(f"{{{TNS}}}Header")(AccessToken=token, CompanyCode="NLA000001")
    answer = client.service.ProcessXmlString(xmlRequest="<list><type>offices</type></list>", _soapheaders=[header])
    offices = etree.fromstring(answer.encode())
    assert offices.get("result") == "1" and [o.text for o in offices] == ["NLA000001"]
    finder = zeep.Client(f"{tw.base}/webservices/finder.asmx?wsdl")
    fheader = finder.get_element(f"{{{TNS}}}Header")(AccessToken=token, CompanyCode="NLA000001")
    found = finder.service.Search(type="VAT", pattern="V*", field=1, firstRow=1, maxRows=10, options=None,
                                  _soapheaders=[fheader])
    assert found.data.TotalRows == 3 and found.data.Columns.string == ["Code", "Naam"]
    assert [row.string[0] for row in found.data.Items.ArrayOfString] == ["VH", "VL", "VN"]


def test_zeep_gets_the_invalid_token_fault(tw):
    zeep = pytest.importorskip("zeep")
    client = zeep.Client(f"{tw.base}/webservices/processxml.asmx?wsdl")
    header = client.get_element(f"{{{TNS}}}Header")(AccessToken="0" * 32, CompanyCode="NLA000001")
    with pytest.raises(zeep.exceptions.Fault) as fault:
        client.service.ProcessXmlString(xmlRequest="<list><type>offices</type></list>", _soapheaders=[header])
    assert fault.value.message == "Access denied. Token invalid."
    assert fault.value.detail.findtext("code") == "354"


def test_the_invalid_token_fault_has_the_shape_of_the_recorded_one(tw, reference, soap):
    response = tw.post("processxml", soap.envelope(soap.process_string("<list><type>offices</type></list>"),
                                                   "expired-or-unknown"))
    assert response.status_code == 401  # Twinfield's table: 354 answers 401
    ours = fault_of(response)
    recorded = etree.parse(str(reference / "melvinfolkers-twinfield/invalid_token_soap_fault.xml")).getroot()
    theirs = recorded.find(f".//{{{SOAP11}}}Fault")
    assert ours["faultcode"] == theirs.findtext("faultcode") == "soap:Client"
    assert ours["faultstring"] == theirs.findtext("faultstring")
    assert (ours["message"], ours["code"]) == (theirs.findtext("detail/message"), theirs.findtext("detail/code"))
    assert ours["source"] == "ProcessXmlString" and ours["faultactor"].endswith("/webservices/processxml.asmx")
    assert [c.tag for c in etree.fromstring(response.content).find(f".//{{{SOAP11}}}Fault")] == \
        [c.tag for c in theirs if isinstance(c.tag, str)]


def test_no_credentials_at_all_is_fault_101(tw, soap):
    response = tw.post("processxml", soap.envelope(soap.process_string("<list><type>offices</type></list>"),
                                                   None, None))
    assert response.status_code == 500 and fault_of(response)["code"] == "101"


def test_soap_12_is_answered_in_soap_12(tw, soap):
    token = tw.token()
    body = soap.envelope(soap.process_string("<list><type>offices</type></list>"), token, version="1.2")
    response = tw.post("processxml", body, content_type='application/soap+xml; charset=utf-8; '
                                                        'action="http://www.twinfield.com/ProcessXmlString"')
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/soap+xml")
    root = etree.fromstring(response.content)
    assert etree.QName(root).namespace == SOAP12
    assert result_of(response).get("result") == "1"
    bad = tw.post("processxml", soap.envelope(soap.process_string("<x/>"), "nope", version="1.2"),
                  content_type="application/soap+xml; charset=utf-8")
    fault = etree.fromstring(bad.content).find(f".//{{{SOAP12}}}Fault")
    assert fault.findtext(f"{{{SOAP12}}}Reason/{{{SOAP12}}}Text") == "Access denied. Token invalid."


def test_dispatch_is_on_the_body_element_with_or_without_soapaction(tw, soap):
    token = tw.token()
    body = soap.envelope(soap.process_string("<list><type>offices</type></list>"), token)
    for action in (None, "", '"http://www.twinfield.com/ProcessXmlString"'):
        assert result_of(tw.post("processxml", body, soap_action=action)).get("result") == "1"


def test_process_xml_document_takes_and_returns_elements_and_ignores_their_namespace(tw, soap):
    token = tw.token()
    # The twinfield package on PyPI puts the request inside Twinfield's default namespace.
    body = (f'<ProcessXmlDocument xmlns="{TNS}"><xmlRequest><list><type>offices</type></list></xmlRequest>'
            "</ProcessXmlDocument>")
    response = tw.post("processxml", soap.envelope(body, token))
    answer = result_of(response, "ProcessXmlDocument")
    assert answer.tag == "offices" and answer.get("result") == "1"


@pytest.mark.parametrize("pack", [gzip.compress, zlib.compress])
def test_process_xml_compressed_round_trips(tw, soap, pack):
    token = tw.token()
    packed = base64.b64encode(pack(b"<list><type>offices</type></list>")).decode()
    body = f'<ProcessXmlCompressed xmlns="{TNS}"><xmlRequest>{packed}</xmlRequest></ProcessXmlCompressed>'
    response = tw.post("processxml", soap.envelope(body, token))
    result = etree.fromstring(response.content).find(f".//{{{TNS}}}ProcessXmlCompressedResult").text
    assert etree.fromstring(gzip.decompress(base64.b64decode(result))).get("result") == "1"
    broken = f'<ProcessXmlCompressed xmlns="{TNS}"><xmlRequest>bm90IHppcA==</xmlRequest></ProcessXmlCompressed>'
    assert fault_of(tw.post("processxml", soap.envelope(broken, token)))["code"] == "186"


def test_a_utf16_declaration_on_utf8_bytes_is_read_by_the_http_charset(tw, soap):
    """The ``twinfield`` PyPI package declares encoding="utf-16" and sends UTF-8; Twinfield accepts it."""
    token = tw.token()
    body = soap.envelope(soap.process_string("<list><type>offices</type></list>"), token)
    body = body.replace(b'encoding="utf-8"', b'encoding="utf-16"', 1)
    assert result_of(tw.post("processxml", body)).get("result") == "1"


@pytest.mark.parametrize("declaration", ['<?xml version="1.0" encoding="utf-16"?>',
                                         '\ufeff<?xml version="1.0" encoding="utf-8"?>'])
def test_the_xml_request_string_may_declare_any_encoding(tw, soap, declaration):
    """A string has no bytes to decode: a .NET client writing its request through a StringWriter declares
    utf-16, and Twinfield reads the string as it is (this used to be fault 187, "Invalid XML data.")."""
    body = soap.envelope(soap.process_string(declaration + "<list><type>offices</type></list>"), tw.token())
    assert result_of(tw.post("processxml", body)).get("result") == "1"
    doctype = soap.envelope(soap.process_string('<?xml version="1.0" encoding="utf-16"?><!DOCTYPE x [<!ENTITY e '
                                                '"e">]><list><type>offices</type></list>'), tw.token())
    assert fault_of(tw.post("processxml", doctype))["code"] == "187"  # still no DTD behind the declaration


@pytest.mark.parametrize("attack", [
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>',
    '<!DOCTYPE soap:Envelope SYSTEM "http://127.0.0.1:9/evil.dtd">',
])
def test_a_document_type_declaration_in_the_envelope_is_refused(tw, soap, attack):
    body = attack.encode() + soap.envelope(soap.process_string("<list><type>offices</type></list>"), "x") \
        .replace(b'<?xml version="1.0" encoding="utf-8"?>', b"")
    response = tw.post("processxml", body)
    assert response.status_code == 400
    fault = fault_of(response)
    assert fault["faultcode"] == "soap:Client" and "DTD is prohibited" in fault["faultstring"]
    assert "root:" not in response.text


def test_an_entity_inside_the_inner_request_is_refused_as_invalid_xml(tw, soap):
    token = tw.token()
    inner = '<!DOCTYPE list [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><list><type>&xxe;</type></list>'
    response = tw.post("processxml", soap.envelope(soap.process_string(inner), token))
    assert fault_of(response)["code"] == "187" and "root:" not in response.text
    assert tw.bookings() == []


def test_malformed_xml_is_a_client_fault(tw, soap):
    response = tw.post("processxml", b"<soap:Envelope xmlns:soap='x'><unclosed>")
    assert response.status_code == 400
    assert fault_of(response)["faultstring"].startswith("Server was unable to read request.")
    token = tw.token()
    half = soap.envelope(soap.process_string("<transaction><header>"), token)
    assert fault_of(tw.post("processxml", half))["code"] == "187"


def test_an_unknown_operation_is_not_recognised(tw, soap):
    token = tw.token()
    body = soap.envelope(f'<DeleteEverything xmlns="{TNS}"/>', token)
    response = tw.post("processxml", body, soap_action='"http://www.twinfield.com/DeleteEverything"')
    assert response.status_code == 500
    assert fault_of(response)["faultstring"] == \
        "Server did not recognize the value of HTTP Header SOAPAction: http://www.twinfield.com/DeleteEverything."
    # an operation of another service is unknown here too
    search = soap.envelope(f'<Search xmlns="{TNS}"><type>DIM</type></Search>', token)
    assert "did not recognize" in fault_of(tw.post("processxml", search, soap_action="Search"))["faultstring"]
    assert "valid soap action" in fault_of(tw.post("processxml", search))["faultstring"]


def test_an_unknown_web_service_is_404(tw):
    assert requests.get(f"{tw.base}/webservices/nothing.asmx?wsdl", timeout=TIMEOUT).status_code == 404


def test_more_than_1000_lines_in_one_transaction_is_http_400_and_nothing_is_booked(tw, soap, customer):
    token = tw.token()
    detail = ('<line type="detail"><dim1>8000</dim1><debitcredit>credit</debitcredit><value>1.00</value>'
              "<vatcode>VN</vatcode></line>")
    total = ('<line type="total"><dim1>1300</dim1><dim2>4000</dim2><debitcredit>debit</debitcredit>'
             "<value>1000.00</value></line>")
    xml = (f'<transaction destiny="temporary"><header><office>NLA000001</office><code>VRK</code>'
           f"<invoicenumber>big</invoicenumber></header><lines>{total}{detail * 1000}</lines></transaction>")
    response = tw.post("processxml", soap.envelope(soap.process_string(xml), token))
    assert response.status_code == 400 and "at most 1000 lines" in fault_of(response)["faultstring"]
    assert tw.bookings() == []
    # 1000 lines exactly is fine (the 1000th is the total)
    ok = xml.replace(detail * 1000, detail * 999).replace("1000.00", "999.00")
    assert result_of(tw.post("processxml", soap.envelope(soap.process_string(ok), token))).get("result") == "1"


def test_an_oversized_body_is_413(tw, soap):
    body = soap.envelope(soap.process_string("<list><type>offices</type></list>" + " " * (9 * 1024 * 1024)), "t")
    response = tw.post("processxml", body)
    assert response.status_code == 413


def test_asmx_without_wsdl_lists_the_operations(tw):
    page = requests.get(f"{tw.base}/webservices/session.asmx", timeout=TIMEOUT)
    assert page.status_code == 200 and "AccessTokenLogon" in page.text and "SelectCompany" in page.text


def test_posting_to_the_wsdl_url_works_like_the_asmx(tw, soap):
    """The ``twinfield`` package posts its envelopes to ``…processxml.asmx?wsdl``."""
    token = tw.token()
    response = requests.post(f"{tw.base}/webservices/processxml.asmx?wsdl", timeout=TIMEOUT,
                             data=soap.envelope(soap.process_string("<list><type>offices</type></list>"), token),
                             headers={"Content-Type": "text/xml; charset=utf-8"})
    assert result_of(response).get("result") == "1"


def test_the_fault_actor_is_the_address_posted_to_as_in_the_recorded_fault(tw, reference, soap):
    """ASMX's faultactor is the URL the request was posted to: the recorded fault's
    ``https://api.accounting2.twinfield.com/webservices/processxml.asmx?wsdl`` is what the ``twinfield`` package
    (which recorded it) posts to. Posting to that path here gives the same form on our host."""
    recorded = etree.parse(str(reference / "melvinfolkers-twinfield/invalid_token_soap_fault.xml")).getroot()
    theirs = recorded.find(f".//{{{SOAP11}}}Fault").findtext("faultactor")
    response = requests.post(f"{tw.base}/webservices/processxml.asmx?wsdl", timeout=TIMEOUT,
                             data=soap.envelope(soap.process_string("<list><type>offices</type></list>"), "bad"),
                             headers={"Content-Type": "text/xml; charset=utf-8"})
    ours = fault_of(response)["faultactor"]
    assert ours == f"{tw.base}/webservices/processxml.asmx?wsdl"
    assert ours.split("/webservices/")[1] == theirs.split("/webservices/")[1] == "processxml.asmx?wsdl"


def test_envelopes_start_with_asmxs_declaration_and_the_result_string_has_none(tw, reference, soap):
    """murb's recorded ProcessXmlString answer (cluster_processxml_customer_update_success.xml, as it came):
    ``<?xml version="1.0" encoding="utf-8"?><soap:Envelope ...`` - double quotes, no line break - and the
    result string starts with its element. The same for a fault and a session answer."""
    recorded = (reference / "murb-twinfield/cluster_processxml_customer_update_success.xml").read_bytes()
    declaration = recorded[:recorded.index(b"<soap:Envelope")]
    assert declaration == b'<?xml version="1.0" encoding="utf-8"?>'
    their_result = etree.fromstring(recorded).findtext(f".//{{{TNS}}}ProcessXmlStringResult")
    answer = tw.post("processxml", soap.envelope(soap.process_string("<list><type>offices</type></list>"),
                                                 tw.token()))
    fault = tw.post("processxml", soap.envelope(soap.process_string("<list><type>offices</type></list>"), "bad"))
    session = tw.post("session", soap.envelope(f'<KeepAlive xmlns="{TNS}"/>', tw.token(), company=None))
    for response in (answer, fault, session):
        assert response.content.startswith(declaration + b"<soap:Envelope "), response.content[:80]
    our_result = etree.fromstring(answer.content).findtext(f".//{{{TNS}}}ProcessXmlStringResult")
    assert our_result.startswith("<offices") and their_result.startswith("<dimension")
