"""Fidelity: what the simulator writes, held against real Logius material (``../shared/reference``).

* ``.ok`` / ``.error`` validate against Logius' ``digipoort-koppelvlak-1.xsd`` (OpenSBR) and carry what
  the real conformance environment returned (wus.core ``valid-deliver-response.xml`` and
  ``fault-deliver-response.xml``);
* the recipient's answer is the Belastingdienst ``Responsemessage`` of
  ``statusdetails-500-Responsemessage.xml``;
* a Happyflow submission walks exactly the status sequence of ``valid-newstatus-response.xml``, with the
  real Dutch texts — read from that file, not copied into this test;
* the real VAT return ``VB-01_bd-rpt-ob-aangifte-2021.xbrl`` is accepted.

Everything is driven over FTPS with ``ftplib`` and, for statuses, over the admin HTTP API.
"""

from __future__ import annotations

import ftplib
import hashlib
from datetime import datetime
import io
import json
import urllib.request
from pathlib import Path

import pytest
from lxml import etree

from clients.digipoort.messages import build_meta

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
REFERENCE = SHARED / "reference" / "digipoort"
KV = "http://logius.nl/digipoort/koppelvlakservices/1.2/"
META_NS = "urn:koppelsim:digipoort:ftp-meta:1"
IDENTITY = "001000044B37"


def reference(*parts: str) -> Path:
    path = REFERENCE.joinpath(*parts)
    if not path.is_file():
        pytest.skip(f"reference file {path} is absent (the sibling folder 'shared' is not next to the repo)")
    return path


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def parse(data: bytes) -> etree._Element:
    return etree.fromstring(data, _parser())


@pytest.fixture(scope="module")
def logius_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(reference("OpenSBR", "digipoort-koppelvlak-1.xsd")), _parser()))


def validate(schema: etree.XMLSchema, body: bytes, element: str) -> etree._Element:
    root = parse(body)
    assert root.tag == f"{{{KV}}}{element}", root.tag
    assert schema.validate(root), f"{element} does not validate against the Logius XSD: {schema.error_log}"
    return root


def local_names(parent: etree._Element) -> list[str]:
    return [etree.QName(child).localname for child in parent if isinstance(child.tag, str)]


# -- a submitter over FTPS ----------------------------------------------------------------------------

@pytest.fixture
def ftp(digipoort):
    client = ftplib.FTP_TLS(context=digipoort.ssl_context(), timeout=10)
    client.connect(digipoort.host, digipoort.port)
    client.auth()
    client.login(digipoort.user, digipoort.password)
    client.prot_p()
    yield client
    try:
        client.quit()
    except (OSError, EOFError, ftplib.Error):
        client.close()


def get(ftp: ftplib.FTP, path: str) -> bytes:
    sink = io.BytesIO()
    ftp.retrbinary(f"RETR {path}", sink.write)
    return sink.getvalue()


def out(ftp: ftplib.FTP) -> list[str]:
    return sorted(n.rsplit("/", 1)[-1] for n in ftp.nlst("OUT"))


def submit(ftp: ftplib.FTP, payload: bytes, *, ref: str, berichtsoort: str = "Omzetbelasting",
           aanleverkenmerk: str | None = None) -> tuple[str, bytes]:
    """Data file, then meta file; returns (name, content) of the transport response in OUT."""
    ftp.storbinary(f"STOR IN/{ref}.xbrl", io.BytesIO(payload))
    meta = build_meta(context_id=ref, filename=f"{ref}.xbrl", content_type="application/xml",
                      sha256=hashlib.sha256(payload).hexdigest(), size=len(payload),
                      berichtsoort=berichtsoort,
                      aanleverkenmerk=aanleverkenmerk, eerder_aanleverkenmerk=None, identity_number=IDENTITY,
                      identity_type="Fi", rol="Bedrijf", created="2026-11-20T08:00:00Z")
    ftp.storbinary(f"STOR IN/{ref}.meta", io.BytesIO(meta))
    found = [n for n in out(ftp) if n.startswith(f"{ref}_")]
    assert len(found) == 1, out(ftp)
    return found[0], get(ftp, f"OUT/{found[0]}")


def vat_return() -> bytes:
    return reference("wus.core", "VB-01_bd-rpt-ob-aangifte-2021.xbrl").read_bytes()


def admin_get(koppelsim, path: str):
    with urllib.request.urlopen(koppelsim.admin_url.rstrip("/") + path, timeout=10) as reply:
        assert reply.status == 200
        return json.loads(reply.read())


# -- the transport response -------------------------------------------------------------------------

