"""An HTTP listener for simulators that speak HTTP (SOAP, REST): a WSGI app on its own thread.

The server behind it is werkzeug's threaded ``make_server``; nothing outside this module knows that, so
it can be swapped for a faster one later. What every HTTP simulator gets from here:

* port 0 binds a free port (``host``/``port`` tell which), a port in use fails at once with ``OSError``;
* start and stop through ``ServerThread`` (ready with a timeout, a failure re-raised, stop twice safe);
* a request body limit: a larger ``Content-Length`` is answered ``413`` without reading the body, and a
  chunked body is cut off with ``413`` as soon as it grows past the limit;
* on stop, connections still open (a client that connected and sends nothing, a request under way) are
  closed too, so no handler thread outlives the listener.
"""

from __future__ import annotations

import io
import logging
import socket
import threading
from typing import Any, Callable, Iterable

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wsgi import LimitedStream

from .lifecycle import ServerThread

__all__ = ["HTTPListener", "DEFAULT_MAX_BODY", "limit_body"]

DEFAULT_MAX_BODY = 1024 * 1024
POLL_SECONDS = 0.05  # how long a stop waits at most for the accept loop to notice
LISTEN_BACKLOG = 128

WSGIApp = Callable[[dict, Callable[..., Any]], Iterable[bytes]]


def _too_large(start_response: Callable[..., Any], limit: int) -> list[bytes]:
    body = f"413 Request Entity Too Large: the body is larger than {limit} bytes.\n".encode()
    # The body was not read, so the connection cannot carry another request: werkzeug closes every
    # connection after its response (another server must be told to, with "Connection: close").
    start_response("413 Request Entity Too Large", [("Content-Type", "text/plain; charset=utf-8"),
                                                    ("Content-Length", str(len(body)))])
    return [body]


def _read_up_to(stream: Any, size: int) -> bytes:
    """Up to ``size`` bytes: a dechunking stream hands out one chunk per read."""
    parts, got = [], 0
    while got < size and (chunk := stream.read(min(size - got, 64 * 1024))):
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def limit_body(app: WSGIApp, limit: int) -> WSGIApp:
    """WSGI middleware: ``413`` for a body over ``limit`` bytes, declared or chunked."""

    def limited(environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
        declared = (environ.get("CONTENT_LENGTH") or "").strip()
        if declared.isdigit():
            if int(declared) > limit:
                return _too_large(start_response, limit)
            # The raw socket stream: an app that reads "everything" must stop at the declared length.
            environ["wsgi.input"] = LimitedStream(environ["wsgi.input"], int(declared))
        elif environ.get("wsgi.input_terminated"):
            # Chunked: nobody said how long. Read it here, at most one byte past the limit, so the app
            # gets a body of known length (or never runs) and needs no error path of its own for it.
            body = _read_up_to(environ["wsgi.input"], limit + 1)
            if len(body) > limit:
                return _too_large(start_response, limit)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        else:  # no length and not chunked: no body (RFC 9112 section 6.3)
            environ["wsgi.input"] = io.BytesIO(b"")
        return app(environ, start_response)

    return limited


class _Handler(WSGIRequestHandler):
    """werkzeug's handler, quiet (the simulators journal what matters) and known to the server so that
    ``stop`` can close the connections it still holds."""

    def setup(self) -> None:
        super().setup()
        with self.server.open_lock:  # type: ignore[attr-defined]
            self.server.open_connections.add(self.connection)  # type: ignore[attr-defined]

    def finish(self) -> None:
        with self.server.open_lock:  # type: ignore[attr-defined]
            self.server.open_connections.discard(self.connection)  # type: ignore[attr-defined]
        super().finish()

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        logging.getLogger(__name__).debug("%s " + format, self.address_string(), *args)


class HTTPListener:
    """One WSGI app served on ``host``:``port`` on its own thread; ``stop`` may be called again and again."""

    def __init__(self, name: str, host: str, port: int, wsgi_app: WSGIApp,
                 max_body_bytes: int = DEFAULT_MAX_BODY) -> None:
        if max_body_bytes <= 0:
            raise ValueError(f"max_body_bytes must be positive, got {max_body_bytes}")
        self.name = name
        self.max_body_bytes = max_body_bytes
        # Bound here, not by werkzeug: its make_server answers a port in use with sys.exit(1).
        sock = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET,
                                    backlog=LISTEN_BACKLOG)
        try:
            self.server: BaseWSGIServer = make_server(
                host, port, limit_body(wsgi_app, max_body_bytes), threaded=True, request_handler=_Handler,
                fd=sock.fileno())
        finally:
            sock.close()  # werkzeug serves on its own duplicate of the descriptor
        self.server.timeout = POLL_SECONDS
        self.server.open_lock = threading.Lock()  # type: ignore[attr-defined]
        self.server.open_connections = set()  # type: ignore[attr-defined]
        self.host, self.port = self.server.server_address[:2]
        self.thread = ServerThread(name, self.server.handle_request, self._shutdown)

    @property
    def url(self) -> str:
        """The base URL, ``http://host:port`` (an IPv6 address in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self.thread.running

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.thread.stop()

    def _shutdown(self) -> None:
        """On the server's thread, after the accept loop ended: no new connections, and the open ones
        closed (a client's keep-alive connection would otherwise still be served by its handler thread)."""
        self.server.server_close()
        with self.server.open_lock:  # type: ignore[attr-defined]
            connections = list(self.server.open_connections)  # type: ignore[attr-defined]
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by the client
