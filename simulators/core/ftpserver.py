"""What every FTP(S) simulator shares on top of pyftpdlib: journaled commands and replies, FTP-level
fault rules, staged (atomic) uploads with a size limit, and a lifecycle that runs the server thread.

pyftpdlib configures handlers through class attributes; to keep configuration an instance (one
server's settings never leak into another's) ``handler_class`` derives a fresh subclass per server.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import queue
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

from OpenSSL import SSL
from pyftpdlib.exceptions import _RetryError
from pyftpdlib.handlers import TLS_DTPHandler, TLS_FTPHandler
from pyftpdlib.ioloop import IOLoop
from pyftpdlib.log import logger
from pyftpdlib.servers import FTPServer

from . import ftpcodes
from .clock import Clock
from .journal import Journal
from .lifecycle import READY_TIMEOUT, ServerThread
from .rules import Rules
from .store import Store

def validate_ftp_action(action: dict) -> None:
    """An ``ftp`` rule: ``{reply: "421 ...", close: bool}`` or ``{drop: before|after}``."""
    unknown = set(action) - {"reply", "close", "drop"}
    if unknown:
        raise ValueError(f"unknown field(s) in 'ftp': {sorted(unknown)}; known: reply, close, drop")
    if "reply" in action:
        text = str(action["reply"])
        if len(text) < 4 or not text[:3].isdigit() or text[3] != " " or text[0] not in "12345":
            raise ValueError(f"ftp.reply must be a code and text such as '421 Service not available', got {text!r}")
    if "drop" in action and action["drop"] not in ("before", "after"):
        raise ValueError("ftp.drop must be 'before' (close without answering) or 'after' (answer, then close)")
    if not action:
        raise ValueError("an 'ftp' rule needs 'reply' or 'drop'")


class StagedUpload:
    """The file object behind a STOR: bytes go to a staging name; ``close`` publishes it under the
    final name only when the data channel marked the transfer complete (``commit``).

    Size and SHA-256 are counted as the bytes arrive, so whoever takes the published file need not
    read a large one back just to fingerprint it."""

    def __init__(self, final_path: Path, store: Store, clock: Clock | None = None,
                 on_published: Callable[["StagedUpload"], None] | None = None) -> None:
        self.name = str(final_path)  # pyftpdlib reports this name to on_file_received
        self.final_path = final_path
        self.store = store
        self.staging = store.new_staging_path()
        self.clock = clock
        self.on_published = on_published
        self.commit = False
        self.size = 0
        self._digest = hashlib.sha256()
        self._fh = open(self.staging, "wb")

    @property
    def closed(self) -> bool:
        return self._fh.closed

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def write(self, data: bytes) -> int:
        self._digest.update(data)
        self.size += len(data)
        return self._fh.write(data)

    def close(self) -> None:
        if self._fh.closed:
            return
        if self.commit:
            if self.store.sync:
                self._fh.flush()
                os.fsync(self._fh.fileno())
            self._fh.close()
            self.store.publish(self.staging, self.final_path, self.clock.now() if self.clock else None)
            # Still before the 226 reply: what the upload triggers (a meta file's .ok or .error) is
            # done by the time the client hears "226", whatever else talks to the simulator meanwhile.
            if self.on_published is not None:
                try:
                    self.on_published(self)
                except BaseException:
                    # The client hears "send the file again": so the file must not stay, or the second
                    # attempt would meet the first (a name already taken).
                    self.final_path.unlink(missing_ok=True)
                    raise
        else:
            self._fh.close()
            self.staging.unlink(missing_ok=True)


class StagingDTPHandler(TLS_DTPHandler):
    """Publishes a completed upload *before* the 226 reply (so "226" means "stored and durable"),
    and aborts an upload that grows past the limit with 552."""

    max_upload_bytes: int | None = None

    def handle_read_event(self) -> None:
        # pyftpdlib aliases handle_read_event to DTPHandler.handle_read, so the check hooks in here.
        super().handle_read_event()
        limit = self.max_upload_bytes
        if limit is not None and self.receive and self.tot_bytes_received > limit and not self._closed:
            self._resp = (ftpcodes.reply(ftpcodes.EXCEEDED_STORAGE,
                                         f"Upload aborted: larger than the limit of {limit} bytes."),
                          logger.warning)
            self.transfer_finished = False
            hook = getattr(self.cmd_channel, "on_upload_too_large", None)
            if hook is not None and self.file_obj is not None:
                hook(self.file_obj.name)
            self.close()

    def recv(self, buffer_size: int) -> bytes:
        # In stream mode the end of the data connection is the end of the file. Over TLS a sender
        # that finished says so with close_notify; a connection that just stops (reset, or a FIN
        # from a killed client) is a truncated upload, which pyftpdlib would publish with 226
        # (vsftpd refuses it likewise with strict_ssl_read_eof).
        if not (self.receive and self._ssl_established):
            return super().recv(buffer_size)
        try:
            return self.socket.recv(buffer_size)
        except SSL.WantReadError as exc:
            self._ssl_want_read = True
            raise _RetryError from exc
        except SSL.WantWriteError as exc:
            self._ssl_want_write = True
            raise _RetryError from exc
        except SSL.ZeroReturnError:
            self.handle_close()  # close_notify: the upload is complete
            return b""
        except (SSL.SysCallError, SSL.Error):
            self._resp = (ftpcodes.reply(ftpcodes.TRANSFER_ABORTED,
                                         "Upload incomplete: the data connection ended without TLS close_notify; "
                                         "nothing was stored, send the file again."), logger.warning)
            self.transfer_finished = False
            self.close()
            return b""

    def send(self, data: bytes) -> int:
        # asynchat passes an empty listing or file on to send(); pyOpenSSL answers an empty write made
        # during the TLS handshake as if the peer had gone, and pyftpdlib then cuts the connection
        # mid-handshake (Python's ftplib fails with "shutdown while in init" on about one empty NLST
        # in three under load). Nothing to send is simply nothing sent.
        if not data:
            return 0
        return super().send(data)

    def handle_close(self) -> None:
        # With nothing to send, "done" can arrive while the data connection's TLS handshake is still
        # under way: finish the handshake first, then close cleanly.
        if self._ssl_accepting and not self.receive and not self._closed:
            self._close_after_handshake = True
            return
        super().handle_close()

    def handle_ssl_established(self) -> None:
        super().handle_ssl_established()
        if getattr(self, "_close_after_handshake", False):
            self._close_after_handshake = False
            self.handle_close()

    def close(self) -> None:
        upload = self.file_obj
        if not self._closed and self.receive and isinstance(upload, StagedUpload) and self.transfer_finished:
            upload.commit = True
            try:
                upload.close()  # publish, and run what the upload triggers, before any reply goes out
            except Exception:  # the client must still get a reply it can act on, not silence
                logger.exception("storing or processing %s failed", upload.name)
                self._resp = (ftpcodes.reply(ftpcodes.LOCAL_ERROR, "Requested action aborted: local error "
                                             "in processing; send the file again."), logger.error)
                self.transfer_finished = False
        super().close()


class JournaledFTPHandler(TLS_FTPHandler):
    """Journals every command and reply and applies ``ftp`` rules before a command runs."""

    sim_name = "ftp"
    session_ids: Iterator[int]  # one counter per server (set by handler_class)
    clock: Clock
    journal: Journal
    rules: Rules
    store: Store
    dtp_handler = StagingDTPHandler

    def on_connect(self) -> None:
        self.session_id = f"s{next(self.session_ids)}"
        self._drop_after = False
        self.journal.record(self.sim_name, "ftp.connect", self.session_id, remote=f"{self.remote_ip}:{self.remote_port}")

    def on_disconnect(self) -> None:
        self.journal.record(self.sim_name, "ftp.disconnect", getattr(self, "session_id", None),
                            user=self.username or None)

    def pre_process_command(self, line: str, cmd: str, arg: str) -> None:
        shown = "******" if cmd == "PASS" else arg
        self.journal.record(self.sim_name, "ftp.command", self.session_id, command=cmd, arg=shown,
                            user=self.username or None)
        rule = self.rules.take(self.sim_name, {"command": cmd, "arg": arg, "user": self.username or None},
                               ("ftp",)) if self.rules.has_action(self.sim_name, "ftp") else None
        if rule is not None:
            action = rule["ftp"]
            self.journal.record(self.sim_name, "rule.applied", self.session_id, rule=rule["id"], command=cmd)
            if action.get("drop") == "before":
                self.close()
                return
            if "reply" in action:
                self.respond(str(action["reply"]))
                if action.get("close"):
                    self.close_when_done()
                return
            self._drop_after = action.get("drop") == "after"
        if "\x00" in arg:  # pyftpdlib's path checks would raise on it and drop the session without a reply
            self.respond("501 Syntax error: the argument contains a NUL byte.")
            return
        super().pre_process_command(line, cmd, arg)
        if self._drop_after:
            self._drop_after = False
            self.close_when_done()

    def respond(self, resp: str, logfun: Callable[..., Any] | None = None) -> None:
        self.journal.record(self.sim_name, "ftp.reply", getattr(self, "session_id", None), code=resp[:3],
                            text=resp[4:], user=self.username or None)
        if logfun is None:
            super().respond(resp)
        else:
            super().respond(resp, logfun=logfun)

    def refuse(self, code: int, text: str) -> None:
        self.respond(ftpcodes.reply(code, text))


def handler_class(base: type[JournaledFTPHandler], **settings: Any) -> type[JournaledFTPHandler]:
    """A subclass of ``base`` carrying one server's settings (see the module docstring)."""
    settings.setdefault("session_ids", itertools.count(1))
    return type(f"{base.__name__}For{settings.get('sim_name', 'Server')}", (base,), settings)


