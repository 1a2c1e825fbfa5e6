"""An HTTP/1.1 listener for simulators that speak HTTP (SOAP, REST): a WSGI app on its own threads.

Chosen by measurement (bench/http.py, issue 4): werkzeug's development server closed every connection
after one answer and parsed each request head with the ``email`` package, so a client with keep-alive
(every HTTP library, and wrk) paid a connect, a new thread and a slow parse per request. Here the request
is parsed by httptools (llhttp, the parser of Node.js and uvicorn). A listener whose app answers at once
serves its plain-HTTP connections from one event loop thread (``answer_on_loop``, core/httploop.py: fewer
GIL hand-overs, measured faster and with a far lower p99); a connection whose answer may wait (an app that
holds an answer on purpose, for a scripted delay), a TLS connection, or any connection of a listener without
``answer_on_loop`` has a thread of its own for as long as the client keeps it open, so a held answer holds
up only its own client.

What every HTTP simulator gets from here:

* port 0 binds a free port (``host``/``port`` tell which), a port in use fails at once with ``OSError``;
* start and stop through ``ServerThread`` (ready with a timeout, a failure re-raised, stop twice safe);
* keep-alive and pipelining (answers in order), ``Expect: 100-continue``;
* a request body limit: a larger ``Content-Length`` is answered ``413`` without reading the body, and a
  chunked body is cut off with ``413`` as soon as it grows past the limit; the app always gets the whole
  body with its ``CONTENT_LENGTH`` (bodies are small and bounded, so they are read before the app runs);
* ``https`` with a certificate from ``core.tls`` (``tls=https_context(files)``);
* a fault hook: an app that sets ``environ[DROP] = True`` has the connection closed without an answer
  (what a client sees when a server or a proxy times out and gives up);
* optionally (``one_cpu``) the event loop and every connection thread on one CPU: measured much faster under
  concurrent load (core/affinity.py);
* on stop, connections still open (a client that connected and sends nothing, a request under way) are
  closed too, so no connection thread outlives the listener for long.
"""

from __future__ import annotations

import io
import logging
import socket
import ssl
import sys
import threading
import time
from email.utils import formatdate
from http import HTTPStatus
from typing import Any, Callable, Iterable
from urllib.parse import unquote_to_bytes, urlsplit

import httptools

from .affinity import keep_on_shared_cpu
from .clock import Clock, SystemClock, monotonic
from .httploop import ACCEPT_PAUSE_SECONDS, EventLoop
from .lifecycle import ServerThread
from .tls import TLSFiles

__all__ = ["HTTPListener", "DEFAULT_MAX_BODY", "DROP", "https_context"]

DEFAULT_MAX_BODY = 1024 * 1024
POLL_SECONDS = 0.05  # how long a stop waits at most for the accept loop to notice
LISTEN_BACKLOG = 1024  # a burst of clients (wrk, a test's thread pool) must not be refused by the kernel
IDLE_SECONDS = 300.0  # a connection nobody uses is closed after this long: abandoned clients free their thread
TLS_HANDSHAKE_SECONDS = 10.0
STOP_JOIN_SECONDS = 1.0  # how long a stop waits for the connection threads it closed to end
RECV_BYTES = 256 * 1024
MAX_HEAD_BYTES = 64 * 1024  # request line and headers: llhttp itself sets no limit
LINGER_SECONDS, LINGER_BYTES = 1.0, 16 * 1024 * 1024  # what a refused client may still send, dropped
DROP = "koppelsim.drop"  # environ key: an app sets it to True to have the connection dropped unanswered
SERVER_HEADER = "koppelsim"

WSGIApp = Callable[[dict, Callable[..., Any]], Iterable[bytes]]
log = logging.getLogger(__name__)
_REASONS = {status.value: status.phrase for status in HTTPStatus}
_NO_BODY = {204, 304}


def https_context(files: TLSFiles) -> ssl.SSLContext:
    """A server-side context with the simulators' certificate (``core.tls``), TLS 1.2 or later."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(files.server_cert), str(files.server_key))
    return context


class _Date:
    """The Date header on the simulators' clock (a time-travelled simulator answers with its own time),
    formatted once a second rather than once a request."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._second, self._text = 0, ""

    def now(self) -> str:
        second = int(self.clock.now().timestamp())
        if second != self._second:
            self._second, self._text = second, formatdate(second, usegmt=True)
        return self._text


