"""vsftpd, a second reference for big FTPS transfers: a C server with a process per session, configured
as the bare pyftpdlib server is (explicit TLS required on control and data, passive mode with a port
range, 127.0.0.1 only, the same trustme certificate), run from a generated config in a temporary folder.

Never installed by the benchmark: without a ``vsftpd`` on PATH the column says so and is skipped. It
needs root (it chroots each session into the served folder and drops privileges). The user is
anonymous, chrooted into ``root`` with ``IN/`` (uploads) and ``OUT/`` (downloads), as the bare server's
home; the password is not checked.
"""

from __future__ import annotations

import os
import pwd
import shutil
from pathlib import Path

from .procs import HOST, BenchError, Child, free_port, wait_ftp_banner

NOT_INSTALLED = "vsftpd: not installed (apt-get install vsftpd)"
USER, PASSWORD = "anonymous", "bench@koppelsim.test"
HELPER = "nobody"  # vsftpd's unprivileged helper process


def anonymous_account() -> str:
    """The system account anonymous sessions run as. vsftpd changes into its home before the chroot, so
    the home must exist: "ftp" (/srv/ftp, made by the Debian package), else a stock account that has one."""
    for name in ("ftp", "daemon", "nobody"):
        try:
            if os.path.isdir(pwd.getpwnam(name).pw_dir):
                return name
        except KeyError:
            continue
    return "nobody"


def unavailable_reason() -> str | None:
    """Why vsftpd cannot be measured here, or None."""
    if _vsftpd() is None:
        return NOT_INSTALLED
    if os.geteuid() != 0:
        return "vsftpd: needs root to chroot its sessions; run the benchmark as root to compare with it"
    return None


def config_text(port: int, root: Path, empty: Path, cert: Path, key: Path, pasv: tuple[int, int],
                account: str) -> str:
    settings = {
        # standalone, in the foreground, so the benchmark owns the process and stops it
        "listen": "YES", "listen_ipv6": "NO", "listen_address": HOST, "listen_port": port, "background": "NO",
        # anonymous only, chrooted into the served folder; uploads allowed into its writable IN/
        "anonymous_enable": "YES", "local_enable": "NO", "no_anon_password": "YES", "anon_root": root,
        "ftp_username": account, "nopriv_user": HELPER, "write_enable": "YES", "anon_upload_enable": "YES",
        "anon_umask": "022", "secure_chroot_dir": empty,
        # explicit FTPS on control and data, as CB and the bare server require
        "ssl_enable": "YES", "allow_anon_ssl": "YES", "force_anon_logins_ssl": "YES", "force_anon_data_ssl": "YES",
        "force_local_logins_ssl": "YES", "force_local_data_ssl": "YES", "ssl_sslv2": "NO", "ssl_sslv3": "NO",
        "ssl_tlsv1": "YES", "ssl_ciphers": "HIGH", "require_ssl_reuse": "NO",
        "rsa_cert_file": cert, "rsa_private_key_file": key,
        # passive only, inside a range
        "pasv_enable": "YES", "port_enable": "NO", "pasv_min_port": pasv[0], "pasv_max_port": pasv[1],
        # quiet, and no sandboxing that containers refuse (seccomp, network namespaces)
        "xferlog_enable": "NO", "syslog_enable": "NO", "dual_log_enable": "NO", "tcp_wrappers": "NO",
        "seccomp_sandbox": "NO", "isolate": "NO", "isolate_network": "NO", "max_clients": 0,
    }
    return "".join(f"{name}={value}\n" for name, value in settings.items())


class Vsftpd:
    """``with Vsftpd(workdir, chain, key) as server:`` serves ``server.root`` on ``server.port``."""

    def __init__(self, workdir: Path, cert: Path, key: Path, pasv: tuple[int, int] = (31000, 31099)) -> None:
        reason = unavailable_reason()
        if reason is not None:
            raise BenchError(reason)
        self.workdir = workdir
        self.root = workdir / "root"
        self.port = free_port()
        self._child: Child | None = None
        empty = workdir / "empty"  # vsftpd wants a root-owned, empty, non-writable folder for its helpers
        for folder, mode in ((empty, 0o555), (self.root, 0o755), (self.root / "IN", 0o755),
                             (self.root / "OUT", 0o755)):
            folder.mkdir(parents=True, exist_ok=True)
            folder.chmod(mode)
        account = anonymous_account()
        shutil.chown(self.root / "IN", user=account)  # anonymous uploads are written as that account
        self.config = workdir / "vsftpd.conf"
        self.config.write_text(config_text(self.port, self.root, empty, cert, key, pasv, account), encoding="utf-8")
        self.config.chmod(0o600)

    def start(self) -> "Vsftpd":
        self._child = Child([_vsftpd() or "vsftpd", str(self.config)], self.workdir / "vsftpd.log")
        try:
            wait_ftp_banner(self.port, self._child)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._child is not None:
            self._child.stop()
            self._child = None

    def __enter__(self) -> "Vsftpd":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _vsftpd() -> str | None:
    """The vsftpd binary: Debian installs it in /usr/sbin, which a non-root PATH often lacks."""
    return shutil.which("vsftpd") or shutil.which("vsftpd", path="/usr/sbin:/usr/local/sbin")