def test_ok_is_an_aanleverResponse_valid_against_the_logius_xsd(ftp, logius_schema):
    name, body = submit(ftp, vat_return(), ref="fid-ok", aanleverkenmerk="Happyflow")
    assert name.endswith(".ok")
    kenmerk = name[: -len(".ok")].rsplit("_", 1)[1]
    root = validate(logius_schema, body, "aanleverResponse")

    # The real conformance environment's Happyflow response, element for element.
    real_envelope = parse(reference("wus.core", "valid-deliver-response.xml").read_bytes())
    real = real_envelope.find(f".//{{{KV}}}aanleverResponse")
    ours = local_names(root)
    expected_order = [n for n in local_names(real) if n != "autorisatieAdres"]  # we sent none
    assert [n for n in ours if n in expected_order] == expected_order
    q = f"{{{KV}}}"
    assert root.findtext(q + "kenmerk") == kenmerk
    assert root.findtext(q + "berichtsoort") == real.findtext(q + "berichtsoort") == "Omzetbelasting"
    assert root.findtext(q + "aanleverkenmerk") == real.findtext(q + "aanleverkenmerk") == "Happyflow"
    assert root.findtext(f"{q}identiteitBelanghebbende/{q}nummer") == IDENTITY
    assert root.findtext(q + "rolBelanghebbende") == real.findtext(q + "rolBelanghebbende")
    for field in ("nummer", "type"):  # the Belastingdienst's OIN, as in the real response
        assert root.findtext(f"{q}identiteitOntvanger/{q}{field}") == \
            real.findtext(f"{q}identiteitOntvanger/{q}{field}")


def test_error_is_an_aanleverFault_valid_against_the_logius_xsd(ftp, logius_schema):
    name, body = submit(ftp, vat_return(), ref="fid-err", aanleverkenmerk="AanleverFault")
    assert name.endswith(".error")
    root = validate(logius_schema, body, "aanleverFault")
    real_envelope = parse(reference("wus.core", "fault-deliver-response.xml").read_bytes())
    real = real_envelope.find(f".//{{{KV}}}aanleverFault")
    assert local_names(root) == local_names(real) == ["foutcode", "foutbeschrijving"]
    assert root.findtext(f"{{{KV}}}foutcode") == real.findtext(f"{{{KV}}}foutcode") == "ALS100"
    ours = " ".join(root.findtext(f"{{{KV}}}foutbeschrijving").split())
    assert ours.startswith(" ".join(real.findtext(f"{{{KV}}}foutbeschrijving").split()))


def test_every_refusal_code_is_a_valid_aanleverFault(ftp, logius_schema):
    """Not only the stub: a real check failing (ALS120 here) writes a schema-valid fault too."""
    payload = vat_return()
    ftp.storbinary("STOR IN/fid-sum.xbrl", io.BytesIO(payload))
    meta = build_meta(context_id="fid-sum", filename="fid-sum.xbrl", content_type="application/xml",
                      sha256=hashlib.sha256(b"other").hexdigest(), size=len(payload),
                      berichtsoort="Omzetbelasting",
                      aanleverkenmerk=None, eerder_aanleverkenmerk=None, identity_number=IDENTITY,
                      identity_type="Fi", rol="Bedrijf", created="2026-11-20T08:00:00Z")
    ftp.storbinary("STOR IN/fid-sum.meta", io.BytesIO(meta))
    (name,) = [n for n in out(ftp) if n.startswith("fid-sum_")]
    root = validate(logius_schema, get(ftp, f"OUT/{name}"), "aanleverFault")
    assert root.findtext(f"{{{KV}}}foutcode") == "ALS120"


# -- the recipient's answer ---------------------------------------------------------------------------

