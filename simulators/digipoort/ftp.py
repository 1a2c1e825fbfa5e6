"""Digipoort's FTP(S) protocol layer: reads the wire, asks the model, writes FTP replies.

Explicit FTPS (``AUTH TLS``) with TLS 1.2 minimum; plain FTP only when configured. An account sees
exactly two folders, ``IN`` (uploads) and ``OUT`` (Digipoort's responses, to fetch and delete).
[CHOSEN] what the real server answers to forbidden actions is not public; the replies here use the
RFC 959 codes and say what to do instead.
"""

from __future__ import annotations

import os
from pathlib import Path

from pyftpdlib.authorizers import AuthenticationFailed
from pyftpdlib.filesystems import AbstractedFS

from ..core import ftpcodes
from ..core.ftpserver import JournaledFTPHandler, StagedUpload
from .meta import is_allowed_filename
from .accounts import FOLDERS
from .models import SIM, DigipoortModel

# Every permission letter is granted here, so that pyftpdlib's generic "Not enough privileges" never
# answers: the handler refuses each forbidden action itself, saying what to do instead.
PERMS = "elradfmwMT"


class DigipoortAuthorizer:
    """pyftpdlib's authorizer interface, answered by the model's accounts."""

    def __init__(self, model: DigipoortModel) -> None:
        self.model = model

    def validate_authentication(self, username: str, password: str, handler: object) -> None:
        if not self.model.check_login(username, password):
            raise AuthenticationFailed("Login incorrect: unknown user or wrong password.")

    def get_home_dir(self, username: str) -> str:
        return str(self.model.home(username))

    def has_user(self, username: str) -> bool:
        return self.model.account(username) is not None

    def has_perm(self, username: str, perm: str, path: str | None = None) -> bool:
        return perm in PERMS

    def get_perms(self, username: str) -> str:
        return PERMS

    def get_msg_login(self, username: str) -> str:
        return f"Welcome {username}: put a data file and then its meta file in IN; answers appear in OUT."

    def get_msg_quit(self, username: str) -> str:
        return "Goodbye."

    def impersonate_user(self, username: str, password: str) -> None:
        pass

    def terminate_impersonation(self, username: str) -> None:
        pass


class DigipoortFS(AbstractedFS):
    """The account home with its IN and OUT folders; uploads are staged and published atomically."""

    def open(self, filename: str, mode: str):
        if "w" in mode:
            handler = self.cmd_channel
            return StagedUpload(Path(filename), handler.store, handler.clock, handler.on_file_published)
        return super().open(filename, mode)

    def chdir(self, path: str) -> None:
        # pyftpdlib's default calls os.chdir, which changes the working directory of the whole
        # process (and every other thread in it); checking the folder is all that is needed.
        if not os.path.isdir(path):
            raise FileNotFoundError(2, "No such folder", path)
        self.cwd = self.fs2ftp(path)

    def listdir(self, path: str) -> list[str]:
        # Hide anything that is not a plain file in IN/OUT (and everything but IN/OUT at the top).
        names = super().listdir(path)
        if os.path.realpath(path) == os.path.realpath(self.root):
            return [n for n in names if n in FOLDERS]
        return [n for n in names if not n.startswith(".")]


class DigipoortHandler(JournaledFTPHandler):
    sim_name = SIM
    model: DigipoortModel
    abstracted_fs = DigipoortFS
    banner = "Digipoort FTP (koppelsim simulator) ready."

    # -- where a path is ----------------------------------------------------------------------------

    def _place(self, fspath: str) -> tuple[str | None, str | None]:
        """(folder, file name) of a real path inside the home, e.g. ("IN", "x.xml"); (None, None) else."""
        relative = os.path.relpath(fspath, self.fs.root)
        parts = [] if relative == "." else relative.split(os.sep)
        if not parts or parts[0] == "..":
            return None, None
        if len(parts) == 1:
            return parts[0], None
        if len(parts) == 2:
            return parts[0], parts[1]
        return None, None

    # -- commands -----------------------------------------------------------------------------------

    def ftp_STOR(self, file: str, mode: str = "w"):
        folder, name = self._place(file)
        if folder != "IN" or not name:
            return self.refuse(ftpcodes.FILE_UNAVAILABLE, "Uploads go into IN; OUT is written by Digipoort only.")
        if not is_allowed_filename(name):
            return self.refuse(ftpcodes.FILE_NAME_NOT_ALLOWED,
                               "File name not allowed: use 1-200 letters, digits, '.', '_' or '-'.")
        if self._restart_position:
            self._restart_position = 0
            return self.refuse(ftpcodes.FILE_UNAVAILABLE, "Resuming an upload is not supported; send the whole file.")
        return super().ftp_STOR(file, mode)

    def ftp_APPE(self, file: str):
        self.refuse(ftpcodes.FILE_UNAVAILABLE, "Appending is not supported; upload the whole file with STOR.")

    def ftp_STOU(self, line: str):
        self.refuse(ftpcodes.FILE_UNAVAILABLE, "STOU is not supported; upload with STOR and a file name.")

    def ftp_MKD(self, path: str):
        self.refuse(ftpcodes.FILE_UNAVAILABLE, "Creating folders is not allowed; use IN and OUT.")

    def ftp_RMD(self, path: str):
        self.refuse(ftpcodes.FILE_UNAVAILABLE, "Removing folders is not allowed.")

    def ftp_RNFR(self, path: str):
        self.refuse(ftpcodes.FILE_UNAVAILABLE, "Renaming is not allowed; upload the file under its final name.")

    def ftp_SITE_CHMOD(self, path: str, mode: str):
        self.refuse(ftpcodes.FILE_UNAVAILABLE, "Changing permissions is not allowed.")

    def ftp_MFMT(self, path: str, timeval: str):
        self.refuse(ftpcodes.FILE_UNAVAILABLE, "Changing modification times is not allowed.")

    def ftp_CWD(self, path: str):
        folder, name = self._place(path)
        if name is not None or (folder is not None and folder not in FOLDERS):
            return self.refuse(ftpcodes.FILE_UNAVAILABLE, "No such folder: this account has only IN and OUT.")
        return super().ftp_CWD(path)

    def ftp_DELE(self, path: str):
        folder, name = self._place(path)
        if folder not in FOLDERS or not name:
            return self.refuse(ftpcodes.FILE_UNAVAILABLE, "Only files in IN and OUT can be deleted.")
        result = super().ftp_DELE(path)
        if result:
            self.journal.record(SIM, "file.removed", self.session_id, user=self.username, folder=folder,
                                name=name, reason="DELE")
        return result

    # -- transfer hooks -----------------------------------------------------------------------------

    def on_file_published(self, upload: StagedUpload) -> None:
        """A complete upload is in place (called before the 226 reply)."""
        folder, name = self._place(str(upload.final_path))
        self.journal.record(SIM, "file.created", self.session_id, user=self.username, folder=folder, name=name,
                            size=upload.size)
        self.model.on_upload(self.username, folder, name)

    def on_incomplete_file_received(self, file: str) -> None:
        folder, name = self._place(file)
        self.journal.record(SIM, "file.incomplete", self.session_id, user=self.username, folder=folder,
                            name=name)

    def on_file_sent(self, file: str) -> None:
        folder, name = self._place(file)
        self.journal.record(SIM, "file.retrieved", self.session_id, user=self.username, folder=folder, name=name)
