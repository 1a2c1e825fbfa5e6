"""TLS material: generated once and reused; the server context enforces its protocol floor."""

from __future__ import annotations

import socket
import ssl
import threading

import pytest
from OpenSSL import SSL

from simulators.core.tls import TLSFiles, ensure_tls, server_context


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory) -> TLSFiles:
    return ensure_tls(tmp_path_factory.mktemp("tls"))


def test_ensure_tls_creates_the_files_once_and_reuses_them(tmp_path):
    tls_dir = tmp_path / "state" / "tls"
    first = ensure_tls(tls_dir)
    assert first == TLSFiles(tls_dir / "ca.pem", tls_dir / "server.pem", tls_dir / "server.key")
    blobs = {p: p.read_bytes() for p in (first.ca_cert, first.server_cert, first.server_key)}
    assert all(b.startswith(b"-----BEGIN") for b in blobs.values())
    assert (first.server_key.stat().st_mode & 0o777) == 0o600  # the key is private

    second = ensure_tls(tls_dir)
    assert second == first
    assert {p: p.read_bytes() for p in blobs} == blobs  # same bytes: not regenerated


def test_ensure_tls_regenerates_when_a_file_is_missing(tmp_path):
    first = ensure_tls(tmp_path)
    old_ca = first.ca_cert.read_bytes()
    first.server_key.unlink()
    again = ensure_tls(tmp_path)
    assert again.server_key.exists()
    assert again.ca_cert.read_bytes() != old_ca  # a fresh CA and a matching key pair
    server_context(again)  # check_privatekey: the new key belongs to the new certificate


def test_the_server_chain_is_issued_by_the_generated_ca(tls_files):
    from cryptography import x509

    ca = x509.load_pem_x509_certificate(tls_files.ca_cert.read_bytes())
    chain = x509.load_pem_x509_certificates(tls_files.server_cert.read_bytes())
    leaf = chain[0]
    assert leaf.issuer == ca.subject
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    assert "127.0.0.1" in [str(ip) for ip in names.get_values_for_type(x509.IPAddress)]


@pytest.mark.parametrize("bad", ["1.4", "TLSv1.2", "", "1"])
def test_server_context_refuses_an_unknown_min_version(tls_files, bad):
    with pytest.raises(ValueError, match=r"tls min_version must be one of \['1.0', '1.1', '1.2', '1.3'\]"):
        server_context(tls_files, bad)


@pytest.mark.parametrize("version", ["1.0", "1.1", "1.2", "1.3"])
def test_server_context_accepts_the_known_versions(tls_files, version):
    assert isinstance(server_context(tls_files, version), SSL.Context)


def handshake(files: TLSFiles, server_min: str, client_max: ssl.TLSVersion | None) -> str:
    """A real TLS handshake over a socket pair; returns the negotiated version or raises ssl.SSLError."""
    server_sock, client_sock = socket.socketpair()
    server = SSL.Connection(server_context(files, server_min), server_sock)
    server.set_accept_state()
    outcome: dict = {}

    def serve() -> None:
        try:
            server.do_handshake()
            outcome["ok"] = True
        except SSL.Error as exc:
            outcome["error"] = exc
        finally:
            server_sock.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    context = files.client_context()
    if client_max is not None:
        context.maximum_version = client_max
    client_sock.settimeout(5)
    try:
        with context.wrap_socket(client_sock, server_hostname="localhost") as tls:
            return tls.version()
    finally:
        client_sock.close()
        thread.join(5)
        assert not thread.is_alive(), "the server side of the handshake did not finish"


def test_a_client_trusting_the_ca_completes_a_handshake(tls_files):
    assert handshake(tls_files, "1.2", None) in ("TLSv1.2", "TLSv1.3")
    assert handshake(tls_files, "1.2", ssl.TLSVersion.TLSv1_2) == "TLSv1.2"


def test_the_min_version_floor_refuses_an_older_client(tls_files):
    with pytest.raises(ssl.SSLError):
        handshake(tls_files, "1.3", ssl.TLSVersion.TLSv1_2)
