"""The HTTP listener's wire behaviour beyond the basics: keep-alive and pipelining, ``Expect: 100-continue``,
HEAD, HTTP/1.0, bad requests, a crashing app, the drop hook, and HTTPS with the simulators' certificate."""

from __future__ import annotations

import socket
import ssl

import pytest
import requests

from simulators.core.clock import VirtualClock
from simulators.core.httpserver import DROP, HTTPListener, https_context
from simulators.core.tls import ensure_tls

TIMEOUT = 5  # real seconds, for real I/O only


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/crash":
        raise RuntimeError("a bug in the app")
    if path == "/unwritable":  # a header value HTTP cannot carry: the listener fails to write the answer
        start_response("200 OK", [("X-Price", "\u20ac 5")])
        return [b"never sent"]
    if path == "/drop":
        environ[DROP] = True
        start_response("200 OK", [])
        return [b"never sent"]
    body = environ["wsgi.input"].read()
    reply = f"{environ['REQUEST_METHOD']} {path} {environ['QUERY_STRING']} {len(body)} " \
            f"{environ['wsgi.url_scheme']} {environ.get('HTTP_X_TWICE', '')}".encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [reply]


@pytest.fixture
def listener(serving):
    server = HTTPListener("test-http-wire", "127.0.0.1", 0, app, max_body_bytes=100, answer_on_loop=serving)
    server.start()
    yield server
    server.stop()


def raw(listener: HTTPListener, data: bytes, until_closed: bool = True) -> bytes:
    with socket.create_connection((listener.host, listener.port), timeout=TIMEOUT) as conn:
        conn.sendall(data)
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
            if not until_closed:
                break
        return received


def test_one_connection_carries_many_requests(listener):
    with requests.Session() as session:
        answers = [session.get(f"{listener.url}/n/{i}", timeout=TIMEOUT).text for i in range(5)]
        assert answers == [f"GET /n/{i}  0 http " for i in range(5)]
        assert listener.open_connections == 1  # kept alive, not one connection per request


def test_pipelined_requests_are_answered_in_order(listener):
    data = raw(listener, b"GET /a?x=1 HTTP/1.1\r\nHost: h\r\n\r\n"
                         b"POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
                         b"GET /c HTTP/1.1\r\nHost: h\r\nX-Twice: 1\r\nX-Twice: 2\r\nConnection: close\r\n\r\n")
    assert data.count(b"HTTP/1.1 200 OK") == 3
    assert data.index(b"GET /a x=1 0") < data.index(b"POST /b  3") < data.index(b"GET /c  0 http 1,2")
    assert data.rstrip().endswith(b"GET /c  0 http 1,2") and b"Connection: close" in data


def test_expect_100_continue_is_answered_before_the_body(listener):
    with socket.create_connection((listener.host, listener.port), timeout=TIMEOUT) as conn:
        conn.sendall(b"POST /e HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        assert conn.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        conn.sendall(b"body")
        assert conn.recv(1000).startswith(b"HTTP/1.1 200 OK")
    too_large = raw(listener, b"POST /e HTTP/1.1\r\nHost: h\r\nContent-Length: 101\r\nExpect: 100-continue\r\n\r\n")
    assert too_large.startswith(b"HTTP/1.1 413 ") and b"100 Continue" not in too_large


def test_head_has_no_body_and_http_1_0_is_closed_after_the_answer(listener):
    head = raw(listener, b"HEAD /h HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK") and head.endswith(b"\r\n\r\n")
    old = raw(listener, b"GET /old HTTP/1.0\r\n\r\n")
    assert b"Connection: close" in old and old.endswith(b"GET /old  0 http ")


def test_garbage_gets_400_and_a_crashing_app_500_and_serving_goes_on(listener):
    assert raw(listener, b"NOT HTTP AT ALL\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    crash = requests.get(listener.url + "/crash", timeout=TIMEOUT)
    assert crash.status_code == 500 and "a bug" not in crash.text  # no traceback on the wire
    assert requests.get(listener.url + "/after", timeout=TIMEOUT).status_code == 200


def test_an_answer_the_listener_cannot_write_ends_that_connection_only(listener, caplog):
    assert raw(listener, b"GET /unwritable HTTP/1.1\r\nHost: h\r\n\r\n") == b""
    assert "serving a connection failed" in caplog.text
    assert requests.get(listener.url + "/fine", timeout=TIMEOUT).status_code == 200


def test_the_drop_hook_closes_the_connection_without_an_answer(listener):
    assert raw(listener, b"GET /drop HTTP/1.1\r\nHost: h\r\n\r\n") == b""
    with pytest.raises(requests.ConnectionError):
        requests.get(listener.url + "/drop", timeout=TIMEOUT)
    assert requests.get(listener.url + "/fine", timeout=TIMEOUT).status_code == 200


def test_https_with_the_simulators_certificate(tmp_path, serving):
    """Also when the event loop is asked for: TLS connections get threads of their own."""
    files = ensure_tls(tmp_path / "tls")
    server = HTTPListener("test-https", "127.0.0.1", 0, app, tls=https_context(files), answer_on_loop=serving)
    server.start()
    try:
        assert server.url.startswith("https://127.0.0.1:")
        answer = requests.post(server.url + "/s", data=b"xyz", verify=str(files.ca_cert), timeout=TIMEOUT)
        assert answer.status_code == 200 and answer.text == "POST /s  3 https "
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(server.url + "/untrusted", timeout=TIMEOUT)  # not the system's CAs
        with socket.create_connection((server.host, server.port), timeout=TIMEOUT) as plain:
            plain.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")  # plain HTTP to the TLS port: closed
            try:
                answered = plain.recv(100)
            except ConnectionResetError:
                answered = b""
            assert not answered.startswith(b"HTTP/")
        assert requests.get(server.url + "/still", verify=str(files.ca_cert), timeout=TIMEOUT).status_code == 200
    finally:
        server.stop()
    with pytest.raises((ssl.SSLError, OSError)):
        socket.create_connection((server.host, server.port), timeout=1).close()


def test_an_endless_request_head_is_refused(listener):
    answer = raw(listener, b"GET /" + b"x" * 70_000 + b" HTTP/1.1\r\nHost: h\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert requests.get(listener.url + "/after", timeout=TIMEOUT).status_code == 200


def test_an_upgrade_is_declined_by_answering_in_http_1_1_with_the_body_read(listener):
    """What ``curl --http2`` sends to an http:// URL: the request is served as HTTP/1.1, body and all."""
    answer = raw(listener, b"POST /up HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                           b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\nContent-Length: 3\r\n\r\nabc")
    assert answer.startswith(b"HTTP/1.1 200 OK") and answer.endswith(b"POST /up  3 http ")
    assert b"Connection: close" in answer


def test_the_date_header_tells_the_simulators_time_also_after_time_travel(serving):
    clock = VirtualClock("2026-11-20T08:00:00Z")
    server = HTTPListener("test-http-date", "127.0.0.1", 0, app, clock=clock, answer_on_loop=serving)
    server.start()
    try:
        assert requests.get(f"{server.url}/", timeout=TIMEOUT).headers["Date"] == "Fri, 20 Nov 2026 08:00:00 GMT"
        clock.advance("26h")
        assert requests.get(f"{server.url}/", timeout=TIMEOUT).headers["Date"] == "Sat, 21 Nov 2026 10:00:00 GMT"
    finally:
        server.stop()
