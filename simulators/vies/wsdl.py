"""The WSDLs this simulator serves: our own description of the checkVat service, written here.

The element names, namespaces, operations and binding style are those of the EU's WSDLs (production and
test service), so a client generated from either works against us; the text is ours (the EU's files are
read by tests only, never copied). The types follow the current test-service WSDL: ``name`` and
``address`` optional and nillable, ``traderAddress`` in the approximate answer, match codes 1/2/3.

``soap:address`` points at this server. A user who has the official WSDL can configure
``vies.wsdl_path`` to serve it instead; its ``soap:address`` locations are rewritten the same way.
"""

from __future__ import annotations

import re
from pathlib import Path
from xml.sax.saxutils import quoteattr

from ..core.safexml import parse_xml

SERVICE_NS = "urn:ec.europa.eu:taxud:vies:services:checkVat"
TYPES_NS = "urn:ec.europa.eu:taxud:vies:services:checkVat:types"
MAX_WSDL_BYTES = 1024 * 1024

_TYPES = """\
    <xsd:schema targetNamespace="urn:ec.europa.eu:taxud:vies:services:checkVat:types"
        elementFormDefault="qualified" attributeFormDefault="qualified">
      <xsd:element name="checkVat">
        <xsd:complexType><xsd:sequence>
          <xsd:element name="countryCode" type="xsd:string"/>
          <xsd:element name="vatNumber" type="xsd:string"/>
        </xsd:sequence></xsd:complexType>
      </xsd:element>
      <xsd:element name="checkVatResponse">
        <xsd:complexType><xsd:sequence>
          <xsd:element name="countryCode" type="xsd:string"/>
          <xsd:element name="vatNumber" type="xsd:string"/>
          <xsd:element name="requestDate" type="xsd:date"/>
          <xsd:element name="valid" type="xsd:boolean"/>
          <xsd:element name="name" type="xsd:string" minOccurs="0" maxOccurs="1" nillable="true"/>
          <xsd:element name="address" type="xsd:string" minOccurs="0" maxOccurs="1" nillable="true"/>
        </xsd:sequence></xsd:complexType>
      </xsd:element>
      <xsd:element name="checkVatApprox">
        <xsd:complexType><xsd:sequence>
          <xsd:element name="countryCode" type="xsd:string"/>
          <xsd:element name="vatNumber" type="xsd:string"/>
          <xsd:element name="traderName" type="xsd:string" minOccurs="0" maxOccurs="1"/>
          <xsd:element name="traderCompanyType" type="tns1:companyTypeCode" minOccurs="0" maxOccurs="1"/>
          <xsd:element name="traderStreet" type="xsd:string" minOccurs="0" maxOccurs="1"/>
          <xsd:element name="traderPostcode" type="xsd:string" minOccurs="0" maxOccurs="1"/>
          <xsd:element name="traderCity" type="xsd:string" minOccurs="0" maxOccurs="1"/>
          <xsd:element name="requesterCountryCode" type="xsd:string" minOccurs="0" maxOccurs="1"/>
          <xsd:element name="requesterVatNumber" type="xsd:string" minOccurs="0" maxOccurs="1"/>
        </xsd:sequence></xsd:complexType>
      </xsd:element>
      <xsd:element name="checkVatApproxResponse">
        <xsd:complexType><xsd:sequence>
          <xsd:element name="countryCode" type="xsd:string"/>
          <xsd:element name="vatNumber" type="xsd:string"/>
          <xsd:element name="requestDate" type="xsd:date"/>
          <xsd:element name="valid" type="xsd:boolean"/>
          <xsd:element name="traderName" type="xsd:string" minOccurs="0" maxOccurs="1" nillable="true"/>
          <xsd:element name="traderCompanyType" type="tns1:companyTypeCode" minOccurs="0" maxOccurs="1"
              nillable="true"/>
          <xsd:element name="traderAddress" type="xsd:string" minOccurs="0" maxOccurs="1"/>
          <xsd:element name="traderStreet" type="xsd:string" minOccurs="0" maxOccurs="1"/>
          <xsd:element name="traderPostcode" type="xsd:string" minOccurs="0" maxOccurs="1"/>
          <xsd:element name="traderCity" type="xsd:string" minOccurs="0" maxOccurs="1"/>
          <xsd:element name="traderNameMatch" type="tns1:matchCode" minOccurs="0" maxOccurs="1"/>
          <xsd:element name="traderCompanyTypeMatch" type="tns1:matchCode" minOccurs="0" maxOccurs="1"/>
          <xsd:element name="traderStreetMatch" type="tns1:matchCode" minOccurs="0" maxOccurs="1"/>
          <xsd:element name="traderPostcodeMatch" type="tns1:matchCode" minOccurs="0" maxOccurs="1"/>
          <xsd:element name="traderCityMatch" type="tns1:matchCode" minOccurs="0" maxOccurs="1"/>
          <xsd:element name="requestIdentifier" type="xsd:string"/>
        </xsd:sequence></xsd:complexType>
      </xsd:element>
      <xsd:simpleType name="companyTypeCode">
        <xsd:restriction base="xsd:string"><xsd:pattern value="[A-Z]{2}\\-[1-9][0-9]?"/></xsd:restriction>
      </xsd:simpleType>
      <xsd:simpleType name="matchCode">
        <xsd:restriction base="xsd:string">
          <xsd:enumeration value="1"/><!-- VALID -->
          <xsd:enumeration value="2"/><!-- INVALID -->
          <xsd:enumeration value="3"/><!-- NOT_PROCESSED -->
        </xsd:restriction>
      </xsd:simpleType>
    </xsd:schema>"""


