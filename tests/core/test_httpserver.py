"""The HTTP listener over real sockets: port 0, start/stop, the body limit (declared and chunked),
keep-alive connections closed on stop, and a server that keeps serving after a refusal."""

from __future__ import annotations

import socket
import threading

import pytest
import requests

from simulators.core.httpserver import HTTPListener

TIMEOUT = 5  # real seconds, for real I/O only


def echo_app(environ, start_response):
    """Answers with the method, the path and the body it read."""
    body = environ["wsgi.input"].read()
    reply = f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']} {len(body)}\n".encode() + body
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(reply)))])
    return [reply]


@pytest.fixture
def listener(serving):
    server = HTTPListener("test-http", "127.0.0.1", 0, echo_app, max_body_bytes=1000, answer_on_loop=serving)
    server.start()
    yield server
    server.stop()


def test_port_0_binds_a_free_port_and_serves(listener):
    assert listener.port > 0 and listener.host == "127.0.0.1"
    assert listener.url == f"http://127.0.0.1:{listener.port}"
    response = requests.post(listener.url + "/x/y", data=b"hello", timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.content == b"POST /x/y 5\nhello"


def test_a_declared_body_over_the_limit_gets_413_unread_and_the_server_keeps_serving(listener):
    response = requests.post(listener.url + "/", data=b"x" * 1001, timeout=TIMEOUT)
    assert response.status_code == 413
    assert response.headers["Connection"] == "close"  # the unread body cannot be followed by a request
    assert b"larger than 1000 bytes" in response.content
    exact = requests.post(listener.url + "/", data=b"x" * 1000, timeout=TIMEOUT)
    assert exact.status_code == 200 and exact.content.startswith(b"POST / 1000\n")


def test_a_chunked_body_growing_past_the_limit_gets_413(listener):
    def chunks():
        for _ in range(50):
            yield b"y" * 100

    response = requests.post(listener.url + "/chunked", data=chunks(), timeout=TIMEOUT)
    assert response.status_code == 413
    small = requests.post(listener.url + "/chunked", data=iter([b"ab", b"cd"]), timeout=TIMEOUT)
    assert small.status_code == 200 and small.content == b"POST /chunked 4\nabcd"


def test_a_lie_about_the_length_is_not_trusted(listener):
    """Content-Length says 10, the client sends 2000 bytes: the app sees 10 (werkzeug limits the read);
    what follows is not taken as a second request that bypasses the limit."""
    with socket.create_connection((listener.host, listener.port), timeout=TIMEOUT) as conn:
        conn.sendall(b"POST /lie HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nConnection: close\r\n\r\n"
                     + b"z" * 2000)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200")
    assert b"POST /lie 10\n" in data


def test_stop_twice_releases_the_port_and_closes_connections_still_open(serving):
    server = HTTPListener("test-http-stop", "127.0.0.1", 0, echo_app, answer_on_loop=serving)
    server.start()
    server.start()  # harmless
    assert requests.get(server.url + "/before", timeout=TIMEOUT).text == "GET /before 0\n"
    idle = socket.create_connection((server.host, server.port), timeout=TIMEOUT)  # connects, sends nothing
    idle.sendall(b"GET /half")  # a request line never finished: its handler thread waits for the rest
    server.stop()
    assert not server.running
    server.stop()  # and so is stopping twice
    try:
        assert idle.recv(100) == b""  # closed by the stop, not left hanging with a live handler thread
    except ConnectionResetError:
        pass
    finally:
        idle.close()
    with pytest.raises(OSError):
        socket.create_connection((server.host, server.port), timeout=1).close()


def test_a_port_in_use_fails_at_once():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError):
            HTTPListener("test-http-clash", "127.0.0.1", taken.getsockname()[1], echo_app)


