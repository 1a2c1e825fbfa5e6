"""koppelsim's HTTP serving stack answering a static stub, as WireMock does: the third pair of the HTTP benchmark.

The Twinfield pair of bench/http.py compares a stateful booking (parse, check, store, answer) with WireMock
returning fixed bytes, so its ratio mixes two things: how fast the serving stack is, and what the booking
costs. This process runs the very listener every koppelsim HTTP simulator uses (simulators/core/httpserver.py,
connection threads on one CPU as in ``koppelsim sim``) with an app that reads the request body and answers
with the stub's bytes and headers: against WireMock's figure in the same run, that ratio is the serving
stack's alone.

Run as ``python -m bench.static_http PORT BODY_FILE HEADERS_JSON``; it serves until SIGTERM.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path
from typing import Callable, Iterable

from simulators.core.httpserver import HTTPListener

HOST = "127.0.0.1"


def static_app(body: bytes, headers: list[tuple[str, str]]) -> Callable[[dict, Callable], Iterable[bytes]]:
    """A WSGI app that reads the request (as a simulator must) and answers ``body`` with ``headers``."""
    def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
        environ["wsgi.input"].read()
        start_response("200 OK", headers)
        return [body]
    return app


def main(argv: list[str]) -> int:
    port, body_file, headers_json = int(argv[0]), Path(argv[1]), argv[2]
    headers = [(str(name), str(value)) for name, value in json.loads(headers_json)]
    listener = HTTPListener("static", HOST, port, static_app(body_file.read_bytes(), headers), one_cpu=True)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):  # started in the background, SIGINT may be ignored
        signal.signal(signum, lambda *_: stop.set())
    listener.start()
    print(f"serving {body_file.name} on {listener.url}", flush=True)
    stop.wait()
    listener.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
