"""A thin, real Centraal Boekhuis FTPS client that keeps every rule of CB's rulebook (seed 002).

* explicit FTPS with TLS 1.2+, PROT P, passive mode only;
* at most one login per 10 minutes: everything is done in one session (upload what waits, then
  collect out/), and the next session waits for the interval;
* ASCII for text files, binary for .epub .jpg .pdf .zip;
* never the same file name twice, nothing renamed, deleted or appended in in/, no folders;
* the weekly maintenance window is avoided; a 421 is waited out and tried again later;
* a downloaded file counts as received only once it is on disk; a download that a crash cut short
  is fetched again (CB keeps a file until a download of it completed).
"""

from __future__ import annotations

import ftplib
import io
import os
import ssl
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from .digicom import Order, build_opdnaw, parse_ontbev
from .store import CBClientStore
from .ubl import Invoice, parse_invoice

BINARY = (".epub", ".jpg", ".pdf", ".zip")
CRASH_ENV = "KOPPELSIM_CB_CLIENT_CRASH_AT"  # a test can make the client die like kill -9 here
CRASH_POINTS = ("mid_download",)


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(frozen=True)
class CBConnection:
    host: str
    port: int
    user: str
    password: str
    relation_id: str
    ssl_context: ssl.SSLContext
    timeout: float = 30.0


@dataclass
class Window:
    """CB's maintenance window as the client avoids it: Friday 08:00-09:00 Europe/Amsterdam (seed 002)."""

    weekday: int = 4
    start: time = time(8, 0)
    end: time = time(9, 0)
    zone: str = "Europe/Amsterdam"

    def covers(self, moment: datetime) -> datetime | None:
        """The end of the window when ``moment`` falls in it."""
        local = moment.astimezone(ZoneInfo(self.zone))
        if local.weekday() == self.weekday and self.start <= local.time() < self.end:
            return datetime.combine(local.date(), self.end, tzinfo=ZoneInfo(self.zone))
        return None


@dataclass
class SessionReport:
    uploaded: list[str] = field(default_factory=list)
    received: list[str] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)  # cut short by a crash after CB deleted them
    skipped: str | None = None  # why no session took place


