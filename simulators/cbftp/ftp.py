"""Centraal Boekhuis' FTPS protocol layer: CB's rulebook (seed 002) enforced command by command.

Every breach of a client-side rule becomes a finding (see ``findings.py``); what can be refused is
refused with a reply that says what to do instead. The rules:

* explicit FTPS only, on the control and the data channel, TLS 1.2 or newer;
* passive mode only (PASV/EPSV), data ports inside the configured range (41000-42000);
* the account sees ``/{RelatieID}/in`` and ``/{RelatieID}/out`` and nothing else; no folders made;
* file names of ``0-9 a-z A-Z . - _``, no upper case in the extension;
* what was placed in in/ cannot be overwritten, renamed, appended to or deleted;
* one login per 10 minutes; binary transfers for .epub .jpg .pdf .zip, ASCII for the rest;
* the same file never in two sessions at once;
* the weekly maintenance window: connections refused with 421, open sessions closed.
"""

from __future__ import annotations

import errno
import os
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from pyftpdlib.authorizers import AuthenticationFailed
from pyftpdlib.handlers.ftp.dispatchers import PassiveDTP

from ..core import ftpcodes
from ..core.clock import parse_duration
from ..core.ftpserver import JournaledFTPHandler, StagedUpload
from .accounts import FOLDERS
from .config import CBAccount
from .findings import SIM
from .listing import ClockListingFS
from .maintenance import outage_around
from .models import CBModel
from .names import binary_expected, name_problem
from .outbox import Fingerprint

_RELATION_LIKE = re.compile(r"^\d{7}$")
# The FTP root: it holds /{RelatieID} only. A client may stand there (curl's default way to an absolute
# path is CWD / first), but nothing can be placed or fetched there.
ROOT = "/"


class NoPassivePortFree(Exception):
    """Every port of the configured passive range is taken."""


class RangePassiveDTP(PassiveDTP):
    """Passive data channels strictly inside the configured range: a busy port is skipped (pyftpdlib
    does that), and when all are busy the client is told so instead of getting a port outside it."""

    def bind(self, addr: tuple) -> None:
        if addr[1] == 0 and self.cmd_channel.passive_ports:
            self.close()
            raise NoPassivePortFree()
        super().bind(addr)


class CBAuthorizer:
    """pyftpdlib's authorizer interface, answered by the model; also the 10-minute login rule."""

    def __init__(self, model: CBModel) -> None:
        self.model = model
        # pyftpdlib asks for the home folder and the welcome text right after a successful password
        # check, in the same call on the FTP thread: the account found there answers both (one query).
        self._just_logged_in: CBAccount | None = None

    def validate_authentication(self, username: str, password: str, handler: "CBHandler") -> None:
        self._just_logged_in = None
        account = self.model.login_account(username, password)
        if account is None:
            raise AuthenticationFailed("login incorrect: unknown user or wrong password.")
        now = self.model.clock.now()
        # The usual login (the first in the interval) is noted by the rule's check itself: one statement.
        if not self.model.note_login_unless_too_soon(account.relation_id, now):
            self._too_soon(account, now, handler)
            self.model.note_login(account.relation_id, now)  # mode report: let in, and noted
        handler.relation_id = account.relation_id
        self._just_logged_in = account

    def _too_soon(self, account: CBAccount, now: datetime, handler: "CBHandler") -> None:
        """A login within the interval after the previous one: a finding, and refused in mode enforce."""
        previous = self.model.last_login(account.relation_id)
        if previous is None:  # (not reached: only an earlier login holds the rule's check back)
            return
        allowed = self.model.next_login_allowed(previous)
        self.model.record_finding(now, account.relation_id, handler.session_id, "login_frequency",
                                  f"login at {now:%H:%M:%S}, previous at {previous:%H:%M:%S} UTC")
        if self.model.config.mode == "enforce":
            minutes = round(parse_duration(self.model.config.login_interval).total_seconds() / 60)
            local = allowed.astimezone(ZoneInfo(self.model.config.maintenance.timezone))
            # (pyftpdlib capitalises the first letter and lower-cases the rest of this text)
            raise AuthenticationFailed(f"log in at most once every {minutes} minutes; the next login is "
                                       f"allowed from {local:%H:%M:%S} local time.")

    def _account(self, username: str) -> CBAccount | None:
        account = self._just_logged_in
        if account is not None and account.login == username:
            return account
        return self.model.account_by_login(username)

    def get_home_dir(self, username: str) -> str:
        account = self._account(username)
        return self.model.ftp_root_text(account.relation_id)

    def has_user(self, username: str) -> bool:
        return self.model.account_by_login(username) is not None

    def has_perm(self, username: str, perm: str, path: str | None = None) -> bool:
        return True  # the handler refuses each forbidden action itself, saying why

    def get_perms(self, username: str) -> str:
        return "elradfmwMT"

    def get_msg_login(self, username: str) -> str:
        account, self._just_logged_in = self._account(username), None  # the last question after a login
        return f"Welcome {account.relation_id}: put files in in/, fetch them from out/."

    def get_msg_quit(self, username: str) -> str:
        return "Goodbye."

    def impersonate_user(self, username: str, password: str) -> None:
        pass

    def terminate_impersonation(self, username: str) -> None:
        pass


