"""The listener's event loop over real sockets: one thread for many connections, a client that does not
read its answer holds up only itself, pipelined large answers whole and in order, the hand-over to a thread
of its own, idle connections closed, and a client that resets mid-answer."""

from __future__ import annotations

import socket
import threading

import pytest
import requests

from simulators.core import httploop, httpserver
from simulators.core.httpserver import HTTPListener

TIMEOUT = 5  # real seconds, for real I/O only
BIG = 32 * 1024 * 1024  # more than loopback sockets hold for a client that reads nothing: the rest waits


def app(environ, start_response):
    """``/big`` answers BIG bytes (a pattern that shows a lost or reordered piece), anything else its path."""
    path = environ["PATH_INFO"]
    body = _big() if path == "/big" else path.encode()
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return [body]


def _big() -> bytes:
    return b"".join(b"%08d" % block * 512 for block in range(BIG // 4096))  # numbered 4 KB blocks


@pytest.fixture
def loop_listener():
    server = HTTPListener("test-loop", "127.0.0.1", 0, app, answer_on_loop=lambda: True)
    server.start()
    yield server
    server.stop()


def read_answer(stream) -> tuple[bytes, bytes]:
    """One answer from ``stream`` (``sock.makefile("rb")``: pipelined answers may come in one piece):
    its head and its body (by Content-Length)."""
    head = b""
    while (line := stream.readline()) not in (b"\r\n", b""):
        head += line
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
    return head, stream.read(length)


def test_many_connections_are_served_by_one_thread(loop_listener):
    before = threading.active_count()
    sessions = [requests.Session() for _ in range(40)]
    try:
        for round_ in range(2):
            for number, session in enumerate(sessions):
                assert session.get(f"{loop_listener.url}/{number}/{round_}", timeout=TIMEOUT).text == \
                    f"/{number}/{round_}"
        assert loop_listener.open_connections == 40
        assert threading.active_count() == before  # no thread per connection
    finally:
        for session in sessions:
            session.close()


def test_a_client_that_does_not_read_its_answer_holds_up_only_itself(loop_listener):
    with socket.create_connection((loop_listener.host, loop_listener.port), timeout=TIMEOUT) as slow:
        slow.sendall(b"GET /big HTTP/1.1\r\nHost: h\r\n\r\n")  # and reads nothing for now
        for number in range(20):  # others are answered meanwhile
            assert requests.get(f"{loop_listener.url}/other/{number}", timeout=TIMEOUT).text == f"/other/{number}"
        assert any(connection.unsent for connection in loop_listener.loop.served)  # the slow one's answer waits
        head, body = read_answer(slow.makefile("rb"))
        assert head.startswith(b"HTTP/1.1 200 OK")
        assert body == _big()  # whole, every piece in its place


def test_pipelined_large_answers_arrive_whole_and_in_order(loop_listener):
    with socket.create_connection((loop_listener.host, loop_listener.port), timeout=TIMEOUT) as conn:
        conn.sendall(b"GET /big HTTP/1.1\r\nHost: h\r\n\r\nGET /second HTTP/1.1\r\nHost: h\r\n\r\n"
                     b"GET /big HTTP/1.1\r\nHost: h\r\n\r\nGET /last HTTP/1.1\r\nHost: h\r\n\r\n")
        stream = conn.makefile("rb")
        bodies = [read_answer(stream)[1] for _ in range(4)]
    assert bodies[1] == b"/second" and bodies[3] == b"/last"
    assert bodies[0] == bodies[2] == _big()


def test_a_connection_is_handed_to_a_thread_when_the_listener_says_so_and_keeps_its_order():
    on_loop = threading.Event()
    on_loop.set()
    threads_seen: list[str] = []

    def naming_app(environ, start_response):
        threads_seen.append(threading.current_thread().name)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ["PATH_INFO"].encode()]

    server = HTTPListener("test-hand-over", "127.0.0.1", 0, naming_app, answer_on_loop=on_loop.is_set)
    server.start()
    try:
        with socket.create_connection((server.host, server.port), timeout=TIMEOUT) as conn:
            stream = conn.makefile("rb")
            conn.sendall(b"GET /first HTTP/1.1\r\nHost: h\r\n\r\n")
            assert read_answer(stream)[1] == b"/first"
            on_loop.clear()  # from now on an answer may wait: not on the loop
            conn.sendall(b"GET /second HTTP/1.1\r\nHost: h\r\n\r\nGET /third HTTP/1.1\r\nHost: h\r\n\r\n")
            assert [read_answer(stream)[1] for _ in range(2)] == [b"/second", b"/third"]
            on_loop.set()  # a connection handed over stays on its thread
            conn.sendall(b"GET /fourth HTTP/1.1\r\nHost: h\r\n\r\n")
            assert read_answer(stream)[1] == b"/fourth"
        assert threads_seen[0] == "test-hand-over"  # the loop's own thread
        assert threads_seen[1:] == ["test-hand-over-conn"] * 3
        assert requests.get(server.url + "/new", timeout=TIMEOUT).text == "/new"  # a new one: on the loop
        assert threads_seen[-1] == "test-hand-over"
    finally:
        server.stop()


def test_a_silent_connection_is_closed_after_the_idle_time(monkeypatch):
    monkeypatch.setattr(httpserver, "IDLE_SECONDS", 0.3)
    monkeypatch.setattr(httploop, "SWEEP_SECONDS", 0.1)
    server = HTTPListener("test-idle", "127.0.0.1", 0, app, answer_on_loop=lambda: True)
    server.start()
    try:
        with socket.create_connection((server.host, server.port), timeout=TIMEOUT) as silent:
            silent.sendall(b"GET /half")  # a request never finished
            assert silent.recv(100) == b""  # closed by the loop (recv would time out after 5 s otherwise)
        assert server.open_connections == 0
        assert requests.get(server.url + "/after", timeout=TIMEOUT).text == "/after"
    finally:
        server.stop()


def test_a_client_that_resets_mid_answer_does_not_stop_the_loop(loop_listener):
    for _ in range(3):
        conn = socket.create_connection((loop_listener.host, loop_listener.port), timeout=TIMEOUT)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        conn.sendall(b"GET /big HTTP/1.1\r\nHost: h\r\n\r\n")
        conn.recv(1000)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # close = reset
        conn.close()
    assert requests.get(loop_listener.url + "/still", timeout=TIMEOUT).text == "/still"
    assert loop_listener.running


@pytest.mark.parametrize("answer_on_loop", [lambda: True, None], ids=["loop", "threads"])
def test_running_out_of_file_descriptors_pauses_accepting_and_serving_goes_on(answer_on_loop, caplog):
    import logging
    import os
    import resource
    import time

    server = HTTPListener("test-fds", "127.0.0.1", 0, app, answer_on_loop=answer_on_loop)
    server.start()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    kept = socket.create_connection((server.host, server.port), timeout=TIMEOUT)
    stream = kept.makefile("rb")
    kept.sendall(b"GET /before HTTP/1.1\r\nHost: h\r\n\r\n")
    assert read_answer(stream)[1] == b"/before"
    waiting = [socket.socket() for _ in range(3)]  # made now: connecting them needs no new descriptor
    caplog.set_level(logging.WARNING)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(int(fd) for fd in os.listdir("/proc/self/fd")) + 1, hard))
    fillers: list[int] = []
    try:
        while True:  # every descriptor below the limit taken: the listener's accept has none left
            try:
                fillers.append(os.open(os.devnull, os.O_RDONLY))
            except OSError:
                break
        for sock in waiting:  # the kernel completes these; the listener has no descriptor to accept them with
            sock.connect((server.host, server.port))
        time.sleep(0.5)  # real time: what a busy loop would fill with warnings
        kept.sendall(b"GET /during HTTP/1.1\r\nHost: h\r\n\r\n")
        assert read_answer(stream)[1] == b"/during"  # the connection it has is still served
    finally:
        for fd in fillers:
            os.close(fd)
        for sock in waiting:
            sock.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        kept.close()
    failures = [r for r in caplog.records if "accept failed" in r.getMessage()]
    assert 1 <= len(failures) <= 20  # paused between tries, not thousands of warnings a second
    try:
        assert requests.get(server.url + "/after", timeout=TIMEOUT).text == "/after"  # accepting again
    finally:
        server.stop()
