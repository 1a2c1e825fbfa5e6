"""CB (a): FTPS upload and download of one big binary file with curl, against the CB simulator, a bare
pyftpdlib TLS server and, when installed, vsftpd. Goal: CB at least 0.9x the bare server's MB/s.

All servers run side by side and the runs are interleaved (bare, CB, vsftpd; then CB, vsftpd, bare; ...),
so a slow patch of a shared machine hurts every column alike. Each column's MB/s is the median of its runs;
the ratio is the median of the per-round ratios (CB against the bare run of the same round), which a
single disturbed round cannot move.

CB's simulator runs in report mode: curl logs in once per command, which CB's one-login-per-10-minutes
rule would refuse in enforce mode. The upload goes to ``/{RelatieID}/in/big-N.zip`` (a lower-case
``.zip`` is a binary file to CB; a new name each run, because a name once placed in in/ stays taken),
and CB takes it before its 226. The download is ``out/big.zip``, put into the account's out folder on
disk before each run, because CB deletes a file from out/ after a complete download.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import vsftpd
from .bare_ftp_server import PASSWORD as BARE_PASSWORD
from .bare_ftp_server import USER as BARE_USER
from .cbsim import DEFAULT_ACCOUNT, DEFAULT_PASSWORD, start_cb_sim
from .curl import FTPSServer, Transfer, available, transfer
from .procs import PYTHON, BenchError, Child, RSSSampler, free_port, peak_hwm, wait_ftp_banner
from .reference import make_certificates

GOAL_RATIO = 0.9  # CB's MB/s over the bare server's, each direction
CHUNK = 8 * 2**20


@dataclass
class Target:
    """One server as the transfers see it: where uploads go, where a download file is put on disk."""

    server: FTPSServer
    upload_folder: str  # URL path relative to the login folder
    download_path: str
    download_file: Path  # on disk
    after_upload: Callable[[str], None]  # frees the uploaded copy (tmpfs is memory)
    uploads: list[Transfer]
    downloads: list[Transfer]


def write_random_file(path: Path, size: int) -> Path:
    with open(path, "wb") as fh:
        for offset in range(0, size, CHUNK):
            fh.write(os.urandom(min(CHUNK, size - offset)))
    return path


def run(size: int, runs: int, workdir: Path, progress: Callable[[str], None]) -> dict:
    if not available():
        raise BenchError("curl is not installed")
    workdir.mkdir(parents=True, exist_ok=True)
    source = write_random_file(workdir / "big.zip", size)
    ca, chain, key = make_certificates(workdir / "tls")
    cb_sampler: RSSSampler | None = None
    with contextlib.ExitStack() as stack:
        targets: dict[str, Target] = {}

        home = workdir / "bare-home"
        bare_port = free_port()
        bare = Child([PYTHON, "-m", "bench.bare_ftp_server", "--port", str(bare_port), "--home", str(home),
                      "--cert", str(chain), "--key", str(key)], workdir / "bare-ftp.log")
        stack.callback(bare.stop)
        wait_ftp_banner(bare_port, bare)
        targets["bare pyftpdlib"] = _folder_target(FTPSServer("bare pyftpdlib", bare_port, BARE_USER, BARE_PASSWORD,
                                                              ca), home)

        sim = start_cb_sim(workdir, "cb-transfer-sim", mode="report")
        stack.callback(sim.stop)
        cb_sampler = RSSSampler(sim.pid).start()
        stack.callback(cb_sampler.stop)
        received = sim.state_dir / "files" / "cbftp" / "received" / DEFAULT_ACCOUNT
        targets["CB"] = Target(FTPSServer("CB", sim.ftp_port, DEFAULT_ACCOUNT, DEFAULT_PASSWORD, sim.ca_file),
                               "in", "out/big.zip", sim.out_folder(DEFAULT_ACCOUNT) / "big.zip",
                               lambda name: _remove_archived(received, name), [], [])

        vsftpd_skipped = vsftpd.unavailable_reason()
        if vsftpd_skipped is None:
            server = stack.enter_context(vsftpd.Vsftpd(workdir / "vsftpd", chain, key))
            targets["vsftpd"] = _folder_target(FTPSServer("vsftpd", server.port, vsftpd.USER, vsftpd.PASSWORD, ca),
                                               server.root)
        else:
            progress(vsftpd_skipped)

        for number in range(1, runs + 1):
            # The order turns each round, so whoever goes first in a quiet (or busy) spell changes too.
            order = list(targets.items())
            shift = (number - 1) % len(order)
            for name, target in order[shift:] + order[:shift]:
                upload_name = f"big-{number}.zip"
                target.uploads.append(transfer(target.server, f"{target.upload_folder}/{upload_name}",
                                               upload=source, expect_bytes=size))
                target.after_upload(upload_name)
                shutil.copyfile(source, target.download_file)
                target.downloads.append(transfer(target.server, target.download_path, expect_bytes=size))
                progress(f"cb transfer {number}/{runs}: {name} up {target.uploads[-1].mb_per_second:.0f} MB/s, "
                         f"down {target.downloads[-1].mb_per_second:.0f} MB/s")
        if (sim.out_folder(DEFAULT_ACCOUNT) / "big.zip").exists():
            raise BenchError("CB kept out/big.zip after a complete download")
        cb_peak, cb_hwm = cb_sampler.peak, peak_hwm(sim.pid)

    result: dict = {"file_bytes": size, "runs": runs, "client": "curl", "cb_mode": "report",
                    "vsftpd_skipped": vsftpd_skipped, "cb_rss_peak_sampled_bytes": cb_peak,
                    "cb_rss_peak_hwm_bytes": cb_hwm, "servers": {}}
    for name, target in targets.items():
        result["servers"][name] = {
            direction: {"mb_per_second": statistics.median(t.mb_per_second for t in done),
                        "each_mb_per_second": [round(t.mb_per_second, 1) for t in done],
                        "seconds_each": [round(t.seconds, 3) for t in done]}
            for direction, done in (("upload", target.uploads), ("download", target.downloads))}
    for direction in ("upload", "download"):
        # A ratio per round (CB against the bare server's run right beside it), then the median: a busy
        # moment on a shared machine spoils one round's pair, not the figure.
        per_round = [c.mb_per_second / b.mb_per_second for c, b in
                     zip(getattr(targets["CB"], f"{direction}s"), getattr(targets["bare pyftpdlib"], f"{direction}s"))]
        result[f"{direction}_ratio"] = statistics.median(per_round)
        result[f"{direction}_ratio_each_round"] = [round(r, 3) for r in per_round]
        cb, bare_rate = (result["servers"][n][direction]["mb_per_second"] for n in ("CB", "bare pyftpdlib"))
        result[f"{direction}_ratio_of_medians"] = cb / bare_rate
    result["goal_ratio"] = GOAL_RATIO
    return result


def _remove_archived(received: Path, name: str) -> None:
    """CB keeps what it took under received/{RelatieID}/ (now as {sha256[:12]}-{name})."""
    for path in received.rglob(f"*{name}"):
        if path.is_file():
            path.unlink()


def _folder_target(server: FTPSServer, root: Path) -> Target:
    """A plain server serving ``root`` with ``IN/`` and ``OUT/`` (the bare server's layout)."""
    return Target(server, "IN", "OUT/big.zip", root / "OUT" / "big.zip",
                  lambda name: (root / "IN" / name).unlink(missing_ok=True), [], [])