class CBFS(ClockListingFS):
    """The account's root holds ``/{RelatieID}/`` with in/ and out/; uploads are staged and atomic;
    listings show simulated time (``listing.py``)."""

    def open(self, filename: str, mode: str):
        if "w" in mode:
            handler = self.cmd_channel
            # No clock: its time would only go into the file's mtime, which nobody sees. CB takes the
            # file out of in/ before anything else runs on the FTP thread (and dates in/ then), and its
            # archive copy is never listed (the admin API shows what the database recorded).
            return StagedUpload(Path(filename), handler.store, None, handler.on_file_published,
                                fingerprint=True)  # CB records every received file's SHA-256
        return super().open(filename, mode)

    def validpath(self, path: str) -> bool:
        # pyftpdlib resolves the account's root (a dozen lstat calls deep in the state dir) and then the
        # whole path again for every path it checks. The root is the simulator's own folder and does not
        # move while the server runs: its real path is kept per server (``real_roots``), and only what
        # lies below it is looked at, one lstat per part; a link there (or anything unusual) takes
        # pyftpdlib's full resolution, so the answer is the same as ``realpath`` would give.
        root = self.root
        kept: dict = getattr(self.cmd_channel, "real_roots", None)
        if kept is None:
            kept = self.__dict__.setdefault("_real_roots", {})
        real_root = kept.get(root)
        if real_root is None:
            real_root = kept[root] = self._real_dir(root, kept)
        resolved = self._below_root(path, root, real_root)
        if resolved is None:
            resolved = self.realpath(path)
        if not resolved.endswith(os.sep):
            resolved += os.sep
        return resolved.startswith(real_root)

    def _real_dir(self, folder: str, kept: dict) -> str:
        """The real path of ``folder`` with a trailing separator: every account's root lies in the same
        folder, whose real path is kept too, so a new account costs one lstat, not a dozen."""
        if len(kept) > 10_000:
            kept.clear()
        parent = os.path.dirname(folder)
        real_parent = kept.get(parent)
        if real_parent is None:
            real = self.realpath(parent)
            real_parent = kept[parent] = real if real.endswith(os.sep) else real + os.sep
        real = self._below_root(folder, parent, real_parent) or self.realpath(folder)
        return real if real.endswith(os.sep) else real + os.sep

    @staticmethod
    def _below_root(path: str, root: str, real_root: str) -> str | None:
        """``realpath(path)`` for a normalised path below ``root`` with no link below the root; else None."""
        prefix = root if root.endswith(os.sep) else root + os.sep
        if not path.startswith(prefix):
            return real_root if path == root else None
        resolved = real_root[:-1]
        for part in path[len(prefix):].split(os.sep):
            if part in ("", ".", ".."):
                return None
            resolved += os.sep + part
            if os.path.islink(resolved):
                return None
        return resolved

    def chdir(self, path: str) -> None:
        # pyftpdlib's default calls os.chdir, which would move every thread of the process.
        if not os.path.isdir(path):
            raise FileNotFoundError(errno.ENOENT, "No such folder", path)
        self.cwd = self.fs2ftp(path)


