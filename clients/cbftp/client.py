"""A thin, real Centraal Boekhuis FTPS client that keeps every rule of CB's rulebook (seed 002).

* explicit FTPS with TLS 1.2+, PROT P, passive mode only;
* at most one login per 10 minutes: everything is done in one session (upload what waits, then
  collect out/), and the next session waits for the interval;
* ASCII for text files, binary for .epub .jpg .pdf .zip; a text file is kept as the ASCII transfer
  brought it (network ASCII: CRLF line ends), which is what its size check measures;
* never the same file name twice, nothing renamed, deleted or appended in in/, no folders; a file name
  is checked against CB's rule before it is queued (``names.py``);
* the weekly maintenance window is avoided; a 421 is waited out and tried again later;
* an upload CB refuses for good (a 5xx reply) is set aside with CB's reply (``SessionReport.refused``,
  ``store.refused_uploads()``) and the session goes on; a 4xx leaves it waiting for the next session.
  A 550 "already placed" for an upload whose earlier attempt got no answer (a crash or a lost connection
  after the data went out) means that attempt arrived: it counts as uploaded (``already_at_cb``);
* a downloaded file counts as received only once it is on disk and its size agrees with CB's (SIZE, see
  ``completeness.py``). A download that a crash cut short is fetched again while CB still has it; once
  CB has deleted it (it does so as soon as it has sent it all) the part on disk must prove itself whole,
  or it is kept aside as ``name.incomplete`` and reported (``SessionReport.incomplete``,
  ``store.incomplete_files()``), never counted as received.
"""

from __future__ import annotations

import ftplib
import io
import os
import re
import ssl
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Callable, Protocol
from zoneinfo import ZoneInfo

from .completeness import Tally
from .digicom import Order, build_opdnaw, parse_ontbev
from .names import name_problem
from .store import CBClientStore
from .ubl import Invoice, parse_invoice