@pytest.mark.parametrize("answer_on_loop", [None, lambda: False], ids=["threads", "loop-hands-over"])
def test_requests_are_served_concurrently(answer_on_loop):
    """A slow request does not hold up another: on a thread per connection, and on the event loop when it
    says an answer may wait (the connection is handed to a thread of its own)."""
    entered, release = threading.Event(), threading.Event()

    def slow_app(environ, start_response):
        if environ["PATH_INFO"] == "/slow":
            entered.set()
            release.wait(TIMEOUT)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ["PATH_INFO"].encode()]

    server = HTTPListener("test-http-slow", "127.0.0.1", 0, slow_app, answer_on_loop=answer_on_loop)
    server.start()
    try:
        results = {}
        worker = threading.Thread(target=lambda: results.setdefault(
            "slow", requests.get(server.url + "/slow", timeout=TIMEOUT).text))
        worker.start()
        assert entered.wait(TIMEOUT)
        assert requests.get(server.url + "/fast", timeout=TIMEOUT).text == "/fast"
        release.set()
        worker.join(TIMEOUT)
        assert results == {"slow": "/slow"}
    finally:
        release.set()
        server.stop()


def test_max_body_must_be_positive():
    with pytest.raises(ValueError, match="max_body_bytes must be positive"):
        HTTPListener("bad", "127.0.0.1", 0, echo_app, max_body_bytes=0)


def _affinity_app(environ, start_response):
    """Answers with the CPUs the thread serving this request may run on."""
    import os

    reply = ",".join(str(cpu) for cpu in sorted(os.sched_getaffinity(0))).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(reply)))])
    return [reply]


@pytest.mark.parametrize("one_cpu", [True, False])
def test_connection_threads_share_one_cpu_only_when_asked(one_cpu, serving):
    import os

    from simulators.core.affinity import shared_cpu

    if not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2:
        pytest.skip("pinning needs Linux and at least two CPUs to choose from")
    server = HTTPListener("test-http-cpu", "127.0.0.1", 0, _affinity_app, one_cpu=one_cpu, answer_on_loop=serving)
    server.start()
    try:
        with requests.Session() as session:  # two requests on one kept-alive connection, and a second one
            answers = [session.get(server.url + "/", timeout=TIMEOUT).text for _ in range(2)]
        answers.append(requests.get(server.url + "/", timeout=TIMEOUT, headers={"Connection": "close"}).text)
    finally:
        server.stop()
    everything = ",".join(str(cpu) for cpu in sorted(os.sched_getaffinity(0)))
    assert answers == [str(shared_cpu()) if one_cpu else everything] * 3
    assert ",".join(str(cpu) for cpu in sorted(os.sched_getaffinity(0))) == everything  # the test's thread: free


def test_the_shared_cpu_is_the_one_the_first_connection_ran_on(monkeypatch):
    import os

    from simulators.core import affinity

    if not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2:
        pytest.skip("pinning needs Linux and at least two CPUs to choose from")
    allowed = sorted(os.sched_getaffinity(0))
    assert affinity._current_cpu() in allowed  # what /proc says for the calling thread
    monkeypatch.setattr(affinity, "_chosen", [])  # as in a fresh process
    monkeypatch.setattr(affinity, "_current_cpu", lambda: allowed[-1])
    assert affinity.shared_cpu() == allowed[-1]  # not always the lowest: processes side by side spread out
    monkeypatch.setattr(affinity, "_chosen", [])
    monkeypatch.setattr(affinity, "_current_cpu", lambda: None)  # unknown: the lowest allowed
    assert affinity.shared_cpu() == allowed[0]


def test_an_answer_without_a_body_carries_no_content_length_whatever_the_app_said(serving):
    """RFC 9110 8.6: no Content-Length on a 204 (or 304); an app's header saying 0 is dropped on the wire."""
    def app(environ, start_response):
        start_response("204 No Content", [("Content-Length", "0"), ("X-Seen", "yes")])
        return [b""]

    served = HTTPListener("nobody", "127.0.0.1", 0, app, answer_on_loop=serving)
    served.start()
    try:
        with socket.create_connection((served.host, served.port), timeout=5) as sock:
            sock.sendall(b"DELETE /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            head = b""
            while chunk := sock.recv(4096):
                head += chunk
    finally:
        served.stop()
    assert head.startswith(b"HTTP/1.1 204 ") and b"X-Seen: yes" in head
    assert b"content-length" not in head.lower()
