"""What every FTP(S) simulator shares on top of pyftpdlib: journaled commands and replies, FTP-level
fault rules, staged (atomic) uploads with a size limit, and a lifecycle that runs the server thread.

pyftpdlib configures handlers through class attributes; to keep configuration an instance (one
server's settings never leak into another's) ``handler_class`` derives a fresh subclass per server.
"""

from __future__ import annotations

import collections
import hashlib
import itertools
import logging
import os
import queue
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

from OpenSSL import SSL
from pyftpdlib.exceptions import _FileReadWriteError, _RetryError
from pyftpdlib.handlers import TLS_DTPHandler, TLS_FTPHandler
from pyftpdlib.handlers.ftp.producers import FileProducer
from pyftpdlib.ioloop import IOLoop
from pyftpdlib.log import logger
from pyftpdlib.servers import FTPServer

from . import ftpcodes
from .clock import Clock
from .journal import Journal
from .lifecycle import READY_TIMEOUT, ServerThread
from .rules import Rules
from .store import Store

def _short_repr(handler: Any) -> str:
    return f"<{type(handler).__name__} {getattr(handler, 'session_id', None) or hex(id(handler))}>"


# What a rule's ``when`` can match for an FTP command (``ftp`` rules): the event of pre_process_command.
FTP_COMMAND_FIELDS = frozenset({"command", "arg", "user"})


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


class _HashPipeline:
    """SHA-256 of a big upload, shared between the FTP thread and a helper thread, fed the very buffers
    the data channel read the bytes into (no copy, nothing read back).

    ``hashlib`` releases the GIL, so when a core is free the helper hashes batch n while the FTP thread,
    which every session shares, reads batch n+1. When no core is free (a busy machine) the helper may
    not run for a while: then the FTP thread, wanting a buffer and finding all ``BUFFERS`` waiting to be
    hashed, hashes the oldest itself instead of waiting for the helper to be scheduled — so it never
    costs more than hashing inline. Updates happen one at a time, oldest first, under ``_lock``."""

    BUFFERS = 4

    def __init__(self, digest: Any, size: int) -> None:
        self._digest = digest
        self._lock = threading.Lock()
        self._pending: collections.deque[tuple[Any, int, bool]] = collections.deque()
        self._free: collections.deque[memoryview] = collections.deque(
            memoryview(bytearray(size)) for _ in range(self.BUFFERS))
        self._wake = threading.Event()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="koppelsim-upload-hash", daemon=True)
        self._thread.start()

    def buffer(self) -> memoryview:
        while not self._free:
            self._hash_oldest()  # the helper is behind: do its work rather than wait for it
        return self._free.popleft()

    def hash(self, data: Any, count: int, recycle: bool) -> None:
        """Hash ``data[:count]`` after everything handed over before; a recycled buffer comes back."""
        self._pending.append((data, count, recycle))
        self._wake.set()

    def _hash_oldest(self) -> bool:
        with self._lock:
            if not self._pending:
                return False
            data, count, recycle = self._pending.popleft()
            if count:
                self._digest.update(data[:count])
        if recycle:
            self._free.append(data)
        return True

    def _run(self) -> None:
        while not self._stopped:
            self._wake.wait()
            self._wake.clear()
            while not self._stopped and self._hash_oldest():
                pass

    def finish(self) -> str:
        """The digest of everything handed over (what is still pending is hashed here, now)."""
        while self._hash_oldest():
            pass
        self._stop()
        with self._lock:
            return self._digest.hexdigest()

    def cancel(self) -> None:
        self._pending.clear()
        self._stop()

    def _stop(self) -> None:
        self._stopped = True
        self._wake.set()


