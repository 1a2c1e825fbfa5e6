"""Our answers and our WSDL against the EU's own WSDLs (``../shared/reference/vies``, read, never copied).

* Every answer (checkVat and checkVatApprox, both services, valid, invalid and approximate) validates
  against the types of the test-service WSDL, the current one: qualified elements, ``name``/``address``
  optional, ``traderAddress`` in the approximate answer.
* The production WSDL in the reference set is an older edition: its schema has no
  ``elementFormDefault="qualified"`` (so it declares unqualified children) and requires ``name`` and
  ``address``. The real service answers with qualified children (``ns2:countryCode``, as recorded by
  public clients), so our answers are checked against it with the children's namespace taken off: what
  it still checks is order, presence and types.
* Envelopes and faults validate against the SOAP 1.1 envelope schema.
* Our WSDL declares the same operations, messages, elements and element sequences as the EU's.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import requests
from lxml import etree

xmlschema = pytest.importorskip("xmlschema")
from xmlschema.extras.wsdl import Wsdl11Document  # noqa: E402

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "vies"
PRODUCTION_WSDL = REFERENCE / "vies_checkVatService.wsdl"
TEST_WSDL = REFERENCE / "vies_checkVatTestService.wsdl"
TYPES = "urn:ec.europa.eu:taxud:vies:services:checkVat:types"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP_ENVELOPE_XSD = Path(xmlschema.__file__).parent / "schemas" / "WSDL" / "soap-envelope.xsd"

pytestmark = pytest.mark.skipif(not PRODUCTION_WSDL.is_file() or not TEST_WSDL.is_file(),
                                reason=f"the EU's VIES WSDLs are not at {REFERENCE} (../shared is absent)")


def types_schema(path: Path):
    return Wsdl11Document(str(path)).schema.maps.namespaces[TYPES][0]


@pytest.fixture(scope="module")
def test_types():
    return types_schema(TEST_WSDL)


@pytest.fixture(scope="module")
def production_types():
    return types_schema(PRODUCTION_WSDL)


@pytest.fixture(scope="module")
def envelope_schema():
    return xmlschema.XMLSchema(str(SOAP_ENVELOPE_XSD))


def payload(response: requests.Response, envelope_schema) -> etree._Element:
    """The Body's content of an answer, after checking the envelope against the SOAP 1.1 schema."""
    root = etree.fromstring(response.content)
    envelope_schema.validate(root)
    body = root.find(f"{{{SOAP}}}Body")
    (content,) = [child for child in body if isinstance(child.tag, str)]
    return content


def unqualified_children(element: etree._Element) -> etree._Element:
    copied = copy.deepcopy(element)
    for child in copied:
        child.tag = etree.QName(child).localname
    etree.cleanup_namespaces(copied)
    return copied


def errors(schema, element) -> list[str]:
    return [str(error).splitlines()[0] for error in schema.iter_errors(element)]


CHECKS = [
    ("checkVatService", "NL", "123456782B01", ""),  # valid, name and address
    ("checkVatService", "DE", "136695976", ""),  # valid, "---"
    ("checkVatService", "NL", "999999990B01", ""),  # invalid
    ("checkVatService", "IT", "00950501000", ""),  # invalid: check digits
    ("checkVatTestService", "BE", "100", ""),
    ("checkVatTestService", "BE", "200", ""),
]


@pytest.mark.parametrize("service, country, number, extra", CHECKS)
def test_check_vat_answers_validate(vies, envelope, envelope_schema, test_types, production_types,
                                    service, country, number, extra):
    response = vies.post(envelope(country, number, extra=extra), service=service)
    assert response.status_code == 200
    answer = payload(response, envelope_schema)
    assert answer.tag == f"{{{TYPES}}}checkVatResponse"
    assert errors(test_types, answer) == []
    assert errors(production_types, unqualified_children(answer)) == []


APPROX = ("<urn:traderName>Koppelsim Test B.V.</urn:traderName>"
          "<urn:traderStreet>Kerkstraat</urn:traderStreet>"
          "<urn:traderCity>Utrecht</urn:traderCity>"
          "<urn:requesterCountryCode>BE</urn:requesterCountryCode>"
          "<urn:requesterVatNumber>0403170701</urn:requesterVatNumber>")


@pytest.mark.parametrize("service, country, number", [
    ("checkVatService", "NL", "123456782B01"), ("checkVatService", "DE", "136695976"),
    ("checkVatService", "NL", "999999990B01"), ("checkVatTestService", "AT", "100"),
])
def test_check_vat_approx_answers_validate_against_the_current_types(vies, envelope, envelope_schema,
                                                                      test_types, service, country, number):
    response = vies.post(envelope(country, number, operation="checkVatApprox", extra=APPROX), service=service)
    assert response.status_code == 200
    answer = payload(response, envelope_schema)
    assert answer.tag == f"{{{TYPES}}}checkVatApproxResponse"
    assert errors(test_types, answer) == []
    assert answer.findtext(f"{{{TYPES}}}requestIdentifier")  # a requester was named


