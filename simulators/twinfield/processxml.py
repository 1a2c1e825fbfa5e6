"""Twinfield's XML request language (what ``ProcessXmlString`` / ``ProcessXmlDocument`` carry).

The root element says what to do: ``transaction``, ``dimension``, ``salesinvoice``, ``match`` write;
``read``, ``list`` and ``columns`` (browse) read. Plural wrappers (``transactions``, ``dimensions``,
``salesinvoices``; php-twinfield sends them) and [CHOSEN] ``general`` hold several requests; each is
processed on its own (php-twinfield's fixture has two failed bank transactions next to a stored one) and
each write is one database transaction.

This is the one translator from model outcomes to Twinfield's answer: a stored record rendered like the
real responses, or a refusal with ``msgtype``/``msg``/``result="0"`` where the problem is - on what the model
worked out where it could (a transaction, a match set, a final invoice: ``Outcome.draft``), else on the
request as it was sent.
"""

from __future__ import annotations

import copy
import logging
from typing import TYPE_CHECKING, Callable

from lxml import etree

from . import errors
from .browse import BROWSE_CODES, BROWSE_NAMES, Browser, cell, field_type, matches
from .directory import Caller, OfficeInfo
from .errors import Issue, Outcome
from .xmlmarks import elements, error_element, leaf_text, leaves, marked, marked_copy
from .xmltext import Rendered, as_element

if TYPE_CHECKING:
    from .models import TwinfieldModel

WRAPPERS = {"transactions": "transaction", "dimensions": "dimension", "salesinvoices": "salesinvoice",
            "customers": "dimension", "suppliers": "dimension"}
WRITES = ("transaction", "dimension", "salesinvoice", "match")
READS = ("read", "list", "columns", "accountcode", "accountcodes")  # fair use policy: these cost 1 credit
HEADER_FIELDS = ("office", "code", "date", "period", "invoicenumber", "currency", "duedate", "number", "origin",
                 "user")

RuleTaker = Callable[[dict, tuple], "dict | None"]
log = logging.getLogger(__name__)


def requests_in(root: etree._Element) -> list[etree._Element]:
    """The individual requests in a document (a wrapper's children, or the root itself)."""
    if root.tag in WRAPPERS or root.tag == "general":
        return elements(root)
    return [root]


def is_read(root: etree._Element) -> bool:
    return all(r.tag in READS for r in requests_in(root))


def most_lines(root: etree._Element) -> int:
    """The largest number of lines in one transaction or invoice of the document (the 1000-line limit)."""
    counts = [len(elements(r.find("lines"), "line")) for r in requests_in(root)
              if r.tag in ("transaction", "salesinvoice")]
    return max(counts, default=0)


def event_of(el: etree._Element) -> dict:
    """What a rule's ``when`` can match for one request element."""
    header = el.find("header")
    if el.tag == "transaction":
        return {"kind": "transaction", "office": leaf_text(header, "office"), "code": leaf_text(header, "code"),
                "invoicenumber": leaf_text(header, "invoicenumber"), "destiny": el.get("destiny") or "temporary",
                "lines": len(elements(el.find("lines"), "line"))}
    if el.tag == "dimension":
        return {"kind": "dimension", "office": leaf_text(el, "office"), "type": leaf_text(el, "type"),
                "code": leaf_text(el, "code"), "name": leaf_text(el, "name")}
    if el.tag == "salesinvoice":
        return {"kind": "salesinvoice", "office": leaf_text(header, "office"),
                "invoicetype": leaf_text(header, "invoicetype"), "customer": leaf_text(header, "customer"),
                "status": leaf_text(header, "status"), "invoicenumber": leaf_text(header, "invoicenumber")}
    if el.tag == "match":
        first = el.find("set")
        return {"kind": "match", "office": leaf_text(first, "office")}
    if el.tag in ("read", "list"):
        return {"kind": el.tag, "type": leaf_text(el, "type"), "office": leaf_text(el, "office")}
    if el.tag == "columns":
        return {"kind": "browse", "code": el.get("code")}
    return {"kind": el.tag}