class StagedUpload:
    """The file object behind a STOR: bytes go to a staging name; ``close`` publishes it under the
    final name only when the data channel marked the transfer complete (``commit``).

    With ``fingerprint`` the SHA-256 is counted as the bytes arrive (whoever takes the published file
    need not read a large one back): the first ``INLINE_HASH_BYTES`` on the FTP thread, the rest of a
    big upload shared with a helper thread (``_HashPipeline``); ``close`` completes it, so the digest
    is complete before anyone hears "226". Without it (a simulator that records only the size) nothing is
    hashed while the data flows; ``sha256`` then reads the file back if asked."""

    INLINE_HASH_BYTES = 1024 * 1024

    def __init__(self, final_path: Path, store: Store, clock: Clock | None = None,
                 on_published: Callable[["StagedUpload"], None] | None = None, fingerprint: bool = False) -> None:
        self.name = str(final_path)  # pyftpdlib reports this name to on_file_received
        self.final_path = final_path
        self.store = store
        self.staging = store.new_staging_path()
        self.clock = clock
        self.on_published = on_published
        self.commit = False
        self.size = 0
        self._digest = hashlib.sha256() if fingerprint else None
        self._pipeline: _HashPipeline | None = None
        self._own: memoryview | None = None  # the batch buffer while hashing inline
        self._lent: memoryview | None = None  # the buffer batch_buffer() handed out last
        self._sha256: str | None = None
        # Unbuffered: the data channel hands over big batches already.
        self._fh = open(self.staging, "wb", buffering=0)

    @property
    def closed(self) -> bool:
        return self._fh.closed

    @property
    def sha256(self) -> str:
        if self._sha256 is None:
            if self._digest is not None and self._pipeline is None:
                self._sha256 = self._digest.hexdigest()
            else:  # not counted on the way in: read back (published, or still staged)
                path = self.final_path if self._fh.closed and self.commit else self.staging
                with open(path, "rb") as fh:
                    self._sha256 = hashlib.file_digest(fh, "sha256").hexdigest()
        return self._sha256

    def batch_buffer(self, size: int) -> memoryview:
        """Where the data channel reads the next batch into (then hands a slice of it to ``write``)."""
        if self._lent is not None:  # the last one came back unused (nothing was there to read)
            return self._lent
        if self._pipeline is not None:
            self._lent = self._pipeline.buffer()
        else:
            if self._own is None or len(self._own) != size:
                self._own = memoryview(bytearray(size))
            self._lent = self._own
        return self._lent

    def write(self, data: bytes | memoryview) -> int:
        fh, view = self._fh, memoryview(data)
        written = fh.write(view)
        while written < len(view):  # a raw file may take less than offered
            written += fh.write(view[written:])
        self.size += written
        digest, pipeline, lent = self._digest, self._pipeline, self._lent
        self._lent = None
        if digest is None:
            return written
        if pipeline is None and self.size > self.INLINE_HASH_BYTES:
            # A big upload: from here on it is hashed off the FTP thread. The inline buffer is no
            # longer lent out after this, so it can be handed over as it is.
            pipeline = self._pipeline = _HashPipeline(digest, len(lent) if lent is not None else 256 * 1024)
            self._own = None
            pipeline.hash(view, written, recycle=False)
        elif pipeline is None:
            digest.update(view)
        elif lent is not None and view.obj is lent.obj:
            pipeline.hash(lent, written, recycle=True)
        else:  # bytes from elsewhere (an ASCII conversion): a copy the thread may keep
            pipeline.hash(bytes(view), written, recycle=False)
            if lent is not None:
                pipeline.hash(lent, 0, recycle=True)  # the unused buffer goes back into circulation
        return written

    def close(self) -> None:
        if self._fh.closed:
            return
        if self.commit:
            if self._pipeline is not None:
                self._sha256 = self._pipeline.finish()
            if self.store.sync:
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
            if self._pipeline is not None:
                self._pipeline.cancel()
            self._fh.close()
            self.staging.unlink(missing_ok=True)


def _direct_ssl_read() -> tuple[Any, Any]:
    """pyOpenSSL's ``recv_into`` reads into a fresh temporary buffer and copies that into the caller's;
    its own binding reads into the caller's buffer directly. Used only where the binding looks as
    expected (its private names); otherwise the public ``recv_into`` does the same, a little slower."""
    lib, ffi = getattr(SSL, "_lib", None), getattr(SSL, "_ffi", None)
    if lib is None or ffi is None or not hasattr(lib, "SSL_read") or not hasattr(SSL.Connection, "_raise_ssl_error"):
        return None, None
    return lib.SSL_read, ffi


_SSL_read, _ffi = _direct_ssl_read()