def test_answer_to_an_accepted_vat_return_is_the_real_Responsemessage(ftp, koppelsim):
    name, ok = submit(ftp, vat_return(), ref="fid-answer", aanleverkenmerk="Happyflow")
    kenmerk = name[: -len(".ok")].rsplit("_", 1)[1]
    assert kenmerk not in out(ftp)
    koppelsim.advance("15m")
    assert {kenmerk, f"{kenmerk}.meta"} <= set(out(ftp))
    answer = get(ftp, f"OUT/{kenmerk}")
    ours = parse(answer)
    real = parse(reference("wus.core", "statusdetails-500-Responsemessage.xml").read_bytes())

    assert ours.tag == real.tag == "Responsemessage"
    assert ours.get("version") == real.get("version") == "2006.1"
    assert local_names(ours) == local_names(real) == ["Identification", "Specification"]
    assert local_names(ours.find("Identification")) == local_names(real.find("Identification"))
    assert ours.findtext("Identification/ResponseType") == real.findtext("Identification/ResponseType") \
        == "acknowledgement"
    for field in ("Class", "Code", "Description"):
        assert ours.findtext(f"Specification/{field}") == real.findtext(f"Specification/{field}")
    assert (ours.findtext("Specification/Class"), ours.findtext("Specification/Code"),
            ours.findtext("Specification/Description")) == ("A", "0001", "Status: Verwerkbaar")
    # MessageId is the submitter's aanleverkenmerk, RefersToMessageId Digipoort's process kenmerk.
    assert ours.findtext("Identification/MessageId") == "Happyflow"
    assert ours.findtext("Identification/RefersToMessageId") == kenmerk
    # DatumTijdOntvangst: when the recipient received the return (delivered at transport, the .ok's
    # moment), not when it answered 15 minutes later; with a local offset like the sample's +02:00.
    received = ours.findtext("Identification/DatumTijdOntvangst")
    delivered = parse(ok).xpath("string(//*[local-name()='tijdstempelAangeleverd'])")
    assert received[-6:] in ("+01:00", "+02:00"), received
    assert datetime.fromisoformat(received) == datetime.fromisoformat(delivered.replace("Z", "+00:00")) \
        .replace(microsecond=0)

    # Seed 001 step 3: the meta file next to the answer names its original file and describes it.
    meta = parse(get(ftp, f"OUT/{kenmerk}.meta"))
    q = f"{{{META_NS}}}"
    content = meta.find(f"{q}data-reference/{q}content")
    assert content.findtext(q + "filename").endswith(".xml")
    assert content.findtext(q + "filename") != kenmerk
    assert int(content.findtext(q + "size")) == len(answer)
    assert content.find(q + "checksum").get("type") == "SHA256"
    assert content.findtext(q + "checksum") == hashlib.sha256(answer).hexdigest()


def test_happyflow_status_sequence_equals_the_real_one(ftp, koppelsim):
    envelope = parse(reference("wus.core", "valid-newstatus-response.xml").read_bytes())
    real = [(int(r.findtext(f"{{{KV}}}statuscode")), r.findtext(f"{{{KV}}}statusomschrijving"))
            for r in envelope.iter(f"{{{KV}}}StatusResultaat")]
    # The reference file holds the real happy path (SPEC §2.3).
    assert [code for code, _ in real] == [105, 100, 110, 200, 301, 301, 405, 400, 500]

    name, _ = submit(ftp, vat_return(), ref="fid-status", aanleverkenmerk="Happyflow")
    kenmerk = name[: -len(".ok")].rsplit("_", 1)[1]
    before = admin_get(koppelsim, f"/api/digipoort/submissions/{kenmerk}/statuses")
    # Everything up to 400 comes with the .ok; 500 comes with the recipient's answer.
    assert [(s["statuscode"], s["statusomschrijving"]) for s in before] == real[:-1]

    koppelsim.advance("15m")
    statuses = admin_get(koppelsim, f"/api/digipoort/submissions/{kenmerk}/statuses")
    assert [(s["statuscode"], s["statusomschrijving"]) for s in statuses] == real
    stamps = [s["tijdstempelStatus"] for s in statuses]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert all(s["foutcode"] is None for s in statuses)
    # The admin API's full view and the status view agree.
    submission = admin_get(koppelsim, f"/api/digipoort/submissions/{kenmerk}")
    assert submission["statuscode"] == 500 and submission["phase"] == "accepted"
    assert [s["statuscode"] for s in submission["statuses"]] == [code for code, _ in real]


def test_the_real_vat_return_is_accepted_without_a_test_stub(ftp, koppelsim, digipoort):
    payload = vat_return()
    name, body = submit(ftp, payload, ref="vb01", aanleverkenmerk="aangifte-2021-10")
    assert name.endswith(".ok"), body
    kenmerk = name[: -len(".ok")].rsplit("_", 1)[1]
    koppelsim.advance("15m")
    answer = parse(get(ftp, f"OUT/{kenmerk}"))
    assert answer.findtext("Identification/ResponseType") == "acknowledgement", etree.tostring(answer)
    sub = digipoort.model.submission(kenmerk)
    assert sub["phase"] == "accepted" and sub["berichtsoort"] == "Omzetbelasting"
    assert sub["identiteitBelanghebbende"]["nummer"] == IDENTITY
    assert sub["size"] == len(payload)
    assert sub["plan"]["outcome"] == "accepted" and not sub["plan"]["specifications"], sub["plan"]
