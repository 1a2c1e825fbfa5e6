"""The Digipoort simulator driven by the ``curl`` command line — a third-party FTPS client that shares no
code with Python's ftplib (its own TLS stack use, EPSV, its own close_notify behaviour).

Every call is ``curl --ssl-reqd --ftp-pasv --cacert <ca>``, as a developer would type it.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from clients.digipoort.messages import build_meta

CURL = shutil.which("curl")
pytestmark = pytest.mark.skipif(CURL is None, reason="the curl command line client is not installed")
KV = "http://logius.nl/digipoort/koppelvlakservices/1.2/"
CURL_SECONDS = 20  # real time for one curl run


def curl(digipoort, *args: str, tls: bool = True, password: str | None = None) -> subprocess.CompletedProcess:
    command = [CURL, "--silent", "--show-error", "--verbose", "--max-time", "15", "--ftp-pasv",
               "--user", f"{digipoort.user}:{password or digipoort.password}"]
    if tls:
        command += ["--ssl-reqd", "--cacert", digipoort.ca_file]
    return subprocess.run(command + list(args), capture_output=True, timeout=CURL_SECONDS)


def url(digipoort, path: str = "") -> str:
    return f"ftp://{digipoort.host}:{digipoort.port}/{path}"


def ok(result: subprocess.CompletedProcess) -> bytes:
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    return result.stdout


def server_said(result: subprocess.CompletedProcess) -> list[str]:
    """The server's replies, as curl's --verbose shows them (lines starting with '< ')."""
    return [line[2:] for line in result.stderr.decode(errors="replace").splitlines() if line.startswith("< ")]


def listing(digipoort, folder: str) -> list[str]:
    return sorted(ok(curl(digipoort, "--list-only", url(digipoort, f"{folder}/"))).decode().split())


def test_a_whole_submission_with_curl(digipoort, koppelsim, tmp_path):
    payload = b"<aangifte>curl</aangifte>"
    data = tmp_path / "curl1.xml"
    data.write_bytes(payload)
    meta = tmp_path / "curl1.meta"
    meta.write_bytes(build_meta(
        context_id="curl1", filename="curl1.xml", content_type="application/xml",
        sha256=hashlib.sha256(payload).hexdigest(), size=len(payload), berichtsoort="ICP",
        aanleverkenmerk="Happyflow", eerder_aanleverkenmerk=None, identity_number="001000044B37",
        identity_type="Fi", rol="Bedrijf", created="2026-11-20T08:00:00Z"))

    # Data file first, then its meta file (seed 001 step 1).
    result = curl(digipoort, "--upload-file", str(data), url(digipoort, "IN/"))
    ok(result)
    assert any(r.startswith("226") for r in server_said(result))
    assert listing(digipoort, "IN") == ["curl1.xml"]
    ok(curl(digipoort, "--upload-file", str(meta), url(digipoort, "IN/")))

    assert listing(digipoort, "IN") == []
    (response,) = listing(digipoort, "OUT")
    assert response.startswith("curl1_") and response.endswith(".ok")
    kenmerk = response[: -len(".ok")].rsplit("_", 1)[1]
    body = ok(curl(digipoort, url(digipoort, f"OUT/{response}")))
    root = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
    assert root.tag == f"{{{KV}}}aanleverResponse" and root.findtext(f"{{{KV}}}kenmerk") == kenmerk

    koppelsim.advance("15m")
    assert listing(digipoort, "OUT") == sorted([response, kenmerk, f"{kenmerk}.meta"])
    answer = ok(curl(digipoort, url(digipoort, f"OUT/{kenmerk}")))
    assert b"<ResponseType>acknowledgement</ResponseType>" in answer

    # Fetched: the client deletes what it has stored (DELE via curl's quote commands).
    quotes = [arg for name in (response, kenmerk, f"{kenmerk}.meta")
              for arg in ("--quote", f"DELE OUT/{name}")]
    ok(curl(digipoort, *quotes, "--list-only", url(digipoort, "OUT/")))
    assert listing(digipoort, "OUT") == []
    removed = koppelsim.journal.entries(kind="file.removed", match={"folder": "OUT", "reason": "DELE"})
    assert sorted(e["name"] for e in removed) == sorted([response, kenmerk, f"{kenmerk}.meta"])
    assert digipoort.model.submission(kenmerk)["phase"] == "accepted"


def test_curl_without_TLS_is_refused(digipoort):
    result = curl(digipoort, url(digipoort), tls=False)
    assert result.returncode == 67, result.stderr  # CURLE_LOGIN_DENIED
    assert any(r.startswith("550 SSL/TLS required") for r in server_said(result)), server_said(result)
    ok(curl(digipoort, url(digipoort)))


def test_curl_with_a_wrong_password_gets_530(digipoort):
    result = curl(digipoort, url(digipoort), password="not-the-password")
    assert result.returncode == 67, result.stderr
    assert any(r.startswith("530") for r in server_said(result)), server_said(result)
    assert sorted(ok(curl(digipoort, "--list-only", url(digipoort))).decode().split()) == ["IN", "OUT"]


def test_curl_TLS_1_1_is_refused_while_1_2_and_1_3_work(digipoort):
    old = curl(digipoort, "--tlsv1.1", "--tls-max", "1.1", "--ciphers", "DEFAULT:@SECLEVEL=0", url(digipoort))
    if old.returncode == 4 or b"not built with" in old.stderr or b"no protocols available" in old.stderr:
        pytest.skip(f"this curl cannot offer TLS 1.1: {old.stderr[-300:]!r}")
    assert old.returncode == 35, old.stderr  # CURLE_SSL_CONNECT_ERROR
    assert b"protocol version" in old.stderr, old.stderr[-500:]
    for flags, version in ((["--tlsv1.2", "--tls-max", "1.2"], b"TLSv1.2"), (["--tlsv1.3"], b"TLSv1.3")):
        result = curl(digipoort, *flags, url(digipoort))
        ok(result)
        assert b"SSL connection using " + version in result.stderr


@pytest.mark.parametrize("target, code, exit_code, says", [
    ("IN/a%20b.xml", "553", 25, "File name not allowed"),
    ("OUT/x.xml", "550", 25, "Uploads go into IN"),
    ("IN/%2E%2E/OUT/x.xml", "550", 25, "Uploads go into IN"),
], ids=["space-in-name", "into-OUT", "dotdot-into-OUT"])
def test_curl_upload_to_a_forbidden_place_is_refused(digipoort, tmp_path, target, code, exit_code, says):
    source = tmp_path / "x.xml"
    source.write_bytes(b"<x/>")
    result = curl(digipoort, "--upload-file", str(source), url(digipoort, target))
    assert result.returncode == exit_code, result.stderr[-1000:]
    refusals = [r for r in server_said(result) if r.startswith(code)]
    assert refusals and says in refusals[-1], server_said(result)
    assert listing(digipoort, "IN") == [] and listing(digipoort, "OUT") == []


def test_curl_MKD_is_refused_saying_why(digipoort):
    result = curl(digipoort, "--quote", "MKD extra", url(digipoort))
    assert result.returncode == 21, result.stderr  # CURLE_QUOTE_ERROR
    assert any(r.startswith("550") and "folders" in r for r in server_said(result)), server_said(result)
    assert sorted(ok(curl(digipoort, "--list-only", url(digipoort))).decode().split()) == ["IN", "OUT"]


def test_curl_fetches_exactly_the_bytes_written(digipoort, tmp_path):
    """Binary-safe both ways: CR/LF, NUL and high bytes survive curl's upload and download."""
    payload = bytes(range(256)) * 64 + b"\r\n\n\r"
    source = tmp_path / "bin.xml"
    source.write_bytes(payload)
    ok(curl(digipoort, "--upload-file", str(source), url(digipoort, "IN/")))
    target = tmp_path / "back.xml"
    ok(curl(digipoort, "--output", str(target), url(digipoort, "IN/bin.xml")))
    assert Path(target).read_bytes() == payload
