"""The FTP(S) plumbing of the Digipoort client: one session, binary transfers, the server's own replies.

The session switches to binary (``TYPE I``) once. ftplib's ``storbinary``/``retrbinary`` send ``TYPE I``
again before every transfer and ``nlst`` switches to ``TYPE A``: one extra round trip per file, which
is a good part of the cost of 1,000 small files. The transfers here use ``transfercmd`` directly and
never change the type (a name listing in binary mode is the same bytes, CRLF-separated).
"""

from __future__ import annotations

import ftplib
import ssl
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .client import Connection


class FTPSession:
    """One logged-in FTP(S) control connection with a protected data channel, closed on exit."""

    def __init__(self, connection: "Connection") -> None:
        self.connection = connection
        self.ftp: ftplib.FTP | None = None

    def __enter__(self) -> ftplib.FTP:
        c = self.connection
        ftp = ftplib.FTP(timeout=c.timeout) if c.ssl_context is None else \
            ftplib.FTP_TLS(context=c.ssl_context, timeout=c.timeout)
        try:
            ftp.connect(c.host, c.port)
            if isinstance(ftp, ftplib.FTP_TLS):
                ftp.auth()
                ftp.login(c.user, c.password)
                ftp.prot_p()
            else:
                ftp.login(c.user, c.password)
            ftp.voidcmd("TYPE I")  # once: every transfer below is binary and none changes it
        except BaseException:  # a refused login must not leave the socket open
            ftp.close()
            raise
        self.ftp = ftp
        return ftp

    def __exit__(self, *exc: object) -> None:
        if self.ftp is None:
            return
        try:
            self.ftp.quit()
        except (OSError, EOFError, ftplib.Error):
            self.ftp.close()


def _close_data(conn) -> None:
    if isinstance(conn, ssl.SSLSocket):
        conn.unwrap()  # the TLS close, so the server knows the file is complete


def _read(ftp: ftplib.FTP, command: str) -> bytes:
    chunks = []
    with ftp.transfercmd(command) as conn:
        while data := conn.recv(65536):
            chunks.append(data)
        _close_data(conn)
    ftp.voidresp()
    return b"".join(chunks)


def names(ftp: ftplib.FTP, folder: str) -> list[str]:
    try:
        raw = _read(ftp, f"NLST {folder}")
    except ftplib.error_perm as exc:  # an empty folder answers 550 on some servers
        if str(exc).startswith("550"):
            return []
        raise
    return [line.rsplit("/", 1)[-1] for line in raw.decode("utf-8", "surrogateescape").splitlines() if line]


def download(ftp: ftplib.FTP, path: str) -> bytes:
    return _read(ftp, f"RETR {path}")


def store(ftp: ftplib.FTP, path: str, data: bytes) -> None:
    """STOR, and when the server cuts the data connection, its reason from the control connection.

    A server refusing an upload while it arrives (552: too large) closes the data connection and
    says why on the control connection; the sender sees only "connection reset". Reading the reply
    turns that into the server's own 5xx (raised as ftplib.error_perm) instead of a network error."""
    try:
        with ftp.transfercmd(f"STOR {path}") as conn:
            conn.sendall(data)
            _close_data(conn)
    except (ConnectionResetError, BrokenPipeError, ssl.SSLError) as exc:
        try:
            ftp.voidresp()
        except ftplib.Error:
            raise  # the server's reply: error_perm (5xx) or error_temp (4xx)
        except (OSError, EOFError):
            raise exc from None  # the control connection is gone too: a network failure
        raise
    ftp.voidresp()