class StagingDTPHandler(TLS_DTPHandler):
    """Publishes a completed upload *before* the 226 reply (so "226" means "stored and durable"),
    and aborts an upload that grows past the limit with 552."""

    max_upload_bytes: int | None = None

    # An upload is read in batches: every TLS record waiting (up to READ_BATCH bytes) in one loop
    # turn, into one reused buffer, then written (and fingerprinted) at once. pyftpdlib reads one
    # record (16 KB) per turn into a fresh 64 KB buffer and writes it on its own, which costs more
    # Python per byte than the decryption does.
    READ_BATCH = 256 * 1024
    _batch: memoryview | None = None
    # A download goes out in pieces of this size (pyftpdlib's 64 KB cost a Python round per 4 TLS
    # records); the output buffer matches, or asynchat would slice and copy every piece.
    SEND_CHUNK = 256 * 1024
    ac_out_buffer_size = SEND_CHUNK

    def __repr__(self) -> str:
        # pyftpdlib formats repr(channel) into its debug messages even when debug logging is off (several
        # times per transfer, each walking the channel's state): the full form only when it is shown.
        return super().__repr__() if logger.isEnabledFor(logging.DEBUG) else _short_repr(self)

    def handle_read_event(self) -> None:
        if self.receive and self._ssl_established and not self._ssl_closing and not self._closed:
            with self._handle_ssl_want_rw():
                self._ssl_want_read = False
                self._read_batch()
        else:
            # pyftpdlib aliases handle_read_event to DTPHandler.handle_read; everything but an upload
            # under way over TLS (the handshake, the shutdown) goes its way.
            super().handle_read_event()
            self._refuse_if_too_large()

    def _refuse_if_too_large(self) -> bool:
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
            return True
        return False

    def _read_batch(self) -> None:
        size = self.READ_BATCH
        lend = getattr(self.file_obj, "batch_buffer", None)  # a StagedUpload lends its own buffers
        if lend is not None:
            batch = lend(size)
        else:
            batch = self._batch
            if batch is None:
                batch = self._batch = memoryview(bytearray(size))
        conn, got, end = self.socket, 0, None
        try:
            if _SSL_read is not None:  # straight into the batch: no temporary buffer, no second copy
                ssl, address = conn._ssl, _ffi.from_buffer(batch)
                while got < size:
                    count = _SSL_read(ssl, address + got, size - got)
                    if count <= 0:
                        conn._raise_ssl_error(ssl, count)
                        break  # (not reached: it raised)
                    got += count
            else:
                while got < size:
                    got += conn.recv_into(batch[got:], min(size - got, 65536))
        except SSL.WantReadError:
            pass  # all there is for now; the channel stays registered for reading while receiving
        except SSL.WantWriteError:
            self._ssl_want_write = True
        except SSL.ZeroReturnError:
            end = "close_notify"  # the sender finished: the upload is complete
        except (SSL.SysCallError, SSL.Error):
            end = "cut"
        if got:
            self.tot_bytes_received += got
            data: bytes | memoryview = batch[:got]
            if self._data_wrapper is not None:  # ASCII: CRLF to the local line end, as pyftpdlib does
                data = self._data_wrapper(bytes(data))
            try:
                self.file_obj.write(data)
            except OSError as err:
                raise _FileReadWriteError(err) from err
            if self._refuse_if_too_large():  # checked before a close_notify in the same batch publishes it
                return
        if end == "close_notify":
            self.handle_close()
        elif end == "cut":
            self._abort_truncated()

    def _abort_truncated(self) -> None:
        # In stream mode the end of the data connection is the end of the file. Over TLS a sender
        # that finished says so with close_notify; a connection that just stops (reset, or a FIN
        # from a killed client) is a truncated upload, which pyftpdlib would publish with 226
        # (vsftpd refuses it likewise with strict_ssl_read_eof).
        self._resp = (ftpcodes.reply(ftpcodes.TRANSFER_ABORTED,
                                     "Upload incomplete: the data connection ended without TLS close_notify; "
                                     "nothing was stored, send the file again."), logger.warning)
        self.transfer_finished = False
        self.close()

    def recv(self, buffer_size: int) -> bytes:
        # (The batch reader above takes uploads; this keeps the same rule for any other read.)
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
            self._abort_truncated()
            return b""

    def send(self, data: bytes) -> int:
        # asynchat passes an empty listing or file on to send(); pyOpenSSL answers an empty write made
        # during the TLS handshake as if the peer had gone, and pyftpdlib then cuts the connection
        # mid-handshake (Python's ftplib fails with "shutdown while in init" on about one empty NLST
        # in three under load). Nothing to send is simply nothing sent.
        if not data:
            return 0
        sent = super().send(data)
        if sent <= 0 or sent >= len(data) or not self._ssl_established or self._closed:
            return sent
        # pyOpenSSL writes one TLS record (16 KB) per call; pyftpdlib would then go round the loop and
        # copy the rest of the piece for every record. The rest goes now, as far as the socket takes
        # it, from a view (no copies). Whatever stops it (a full socket, an error) is left to the next
        # call, which pyftpdlib makes with the same remaining bytes, as OpenSSL requires, and handles.
        view, conn = memoryview(data), self.socket
        try:
            while sent < len(view):
                more = conn.send(view[sent:])
                sent += more
                self.tot_bytes_sent += more
        except (SSL.Error, OSError):
            pass
        return sent

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

    def __repr__(self) -> str:
        # As StagingDTPHandler's: pyftpdlib formats it into debug messages whether shown or not.
        return super().__repr__() if logger.isEnabledFor(logging.DEBUG) else _short_repr(self)

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

    def push_dtp_data(self, data: Any, isproducer: bool = False, file: Any = None, cmd: str | None = None) -> None:
        if isproducer and isinstance(data, FileProducer) and file is not None:
            # Big files in big pieces; a small one (an invoice) keeps pyftpdlib's 64 KB, so a crowd of
            # downloads does not read into a quarter megabyte each.
            try:
                big = os.fstat(file.fileno()).st_size > 4 * self.dtp_handler.SEND_CHUNK
            except (OSError, ValueError, AttributeError):
                big = False
            if big:
                data.buffer_size = self.dtp_handler.SEND_CHUNK
        super().push_dtp_data(data, isproducer, file, cmd)

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
    """pyftpdlib's server, made for many clients arriving at once: it takes up to ``ACCEPTS_PER_TURN``
    waiting connections per loop turn (pyftpdlib takes one), so a crowd does not overflow the listen
    queue meanwhile (its backlog holds the rest until the next turn)."""

    # Bounded, so serving the sessions already open goes on; and small, so a crowd's TLS handshakes
    # (each holding OpenSSL's handshake state and buffers, ~40 KB) are spread over loop turns instead
    # of all being in flight at once. 300 clients at once, peak RSS of the simulator: 92-101 MB with
    # 128 or 32 per turn, 88-89 MB with 8; the crowd was through no later (1.3-1.5 s against 1.5-2.1 s).
    ACCEPTS_PER_TURN = 8

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