BINARY = (".epub", ".jpg", ".pdf", ".zip")
BLOCK = 64 * 1024
CRASH_ENV = "KOPPELSIM_CB_CLIENT_CRASH_AT"  # a test can make the client die like kill -9 here
# mid_download: after CB's 226, before the file is put in place; cut_short: CB sent the whole file but
# only its first block reached the disk; after_upload: after CB's 226 for the first upload, before it is noted.
CRASH_POINTS = ("mid_download", "cut_short", "after_upload")
# How CB (the simulator: "x was already placed in in/ and cannot be overwritten") says a name is taken.
_ALREADY_THERE = re.compile(r"already|exists|overwrit", re.IGNORECASE)


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
    """CB's weekly maintenance window as the client avoids it. Seed 002: "every Friday between 08:00 and
    09:00 UTC/GMT +1". [CHOSEN] the client reads that as local time in Europe/Amsterdam (so 07:00-08:00
    UTC in summer), as the simulator does by default (``cbftp.maintenance.timezone``); ``zone="Etc/GMT-1"``
    takes the seed's fixed UTC+1 literally instead."""

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
    already_at_cb: list[str] = field(default_factory=list)  # among uploaded: an earlier, unanswered attempt arrived
    refused: dict[str, str] = field(default_factory=dict)  # upload -> CB's 5xx reply; set aside, not sent again
    deferred: dict[str, str] = field(default_factory=dict)  # upload -> CB's 4xx reply; sent again next session
    received: list[str] = field(default_factory=list)
    incomplete: dict[str, str] = field(default_factory=dict)  # CB deleted it, only a part arrived: name -> why
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
        problem = name_problem(name)
        if problem:
            raise ValueError(f"{name!r} breaks CB's file-name rules: {problem}")
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

    # -- uploads ------------------------------------------------------------------------------------

    def _upload(self, ftp: ftplib.FTP_TLS, report: SessionReport) -> None:
        """Each waiting file once. A lost connection ends the session (the file stays waiting, in doubt)."""
        for item in self.store.pending_uploads():
            name, data = item["name"], item["content"]
            in_doubt = item["attempted_at"] is not None
            self.store.note_attempt(name, self.clock.now())
            try:
                # storbinary sends TYPE I and storlines TYPE A first: the transfer type follows the extension.
                ftp.storbinary(f"STOR in/{name}", io.BytesIO(data)) if _binary(name) else \
                    ftp.storlines(f"STOR in/{name}", io.BytesIO(data))
            except ftplib.error_perm as exc:  # 5xx: CB's last word on this file
                reply = str(exc)
                if in_doubt and reply.startswith("550") and _ALREADY_THERE.search(reply):
                    # CB takes a file out of in/ at once, so SIZE cannot confirm it: the refusal is the proof.
                    self.store.mark_uploaded(name, self.clock.now(), reply)
                    report.uploaded.append(name)
                    report.already_at_cb.append(name)
                else:
                    self.store.mark_refused(name, self.clock.now(), reply)
                    report.refused[name] = reply
                continue
            except ftplib.error_temp as exc:  # 4xx: not stored; the next session sends it again
                self.store.clear_attempt(name)
                report.deferred[name] = str(exc)
                if str(exc).startswith("421"):  # CB is closing the connection: nothing more this session
                    raise
                continue
            _crash_point("after_upload")
            self.store.mark_uploaded(name, self.clock.now())
            report.uploaded.append(name)

    # -- downloads ----------------------------------------------------------------------------------

    def _collect(self, ftp: ftplib.FTP_TLS, report: SessionReport) -> None:
        present = _names(ftp, "out")
        self._settle_interrupted(present, report)
        for name in present:
            if not self.store.received(name):  # one already on disk here would be counted twice
                self._fetch(ftp, name, report)

    def _fetch(self, ftp: ftplib.FTP_TLS, name: str, report: SessionReport) -> None:
        size = _stored_size(ftp, name)
        self.store.note_downloading(name, size)
        part, tally = self._part(name), Tally()
        refusal = None
        # Unbuffered: CB deletes the file once it has sent it all, so every byte received must be in
        # the kernel before the next step; a kill -9 then loses nothing that was read.
        with open(part, "wb", buffering=0) as sink:
            def keep(data: bytes) -> None:
                _write_all(sink, data)
                tally.feed(data)

            try:
                _retrieve(ftp, name, keep)  # returns after CB's 226: it sent everything
            except ftplib.error_perm as exc:
                if tally.octets:
                    raise  # refused after data came: the next session settles it like a crash
                refusal = str(exc)
            else:
                _crash_point("mid_download")
                os.fsync(sink.fileno())
        if refusal is not None:  # nothing sent (gone since the listing, say): not retried unless CB lists it again
            part.unlink()
            reason = f"CB refused the download: {refusal}"
            self.store.mark_incomplete(name, None, 0, size, reason, self.clock.now())
            report.incomplete[name] = reason
        elif size is not None and not tally.possibly_complete(size, _binary(name)):
            self._set_aside(name, part, size, f"CB said the transfer completed, but {tally.octets} octets "
                                              f"arrived for the {size} it stores", report)
        else:
            self._adopt(name, part, report)

    def _settle_interrupted(self, present: list[str], report: SessionReport) -> None:
        """Downloads a crash interrupted. While CB still has the file, no download of it completed: fetch it
        again. Once CB has deleted it, the part left here must prove itself whole (``completeness.py``);
        else it is kept aside as ``name.incomplete`` and reported, never counted as received."""
        for name, size in self.store.downloading().items():
            part, final = self._part(name), self.inbox / name
            if not part.exists() and final.exists():  # put in place after a whole transfer; only the note was missing
                self.store.mark_received(name, final, _kind(name), self.clock.now())
                report.received.append(name)
            elif name in present:
                part.unlink(missing_ok=True)
                self.store.forget_downloading(name)
            elif not part.exists():
                reason = "CB no longer has it and nothing of it arrived here"
                self.store.mark_incomplete(name, None, 0, size, reason, self.clock.now())
                report.incomplete[name] = reason
            elif size is None:
                self._set_aside(name, part, size, "CB did not give its size, so the part here cannot prove it "
                                                  "is the whole file", report)
            else:
                tally = Tally.of_file(part)
                if tally.certainly_complete(size, _binary(name)):
                    self._adopt(name, part, report)
                elif tally.possibly_complete(size, _binary(name)):
                    self._set_aside(name, part, size, f"{tally.octets} octets arrived for the {size} CB stores: "
                                                      "the whole file, or an ASCII transfer cut short, which "
                                                      "looks the same", report)
                else:
                    self._set_aside(name, part, size, f"cut short: {tally.octets} octets arrived for the {size} "
                                                      "CB stores", report)

    def _part(self, name: str) -> Path:
        return self.inbox / f".{name}.part"

    def _adopt(self, name: str, part: Path, report: SessionReport) -> None:
        final = self.inbox / name
        os.replace(part, final)
        _fsync_dir(self.inbox)  # the new name survives a power cut before the store says "received"
        self.store.mark_received(name, final, _kind(name), self.clock.now())
        report.received.append(name)

    def _set_aside(self, name: str, part: Path, size: int | None, reason: str, report: SessionReport) -> None:
        """CB no longer has the file and what arrived is not provably all of it: kept for inspection
        under a name nobody takes for the file itself, and reported."""
        aside = self.inbox / f"{name}.incomplete"
        os.replace(part, aside)
        self.store.mark_incomplete(name, aside, aside.stat().st_size, size, reason, self.clock.now())
        report.incomplete[name] = reason

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


def _stored_size(ftp: ftplib.FTP, name: str) -> int | None:
    """The octets CB stores for a file in out/: SIZE in TYPE I, for text files too (see completeness.py);
    None when CB will not say."""
    ftp.voidcmd("TYPE I")
    try:
        return ftp.size(f"out/{name}")
    except ftplib.error_perm:
        return None


def _retrieve(ftp: ftplib.FTP, name: str, keep: Callable[[bytes], None]) -> None:
    """RETR out/name in CB's transfer type for it, every block handed to ``keep`` exactly as it came (a text
    file in network ASCII, CRLF line ends: what completeness.py measures). ftplib's retrlines would rewrite
    line ends and refuse lines over 8 KB."""
    ftp.voidcmd("TYPE I" if _binary(name) else "TYPE A")
    # The cut_short crash models a kill -9 that struck while CB's last bytes still sat in this machine's
    # socket buffer: CB has sent the whole file (and deleted it), the disk holds only its first block.
    cut_short = os.environ.get(CRASH_ENV) == "cut_short"
    with ftp.transfercmd(f"RETR out/{name}") as conn:
        first = True
        while data := conn.recv(BLOCK):
            if first or not cut_short:
                keep(data)
            first = False
        if cut_short:
            os._exit(137)
        if isinstance(conn, ssl.SSLSocket):
            conn.unwrap()
    ftp.voidresp()


def _write_all(sink: io.RawIOBase, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[sink.write(view):]


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
