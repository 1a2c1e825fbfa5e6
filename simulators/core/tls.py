"""TLS material: generated on first start into ``<state-dir>/tls/`` (or given in the config).

The generated CA is what a developer's client trusts (``ca.pem``); the server certificate covers
``localhost`` and ``127.0.0.1``. ECDSA keys: generation takes milliseconds, which keeps the first
``koppelsim sim`` start inside its start-up budget.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

from OpenSSL import SSL

_PROTOCOL_VERSIONS = {
    "1.0": SSL.TLS1_VERSION,
    "1.1": SSL.TLS1_1_VERSION,
    "1.2": SSL.TLS1_2_VERSION,
    "1.3": SSL.TLS1_3_VERSION,
}


@dataclass(frozen=True)
class TLSFiles:
    ca_cert: Path
    server_cert: Path  # certificate chain (leaf first)
    server_key: Path

    def client_context(self) -> ssl.SSLContext:
        """A client-side context trusting this CA — what tests and our own clients use."""
        context = ssl.create_default_context(cafile=str(self.ca_cert))
        return context


def ensure_tls(tls_dir: Path, hostnames: tuple[str, ...] = ("localhost", "127.0.0.1")) -> TLSFiles:
    """Reuse the certificates under ``tls_dir`` or create them once."""
    files = TLSFiles(tls_dir / "ca.pem", tls_dir / "server.pem", tls_dir / "server.key")
    if files.ca_cert.exists() and files.server_cert.exists() and files.server_key.exists():
        return files
    import trustme  # only when certificates are made: a restart reuses them and skips the import

    tls_dir.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(key_type=trustme.KeyType.ECDSA, organization_name="koppelsim test CA")
    leaf = ca.issue_cert(*hostnames, key_type=trustme.KeyType.ECDSA)
    leaf.private_key_pem.write_to_path(str(files.server_key))
    with open(files.server_cert, "wb") as fh:
        for blob in leaf.cert_chain_pems:
            fh.write(blob.bytes())
    ca.cert_pem.write_to_path(str(files.ca_cert))
    files.server_key.chmod(0o600)
    return files


def server_context(files: TLSFiles, min_version: str = "1.2") -> SSL.Context:
    """A pyOpenSSL server context (what pyftpdlib's TLS handler takes) with a protocol floor."""
    if min_version not in _PROTOCOL_VERSIONS:
        raise ValueError(f"tls min_version must be one of {sorted(_PROTOCOL_VERSIONS)}, got {min_version!r}")
    context = SSL.Context(SSL.TLS_SERVER_METHOD)
    context.set_min_proto_version(_PROTOCOL_VERSIONS[min_version])
    context.set_options(SSL.OP_NO_COMPRESSION)
    # An idle connection gives its read/write buffers back (about 70 KB each): a crowd of mostly idle
    # control channels then costs little memory.
    context.set_mode(SSL.MODE_RELEASE_BUFFERS)
    context.use_certificate_chain_file(str(files.server_cert))
    context.use_privatekey_file(str(files.server_key))
    context.check_privatekey()
    return context
