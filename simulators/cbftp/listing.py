"""Time as an FTP client sees it in CB's folders: the simulator's clock, never the host's.

What LIST, MLSD/MLST and MDTM show is read from the files themselves, so a listing costs no query:

* a file in out/ carries the simulated moment CB placed it (``Store.atomic_write`` dates it);
* a folder carries the simulated moment of its last change: the file system stamps host time on every
  rename or unlink in it, so whoever changes a folder dates it again (``date_folder``) — the model
  when it places, takes or removes a file, the account book when it makes the folders.

pyftpdlib's LIST also asks the host's clock whether a file is older than six months (then the year is
shown instead of the time of day); ``ClockListingFS`` asks the simulator's clock.
"""

from __future__ import annotations

import os
import stat
import time
from datetime import datetime
from pathlib import Path
from typing import Iterable, Iterator

from pyftpdlib.filesystems import AbstractedFS

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_SIX_MONTHS = 180 * 24 * 60 * 60  # pyftpdlib's (and proftpd's) line between "hh:mm" and the year


def date_folder(path: Path | str, when: datetime) -> None:
    """Give a folder the simulated moment of its last change (after the change: the change stamps host time)."""
    stamp = when.timestamp()
    os.utime(path, (stamp, stamp))


class ClockListingFS(AbstractedFS):
    """pyftpdlib's ``ls -l`` lines (proftpd's format, as ``AbstractedFS.format_list`` writes them), with
    "now" from the simulator's clock (the handler's ``clock``)."""

    def format_list(self, basedir: str, listing: Iterable[str], ignore_err: bool = True) -> Iterator[bytes]:
        handler = self.cmd_channel
        to_struct = time.gmtime if handler.use_gmt_times else time.localtime
        now = handler.clock.now().timestamp()
        users: dict[int, str | int] = {}
        groups: dict[int, str | int] = {}
        for basename in listing:
            try:
                st = self.lstat(os.path.join(basedir, basename))
            except OSError:
                if ignore_err:
                    continue
                raise
            if st.st_uid not in users:  # one look-up per owner and listing, as pyftpdlib does
                users[st.st_uid] = self.get_user_by_uid(st.st_uid)
            if st.st_gid not in groups:
                groups[st.st_gid] = self.get_group_by_gid(st.st_gid)
            user, group = users[st.st_uid], groups[st.st_gid]
            moment = to_struct(st.st_mtime)
            shape = "%d  %Y" if now - st.st_mtime > _SIX_MONTHS else "%d %H:%M"
            # (no " -> target" for links: an account's folders hold none, see CBFS.validpath)
            line = (f"{stat.filemode(st.st_mode)} {st.st_nlink or 1:3} {user:<8} {group:<8} {st.st_size:8} "
                    f"{_MONTHS[moment.tm_mon - 1]} {time.strftime(shape, moment)} {basename}\r\n")
            yield line.encode(handler.encoding, handler.unicode_errors)


__all__ = ["ClockListingFS", "date_folder"]