class CBHandler(JournaledFTPHandler):
    sim_name = SIM
    model: CBModel
    abstracted_fs = CBFS
    passive_dtp = RangePassiveDTP
    banner = "Centraal Boekhuis FTPS (koppelsim simulator) ready."
    transfers: dict  # real path -> session id of the transfer under way (one dict per server)

    relation_id: str | None = None

    # -- connection, login, TLS ---------------------------------------------------------------------

    def on_connect(self) -> None:
        super().on_connect()
        self._raw_arg = ""
        outage = outage_around(self.clock.now(), self.model.config.maintenance)
        if outage is not None:
            self.journal.record(SIM, "cb.maintenance_refused", self.session_id)
            self.refuse(ftpcodes.SERVICE_NOT_AVAILABLE,
                        f"Service not available: CB maintenance until {outage[1]:%H:%M} local time; try again later.")
            self.close_when_done()

    def on_login(self, username: str) -> None:
        self.fs.cwd = f"/{self.relation_id}"  # the home is /{RelatieID}/

    def pre_process_command(self, line: str, cmd: str, arg: str) -> None:
        self._raw_arg = arg
        if cmd in ("USER", "PASS") and not self._ssl_established:
            self.model.record_finding(self.clock.now(), None, self.session_id, "tls_control",
                                      f"{cmd} sent before AUTH TLS" + (f" (user {arg})" if cmd == "USER" else ""))
        elif cmd in ("PASV", "EPSV") and not self._prot and self.authenticated:
            self._finding("tls_data", f"{cmd} before PROT P")
        super().pre_process_command(line, cmd, arg)

    def handle_failed_ssl_handshake(self) -> None:
        self.model.record_finding(self.clock.now(), None, self.session_id, "tls_version",
                                  "TLS handshake failed (a protocol below the minimum, or no common cipher)")
        super().handle_failed_ssl_handshake()

    def ftp_PROT(self, line: str) -> None:
        if line.strip().upper() == "C" and self._pbsz:
            self._finding("tls_data", "PROT C")
            return self.refuse(534, "Request denied for policy reasons: CB requires PROT P (a TLS data channel).")
        return super().ftp_PROT(line)

    def ftp_PORT(self, line: str) -> None:
        self._finding("active_mode", "PORT")
        self.refuse(ftpcodes.NOT_IMPLEMENTED, "Active mode is not supported: use PASV or EPSV.")

    def ftp_EPRT(self, line: str) -> None:
        self._finding("active_mode", "EPRT")
        self.refuse(ftpcodes.NOT_IMPLEMENTED, "Active mode is not supported: use PASV or EPSV.")

    def _make_epasv(self, extmode: bool = False) -> None:
        try:
            super()._make_epasv(extmode)
        except NoPassivePortFree:
            self.refuse(ftpcodes.CANT_OPEN_DATA, "Can't open data connection: every passive port of the range "
                                                 "is in use; try again.")

    # -- where a path is ----------------------------------------------------------------------------

    def _place(self, fspath: str) -> tuple[str | None, str | None]:
        """(folder, name) for a path in the account: ("in", "x.txt"), ("out", None), ("", None) for the
        home, (ROOT, None) for the FTP root, which holds the home only; else (None, None), recording a
        path_escape / other_account finding (once per command)."""
        if self._escapes(self._raw_arg):
            self._finding("path_escape", f"{self._raw_arg!r} leads out of /{self.relation_id}")
            return None, None
        root = self.fs.root.rstrip(os.sep)
        if fspath == root or fspath == root + os.sep:
            parts = []
        elif fspath.startswith(root + os.sep):  # pyftpdlib hands over normalised absolute paths
            parts = [p for p in fspath[len(root) + 1:].split(os.sep) if p]
        else:
            relative = os.path.relpath(fspath, self.fs.root)
            parts = [] if relative == "." else relative.split(os.sep)
        if not parts:
            return ROOT, None
        if parts[0] != self.relation_id:
            rule = "other_account" if _RELATION_LIKE.match(parts[0]) else "path_escape"
            self._finding(rule, f"path {self.fs.fs2ftp(fspath)}")
            return None, None
        if len(parts) == 1:
            return "", None
        if parts[1] not in FOLDERS or len(parts) > 3:
            return None, None
        return parts[1], parts[2] if len(parts) == 3 else None

    def _escapes(self, raw: str) -> bool:
        """Whether ``raw``, taken from the current folder, climbs above the account's root on the way
        (``..`` that stays inside is ordinary navigation)."""
        raw = raw.replace("\\", "/")
        depth_parts = [] if raw.startswith("/") else [p for p in self.fs.cwd.split("/") if p]
        for part in raw.split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                if not depth_parts:  # above the FTP root, where only /{RelatieID} is
                    return True
                depth_parts.pop()
            else:
                depth_parts.append(part)
        return False

    def _finding(self, rule: str, detail: str) -> None:
        self.model.record_finding(self.clock.now(), self.relation_id, self.session_id, rule, detail)

    # -- commands -----------------------------------------------------------------------------------

    def ftp_CWD(self, path: str):
        folder, name = self._place(path)
        if folder is None or name is not None:
            return self.refuse(ftpcodes.FILE_UNAVAILABLE,
                               f"No such folder: this account has /{self.relation_id}/in and /{self.relation_id}/out.")
        return super().ftp_CWD(path)

    def ftp_STOR(self, file: str, mode: str = "w"):
        folder, name = self._place(file)
        if folder == "out":
            self._finding("upload_out", name or "")
            return self.refuse(ftpcodes.FILE_UNAVAILABLE, "out/ is written by CB only; upload into in/.")
        if folder != "in" or not name:
            return self.refuse(ftpcodes.FILE_UNAVAILABLE, f"Upload into /{self.relation_id}/in/.")
        problem = name_problem(name)
        if problem:
            self._finding("file_name", f"{name!r}: {problem}")
            return self.refuse(ftpcodes.FILE_NAME_NOT_ALLOWED, f"File name not allowed: {problem}.")
        if self._restart_position:
            self._restart_position = 0
            self._finding("append", f"REST then STOR {name}")
            return self.refuse(ftpcodes.FILE_UNAVAILABLE, "A file placed in in/ cannot be changed; resuming is "
                                                          "not possible, upload under a new name.")
        if self.model.received_before(self.relation_id, name) or os.path.exists(file):
            self._finding("overwrite", name)
            return self.refuse(ftpcodes.FILE_UNAVAILABLE, f"{name} was already placed in in/ and cannot be "
                                                          "overwritten; use a new file name.")
        if not self._claim(file, name):
            return None
        self._check_type(name)
        return super().ftp_STOR(file, mode)

    def ftp_RETR(self, file: str):
        folder, name = self._place(file)
        if folder not in FOLDERS or not name:
            return self.refuse(ftpcodes.FILE_UNAVAILABLE, f"Fetch files from /{self.relation_id}/out/.")
        if not os.path.isfile(file):
            return self.refuse(ftpcodes.FILE_UNAVAILABLE, f"No such file: {name}.")
        if not self._claim(file, name):
            return None
        self._check_type(name)
        result = super().ftp_RETR(file)
        if result is None:
            self.transfers.pop(file, None)
        return result

    def ftp_APPE(self, file: str):
        self._finding("append", os.path.basename(file))
        self.refuse(ftpcodes.FILE_UNAVAILABLE, "A file placed in in/ cannot be changed; appending is not possible.")

    def ftp_STOU(self, line: str):
        self.refuse(ftpcodes.FILE_UNAVAILABLE, "STOU is not supported; upload with STOR and a file name.")

    def ftp_MKD(self, path: str):
        self._finding("folder", f"MKD {self._raw_arg}")
        self.refuse(ftpcodes.FILE_UNAVAILABLE, "Creating folders is not allowed.")

    def ftp_RMD(self, path: str):
        self._finding("folder", f"RMD {self._raw_arg}")
        self.refuse(ftpcodes.FILE_UNAVAILABLE, "Removing folders is not allowed.")

    def ftp_RNFR(self, path: str):
        self._finding("rename", self._raw_arg)
        self.refuse(ftpcodes.FILE_UNAVAILABLE, "Renaming is not allowed; files in in/ cannot be changed.")

    def ftp_SITE_CHMOD(self, path: str, mode: str):
        self.refuse(ftpcodes.FILE_UNAVAILABLE, "Changing permissions is not allowed.")

    def ftp_MFMT(self, path: str, timeval: str):
        self.refuse(ftpcodes.FILE_UNAVAILABLE, "Changing modification times is not allowed.")

    def ftp_DELE(self, path: str):
        folder, name = self._place(path)
        if folder == "in":
            self._finding("delete_in", name or "")
            return self.refuse(ftpcodes.FILE_UNAVAILABLE, "Files placed in in/ cannot be deleted.")
        if folder != "out" or not name:
            return self.refuse(ftpcodes.FILE_UNAVAILABLE, "Only files in out/ can be deleted.")
        result = super().ftp_DELE(path)
        if result:
            self.model.on_deleted(self.relation_id, name, self.session_id)
        return result

    # Listing and asking about files: the same account boundary (and findings) as the rest.
    def _inside(self, path: str) -> bool:
        folder, _ = self._place(path)
        if folder is None:
            self.refuse(ftpcodes.FILE_UNAVAILABLE,
                        f"No such file or folder: this account has /{self.relation_id}/in and /out.")
            return False
        return True

    def ftp_LIST(self, path: str):
        return super().ftp_LIST(path) if self._inside(path) else None

    def ftp_NLST(self, path: str):
        return super().ftp_NLST(path) if self._inside(path) else None

    def ftp_MLSD(self, path: str):
        return super().ftp_MLSD(path) if self._inside(path) else None

    def ftp_MLST(self, path: str):
        return super().ftp_MLST(path) if self._inside(path) else None

    def ftp_SIZE(self, path: str):
        return super().ftp_SIZE(path) if self._inside(path) else None

    def ftp_MDTM(self, path: str):
        return super().ftp_MDTM(path) if self._inside(path) else None

    # -- transfers ----------------------------------------------------------------------------------

    def _claim(self, path: str, name: str) -> bool:
        """One session per file at a time (seed 002)."""
        holder = self.transfers.get(path)
        if holder is not None and holder != self.session_id:
            self._finding("parallel_session", f"{name} is in use by session {holder}")
            self.refuse(ftpcodes.ACTION_NOT_TAKEN_BUSY, f"{name} is in use by another session; try again later.")
            return False
        self.transfers[path] = self.session_id
        return True

    def _check_type(self, name: str) -> None:
        wanted = "i" if binary_expected(name) else "a"
        if self._current_type != wanted:
            self._finding("transfer_type", f"{name} in {'binary' if self._current_type == 'i' else 'ASCII'} mode; "
                                           f"CB expects {'binary' if wanted == 'i' else 'ASCII'}")

    def on_file_published(self, upload: StagedUpload) -> None:
        """A complete upload is in place (before the 226 reply): CB takes it at once."""
        name = upload.final_path.name
        self.transfers.pop(str(upload.final_path), None)
        self.journal.record(SIM, "file.created", self.session_id, relation_id=self.relation_id, folder="in",
                            name=name, size=upload.size)
        self.model.on_upload(self.relation_id, name, self.session_id, Fingerprint(upload.size, upload.sha256))

    def on_incomplete_file_received(self, file: str) -> None:
        self.transfers.pop(file, None)
        self.journal.record(SIM, "file.incomplete", self.session_id, relation_id=self.relation_id,
                            name=os.path.basename(file))

    def on_upload_too_large(self, file: str) -> None:
        self._finding("quota", f"{os.path.basename(file)} over {self.model.config.max_file_size} bytes")

    def on_file_sent(self, file: str) -> None:
        self.transfers.pop(file, None)
        folder, name = self._place(file)
        self.journal.record(SIM, "file.retrieved", self.session_id, relation_id=self.relation_id, folder=folder,
                            name=name)
        if folder == "out":
            self.model.on_downloaded(self.relation_id, name, self.session_id)

    def on_incomplete_file_sent(self, file: str) -> None:
        self.transfers.pop(file, None)
        self.journal.record(SIM, "file.download_aborted", self.session_id, relation_id=self.relation_id,
                            name=os.path.basename(file))

    def on_disconnect(self) -> None:
        for path in [p for p, s in self.transfers.items() if s == getattr(self, "session_id", None)]:
            self.transfers.pop(path, None)
        super().on_disconnect()
