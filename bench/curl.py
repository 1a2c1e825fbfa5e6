"""curl as the FTPS client for big transfers: one command per transfer, as a user or a cron job runs it.

``curl --ssl-reqd --ftp-pasv --cacert CA -u user:pw``: explicit FTPS (AUTH TLS, PROT P), passive
mode (EPSV, then PASV), binary (curl's default TYPE I). The figure is curl's own ``time_total``: from
the connect to the final reply (for CB's uploads that includes taking the file, done before the 226),
without curl's process start. Each command logs in afresh.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .procs import HOST, BenchError

TIMEOUT = 600.0  # real seconds per transfer; 200 MB at even 1 MB/s fits
_WRITE_OUT = "%{time_total} %{size_download} %{size_upload} %{response_code}"


@dataclass(frozen=True)
class FTPSServer:
    name: str
    port: int
    user: str
    password: str
    ca_file: Path


@dataclass(frozen=True)
class Transfer:
    seconds: float
    size: int

    @property
    def mb_per_second(self) -> float:
        return self.size / 2**20 / self.seconds


def available() -> bool:
    return shutil.which("curl") is not None


def transfer(server: FTPSServer, remote_path: str, *, upload: Path | None = None, expect_bytes: int) -> Transfer:
    """Upload ``upload`` to ``remote_path`` (or download it when None); the bytes moved must equal
    ``expect_bytes``. ``remote_path`` is relative to the login folder, as curl takes a URL path."""
    url = f"ftp://{HOST}:{server.port}/{remote_path.lstrip('/')}"
    argv = ["curl", "-q", "--silent", "--show-error", "--noproxy", "*", "--ssl-reqd", "--ftp-pasv",
            "--cacert", str(server.ca_file), "--user", f"{server.user}:{server.password}",
            "--max-time", str(int(TIMEOUT)), "--write-out", _WRITE_OUT]
    argv += ["--upload-file", str(upload), url] if upload is not None else ["--output", "/dev/null", url]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT + 30)
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"curl {url} did not finish within {TIMEOUT + 30:.0f} s") from exc
    parts = done.stdout.split()
    if done.returncode != 0 or len(parts) != 4:
        raise BenchError(f"curl {'upload to' if upload else 'download of'} {url} on {server.name} failed "
                         f"(exit {done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    seconds, downloaded, uploaded, reply = float(parts[0]), int(parts[1]), int(parts[2]), parts[3]
    moved = uploaded if upload is not None else downloaded
    if moved != expect_bytes or reply != "226":
        raise BenchError(f"curl {url} on {server.name}: moved {moved} of {expect_bytes} bytes, last reply {reply}")
    return Transfer(seconds, moved)
