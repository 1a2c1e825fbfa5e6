"""Reference: the same uploads, through the same client harness, against a bare pyftpdlib TLS server.

Only connect + upload is compared: a bare server has no ``.ok`` and no answers. The certificate is a
fresh trustme ECDSA chain, the key type koppelsim generates, so both handshakes cost the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import trustme

from .bare_ftp_server import PASSWORD, USER
from .ftps import FTPSClient, FTPSEndpoint, client_context, run_parallel
from .phases import Phases
from .procs import HOST, PYTHON, Child, RSSSampler, free_port, peak_hwm, wait_ftp_banner
from .workload import Submission, shares


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """(ca.pem, chain.pem, key.pem) for 127.0.0.1."""
    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(key_type=trustme.KeyType.ECDSA)
    leaf = ca.issue_cert("127.0.0.1", "localhost", key_type=trustme.KeyType.ECDSA)
    paths = folder / "ca.pem", folder / "chain.pem", folder / "key.pem"
    ca.cert_pem.write_to_path(str(paths[0]))
    leaf.private_key_pem.write_to_path(str(paths[2]))
    with open(paths[1], "wb") as fh:
        for blob in leaf.cert_chain_pems:
            fh.write(blob.bytes())
    return paths


def _upload(client: FTPSClient, share: list[Submission]) -> None:
    for sub in share:  # exactly what DialogueClient.upload does
        client.put(f"IN/{sub.data_name}", sub.data)
        client.put(f"IN/{sub.meta_name}", sub.meta)


def run(workload: list[Submission], clients: int, workdir: Path, progress: Callable[[str], None]) -> dict:
    workdir.mkdir(parents=True, exist_ok=True)
    ca, chain, key = make_certificates(workdir / "tls")
    port = free_port()
    child = Child([PYTHON, "-m", "bench.bare_ftp_server", "--port", str(port), "--home", str(workdir / "home"),
                   "--cert", str(chain), "--key", str(key)], workdir / "bare-ftp.log")
    team: list[FTPSClient] = []
    sampler: RSSSampler | None = None
    try:
        wait_ftp_banner(port, child)
        sampler = RSSSampler(child.pid).start()
        endpoint = FTPSEndpoint(HOST, port, USER, PASSWORD, client_context(str(ca)))
        parts = shares(workload, clients)
        team = [FTPSClient(endpoint) for _ in parts]
        phases = Phases(sampler)
        phases.measure("connect", lambda: run_parallel(team, FTPSClient.connect))
        phases.measure("upload", lambda: run_parallel(list(zip(team, parts)), lambda pair: _upload(*pair)))
        progress(f"reference: bare pyftpdlib took {len(workload)} submissions in {phases.seconds('upload'):.2f} s")
        stored = len(list((workdir / "home" / "IN").iterdir()))
        hwm = peak_hwm(child.pid)
    finally:
        for client in team:
            client.close()
        if sampler is not None:
            sampler.stop()
        child.stop()
    n = len(workload)
    return {"submissions": n, "clients": clients, "files_stored": stored, "phases": phases.results,
            "upload_seconds": phases.seconds("upload"), "uploads_per_second": n / phases.seconds("upload"),
            "rss_peak_sampled_bytes": sampler.peak, "rss_peak_hwm_bytes": hwm}


def combine(runs: list[dict]) -> dict:
    """The reference figure from the bracketing runs: their mean, with each run kept for the record."""
    upload = sum(r["upload_seconds"] for r in runs) / len(runs)
    first = runs[0]
    return {**first, "runs": runs, "upload_seconds": upload, "uploads_per_second": first["submissions"] / upload,
            "upload_seconds_each": [r["upload_seconds"] for r in runs],
            "rss_peak_sampled_bytes": max(r["rss_peak_sampled_bytes"] for r in runs),
            "rss_peak_hwm_bytes": max((r["rss_peak_hwm_bytes"] or 0) for r in runs) or None}
