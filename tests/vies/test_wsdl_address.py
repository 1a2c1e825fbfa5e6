"""The WSDL's soap:address over raw sockets: the host a client reached us by, or the listener's own address when
its Host header is no host[:port]; and HEAD on every WSDL path answers like GET without the body."""

from __future__ import annotations

import socket

import pytest
from lxml import etree

BASE = "/taxation_customs/vies"
TIMEOUT = 10
WSDL_PATHS = [f"{BASE}/checkVatService.wsdl", f"{BASE}/checkVatTestService.wsdl",
              f"{BASE}/services/checkVatService?wsdl", f"{BASE}/services/checkVatTestService?WSDL"]


def exchange(vies, method: str, path: str, host: str | None) -> tuple[bytes, dict[str, str], bytes]:
    """One raw request; (status line, headers, body)."""
    endpoint = vies.runtime.endpoint("vies-soap")
    head = f"{method} {path} HTTP/1.1\r\n" + (f"Host: {host}\r\n" if host is not None else "") + \
        "Connection: close\r\n\r\n"
    with socket.create_connection((endpoint.host, endpoint.port), timeout=TIMEOUT) as sock:
        sock.sendall(head.encode("latin-1"))
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    top, _, body = answer.partition(b"\r\n\r\n")
    status, *lines = top.split(b"\r\n")
    headers = {k.decode().lower(): v.decode().strip() for k, _, v in (line.partition(b":") for line in lines)}
    return status, headers, body


def address_of(wsdl: bytes) -> str:
    found = etree.fromstring(wsdl).find(".//{http://schemas.xmlsoap.org/wsdl/soap/}address")
    return found.get("location")


@pytest.mark.parametrize("host", ["", "a b", "x@y", "host:port", "[::1", "ex/ample", "a:1:2", "h:99999", "-x-",
                                  "..", "h:", None])
def test_a_malformed_host_header_gives_the_listeners_own_address(vies, host):
    endpoint = vies.runtime.endpoint("vies-soap")
    status, _, body = exchange(vies, "GET", f"{BASE}/checkVatService.wsdl", host)
    assert status.startswith(b"HTTP/1.1 200"), status
    assert address_of(body) == f"http://{endpoint.host}:{endpoint.port}{BASE}/services/checkVatService"


@pytest.mark.parametrize("host", ["vies.example:8443", "localhost", "[::1]:8080", "10.0.0.7:8080"])
def test_a_good_host_header_is_the_address(vies, host):
    _, _, body = exchange(vies, "GET", f"{BASE}/checkVatTestService.wsdl", host)
    assert address_of(body) == f"http://{host}{BASE}/services/checkVatTestService"


def test_the_index_page_names_the_listeners_own_address_too(vies):
    endpoint = vies.runtime.endpoint("vies-soap")
    _, _, body = exchange(vies, "GET", "/", "a b")
    assert f"http://{endpoint.host}:{endpoint.port}{BASE}/services/checkVatService".encode() in body


@pytest.mark.parametrize("path", WSDL_PATHS)
def test_head_of_a_wsdl_is_its_get_without_the_body(vies, path):
    host = "vies.example"
    got_status, got_headers, got = exchange(vies, "GET", path, host)
    head_status, head_headers, nothing = exchange(vies, "HEAD", path, host)
    assert got_status.startswith(b"HTTP/1.1 200") and head_status == got_status
    assert head_headers["content-type"] == got_headers["content-type"] == "text/xml; charset=utf-8"
    assert head_headers["content-length"] == str(len(got)) and nothing == b""