class ProcessXml:
    def __init__(self, model: "TwinfieldModel", take_rule: RuleTaker, journal: Callable[..., None]) -> None:
        self.model = model
        self.take_rule = take_rule
        self.journal = journal

    def process(self, caller: Caller, root: etree._Element) -> etree._Element | Rendered:
        """The answer document: an element, or a booked transaction's answer as text (``xmltext``)."""
        if root.tag in WRAPPERS or root.tag == "general":
            response = etree.Element(root.tag, {k: v for k, v in root.attrib.items() if k != "result"})
            ok = True
            for child in elements(root):
                answer = self._guarded(child, lambda el=child: self._one(caller, el))
                ok = ok and answer.get("result") == "1"
                response.append(as_element(answer))
            response.set("result", "1" if ok else "0")
            return response
        return self._one(caller, root)

    def _guarded(self, el: etree._Element, work: Callable[[], "etree._Element | Rendered"]
                 ) -> etree._Element | Rendered:
        """``work``'s answer for one element of several; should it fail (a bug of ours), that element is answered
        with an error and the others keep theirs. Each element is its own database transaction, so an element
        booked before is booked: a fault for the whole request would hide its number, and the client's retry
        would meet "Factuurnummer ... komt reeds voor"."""
        try:
            return work()
        except Exception as exc:
            log.exception("twinfield: a <%s> failed", el.tag)
            self.journal("twinfield.crash", element=el.tag, error=f"{type(exc).__name__}: {exc}")
            return marked_copy(el, [Issue((), errors.UNEXPECTED)])

    def _one(self, caller: Caller, el: etree._Element) -> etree._Element | Rendered:
        handler = {"transaction": self._transaction, "dimension": self._dimension, "salesinvoice": self._invoice,
                   "match": self._match, "read": self._read, "list": self._list, "columns": self._columns}.get(el.tag)
        if handler is None:
            return error_element(el.tag, errors.unknown_element(el.tag))
        if el.tag in WRITES:
            rule = self.take_rule(event_of(el), ("reject",))
            if rule is not None:
                reject = rule["reject"]
                issue = Issue((), reject.get("msg") or f"Geweigerd door regel {rule['id']}.", reject.get("msgtype",
                                                                                                         "error"))
                self.journal("twinfield.rejected", element=el.tag, rule=rule["id"], msg=issue.msg, **_flat(event_of(el)))
                draft = self._transaction_draft(caller, el) if el.tag == "transaction" else None
                if draft is not None:  # refused as Twinfield refuses: the transaction worked out, not booked
                    return marked(as_element(self.model.renderer.transaction(draft, dict(el.attrib), refused=True)),
                                  [issue])
                return marked_copy(el, [issue])
        return handler(caller, el)

    # -- offices ----------------------------------------------------------------------------------------

    def _office(self, caller: Caller, code: str | None) -> tuple[OfficeInfo | None, str | None]:
        code = (code or "").strip() or (caller.company or "")
        if not code:
            return None, errors.required("Administratie")
        info = self.model.directory.find_office(code)
        if info is None or info.organisation != caller.organisation:
            # [CHOSEN] another organisation's office is answered like one that does not exist: no leak
            return None, errors.office_unknown(code)
        if not caller.may_reach(code):
            return None, errors.office_no_access(code)
        return info, None

    # -- writes -----------------------------------------------------------------------------------------

    def _transaction(self, caller: Caller, el: etree._Element) -> etree._Element | Rendered:
        header = el.find("header")
        office_text = leaf_text(header, "office") if header is not None else leaf_text(el, "office")
        office, problem = self._office(caller, office_text)
        if problem:
            return marked_copy(el, [Issue(("header", "office") if header is not None else ("office",), problem)])
        if (el.get("action") or "").lower() == "delete":
            return self._delete(el, office)
        with self.model.write_lock:
            outcome = self.model.transactions.post(caller, office, _transaction_given(el), self.model.now())
        if outcome.ok:
            record = outcome.record
            self.journal("twinfield.booking", office=record["office"], code=record["code"], number=record["number"],
                         invoicenumber=record["invoicenumber"], location=record["location"],
                         lines=len(record["lines"]))
            return self.model.renderer.transaction(record, dict(el.attrib))
        if outcome.draft is not None:
            self._journal_refusal(el, outcome.issues)
            answer = as_element(self.model.renderer.transaction(outcome.draft, dict(el.attrib), refused=True))
            return marked(answer, outcome.issues)
        return self._refused(el, outcome)

    def _transaction_draft(self, caller: Caller, el: etree._Element) -> dict | None:
        """What the transaction would be worked out to, nothing stored; None where that cannot be done."""
        header = el.find("header")
        if header is None or (el.get("action") or "").lower() == "delete":
            return None
        office, problem = self._office(caller, leaf_text(header, "office"))
        if problem:
            return None
        return self.model.transactions.post(caller, office, _transaction_given(el), self.model.now(),
                                            check_only=True).draft

    def _delete(self, el: etree._Element, office: OfficeInfo) -> etree._Element:
        with self.model.write_lock:
            outcome = self.model.transactions.delete(office.code, (leaf_text(el, "code") or "").strip().upper(),
                                                     (leaf_text(el, "number") or "").strip())
        if outcome.ok:
            self.journal("twinfield.deleted", office=office.code, code=outcome.record["code"],
                         number=outcome.record["number"])
            answer = copy.deepcopy(el)
            answer.set("result", "1")
            return answer
        return self._refused(el, outcome)

    def _dimension(self, caller: Caller, el: etree._Element) -> etree._Element:
        office, problem = self._office(caller, leaf_text(el, "office"))
        if problem:
            return marked_copy(el, [Issue(("office",), problem)])
        given = _dimension_fields(el)
        dimtype = (given.get("type") or "").strip().upper()
        with self.model.write_lock:
            outcome = self.model.ledger.upsert(office.code, office.masks.get(dimtype, ".+"), given, self.model.now(),
                                               lambda code: self.model.vat.get(office.code, code) is not None)
        if outcome.ok:
            record = outcome.record
            self.journal("twinfield.dimension", office=office.code, type=record["type"], code=record["code"],
                         name=record["name"], created=record["created"])
            return self.model.renderer.dimension(record)
        return self._refused(el, outcome)

    def _invoice(self, caller: Caller, el: etree._Element) -> etree._Element:
        header = el.find("header")
        office, problem = self._office(caller, leaf_text(header, "office"))
        if problem:
            return marked_copy(el, [Issue(("header", "office"), problem)])
        given = {"attrs": dict(el.attrib), "header": leaves(header),
                 "lines": [{**leaves(line), "id": line.get("id")} for line in elements(el.find("lines"), "line")]}
        with self.model.write_lock:
            outcome = self.model.invoices.post(caller, office, given, self.model.now())
        if outcome.ok:
            record = outcome.record
            self.journal("twinfield.invoice", office=office.code, invoicetype=record["invoicetype"],
                         invoicenumber=record["invoicenumber"], status=record["status"],
                         customer=record["customer"])
            return self.model.renderer.invoice(record, dict(el.attrib))
        if outcome.draft is not None:
            self._journal_refusal(el, outcome.issues)
            return marked(self.model.renderer.invoice(outcome.draft, dict(el.attrib), refused=True), outcome.issues)
        return self._refused(el, outcome)

    def _match(self, caller: Caller, el: etree._Element) -> etree._Element:
        response = etree.Element("match", {k: v for k, v in el.attrib.items() if k != "result"})
        ok = True
        sets = elements(el, "set") or [el]
        for set_el in sets:
            answer = self._match_set(caller, set_el) if len(sets) == 1 else \
                self._guarded(set_el, lambda one=set_el: self._match_set(caller, one))
            ok = ok and answer.get("result") == "1"
            response.append(answer)
        response.set("result", "1" if ok else "0")
        return response

    def _match_set(self, caller: Caller, set_el: etree._Element) -> etree._Element:
        """One ``<set>``: matched in a database transaction of its own."""
        office, problem = self._office(caller, leaf_text(set_el, "office"))
        if problem:
            return marked_copy(set_el, [Issue(("office",), problem)])
        given = {**leaves(set_el), "lines": [leaves(line) for line in elements(set_el.find("lines"), "line")]}
        with self.model.write_lock:
            outcome = self.model.matching.match(office.code, given, self.model.now())
        if outcome.ok:
            record = outcome.record
            self.journal("twinfield.match", office=office.code, matchnumber=record["matchnumber"],
                         lines=[f"{ln['code']}/{ln['number']}/{ln['id']}" for ln in record["lines"]])
            return self.model.renderer.match_set(record)
        if outcome.draft is not None:
            self._journal_refusal(set_el, outcome.issues)
            return marked(self._refused_set(set_el, outcome.draft), outcome.issues)
        return self._refused(set_el, outcome)

    def _refused_set(self, set_el: etree._Element, draft: dict) -> etree._Element:
        """A refused match set: the lines found worked out, each one not found as it was sent, in its place."""
        answer = self.model.renderer.match_set(draft)
        lines = answer.find("lines")
        for index, (line, sent) in enumerate(zip(draft["lines"], elements(set_el.find("lines"), "line"))):
            if line is None:
                copied = copy.deepcopy(sent)
                copied.tail = None
                lines.insert(index, copied)
        return answer

    def _refused(self, el: etree._Element, outcome: Outcome) -> etree._Element:
        issues = outcome.issues or [Issue((), errors.unknown_element(el.tag))]
        self._journal_refusal(el, issues)
        return marked_copy(el, issues)

    def _journal_refusal(self, el: etree._Element, issues: list[Issue]) -> None:
        self.journal("twinfield.refused", element=el.tag, msgs=[i.msg for i in issues], **_flat(event_of(el)))

    # -- reads ------------------------------------------------------------------------------------------

    def _read(self, caller: Caller, el: etree._Element) -> etree._Element | Rendered:
        fields = leaves(el)
        kind = (fields.get("type") or "").strip().lower()
        office, problem = self._office(caller, fields.get("office"))
        empty = {"dimensions": "dimension", "transaction": "transaction", "salesinvoice": "salesinvoice",
                 "vat": "vat", "office": "office", "browse": "browse"}
        if kind not in empty:
            return error_element("read", errors.unknown_read_type(kind or "(leeg)"))
        if problem:
            return error_element(empty[kind], problem)
        code = (fields.get("code") or "").strip()
        render = self.model.renderer
        if kind == "dimensions":
            dimtype = (fields.get("dimtype") or "").strip().upper()
            dim = self.model.ledger.get(office.code, dimtype, code)
            return render.dimension(dim) if dim else error_element("dimension", errors.dimension_not_found(dimtype,
                                                                                                          code))
        if kind == "transaction":
            number = (fields.get("number") or "").strip()
            txn = self.model.transactions.get(office.code, code.upper(), number)
            return render.transaction(txn) if txn else error_element("transaction",
                                                                     errors.transaction_not_found(code, number))
        if kind == "salesinvoice":
            number = (fields.get("invoicenumber") or "").strip()
            inv = self.model.invoices.get(office.code, code, number)
            return render.invoice(inv) if inv else error_element("salesinvoice",
                                                                     errors.invoice_not_found(number, code))
        if kind == "vat":
            vat = self.model.vat.get(office.code, code)
            return render.vat(vat) if vat else error_element("vat", errors.vat_unknown(code))
        if kind == "browse":
            return self._browse_definition(office, code)
        answer = etree.Element("office", result="1")  # [CHOSEN] the office read: its code, name and organisation
        for tag, value in (("code", office.code), ("name", office.name), ("shortname", office.shortname)):
            etree.SubElement(answer, tag).text = value
        return answer

    def _list(self, caller: Caller, el: etree._Element) -> etree._Element:
        fields = leaves(el)
        kind = (fields.get("type") or "").strip().lower()
        if kind == "offices":
            return self.model.renderer.offices(caller.offices)
        if kind not in ("dimensions", "vat"):
            return error_element("list", errors.unknown_read_type(kind or "(leeg)"))
        office, problem = self._office(caller, fields.get("office"))
        if problem:
            return error_element("list", problem)
        if kind == "vat":
            return self.model.renderer.vat_list(office.code, self.model.vat.list(office.code,
                                                                                 fields.get("vattype") or None))
        dimtype = (fields.get("dimtype") or "").strip().upper()
        return self.model.renderer.dimension_list(office.code, dimtype, self.model.ledger.list(office.code, dimtype))

    def _browse_definition(self, office: OfficeInfo, code: str) -> etree._Element:
        if code not in BROWSE_CODES:
            return error_element("browse", errors.browse_unknown(code))
        answer = etree.Element("browse", result="1")
        etree.SubElement(answer, "office", name=office.name, shortname=office.shortname).text = office.code
        etree.SubElement(answer, "code").text = code
        etree.SubElement(answer, "name").text = BROWSE_NAMES[code]
        etree.SubElement(answer, "shortname").text = BROWSE_NAMES[code]
        etree.SubElement(answer, "visible").text = "true"
        columns = etree.SubElement(answer, "columns", code=code)
        for i, field in enumerate(("fin.trs.head.yearperiod", "fin.trs.head.code", "fin.trs.head.number",
                                   "fin.trs.head.status", "fin.trs.line.dim1", "fin.trs.line.dim2",
                                   "fin.trs.line.valuesigned", "fin.trs.line.openvaluesigned",
                                   "fin.trs.line.invnumber", "fin.trs.line.matchstatus"), start=1):
            column = etree.SubElement(columns, "column", id=str(i))
            for tag, text in (("field", field), ("label", field.rsplit(".", 1)[1]), ("visible", "true"),
                              ("ask", "true"), ("operator", "between"), ("from", ""), ("to", ""),
                              ("finderparam", "")):
                etree.SubElement(column, tag).text = text
        return answer

    def _columns(self, caller: Caller, el: etree._Element) -> etree._Element:
        code = (el.get("code") or "").strip()
        columns = [{**leaves(c), "field": (leaf_text(c, "field") or "").strip()} for c in elements(el, "column")]
        office_column = next((c for c in columns if c["field"] == "fin.trs.head.office"), None)
        office, problem = self._office(caller, (office_column or {}).get("from"))
        if code not in BROWSE_CODES:
            return marked_copy(el, [Issue((), errors.browse_unknown(code))])
        if problem:
            return marked_copy(el, [Issue((), problem)])
        browser: Browser = self.model.browser
        rows = [r for r in browser.rows(office.code, code, columns) if all(matches(r, c) for c in columns)]
        sort = leaf_text(el.find("sort"), "field")
        if sort:
            rows.sort(key=lambda r: cell(r, sort.strip())[0])
        # [CHOSEN] a column without <visible>true</visible> filters but is not shown
        visible = [c for c in columns if (c.get("visible") or "").strip().lower() == "true" and c["field"]]
        answer = etree.Element("browse", result="1", first="1" if rows else "0", last=str(len(rows)),
                               total=str(len(rows)))
        th = etree.SubElement(answer, "th")
        for column in visible:
            etree.SubElement(th, "td", label=column.get("label") or "", hideforuser="false",
                             type=field_type(column["field"])).text = column["field"]
        for row in rows:
            tr = etree.SubElement(answer, "tr")
            for column in visible:
                text, name = cell(row, column["field"])
                attrs = {"field": column["field"], "hideforuser": "false", "type": field_type(column["field"])}
                if name:
                    attrs["name"] = name
                etree.SubElement(tr, "td", attrs).text = text
            key = etree.SubElement(tr, "key")
            for tag, value in (("office", row["office"]), ("code", row["code"]), ("number", row["number"]),
                               ("line", str(row["id"]))):
                etree.SubElement(key, tag).text = value
        return answer


