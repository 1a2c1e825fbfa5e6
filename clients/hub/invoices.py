"""E-invoices in: UBL invoices from CB's out/ (FTPS) and from the e-mail channel, routed to tenants.

An invoice belongs to the tenant that claims the relation id it names
(``AccountingCustomerParty/SupplierAssignedAccountID``, seed 002); one that came by e-mail and names no
claimed relation goes to the tenant whose address it was sent to [CHOSEN: relation id first, address
second]. An invoice nobody claims — or a file that is not a readable UBL invoice — is kept as *unknown*
with its content, never dropped.
"""

from __future__ import annotations

import ftplib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from clients.cbftp.ubl import InvalidInvoice, parse_invoice

if TYPE_CHECKING:
    from .hub import Hub
    from .run import RunReport


@dataclass(frozen=True)
class MailAttachment:
    key: str  # unique within the mailbox, e.g. "<message id>/<attachment name>"
    name: str
    to: tuple[str, ...]
    data: bytes


class MailSource(Protocol):
    """The e-mail channel: every XML attachment received (the hub remembers which it has taken in)."""

    def xml_attachments(self) -> list[MailAttachment]: ...


def collect_invoices(hub: "Hub", report: "RunReport") -> None:
    for client in hub.cb_clients:
        source = f"cb:{client.connection.relation_id}"
        try:
            session = client.session()
        except ftplib.all_errors as exc:  # CB unreachable: its invoices wait in out/ for the next run
            report.problems.append(f"{source}: {type(exc).__name__}: {exc}")
            session = None
        if session is not None and session.skipped:
            report.problems.append(f"{source}: no session now ({session.skipped})")
        if session is not None:  # an invoice CB deleted while only part of it arrived is lost: say so, once
            report.problems.extend(f"{source}: {name} incomplete ({why})" for name, why in session.incomplete.items())
        for row in client.store.received_files(kind="invoice"):  # also what an earlier run fetched
            if not _known(hub, source, row["name"]):
                try:
                    data = Path(row["path"]).read_bytes()
                except OSError as exc:  # the inbox file is gone: kept as unknown with why, not retried forever
                    data = f"(the received file {row['path']} could not be read: {exc})".encode()
                _take(hub, report, source, row["name"], data, ())
    if hub.mail is not None:
        for item in hub.mail.xml_attachments():
            if not _known(hub, "mail", item.key):
                _take(hub, report, "mail", item.key, item.data, item.to)


def _known(hub: "Hub", source: str, name: str) -> bool:
    return hub.store.one("SELECT 1 AS x FROM invoices WHERE source=? AND name=?", (source, name)) is not None


def _take(hub: "Hub", report: "RunReport", source: str, name: str, data: bytes, to: tuple[str, ...]) -> None:
    invoice_number = relation_id = customer = payable = problem = None
    try:
        invoice = parse_invoice(data)
        invoice_number, relation_id, customer = invoice.number, invoice.relation_id, invoice.customer_name
        payable = str(invoice.payable)
    except (InvalidInvoice, ValueError) as exc:
        problem = f"not a readable UBL invoice: {exc}"
    tenant = _route(hub, relation_id, to) if problem is None else None
    if tenant is None and problem is None:
        problem = f"no tenant claims relation id {relation_id!r}" + (f" or address {', '.join(to)}" if to else "")
    with hub.store.transaction() as db:
        db.execute("INSERT OR IGNORE INTO invoices (source, name, tenant, invoice_number, relation_id, customer, "
                   "payable, problem, content, received_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                   (source, name, tenant, invoice_number, relation_id, customer, payable, problem, data,
                    hub._stamp()))
    report.invoices.append({"source": source, "name": name, "tenant": tenant, "invoice": invoice_number})
    if tenant is None:
        report.unknown.append(f"{source}/{name}")


def _route(hub: "Hub", relation_id: str | None, to: tuple[str, ...]) -> str | None:
    tenants = hub.tenants()
    for tenant in tenants:
        if relation_id and relation_id in tenant["relation_ids"]:
            return tenant["id"]
    addresses = {address.lower() for address in to}
    for tenant in tenants:
        if addresses & set(tenant["emails"]):
            return tenant["id"]
    return None
