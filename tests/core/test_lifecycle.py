"""A lifecycle object per server: start waits until ready, a failure in the server thread reaches the
caller, stopping twice is harmless."""

from __future__ import annotations

import socket
import threading

import pytest

from simulators.core.lifecycle import Endpoint, ServerThread


def test_endpoint_as_dict_lists_every_field():
    ep = Endpoint(name="x-ftp", simulator="x", protocol="ftp", host="127.0.0.1", port=2121, tls="explicit",
                  url="ftp://127.0.0.1:2121/", notes="n", credentials=[{"user": "u", "password": "p"}])
    assert ep.as_dict() == {"name": "x-ftp", "simulator": "x", "protocol": "ftp", "host": "127.0.0.1",
                            "port": 2121, "tls": "explicit", "url": "ftp://127.0.0.1:2121/", "notes": "n",
                            "credentials": [{"user": "u", "password": "p"}]}
    assert Endpoint("a", "b", "http", "h", 1).as_dict()["tls"] == "none"


def echo_server():
    """A real listener on port 0 whose serve_once accepts (with a short select timeout) and echoes."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.05)

    def serve_once() -> None:
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            return
        with conn:
            conn.sendall(conn.recv(100))

    return listener, serve_once


def test_start_serve_and_stop_twice_releases_the_port():
    listener, serve_once = echo_server()
    port = listener.getsockname()[1]
    thread = ServerThread("echo", serve_once, listener.close)
    thread.start()
    thread.start()  # starting twice is harmless
    assert thread.running
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(b"ping")
        assert conn.recv(100) == b"ping"
    thread.stop()
    assert not thread.running
    thread.stop()  # and so is stopping twice
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_a_failure_in_the_server_thread_is_raised_in_the_caller_of_stop():
    go = threading.Event()

    def serve_once() -> None:
        go.wait(5)  # fail only once start() has returned
        raise OSError("address already in use (simulated)")

    closed: list[bool] = []
    thread = ServerThread("broken", serve_once, lambda: closed.append(True))
    thread.start()
    go.set()
    with pytest.raises(RuntimeError, match=r"broken failed: OSError\('address already in use") as info:
        thread.stop()
    assert isinstance(info.value.__cause__, OSError)
    assert closed == [True]  # shutdown still ran
    thread.stop()  # the error was handed over once; a second stop is quiet


def test_an_immediate_failure_is_raised_exactly_once_by_start_or_stop():
    def serve_once() -> None:
        raise OSError("cannot bind")

    thread = ServerThread("early", serve_once, lambda: None)
    raised = []
    for step in (thread.start, thread.stop, thread.stop):
        try:
            step()
        except RuntimeError as exc:
            raised.append(str(exc))
    assert raised == ["early failed: OSError('cannot bind')"]


def test_a_failing_shutdown_is_reported_too():
    def shutdown() -> None:
        raise ValueError("close failed")

    thread = ServerThread("bad-close", lambda: threading.Event().wait(0.01), shutdown)
    thread.start()
    with pytest.raises(RuntimeError, match="bad-close failed: ValueError"):
        thread.stop()