class CBClient:
    LOGIN_INTERVAL = timedelta(minutes=10, seconds=5)  # CB's 10 minutes, with a margin for clock skew

    def __init__(self, connection: CBConnection, store: CBClientStore, inbox: str | Path, clock: Clock,
                 window: Window | None = None) -> None:
        self.connection = connection
        self.store = store
        self.inbox = Path(inbox)
        self.inbox.mkdir(parents=True, exist_ok=True)
        self.clock = clock
        self.window = window or Window()

    # -- what to send -------------------------------------------------------------------------------

    def queue_order(self, order: Order, test: bool = False, check: bool = True) -> str:
        """Build the order file (Digicom OPDNAW) and queue it; returns its (never reused) file name.

        ``check=False`` builds it even when it breaks CB's syntax rules (for tests of CB's answer)."""
        now = self.clock.now()
        sequence = self.store.next_sequence()
        reference = f"{now:%y%m%d}{sequence:04d}"
        name = f"ord{self.connection.relation_id}{now:%Y%m%d}{sequence:04d}.txt"
        data = build_opdnaw(order, sender_relation_id=self.connection.relation_id, reference=reference, now=now,
                            test=test, check=check)
        self.store.queue_upload(name, data, "order", now)
        return name

    def queue_file(self, name: str, data: bytes) -> str:
        """A PDF or JPG for CB; the name must follow CB's rules (the client checks it before queuing)."""
        if not name.replace(".", "").replace("-", "").replace("_", "").isalnum() or os.path.splitext(name)[1] != \
                os.path.splitext(name)[1].lower():
            raise ValueError(f"{name!r} breaks CB's file-name rules (0-9 a-z A-Z . - _, lower-case extension)")
        self.store.queue_upload(name, data, "attachment", self.clock.now())
        return name

    # -- one session ----------------------------------------------------------------------------------

    def next_session_at(self) -> datetime:
        """The earliest moment the next session may start: 10 minutes after the last login, outside the window."""
        moment = self.clock.now()
        last = self.store.last_login()
        if last is not None and moment < last + self.LOGIN_INTERVAL:
            moment = last + self.LOGIN_INTERVAL
        window_end = self.window.covers(moment)
        return window_end if window_end is not None else moment

    def session(self) -> SessionReport:
        """Log in once, upload what waits, collect out/, log out — if CB's rules allow a session now."""
        report = SessionReport()
        if self.next_session_at() > self.clock.now():
            report.skipped = f"next session allowed at {self.next_session_at().isoformat()}"
            return report
        self.store.note_login(self.clock.now())
        try:
            ftp = self._connect()
        except ftplib.error_temp as exc:  # 421: maintenance, or busy; CB asks to come back later
            report.skipped = str(exc)
            return report
        try:
            self._upload(ftp, report)
            self._collect(ftp, report)
        finally:
            _quit(ftp)
        return report

    def _connect(self) -> ftplib.FTP_TLS:
        c = self.connection
        context = c.ssl_context
        context.minimum_version = max(context.minimum_version, ssl.TLSVersion.TLSv1_2)
        ftp = ftplib.FTP_TLS(context=context, timeout=c.timeout, encoding="latin-1")
        try:
            ftp.connect(c.host, c.port)
            ftp.auth()
            ftp.login(c.user, c.password)
            ftp.prot_p()
            ftp.set_pasv(True)
            ftp.cwd(f"/{c.relation_id}")
        except BaseException:
            ftp.close()
            raise
        return ftp

    def _upload(self, ftp: ftplib.FTP_TLS, report: SessionReport) -> None:
        for item in self.store.pending_uploads():
            name, data = item["name"], item["content"]
            # storbinary sends TYPE I and storlines TYPE A first: the transfer type follows the extension.
            ftp.storbinary(f"STOR in/{name}", io.BytesIO(data)) if _binary(name) else \
                ftp.storlines(f"STOR in/{name}", io.BytesIO(data))
            self.store.mark_uploaded(name, self.clock.now())
            report.uploaded.append(name)

    def _collect(self, ftp: ftplib.FTP_TLS, report: SessionReport) -> None:
        present = _names(ftp, "out")
        self._settle_interrupted(present, report)
        for name in present:
            if self.store.received(name):
                continue  # already on disk here; fetching it twice would count it twice
            part = self.inbox / f".{name}.part"
            self.store.note_downloading(name, _binary_size(ftp, name))
            # Unbuffered: CB deletes the file once its 226 is sent, so every byte received must be in
            # the kernel before the next step; a kill -9 then loses nothing that arrived.
            with open(part, "wb", buffering=0) as sink:
                if _binary(name):
                    ftp.retrbinary(f"RETR out/{name}", sink.write)
                else:  # ASCII: lines arrive with CRLF; latin-1 passes every byte through unchanged
                    ftp.retrlines(f"RETR out/{name}", lambda line: sink.write(line.encode("latin-1") + b"\n"))
                _crash_point("mid_download")
                os.fsync(sink.fileno())
            self._adopt(name, part)
            report.received.append(name)

    def _settle_interrupted(self, present: list[str], report: SessionReport) -> None:
        """A download a crash cut short: if CB still has the file, it was not complete (fetch again);
        if CB removed it, the transfer completed before the crash (keep what is on disk). A binary
        file shorter than CB said arrived only in part: CB no longer has it, so it is kept aside as
        ``name.incomplete`` and reported, never counted as received."""
        for name, size in self.store.downloading().items():
            part = self.inbox / f".{name}.part"
            if name in present or not part.exists():
                part.unlink(missing_ok=True)
                self.store.forget_downloading(name)
            elif size is not None and part.stat().st_size != size:
                os.replace(part, self.inbox / f"{name}.incomplete")
                self.store.forget_downloading(name)
                report.incomplete.append(name)
            else:
                self._adopt(name, part)

    def _adopt(self, name: str, part: Path) -> None:
        final = self.inbox / name
        os.replace(part, final)
        self.store.mark_received(name, final, _kind(name), self.clock.now())

    # -- what arrived -------------------------------------------------------------------------------

    def receipts(self) -> list[dict]:
        """Every ONTBEV receipt, parsed: accepted or not, and the errors per line."""
        result = []
        for row in self.store.received_files(kind="receipt"):
            receipt = parse_ontbev(Path(row["path"]).read_bytes())
            result.append({"name": row["name"], "accepted": receipt.accepted, "errors": receipt.errors})
        return result

    def invoices(self, schema_dir: str | Path | None = None) -> list[Invoice]:
        """Every UBL invoice received, parsed into objects (and validated when a schema folder is given)."""
        return [parse_invoice(Path(row["path"]).read_bytes(), schema_dir)
                for row in self.store.received_files(kind="invoice")]


def _binary(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in BINARY


def _kind(name: str) -> str:
    if name.endswith(".ont"):
        return "receipt"
    if name.endswith(".fout.xml"):
        return "error"
    if name.endswith(".xml"):
        return "invoice"
    if name.endswith(".pdf"):
        return "invoice_pdf"
    return "other"


def _binary_size(ftp: ftplib.FTP, name: str) -> int | None:
    """CB's size of a binary file in out/ (SIZE needs TYPE I; an ASCII file's size changes in transit)."""
    if not _binary(name):
        return None
    ftp.voidcmd("TYPE I")
    return ftp.size(f"out/{name}")


def _names(ftp: ftplib.FTP, folder: str) -> list[str]:
    try:
        return sorted(n.rsplit("/", 1)[-1] for n in ftp.nlst(folder))
    except ftplib.error_perm as exc:
        if str(exc).startswith("550"):
            return []
        raise


def _quit(ftp: ftplib.FTP) -> None:
    try:
        ftp.quit()
    except (OSError, EOFError, ftplib.Error):
        ftp.close()


def _crash_point(name: str) -> None:
    if os.environ.get(CRASH_ENV) == name:
        os._exit(137)