class _CrowdFTPServer(FTPServer):
    """pyftpdlib's server, made for many clients arriving at once: it takes every waiting connection
    in one loop turn (pyftpdlib takes one), so a crowd does not overflow the listen queue meanwhile."""

    ACCEPTS_PER_TURN = 128  # bounded, so serving the sessions already open goes on

    def handle_accept(self) -> None:
        for _ in range(self.ACCEPTS_PER_TURN):
            pair = self.accept()  # None once nothing waits (EAGAIN) or the client gave up (ECONNABORTED)
            if pair is None:
                return
            sock, addr = pair
            if addr is not None:
                self.handle_accepted(sock, addr)


class FTPListener:
    """One pyftpdlib server on its own IOLoop and thread."""

    POLL_SECONDS = 0.05
    # Connections, data channels included (pyftpdlib counts both): 300 clients each with a transfer
    # under way fit. The listen queue holds a crowd that connects within one loop turn.
    MAX_CONNECTIONS = 1024
    LISTEN_BACKLOG = 1024

    def __init__(self, name: str, host: str, port: int, handler: type,
                 max_cons: int = MAX_CONNECTIONS) -> None:
        self._tasks: queue.SimpleQueue[tuple[Callable[[], None], threading.Event]] = queue.SimpleQueue()
        self.ioloop = IOLoop()
        self.server = _CrowdFTPServer((host, port), handler, ioloop=self.ioloop, backlog=self.LISTEN_BACKLOG)
        self.server.max_cons = max_cons
        self.host, self.port = self.server.address[:2]
        self.thread = ServerThread(name, self._serve_once, self.server.close_all)

    def _serve_once(self) -> None:
        # The IOLoop directly: serve_forever() would log "starting server" on every turn.
        self.ioloop.loop(self.POLL_SECONDS, blocking=False)
        while not self._tasks.empty():
            task, done = self._tasks.get_nowait()
            try:
                task()
            finally:
                done.set()

    def call_in_loop(self, task: Callable[[], None], wait: bool = False) -> None:
        """Run ``task`` on the server's own thread (pyftpdlib is not thread-safe), within a poll
        interval; with ``wait`` return only once it ran (bounded: a stopped server never runs it)."""
        done = threading.Event()
        self._tasks.put((task, done))
        if wait and self.thread.running:
            done.wait(timeout=READY_TIMEOUT)

    def handlers(self) -> list:
        """The control connections open right now (call from the server's thread)."""
        return [h for h in list(self.ioloop.socket_map.values()) if isinstance(h, JournaledFTPHandler)]

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.thread.stop()
