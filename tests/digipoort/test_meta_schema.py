"""The meta-file XSD is ours [CHOSEN] and replaceable: `digipoort.meta_schema` names another file."""

from __future__ import annotations

import hashlib

import pytest

from clients.digipoort.messages import build_meta
from simulators.digipoort.errors import SubmissionRefused
from simulators.digipoort.meta import DEFAULT_SCHEMA, parse_aanlever_meta

DATA = b"<x/>"


def meta(aanleverkenmerk: str | None) -> bytes:
    return build_meta(context_id="r1", filename="x.xml", content_type="application/xml",
                      sha256=hashlib.sha256(DATA).hexdigest(), size=len(DATA), berichtsoort="ICP",
                      aanleverkenmerk=aanleverkenmerk, eerder_aanleverkenmerk=None, identity_number="001000044B37",
                      identity_type="Fi", rol="Bedrijf", created="2026-11-20T08:00:00Z")


def test_the_shipped_schema_takes_a_meta_file_without_aanleverkenmerk():
    parsed = parse_aanlever_meta(meta(None), max_bytes=65536)
    assert (parsed.context_id, parsed.aanleverkenmerk, parsed.size) == ("r1", None, len(DATA))


def test_a_replacement_schema_is_the_one_that_decides(tmp_path):
    stricter = tmp_path / "official.xsd"
    text = DEFAULT_SCHEMA.read_text()
    # A stand-in for "the official schema": here aanleverkenmerk is required.
    stricter.write_text(text.replace('<xs:element name="aanleverkenmerk" type="m:text40" minOccurs="0"/>\n'
                                     '      <xs:element name="eerderAanleverkenmerk"',
                                     '<xs:element name="aanleverkenmerk" type="m:text40"/>\n'
                                     '      <xs:element name="eerderAanleverkenmerk"', 1))
    assert stricter.read_text() != text
    assert parse_aanlever_meta(meta("k1"), max_bytes=65536, schema_path=str(stricter)).aanleverkenmerk == "k1"
    with pytest.raises(SubmissionRefused) as refused:
        parse_aanlever_meta(meta(None), max_bytes=65536, schema_path=str(stricter))
    assert refused.value.fault.code == "ALS100" and "identiteitBelanghebbende" in refused.value.detail


def test_a_schema_for_other_elements_is_refused_at_start(tmp_path):
    from simulators.core.config import config_from_dict
    from simulators.core.errors import ConfigError
    from simulators.core.runtime import Runtime, register_config_sections, settings_for_tests

    other = tmp_path / "other.xsd"
    other.write_text('<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:other">'
                     '<xs:element name="something"/></xs:schema>')
    register_config_sections()
    settings = settings_for_tests()
    settings["digipoort"]["meta_schema"] = str(other)
    with pytest.raises(ConfigError, match="must declare element aanleverMeta in namespace urn:koppelsim"):
        Runtime(config_from_dict({"state_dir": str(tmp_path / "state"), **settings}))