def _transaction_given(el: etree._Element) -> dict:
    """A ``<transaction>`` as ``Transactions.post`` takes it: {attrs, header, lines}, texts as sent."""
    head = leaves(el.find("header"))
    given = {"attrs": dict(el.attrib), "header": {k: head.get(k) for k in HEADER_FIELDS},
             "lines": [_line(line) for line in elements(el.find("lines"), "line")]}
    given["header"]["extras"] = [(k, v) for k, v in head.items() if k not in HEADER_FIELDS]
    return given


def _line(line: etree._Element) -> dict:
    fields = leaves(line)
    known = ("dim1", "dim2", "dim3", "debitcredit", "value", "vatcode", "vatvalue", "description", "invoicenumber",
             "performancetype", "performancecountry", "performancevatnumber", "performancedate")
    given = {k: fields.get(k) for k in known}
    given.update({"type": line.get("type"), "id": line.get("id"),
                  "extras": [(k, v) for k, v in fields.items() if k not in known and k not in (
                      "basevalue", "rate", "repvalue", "reprate", "vatbasevalue", "vattotal", "vatbasetotal")]})
    return given


def _dimension_fields(el: etree._Element) -> dict:
    given: dict = {k: v for k, v in leaves(el).items()}
    if el.get("status"):
        given["status"] = el.get("status")
    if el.find("financials") is not None:
        given["financials"] = leaves(el.find("financials"))
    if el.find("addresses") is not None:
        given["addresses"] = [{**leaves(a), "id": a.get("id"), "type": a.get("type"), "default": a.get("default")}
                              for a in elements(el.find("addresses"), "address")]
    if el.find("banks") is not None:
        given["banks"] = [{**leaves(b), "default": b.get("default") or "true"} for b in elements(el.find("banks"), "bank")]
    return given


def _flat(event: dict) -> dict:
    return {k: v for k, v in event.items() if k != "kind"} | {"request": event.get("kind")}