def _operation(name: str, binding: bool) -> str:
    if binding:
        return (f'    <wsdl:operation name="{name}">\n'
                '      <soap:operation soapAction=""/>\n'
                f'      <wsdl:input name="{name}Request"><soap:body use="literal"/></wsdl:input>\n'
                f'      <wsdl:output name="{name}Response"><soap:body use="literal"/></wsdl:output>\n'
                '    </wsdl:operation>\n')
    return (f'    <wsdl:operation name="{name}">\n'
            f'      <wsdl:input name="{name}Request" message="impl:{name}Request"/>\n'
            f'      <wsdl:output name="{name}Response" message="impl:{name}Response"/>\n'
            '    </wsdl:operation>\n')


def build_wsdl(service: str, location: str) -> bytes:
    """Our WSDL for ``checkVatService`` or ``checkVatTestService``, answering at ``location``."""
    binding = "checkVatTestBinding" if service == "checkVatTestService" else "checkVatBinding"
    operations = ("checkVat", "checkVatApprox")
    messages = "".join(
        f'  <wsdl:message name="{op}{kind}">\n'
        f'    <wsdl:part name="parameters" element="tns1:{op}{"" if kind == "Request" else "Response"}"/>\n'
        '  </wsdl:message>\n'
        for op in operations for kind in ("Request", "Response"))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<wsdl:definitions targetNamespace="{SERVICE_NS}" xmlns:impl="{SERVICE_NS}"\n'
        f'    xmlns:tns1="{TYPES_NS}" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"\n'
        '    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:xsd="http://www.w3.org/2001/XMLSchema">\n'
        '  <wsdl:documentation>koppelsim: a simulator of the EU VIES VAT number check '
        '(checkVat, checkVatApprox).</wsdl:documentation>\n'
        f'  <wsdl:types>\n{_TYPES}\n  </wsdl:types>\n'
        f'{messages}'
        '  <wsdl:portType name="checkVatPortType">\n'
        + "".join(_operation(op, binding=False) for op in operations) +
        '  </wsdl:portType>\n'
        f'  <wsdl:binding name="{binding}" type="impl:checkVatPortType">\n'
        '    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>\n'
        + "".join(_operation(op, binding=True) for op in operations) +
        '  </wsdl:binding>\n'
        f'  <wsdl:service name="{service}">\n'
        f'    <wsdl:port name="checkVatPort" binding="impl:{binding}">\n'
        f'      <soap:address location={quoteattr(location)}/>\n'
        '    </wsdl:port>\n'
        '  </wsdl:service>\n'
        '</wsdl:definitions>\n'
    ).encode("utf-8")


_ADDRESS = re.compile(rb"""(<(?:[\w.-]+:)?address\b[^>]*?\blocation\s*=\s*)(["'])[^"']*\2""")


def load_wsdl(path: str | Path, location: str) -> bytes:
    """A WSDL file from ``path`` (e.g. the official one), with every soap:address pointing at ``location``.

    It is parsed first with the safe parser, so a file with a DOCTYPE or entities is refused here too."""
    data = Path(path).read_bytes()
    parse_xml(data, max_bytes=MAX_WSDL_BYTES, what=f"WSDL file {path}")
    return _ADDRESS.sub(lambda m: m.group(1) + quoteattr(location).encode(), data)