def test_a_schema_violation_would_be_seen(test_types, production_types):
    """The check above can fail: an answer without requestDate, or with valid=yes, is refused."""
    bad = etree.fromstring(f'<c:checkVatResponse xmlns:c="{TYPES}"><c:countryCode>NL</c:countryCode>'
                           "<c:vatNumber>1</c:vatNumber><c:valid>yes</c:valid></c:checkVatResponse>")
    assert errors(test_types, bad)
    assert errors(production_types, unqualified_children(bad))


@pytest.mark.parametrize("service, country, number", [("checkVatService", "XX", "1"),
                                                      ("checkVatTestService", "NL", "301")])
def test_faults_validate_against_the_soap_envelope_schema(vies, envelope, envelope_schema, service, country,
                                                          number):
    fault = payload(vies.post(envelope(country, number), service=service), envelope_schema)
    assert fault.tag == f"{{{SOAP}}}Fault"
    assert fault.findtext("faultcode") == "env:Server"


def _shape(document) -> dict:
    """What a client generated from a WSDL depends on: the global elements with their child sequences
    (name, type, min/max occurs), the messages' parts, the operations of the port type and binding style."""
    schema = document.schema.maps.namespaces[TYPES][0]
    elements = {}
    for name, element in schema.elements.items():
        elements[name] = [(child.local_name, child.type.local_name or child.type.name, child.min_occurs,
                           child.max_occurs) for child in element.type.content.iter_elements()]
    messages = {name: sorted((part_name, element.name) for part_name, element in message.parts.items())
                for name, message in document.messages.items()}
    operations = {name: sorted(port.operations) for name, port in document.port_types.items()}
    bindings = sorted((binding.soap_transport, binding.soap_style, sorted(binding.operations))
                      for binding in document.bindings.values())
    return {"elements": elements, "messages": messages, "operations": operations, "bindings": bindings}


@pytest.mark.parametrize("service, reference", [("checkVatService", TEST_WSDL),
                                                ("checkVatTestService", TEST_WSDL)])
def test_our_wsdl_describes_the_same_service(vies, tmp_path, service, reference):
    ours = tmp_path / f"{service}.wsdl"
    ours.write_bytes(requests.get(vies.wsdl_url(service), timeout=10).content)
    assert _shape(Wsdl11Document(str(ours))) == _shape(Wsdl11Document(str(reference)))


def test_our_wsdl_keeps_the_production_wsdls_names(vies, tmp_path):
    """Against the older production WSDL: the same element names in the same order (its optionality and
    qualification differ, see the module docstring), the same messages and operations."""
    ours = tmp_path / "ours.wsdl"
    ours.write_bytes(requests.get(vies.wsdl_url(), timeout=10).content)
    mine, theirs = _shape(Wsdl11Document(str(ours))), _shape(Wsdl11Document(str(PRODUCTION_WSDL)))
    assert mine["messages"] == theirs["messages"] and mine["operations"] == theirs["operations"]
    assert mine["bindings"] == theirs["bindings"]
    names = {k: [c[0] for c in v] for k, v in mine["elements"].items() if k in theirs["elements"]}
    their_names = {k: [c[0] for c in v] for k, v in theirs["elements"].items()}
    assert set(names) == set(their_names)
    for element, children in their_names.items():
        assert [c for c in names[element] if c in children] == children, element  # ours may add traderAddress


def test_the_magic_numbers_are_those_the_test_wsdl_documents():
    """The table in errors.py is the test WSDL's own list: "100 = Valid request with Valid VAT Number", ..."""
    from simulators.vies.errors import TEST_FAULTS, TEST_INVALID, TEST_VALID

    text = TEST_WSDL.read_text(encoding="utf-8")
    documented = dict(re.findall(r"^\s*(\d{3}) = (?:Error : )?(.+?)\s*$", text, flags=re.M))
    assert documented.pop(TEST_VALID) == "Valid request with Valid VAT Number"
    assert documented.pop(TEST_INVALID) == "Valid request with an Invalid VAT Number"
    assert documented == TEST_FAULTS
    assert 'will responds with a "SERVICE_UNAVAILABLE" error' in text


def test_the_fault_strings_of_the_production_wsdl_are_known():
    from simulators.vies.errors import FAULT_CODES

    text = PRODUCTION_WSDL.read_text(encoding="utf-8")
    listed = set(re.findall(r"-\s+([A-Z_]{5,}):", text))
    assert listed == {"INVALID_INPUT", "SERVICE_UNAVAILABLE", "MS_UNAVAILABLE", "TIMEOUT", "SERVER_BUSY"}
    assert listed <= set(FAULT_CODES)
    assert {c for c, f in FAULT_CODES.items() if f.provenance == "wsdl"} == listed