class _Refused(Exception):
    """Raised from a parser callback: the request is answered with ``status`` and the connection closed."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(status)
        self.status, self.text = status, text


class _Upgrade:
    """A request asked for a protocol upgrade; ``rest`` are the bytes received behind its head."""

    __slots__ = ("rest",)

    def __init__(self, rest: bytes) -> None:
        self.rest = rest


class _Request:
    __slots__ = ("method", "target", "headers", "body", "keep_alive", "http_version")

    def __init__(self, method: str, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes,
                 keep_alive: bool, http_version: str) -> None:
        self.method, self.target, self.headers, self.body = method, target, headers, body
        self.keep_alive, self.http_version = keep_alive, http_version


class _Connection:
    """One client connection on its own thread: parse, call the app, answer, until either side closes."""

    def __init__(self, listener: "HTTPListener", sock: socket.socket, peer: tuple) -> None:
        self.listener = listener
        self.sock = sock
        self.peer = peer
        self.parser = httptools.HttpRequestParser(self)
        self.ready: list[_Request] = []
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._body_size = 0
        self._head_size = 0
        # Served by an event loop (core/httploop.py) instead of a thread of its own: the loop, what it still
        # has to send, whether the connection ends once that is sent, and when the client was last heard.
        self.loop: EventLoop | None = None
        self.unsent = b""
        self.closing = False
        self.active = 0.0

    # -- httptools callbacks (run inside feed_data) ------------------------------------------------------

    def on_message_begin(self) -> None:
        self._url, self._headers, self._body, self._body_size, self._head_size = b"", [], [], 0, 0

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._count_head(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))
        self._count_head(len(name) + len(value))

    def _count_head(self, size: int) -> None:
        self._head_size += size
        if self._head_size > MAX_HEAD_BYTES:
            raise _Refused(431, f"431 Request Header Fields Too Large: more than {MAX_HEAD_BYTES} bytes.\n")

    def on_headers_complete(self) -> None:
        limit = self.listener.max_body_bytes
        expect_continue = False
        for name, value in self._headers:
            lower = name.lower()
            if lower == b"content-length" and value.strip().isdigit() and int(value) > limit:
                raise _Refused(413, f"413 Request Entity Too Large: the body is larger than {limit} bytes.\n")
            if lower == b"expect" and value.strip().lower() == b"100-continue":
                expect_continue = True
        if expect_continue and self.parser.get_http_version() == "1.1":
            self._write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, chunk: bytes) -> None:
        self._body_size += len(chunk)
        limit = self.listener.max_body_bytes
        if self._body_size > limit:  # chunked: nobody said how long; cut off as soon as it is too long
            raise _Refused(413, f"413 Request Entity Too Large: the body is larger than {limit} bytes.\n")
        self._body.append(chunk)

    def on_message_complete(self) -> None:
        parser = self.parser
        self.ready.append(_Request(parser.get_method().decode("latin-1"), self._url, self._headers,
                                   b"".join(self._body), parser.should_keep_alive(), parser.get_http_version()))

    # -- the connection --------------------------------------------------------------------------------

    def serve(self) -> None:
        """The connection on a thread of its own from its first byte."""
        self._on_own_thread(self._handshake_and_loop)

    def take_over(self, outcome: "_Refused | _Upgrade | None") -> None:
        """Go on, on a thread of its own, with a connection the event loop served until now: first what
        the loop left unsent, the requests it left unanswered and what its last ``_feed`` returned."""
        self._on_own_thread(lambda: self._continue(outcome))

    def _on_own_thread(self, work: Callable[[], None]) -> None:
        if self.listener.one_cpu:
            keep_on_shared_cpu()
        try:
            work()
        except (OSError, ssl.SSLError):
            pass  # the client went away, the handshake failed, or stop closed the socket under us
        except Exception:  # a bug outside the app (which has its 500): this connection ends, logged
            log.exception("%s: serving a connection failed", self.listener.name)
        finally:
            self.listener._forget(self)
            try:
                self.sock.close()
            except OSError:
                pass

    def _handshake_and_loop(self) -> None:
        if self.listener.tls is not None:
            self.sock.settimeout(TLS_HANDSHAKE_SECONDS)
            self.sock = self.listener.tls.wrap_socket(self.sock, server_side=True)
        self.sock.settimeout(IDLE_SECONDS)
        self._loop()

    def _continue(self, outcome: "_Refused | _Upgrade | None") -> None:
        self.sock.settimeout(IDLE_SECONDS)
        unsent, self.unsent = self.unsent, b""
        if unsent:
            self.sock.sendall(unsent)
        if not self.closing and self._settle(outcome):
            self._loop()

    def _loop(self) -> None:
        while True:
            data = self.sock.recv(RECV_BYTES)
            if not data or not self._settle(self._feed(data)):
                return

    def _feed(self, data: bytes) -> "_Refused | _Upgrade | None":
        """Parse ``data``; complete requests land in ``ready``. What ends the connection is returned: a
        refusal to send, or an upgrade to decline (with the bytes behind its head)."""
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            cause = exc.__context__ or exc.__cause__
            if not isinstance(cause, _Refused):
                raise
            return cause
        except httptools.HttpParserUpgrade as exc:
            return _Upgrade(data[exc.args[0]:] if exc.args else b"")
        except httptools.HttpParserError:
            return _Refused(400, "400 Bad Request: the request is not valid HTTP/1.1.\n")
        return None

    def _settle(self, outcome: "_Refused | _Upgrade | None") -> bool:
        """Answer the requests parsed, then what ``_feed`` returned; False when the connection is to end.
        May block (reading an upgrade's body, lingering): runs on the connection's own thread."""
        refusal = self._decline_upgrade(outcome.rest) if isinstance(outcome, _Upgrade) else outcome
        while self.ready:  # answered in order; a request that ends the connection ends the loop too
            if not self._answer(self.ready.pop(0)):
                return False
        if refusal is not None:
            self._send_plain(refusal.status, refusal.text)
            self._linger()
            return False
        return True

    def _decline_upgrade(self, rest: bytes) -> _Refused | None:
        """An upgrade (``curl --http2`` asks for h2c) is declined by answering in HTTP/1.1 (RFC 9110 7.8).
        The parser stops at the upgrade request's head, so its body (after ``rest``, the bytes behind the
        head) is read here, and the connection ends with the answer."""
        if not self.ready:
            return _Refused(400, "400 Bad Request: protocol upgrades are not supported.\n")
        request = self.ready[-1]
        request.keep_alive = False
        declared = [value for name, value in request.headers if name.lower() == b"content-length"]
        if any(name.lower() == b"transfer-encoding" for name, _ in request.headers) or \
                (declared and not declared[0].strip().isdigit()):
            self.ready.pop()
            return _Refused(400, "400 Bad Request: an upgrade request with a chunked body is not supported.\n")
        length = int(declared[0]) if declared else 0  # over the limit was refused with the head already
        while len(rest) < length and (chunk := self.sock.recv(RECV_BYTES)):
            rest += chunk
        request.body = rest[:length]
        return None

    def _environ(self, request: _Request) -> dict:
        target = request.target
        raw = target.decode("latin-1")
        if target[:1] != b"/" and b"://" in target:  # absolute form: keep path and query only
            parts = urlsplit(raw)
            raw = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        path, _, query = raw.partition("?")
        listener = self.listener
        environ = {
            "REQUEST_METHOD": request.method, "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"), "QUERY_STRING": query,
            "RAW_URI": raw, "REQUEST_URI": raw, "SERVER_PROTOCOL": f"HTTP/{request.http_version}",
            "SERVER_NAME": listener.host, "SERVER_PORT": str(listener.port),
            "REMOTE_ADDR": self.peer[0], "REMOTE_PORT": str(self.peer[1]),
            "CONTENT_LENGTH": str(len(request.body)) if request.body or request.method in ("POST", "PUT", "PATCH")
            else "",
            "wsgi.version": (1, 0), "wsgi.url_scheme": "https" if listener.tls is not None else "http",
            "wsgi.input": io.BytesIO(request.body), "wsgi.input_terminated": True, "wsgi.errors": sys.stderr,
            "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
            "werkzeug.socket": self.sock,  # apps written for werkzeug's server reach the socket here
        }
        for name, value in request.headers:
            key = name.decode("latin-1").upper().replace("-", "_")
            if key in ("CONTENT_LENGTH", "TRANSFER_ENCODING"):
                continue  # the body is read already: CONTENT_LENGTH above says how long it is
            if key != "CONTENT_TYPE":
                key = "HTTP_" + key
            text = value.decode("latin-1")
            environ[key] = f"{environ[key]},{text}" if key in environ else text
        return environ

    def _answer(self, request: _Request) -> bool:
        """Call the app and send its answer; False when the connection is to be closed."""
        environ = self._environ(request)
        started: list = []
        written: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable:
            if exc_info is not None and started and written:
                raise exc_info[1].with_traceback(exc_info[2])
            started[:] = [status, headers]
            return written.append

        try:
            result = self.listener.app(environ, start_response)
            try:
                for chunk in result:
                    if chunk:
                        written.append(chunk)
            finally:
                if hasattr(result, "close"):
                    result.close()
        except ConnectionError:
            return False  # the app dropped the connection itself (or the client left meanwhile)
        except Exception:
            log.exception("%s: %s %s failed", self.listener.name, request.method, environ["RAW_URI"][:200])
            self._send_plain(500, "500 Internal Server Error\n")
            return False
        if environ.get(DROP) or not started:
            return False
        status, headers = started
        keep_alive = request.keep_alive and not self.listener.stopping
        body = b"".join(written)
        code = int(status[:3])
        lines = [f"HTTP/1.1 {status}\r\n"]
        has_length = False
        for name, value in headers:
            lower = name.lower()
            if lower == "content-length":
                if code in _NO_BODY:
                    continue  # an answer without a body has no length to give (RFC 9110 8.6)
                has_length = True
            elif lower == "connection":
                keep_alive = keep_alive and value.lower() != "close"
                continue  # written once below
            elif lower in ("transfer-encoding", "keep-alive"):
                continue  # hop by hop: the body goes out whole, with its Content-Length
            lines.append(f"{name}: {value}\r\n")
        if not has_length and code not in _NO_BODY and code >= 200:
            lines.append(f"Content-Length: {len(body)}\r\n")
        lines.append(f"Date: {self.listener.date.now()}\r\nServer: {SERVER_HEADER}\r\n")
        if not keep_alive:
            lines.append("Connection: close\r\n")
        lines.append("\r\n")
        head = "".join(lines).encode("latin-1")
        self._write(head, b"" if request.method == "HEAD" or code in _NO_BODY else body)
        return keep_alive

    def _write(self, head: bytes, body: bytes = b"") -> None:
        """Send ``head`` and ``body``: at once on the connection's own thread, or by the event loop serving
        it (which sends both in one call, without copying a large body behind its head)."""
        if self.loop is not None:
            self.loop.write(self, head, body)
        else:
            self.sock.sendall(head + body if body else head)

    def _linger(self) -> None:
        """Read and drop what the client still sends (briefly): closing a socket with unread data makes the
        kernel reset the connection, and a reset can destroy the refusal before the client has read it."""
        try:
            self.sock.shutdown(socket.SHUT_WR)
            self.sock.settimeout(LINGER_SECONDS)
            deadline, dropped = monotonic() + LINGER_SECONDS, 0
            while monotonic() < deadline and dropped < LINGER_BYTES:
                chunk = self.sock.recv(RECV_BYTES)
                if not chunk:
                    return
                dropped += len(chunk)
        except OSError:
            pass

    def _send_plain(self, status: int, text: str) -> None:
        body = text.encode()
        try:
            self._write(f"HTTP/1.1 {status} {_REASONS.get(status, '')}\r\nContent-Type: text/plain; "
                              f"charset=utf-8\r\nContent-Length: {len(body)}\r\nDate: {self.listener.date.now()}"
                              f"\r\nServer: {SERVER_HEADER}\r\nConnection: close\r\n\r\n".encode() + body)
        except OSError:
            pass


class HTTPListener:
    """One WSGI app served on ``host``:``port``; ``stop`` may be called again and again."""

    def __init__(self, name: str, host: str, port: int, wsgi_app: WSGIApp,
                 max_body_bytes: int = DEFAULT_MAX_BODY, tls: ssl.SSLContext | None = None,
                 clock: Clock | None = None, one_cpu: bool = False,
                 answer_on_loop: Callable[[], bool] | None = None) -> None:
        """``clock`` stamps the Date header (default: real time); ``one_cpu`` keeps every connection
        thread on one CPU shared by all such listeners of the process (see core/affinity.py).

        ``answer_on_loop``: given, plain-HTTP connections are served by one event loop thread
        (core/httploop.py), and a request is answered on it while this says True; when it says False (the
        app may hold the answer, e.g. for a scripted delay) the connection goes on on a thread of its own.
        Not given, or with ``tls``, every connection has a thread of its own from the start."""
        if max_body_bytes <= 0:
            raise ValueError(f"max_body_bytes must be positive, got {max_body_bytes}")
        self.name = name
        self.app = wsgi_app
        self.max_body_bytes = max_body_bytes
        self.tls = tls
        self.one_cpu = one_cpu
        self.date = _Date(clock or SystemClock())
        self.stopping = False
        self._sock = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET,
                                          backlog=LISTEN_BACKLOG)
        self._sock.settimeout(POLL_SECONDS)
        self.host, self.port = self._sock.getsockname()[:2]
        self._lock = threading.Lock()
        self._open: dict[_Connection, threading.Thread | None] = {}  # None: served by the event loop
        self.loop: EventLoop | None = None
        if answer_on_loop is not None and tls is None:
            self.answer_on_loop = answer_on_loop
            self.loop = EventLoop(self, self._sock, RECV_BYTES, IDLE_SECONDS, POLL_SECONDS)
            self.thread = ServerThread(name, self.loop.serve_once, self._shutdown)
        else:
            self.thread = ServerThread(name, self._accept_once, self._shutdown)

    @property
    def url(self) -> str:
        """The base URL, ``http://host:port`` (an IPv6 address in brackets; ``https`` with TLS)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls is not None else 'http'}://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self.thread.running

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._open)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.thread.stop()

    def _accept_once(self) -> None:
        try:
            sock, peer = self._sock.accept()
        except (socket.timeout, BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            if exc.errno in (103, 104):  # a client gone before accept: the next one
                return
            if exc.errno in (24, 23):  # EMFILE/ENFILE: keep serving; try again a little later, not at once
                log.warning("%s: accept failed: %s", self.name, exc)
                time.sleep(ACCEPT_PAUSE_SECONDS)
                return
            raise
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # answers go out whole, at once
        connection = self._new_connection(sock, peer)
        self._give_thread(connection, connection.serve)

    def _new_connection(self, sock: socket.socket, peer: tuple) -> _Connection:
        connection = _Connection(self, sock, peer)
        with self._lock:
            self._open[connection] = None
        return connection

    def _give_thread(self, connection: _Connection, work: Callable[..., None], *args: Any) -> None:
        """Serve ``connection`` on a thread of its own (stop joins it)."""
        thread = threading.Thread(target=work, args=args, name=f"{self.name}-conn", daemon=True)
        with self._lock:
            self._open[connection] = thread
        thread.start()

    def _forget(self, connection: _Connection) -> None:
        with self._lock:
            self._open.pop(connection, None)

    def _shutdown(self) -> None:
        """On the server's thread, after the accept loop ended: no new connections, and the open ones
        closed (a client's keep-alive connection would otherwise still be served by its thread)."""
        self.stopping = True
        self._sock.close()
        if self.loop is not None:
            self.loop.close_all()
        with self._lock:
            connections = list(self._open.items())
        for connection, _ in connections:
            try:
                connection.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by the client
        deadline = monotonic() + STOP_JOIN_SECONDS
        for _, thread in connections:
            if thread is not None:
                thread.join(max(0.0, deadline - monotonic()))
