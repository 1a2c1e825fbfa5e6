"""A bare pyftpdlib FTPS server, the reference for koppelsim's Digipoort listener (run as a subprocess):

    python -m bench.bare_ftp_server --port P --home DIR --cert CHAIN.pem --key KEY.pem

The same library, TLS floor (1.2), ``PROT P`` requirement, single I/O loop and quiet logging as
koppelsim, and nothing else: no journal, no staging or fsync, no model. Whatever koppelsim spends on
top of this is its own overhead.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from OpenSSL import SSL
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import TLS_FTPHandler
from pyftpdlib.servers import FTPServer

USER, PASSWORD = "bench", "bench-secret"


def tls_context(cert: str, key: str) -> SSL.Context:
    context = SSL.Context(SSL.TLS_SERVER_METHOD)
    context.set_min_proto_version(SSL.TLS1_2_VERSION)
    context.set_options(SSL.OP_NO_COMPRESSION)
    context.use_certificate_chain_file(cert)
    context.use_privatekey_file(key)
    context.check_privatekey()
    return context


def build_server(port: int, home: Path, cert: str, key: str) -> FTPServer:
    (home / "IN").mkdir(parents=True, exist_ok=True)
    (home / "OUT").mkdir(parents=True, exist_ok=True)
    authorizer = DummyAuthorizer()
    authorizer.add_user(USER, PASSWORD, str(home), perm="elradfmwMT")
    # Settings on a fresh subclass, not on TLS_FTPHandler itself (configuration as an instance).
    handler = type("BareTLSHandler", (TLS_FTPHandler,), {
        "authorizer": authorizer, "ssl_context": tls_context(cert, key),
        "tls_control_required": True, "tls_data_required": True,
    })
    server = FTPServer(("127.0.0.1", port), handler)
    server.max_cons = 256  # as koppelsim's listener
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--home", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    args = parser.parse_args()
    # As koppelsim does: pyftpdlib would otherwise log every transfer to stderr, which costs time.
    ftp_logger = logging.getLogger("pyftpdlib")
    ftp_logger.addHandler(logging.NullHandler())
    ftp_logger.setLevel(logging.WARNING)
    server = build_server(args.port, Path(args.home), args.cert, args.key)
    server.serve_forever(timeout=0.05)  # koppelsim's loop polls every 50 ms too


if __name__ == "__main__":
    main()
