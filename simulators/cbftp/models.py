"""The Centraal Boekhuis model: accounts, what arrives in in/, what CB places in out/, invoices.

Nothing here knows about sockets: the FTP layer calls ``on_upload`` with a complete file (before its
226 reply), ``on_downloaded`` after a complete download, and asks the model for findings.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from datetime import date, datetime, time
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

from ..core.clock import format_instant
from ..core.errors import NotFound
from ..core.runtime import Context
from .accounts import CBAccountBook
from .config import CBAccount, CBConfig
from .findings import SIM, FindingBook
from .listing import date_folder
from .outbox import EVENT_EXPIRE, Fingerprint, Outbox
from .schema import SCHEMA

log = logging.getLogger(__name__)

ATTACHMENT_EXTENSIONS = (".pdf", ".jpg", ".jpeg", ".epub", ".zip")
EVENT_INVOICE_RUN = "cbftp.invoice_run"
EVENT_SEED_INVOICES = "cbftp.seed_invoices"
INVOICE_SENDER = "CB Facturatie <facturatie@centraal-boekhuis.koppelsim.test>"  # [CHOSEN]


class CBModel(CBAccountBook, FindingBook, Outbox):
    """CB's side: accounts (``CBAccountBook``), findings (``FindingBook``), files (``Outbox``)."""

    def __init__(self, ctx: Context, config: CBConfig) -> None:
        self.ctx = ctx
        self.config = config
        self.store = ctx.store
        self.journal = ctx.journal
        self.clock = ctx.clock
        self.scheduler = ctx.scheduler
        self.root = ctx.store.area(SIM)
        self.archive = ctx.store.area(SIM, "received")
        self.issued = ctx.store.area(SIM, "invoices")
        self._lock = threading.RLock()
        self._ubl_schema = None  # loaded with the first invoice: start-up stays quick
        self.store.migrate(SIM, SCHEMA)
        self.keep_accounts_in_memory()
        ctx.scheduler.register(EVENT_EXPIRE, lambda p, at: self.expire(p["relation_id"], p["name"], p["file_id"]))
        ctx.scheduler.register(EVENT_INVOICE_RUN, lambda p, at: self.invoice_run(at))
        ctx.scheduler.register(EVENT_SEED_INVOICES, lambda p, at: self.seed_invoices())
        self.seed_accounts()

    def put_account(self, account: CBAccount, source: str = "api") -> dict:
        made = super().put_account(account, source)
        # The account's archive folder with its in/ and out/: a session's first upload need not make it.
        (self.archive / account.relation_id).mkdir(exist_ok=True)
        return made

    # -- what arrives in in/ ------------------------------------------------------------------------

    def on_upload(self, relation_id: str, name: str, session: str | None,
                  fingerprint: Fingerprint | None = None) -> None:
        """CB takes a placed file at once (seed 002): an order is checked and answered, a PDF or JPG
        is recorded. The file leaves in/; its name stays taken. ``fingerprint`` is what the FTP
        server counted on the way in (after a crash it is read back from the file)."""
        with self._lock:
            path = self.folder(relation_id, "in") / name
            fingerprint = fingerprint or Fingerprint.of_file(path)
            if os.path.splitext(name)[1].lower() in ATTACHMENT_EXTENSIONS:
                # Attachments can be large: recorded by fingerprint, never read into memory.
                self.record_received(relation_id, name, fingerprint, "attachment", None)
                self.journal.record(SIM, "cb.attachment_received", session, relation_id=relation_id, name=name,
                                    size=fingerprint.size)
            else:
                # The record of the order and its answer in out/ commit together: a crash in between
                # leaves neither, and recovery takes the order again (never an order without answer).
                with self.store.transaction():
                    self._take_order(relation_id, name, path, fingerprint, session)
            self._archive(relation_id, path, fingerprint)

    def _archive(self, relation_id: str, path: Path, fingerprint: Fingerprint) -> None:
        """A taken file leaves in/ (CB takes it at once); kept aside for the admin API."""
        target = self._archive_folder(relation_id)  # made with the account (put_account), else on first use below
        # The name may be 255 characters already: the prefix goes in front of a shortened one.
        archived = target / f"{fingerprint.sha256[:12]}-{path.name[:200]}"
        try:
            self.store.move(path, archived)
        except FileNotFoundError:  # the folder went away behind our back (or predates put_account making it)
            target.mkdir(parents=True, exist_ok=True)
            self.store.move(path, archived)
        date_folder(path.parent, self.clock.now())  # in/ changed: a listing shows when, in simulated time

    def _archive_folder(self, relation_id: str) -> Path:
        return self._kept("_archive_folders", relation_id, lambda: self.archive / relation_id)

    def _take_order(self, relation_id: str, name: str, path: Path, fingerprint: Fingerprint,
                    session: str | None) -> None:
        from . import digicom  # the order format (and python-stdnum) only once an order arrives

        now = self.clock.now()
        with open(path, "rb") as fh:  # one byte past the limit is enough to refuse an oversized file
            data = fh.read(self.config.max_order_bytes + 1)
        try:  # parsed once: the corruption test and the check share the records
            message = digicom.parse_digicom(data, max_bytes=self.config.max_order_bytes)
            refusal = digicom.corruption_reason(message)
        except digicom.DigicomRefused as refused:
            message, refusal = None, refused.refusal
        if refusal is not None:
            self.record_received(relation_id, name, fingerprint, "order", f"too corrupt: {refusal.text_en}")
            # [CHOSEN] {stem}.fout.xml; {stem}-2.fout.xml (-3, ...) while one of that name waits unread
            names = digicom.error_file_names(name)
            self.place_out(relation_id, next(names), digicom.build_error_xml(file_name=name, reason=refusal, now=now),
                           "error", alternatives=names)
            self.journal.record(SIM, "cb.order_refused", session, relation_id=relation_id, name=name,
                                reason=refusal.text_en)
            return
        problems = digicom.check_opdnaw(message, account_relation_id=relation_id)
        receipt = digicom.build_ontbev(original=message, findings=problems, relation_id=relation_id, now=now,
                                       reference=self._receipt_reference())
        detail = "; ".join(f"line {p.line} {p.field}: {p.text_en}" for p in problems) or None
        self.record_received(relation_id, name, fingerprint, "order", detail)
        (sent,) = self.store.query("SELECT COUNT(*) FROM cb_files WHERE relation_id = ? AND kind = 'receipt'",
                                   (relation_id,))[0]
        # The next sequence number; past 9999 the code wraps, and a receipt of that name still waiting
        # unread today is not replaced: the next free number is taken.
        names = digicom.receipt_file_names(relation_id=relation_id, sequence=sent + 1, now=now)
        self.place_out(relation_id, next(names), receipt, "receipt", alternatives=names)
        self.journal.record(SIM, "cb.order_received", session, relation_id=relation_id, name=name,
                            errors=len(problems))

    def _receipt_reference(self) -> str:
        return f"{self.ctx.random.randrange(10**7, 10**8)}"

    def recover(self) -> None:
        """After a crash: a file published in in/ but not yet taken is taken now; one taken (recorded,
        answered) but not yet moved out of in/ is only moved, so it is neither lost nor taken twice."""
        accounts = self.accounts()
        self.settle_out_folders(a.relation_id for a in accounts)
        for account in accounts:
            inbox = self.folder(account.relation_id, "in")
            for path in sorted(inbox.iterdir()) if inbox.is_dir() else []:
                if not path.is_file():
                    continue
                if self.received_before(account.relation_id, path.name):
                    self._archive(account.relation_id, path, Fingerprint.of_file(path))
                else:
                    self.on_upload(account.relation_id, path.name, None)

    # -- invoices -----------------------------------------------------------------------------------

    def issue_invoice(self, relation_id: str, issue_date: date | None = None, credit: bool = False,
                      number: str | None = None, lines: int | None = None) -> dict:
        """Issue one service invoice: UBL + PDF, delivered by the account's channel (seed 002 §3.1)."""
        # Faker, the PDF writer and the UBL schema load with the first invoice, not at start-up.
        from .invoices import generate_invoice
        from .pdf import render_pdf
        from .profile import check_cb_profile
        from .ubl import build_ubl, load_ubl_schema, validate_ubl

        account = self.account(relation_id)
        if account is None:
            raise NotFound(f"no CB account {relation_id!r}")
        with self._lock:
            if self._ubl_schema is None and self.config.ubl_schema_dir:
                self._ubl_schema = load_ubl_schema(self.config.ubl_schema_dir)
            invoice = generate_invoice(self.ctx.random, relation_id=relation_id,
                                       issue_date=issue_date or self._local_today(), number=number or self._next_number(),
                                       customer_name=account.name, lines=lines, credit=credit)
            xml, pdf = build_ubl(invoice), render_pdf(invoice)
            problems = check_cb_profile(xml) + (validate_ubl(xml, self._ubl_schema) if self._ubl_schema else [])
            if problems:  # our own generator broke the profile: a bug to hear about, not to deliver
                raise RuntimeError(f"invoice {invoice.number} fails the CB profile: {problems[:3]}")
            names = (f"{relation_id}_{invoice.number}.xml", f"{relation_id}_{invoice.number}.pdf")
            self.store.atomic_write(self.invoice_path(invoice.number, "xml"), xml)  # kept for the admin API
            self.store.atomic_write(self.invoice_path(invoice.number, "pdf"), pdf)
            # The invoice's row (which takes its number) and its files in out/ commit together: after a
            # crash in between, the number is free again and the restart removes the unrecorded files.
            with self.store.transaction() as db:
                if account.invoice_channel in ("ftp", "both"):  # both names free, or neither file placed
                    for name in names:
                        self.free_out_name(db, relation_id, name)
                db.execute("INSERT INTO cb_invoices (number, relation_id, issue_date, type_code, payable, channel, "
                           "xml_name, pdf_name, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
                           (invoice.number, relation_id, invoice.issue_date.isoformat(), invoice.type_code,
                            str(invoice.payable_amount), account.invoice_channel, names[0], names[1],
                            format_instant(self.clock.now())))
                if account.invoice_channel in ("ftp", "both"):
                    self.place_out(relation_id, names[0], xml, "invoice")
                    self.place_out(relation_id, names[1], pdf, "invoice")
            if account.invoice_channel in ("email", "both"):  # after the commit: never mail an unrecorded invoice
                self._mail(account.email, invoice.number, relation_id, [(names[0], xml, "application", "xml"),
                                                                         (names[1], pdf, "application", "pdf")])
        self.journal.record(SIM, "cb.invoice_issued", relation_id=relation_id, number=invoice.number,
                            channel=account.invoice_channel, payable=str(invoice.payable_amount))
        return self.invoice(invoice.number)

    def _mail(self, to: str, number: str, relation_id: str, files: list[tuple[str, bytes, str, str]]) -> None:
        """Two e-mails per invoice, one per file (seed 002 §3.1)."""
        from ..mailbox.send import send_message

        host, port = self._smtp()
        for name, body, maintype, subtype in files:
            message = EmailMessage()
            message["From"] = INVOICE_SENDER
            message["To"] = to
            message["Subject"] = f"Factuur {number} ({relation_id}): {name}"
            message.set_content(f"Bijgaand ontvangt u {name}, behorend bij factuur {number}.\n\nCentraal Boekhuis")
            message.add_attachment(body, maintype=maintype, subtype=subtype, filename=name)
            send_message(host, port, message)
            self.journal.record(SIM, "cb.invoice_mailed", relation_id=relation_id, number=number, to=to, name=name)

    def _smtp(self) -> tuple[str, int]:
        if self.config.smtp_host and self.config.smtp_port:
            return self.config.smtp_host, self.config.smtp_port
        for endpoint in self.ctx.endpoints:
            if endpoint.name == "mailbox-smtp":
                return endpoint.host, endpoint.port
        raise RuntimeError("no SMTP server for invoice e-mails: configure cbftp.smtp_host/smtp_port or enable the "
                           "mailbox simulator")

    def _next_number(self) -> str:
        (count,) = self.store.query("SELECT COUNT(*) FROM cb_invoices")[0]
        return f"K{1734987 + count}"  # CB's numbers look like K1734987 (seed 002)

    def _local_today(self) -> date:
        return self.clock.now().astimezone(ZoneInfo(self.config.maintenance.timezone)).date()

    def invoice_run(self, at: datetime) -> None:
        """The monthly run: one invoice per account, then the next run is planned."""
        for account in self.accounts():
            self.issue_invoice(account.relation_id, issue_date=at.date())
        self.plan_invoice_run(at)

    def plan_invoice_run(self, after: datetime) -> None:
        if self.config.invoice_day is None or self.scheduler.pending(EVENT_INVOICE_RUN):
            return
        zone = ZoneInfo(self.config.maintenance.timezone)
        local = after.astimezone(zone)
        month = date(local.year + local.month // 12, local.month % 12 + 1, 1)
        due = datetime.combine(month.replace(day=self.config.invoice_day), time(6, 0), tzinfo=zone)
        self.scheduler.schedule(EVENT_INVOICE_RUN, due, {})

    def invoice(self, number: str) -> dict:
        rows = self.store.query_dicts("SELECT * FROM cb_invoices WHERE number = ?", (number,))
        if not rows:
            raise NotFound(f"no invoice {number!r}")
        return rows[0]

    def invoice_path(self, number: str, kind: str):
        return self.issued / f"{number}.{kind}"

    def invoice_bytes(self, number: str, kind: str) -> bytes:
        return self.invoice_path(number, kind).read_bytes()

    def invoices(self, relation_id: str | None = None) -> list[dict]:
        if relation_id:
            return self.store.query_dicts("SELECT * FROM cb_invoices WHERE relation_id = ? ORDER BY created_at, number",
                                          (relation_id,))
        return self.store.query_dicts("SELECT * FROM cb_invoices ORDER BY created_at, number")

    def seed_invoices(self) -> None:
        """Invoices waiting in out/ at the first start (``invoices_waiting`` per configured account)."""
        for account in self.config.accounts:
            if self.account(account.relation_id) is None:
                continue
            if account.invoice_channel == "ftp" and not self.invoices(account.relation_id):
                for _ in range(self.config.invoices_waiting):
                    self.issue_invoice(account.relation_id)

    # -- reset --------------------------------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            for kind in (EVENT_EXPIRE, EVENT_INVOICE_RUN):
                self.scheduler.cancel_kind(kind)
            with self.store.transaction() as db:
                for table in ("cb_accounts", "cb_files", "cb_logins", "cb_findings", "cb_invoices"):
                    db.execute(f"DELETE FROM {table}")
            shutil.rmtree(self.root, ignore_errors=True)
            self.archive.mkdir(parents=True, exist_ok=True)
            self.issued.mkdir(parents=True, exist_ok=True)
            self.seed_accounts()

