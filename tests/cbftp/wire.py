"""Logging in to the CB simulator as its customers do (explicit FTPS, PROT P), for the CB tests."""

from __future__ import annotations

import ftplib
import ssl

RELATION, PASSWORD = "7000123", "cb-secret"  # the simulator's configured customer


def ftps_login(host: str, port: int, context: ssl.SSLContext, user: str = RELATION, password: str = PASSWORD,
               timeout: float = 10) -> ftplib.FTP_TLS:
    """A logged-in FTPS session with a protected data channel; the connection is closed if any step fails."""
    ftp = ftplib.FTP_TLS(context=context, timeout=timeout)
    ftp.connect(host, port)
    try:
        ftp.auth()
        ftp.login(user, password)
        ftp.prot_p()
    except BaseException:
        ftp.close()
        raise
    return ftp


def runtime_login(runtime, user: str = RELATION, password: str = PASSWORD, timeout: float = 10) -> ftplib.FTP_TLS:
    """``ftps_login`` to the ``cb-ftps`` endpoint of a running koppelsim runtime, trusting its CA."""
    endpoint = runtime.endpoint("cb-ftps")
    return ftps_login(endpoint.host, endpoint.port, runtime.tls.client_context(), user, password, timeout)
