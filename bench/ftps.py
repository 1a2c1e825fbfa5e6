"""The FTPS client harness every FTP measurement uses, so koppelsim and the bare server are driven by
exactly the same code: ``ftplib.FTP_TLS``, ``AUTH TLS``, ``PROT P``, binary mode, passive data
connections (each with its own TLS handshake, as Python's ftplib does it)."""

from __future__ import annotations

import ftplib
import io
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class FTPSEndpoint:
    host: str
    port: int
    user: str
    password: str
    context: ssl.SSLContext
    timeout: float = 30.0  # real seconds per socket operation


def client_context(ca_file: str) -> ssl.SSLContext:
    """Verifies the server certificate (and its 127.0.0.1 address) against the given CA: the handshake
    costs what it costs a real client."""
    context = ssl.create_default_context(cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class FTPSClient:
    """One control connection, kept for all of a client's work (log in once, as real software does)."""

    def __init__(self, endpoint: FTPSEndpoint) -> None:
        self.endpoint = endpoint
        self.ftp: ftplib.FTP_TLS | None = None

    def connect(self) -> None:
        e = self.endpoint
        ftp = ftplib.FTP_TLS(context=e.context, timeout=e.timeout)
        ftp.connect(e.host, e.port)
        ftp.auth()
        ftp.login(e.user, e.password)
        ftp.prot_p()
        ftp.voidcmd("TYPE I")
        self.ftp = ftp

    def put(self, path: str, data: bytes) -> None:
        reply = self._ftp.storbinary(f"STOR {path}", io.BytesIO(data))
        if not reply.startswith("226"):
            raise ftplib.error_reply(f"STOR {path}: {reply}")

    def get(self, path: str) -> bytes:
        sink = io.BytesIO()
        self._ftp.retrbinary(f"RETR {path}", sink.write)
        return sink.getvalue()

    def delete(self, path: str) -> None:
        self._ftp.delete(path)

    def names(self, folder: str) -> list[str]:
        try:
            return [n.rsplit("/", 1)[-1] for n in self._ftp.nlst(folder)]
        except ftplib.error_perm as exc:  # some servers answer an empty folder with 550
            if str(exc).startswith("550"):
                return []
            raise

    def close(self) -> None:
        if self.ftp is None:
            return
        try:
            self.ftp.quit()
        except (OSError, EOFError, ftplib.Error):
            self.ftp.close()
        self.ftp = None

    @property
    def _ftp(self) -> ftplib.FTP_TLS:
        if self.ftp is None:
            raise RuntimeError("not connected")
        return self.ftp


def run_parallel(items: Sequence[T], work: Callable[[T], R]) -> tuple[float, list[R]]:
    """Run ``work`` for every item on its own thread, all at once; (wall seconds, results).

    The first failure is raised after every thread has finished, so no thread is left talking to a
    server that is about to be stopped.
    """
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, len(items)), thread_name_prefix="bench-client") as pool:
        futures = [pool.submit(work, item) for item in items]
        outcomes = []
        for future in futures:
            try:
                outcomes.append((future.result(), None))
            except Exception as exc:  # collected, raised below
                outcomes.append((None, exc))
    elapsed = time.perf_counter() - started
    for _, exc in outcomes:
        if exc is not None:
            raise exc
    return elapsed, [result for result, _ in outcomes]
