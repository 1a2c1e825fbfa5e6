"""One thread that serves every plain-HTTP connection of a listener: an event loop (epoll), for apps that
answer at once (core/httpserver.py; issue 4, chosen by measurement).

With a thread per connection, every request hands Python's GIL over at least twice (the thread wakes from
``recv``, and again after ``sendall``): under wrk's 32 connections the CCV Shop simulator spent a good part
of its ~150 µs CPU per ``GET orders/`` on those hand-overs, and an answer waited its turn among 32 threads
(p99 120-160 ms). Served from one loop it used ~120-135 µs, answered 10-20 % more requests per second,
with a p99 of ~10 ms, on the same machine in alternating runs.

The loop never blocks on a client: sockets are non-blocking, an answer the kernel does not take at once
waits here (``unsent``) while the loop serves others, and a connection with an answer still unsent is not
read from (a client pipelining requests without reading the answers holds up only itself). Whatever may
block is done on a thread of the connection's own, to which the loop hands the connection over for the
rest of its life (``take_over``): a refusal (the refused client's data is read and dropped for a while),
a protocol upgrade (its body is read), and a request the listener's ``answer_on_loop`` says must not be
answered on the loop (an app that may hold an answer, such as a scripted delay).
"""

from __future__ import annotations

import logging
import selectors
import socket
from typing import TYPE_CHECKING, Any

from .affinity import keep_on_shared_cpu
from .clock import monotonic

if TYPE_CHECKING:
    from .httpserver import HTTPListener, _Connection

__all__ = ["EventLoop"]

SWEEP_SECONDS = 5.0  # how often connections silent for longer than the listener's idle time are closed
ACCEPT_PAUSE_SECONDS = 0.1
log = logging.getLogger(__name__)


class EventLoop:
    """Accepts and serves the listener's connections; ``serve_once`` is one round (``ServerThread``)."""

    def __init__(self, listener: "HTTPListener", server: socket.socket, recv_bytes: int, idle_seconds: float,
                 poll_seconds: float) -> None:
        self.listener = listener
        self.server = server
        self.recv_bytes, self.idle_seconds, self.poll_seconds = recv_bytes, idle_seconds, poll_seconds
        self.selector = selectors.DefaultSelector()
        server.setblocking(False)
        self.selector.register(server, selectors.EVENT_READ, None)
        self.served: set[_Connection] = set()  # on the loop; a connection handed over leaves it
        self._wanted: dict[_Connection, int] = {}  # the events each connection is registered for
        self._next_sweep = monotonic() + SWEEP_SECONDS
        self._pinned = False
        self._accept_again = 0.0  # when accepting starts again after running out of file descriptors

    def serve_once(self) -> None:
        if not self._pinned:
            self._pinned = True
            if self.listener.one_cpu:
                keep_on_shared_cpu()
        for key, events in self.selector.select(self.poll_seconds):
            connection = key.data
            if connection is None:
                self._accept()
                continue
            if connection not in self.served:
                continue  # closed or handed over earlier in this round
            try:
                if events & selectors.EVENT_WRITE:
                    self._flush(connection)
                if events & selectors.EVENT_READ and connection in self.served:
                    self._read(connection)
            except OSError:  # the client went away (reset, broken pipe)
                self._close(connection)
            except Exception:  # a bug serving one connection must not end the listener (as on a thread)
                log.exception("%s: serving a connection failed", self.listener.name)
                self._close(connection)
        if self._accept_again and monotonic() >= self._accept_again:
            self._accept_again = 0.0
            self.selector.register(self.server, selectors.EVENT_READ, None)
        if monotonic() >= self._next_sweep:
            self._sweep()

    def write(self, connection: "_Connection", head: bytes, body: bytes = b"") -> None:
        """Send what the kernel takes now; the rest waits for the socket to be writable."""
        if connection.unsent:
            connection.unsent += head + body
            return
        try:
            sent = connection.sock.sendmsg((head, body)) if body else connection.sock.send(head)
        except BlockingIOError:
            sent = 0
        if sent < len(head) + len(body):  # the kernel took only part (a client slow to read): the rest waits
            connection.unsent = (head + body)[sent:]

    def close_all(self) -> None:
        """On stop, on the loop's thread after its last round: the connections it still serves."""
        for connection in list(self.served):
            self._close(connection)
        self.selector.close()

    # -- one round -------------------------------------------------------------------------------------

    def _accept(self) -> None:
        while True:
            try:
                sock, peer = self.server.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in (103, 104):  # a client gone before accept: the next one
                    continue
                if exc.errno in (24, 23):  # EMFILE/ENFILE: keep serving the connections there are, and
                    # try again a little later rather than at once (the backlog stays readable: a busy loop)
                    log.warning("%s: accept failed: %s", self.listener.name, exc)
                    self.selector.unregister(self.server)
                    self._accept_again = monotonic() + ACCEPT_PAUSE_SECONDS
                    return
                raise
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # answers go out whole, at once
            connection = self.listener._new_connection(sock, peer)
            connection.loop = self
            connection.active = monotonic()
            self.served.add(connection)
            self._wanted[connection] = selectors.EVENT_READ
            self.selector.register(sock, selectors.EVENT_READ, connection)

    def _read(self, connection: "_Connection") -> None:
        try:
            data = connection.sock.recv(self.recv_bytes)
        except BlockingIOError:
            return
        if not data:
            self._close(connection)
            return
        connection.active = monotonic()
        outcome = connection._feed(data)
        if outcome is not None:  # a refusal or an upgrade: both end with blocking work
            self._hand_over(connection, outcome)
            return
        self._answer_ready(connection)

    def _flush(self, connection: "_Connection") -> None:
        try:
            sent = connection.sock.send(connection.unsent)
        except BlockingIOError:
            return
        connection.unsent = connection.unsent[sent:]
        connection.active = monotonic()
        if not connection.unsent:
            self._answer_ready(connection)

    def _answer_ready(self, connection: "_Connection") -> None:
        """Answer the requests parsed, in order, while nothing is left unsent; then wait for what fits."""
        while connection.ready and not connection.unsent and not connection.closing:
            if not self.listener.answer_on_loop():  # the app may hold this answer: not on the loop
                self._hand_over(connection, None)
                return
            if not connection._answer(connection.ready.pop(0)):
                connection.closing = True
        if connection.closing and not connection.unsent:
            self._close(connection)
            return
        wanted = selectors.EVENT_WRITE if connection.unsent else selectors.EVENT_READ
        if self._wanted[connection] != wanted:
            self._wanted[connection] = wanted
            self.selector.modify(connection.sock, wanted, connection)

    def _hand_over(self, connection: "_Connection", outcome: Any) -> None:
        self._leave(connection)
        connection.loop = None
        connection.sock.setblocking(True)
        self.listener._give_thread(connection, connection.take_over, outcome)

    def _close(self, connection: "_Connection") -> None:
        self._leave(connection)
        self.listener._forget(connection)
        try:
            connection.sock.close()
        except OSError:
            pass

    def _leave(self, connection: "_Connection") -> None:
        if connection in self.served:
            self.served.discard(connection)
            self._wanted.pop(connection, None)
            try:
                self.selector.unregister(connection.sock)
            except (KeyError, ValueError):
                pass

    def _sweep(self) -> None:
        """Close connections silent for longer than the idle time (a thread's ``recv`` times out the same)."""
        now = monotonic()
        self._next_sweep = now + SWEEP_SECONDS
        for connection in [c for c in self.served if now - c.active > self.idle_seconds]:
            self._close(connection)
