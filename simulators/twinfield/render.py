"""Stored records as Twinfield's response XML (the shapes of the public fixtures).

* transactions: php-twinfield ``salesTransactionGetResponse.xml`` / ``journalTransactionGetResponse.xml``
* dimensions: murb/twinfield ``cluster_processxml_customer_create_success.xml``
* sales invoices: murb ``cluster_processxml_invoice_create_success.xml`` / ``..._read_success.xml``
* VAT codes: php-twinfield ``vatCodeGetResponse.xml``; offices: ``officeOauthGetResponse.xml``
* match sets: php-twinfield ``single-matchset.xml``

Names (``name``/``shortname`` attributes) are looked up from the model, as Twinfield enriches them.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from lxml import etree

from ..core.clock import parse_instant
from .invoice_render import invoice_answer
from .ledger import LEVELS, TYPE_NAMES, twinfield_stamp
from .money import fmt, fmt_date, parse_date, plus_days
from .transactions import journal_of
from .xmltext import Rendered, XmlText, attributes

if TYPE_CHECKING:
    from .models import TwinfieldModel

E = etree.Element


def sub(parent: etree._Element, tag: str, text: Any = None, **attrs: Any) -> etree._Element:
    if attrs:
        child = etree.SubElement(parent, tag, {k: "" if v is None else str(v) for k, v in attrs.items()})
    else:
        child = etree.SubElement(parent, tag)
    if text is not None:
        child.text = str(text)
    return child


class Renderer:
    """One answer's renderer (``model.renderer`` makes a new one each time). The names it looks up are kept in
    ``names``: the model hands every renderer the same dict while the tables behind the names are unchanged."""

    def __init__(self, model: "TwinfieldModel", names: dict[tuple, Any] | None = None) -> None:
        self.model = model
        self._names: dict[tuple, Any] = {} if names is None else names

    # -- names ------------------------------------------------------------------------------------------

    def _dim_attrs(self, office: str, code: str | None, level: int) -> dict:
        key = ("dim", office, code, level)
        if key not in self._names:
            dim = self.model.ledger.find(office, code, level) if code else None
            self._names[key] = {} if dim is None else {
                "name": dim["name"], "shortname": dim["data"].get("shortname", ""), "type": dim["type"],
                "inuse": "true", "vatcode": (dim["data"].get("financials") or {}).get("vatcode", ""),
                "vatobligatory": "false"}
        return self._names[key]

    def _written(self, kind: str, office: str, code: str | None, level: int = 0) -> str:
        """The name attributes of a dimension (``dim``) or VAT code (``vat``), written once per answer."""
        key = ("written", kind, office, code, level)
        if key not in self._names:
            names = self._dim_attrs(office, code, level) if kind == "dim" else self._vat_attrs(office, code)
            self._names[key] = attributes(names)
        return self._names[key]

    def _office_attrs(self, code: str) -> dict:
        office = self.model.directory.find_office(code)
        return {"name": office.name, "shortname": office.shortname} if office else {}

    def _vat_attrs(self, office: str, code: str | None) -> dict:
        key = ("vat", office, code)
        if key not in self._names:
            vat = self.model.vat.get(office, code) if code else None
            self._names[key] = {"name": vat["name"], "shortname": vat["shortname"]} if vat else {}
        return self._names[key]

    # -- transactions -----------------------------------------------------------------------------------

    def transaction(self, txn: dict, attrs: dict | None = None, refused: bool = False) -> Rendered:
        """The booked transaction as Twinfield answers it (written as text: the hot path, see xmltext).

        ``refused``: a draft (``transaction_draft``) for a refusal's answer: the request's attributes as
        sent (``destiny`` too), no result or location yet - the caller puts the messages on."""
        if refused:
            root_attrs = {k: v for k, v in (attrs or {}).items() if k not in ("result", "msg", "msgtype")}
        else:
            root_attrs = {k: v for k, v in (attrs or {}).items() if k not in ("destiny", "result", "msg", "msgtype")}
            root_attrs = {**root_attrs, "result": "1", "location": txn["location"]}
        out = XmlText()
        out.open("transaction", attributes(root_attrs))
        office = txn["office"]
        journal = journal_of(self.model.directory.find_office(office), txn["code"]) or \
            {"name": txn["code"], "shortname": txn["code"]}
        out.open("header")
        out.leaf("office", office, attributes(self._office_attrs(office)))
        out.leaf("code", txn["code"], attributes({"name": journal["name"], "shortname": journal["shortname"]}))
        out.leaf("currency", txn["currency"], ' name="Euro" shortname="Euro"' if txn["currency"] == "EUR" else "")
        out.leaf("date", txn["date"])
        if txn["period"] is not None:  # (a refusal whose period could not be worked out has none)
            out.leaf("period", txn["period"])
        if txn["invoicenumber"]:
            out.leaf("invoicenumber", txn["invoicenumber"])
        if txn["duedate"]:
            out.leaf("duedate", txn["duedate"])
        out.constant("origin", "import")
        out.constant("originreference", "")
        user = self.model.directory.caller(self.model.directory.office(office).organisation, txn["user"])
        name = user.user_name if user else txn["user"]
        out.leaf("user", txn["user"].upper(), attributes({"name": name, "shortname": name}))
        for tag, text in txn["header"].get("extras") or []:
            out.leaf(tag, text)
        if txn["number"]:  # a refused transaction has none
            out.leaf("number", txn["number"])
        out.close()
        out.open("lines")
        for line in txn["lines"]:
            self._line(out, office, txn, line)
        out.close()
        out.close()
        return out.rendered(root_attrs)

    def _line(self, out: XmlText, office: str, txn: dict, line: dict) -> None:
        out.open("line", attributes({"type": line["type"], "id": line["id"]}))
        out.leaf("dim1", line["dim1"], self._written("dim", office, line["dim1"], 1))
        if line["dim2"]:
            out.leaf("dim2", line["dim2"], self._written("dim", office, line["dim2"], 2))
        if line["dim3"]:
            out.leaf("dim3", line["dim3"])
        out.leaf("debitcredit", line["debitcredit"])
        out.leaf("value", line["value"])
        if line["description"] is not None or line["type"] == "total":
            out.leaf("description", line["description"])
        journal = txn["header"].get("kind")
        if line["invoicenumber"] or (journal != "sales" and line["type"] == "detail"):
            out.leaf("invoicenumber", line["invoicenumber"] or "")  # journal lines always carry one
        for name in ("performancetype", "performancecountry", "performancevatnumber", "performancedate"):
            if line[name]:
                out.leaf(name, line[name])
        if line["type"] in ("detail", "vat") and line["vatcode"]:
            out.leaf("vatcode", line["vatcode"], self._written("vat", office, line["vatcode"]))
        out.constant("rate", "1")
        out.leaf("basevalue", line["value"])
        out.constant("reprate", "1")
        out.leaf("repvalue", line["value"])
        if line["type"] == "detail" and line["vatvalue"] is not None:
            out.leaf("vatvalue", line["vatvalue"])
            out.leaf("vatbasevalue", line["vatvalue"])
        if line["type"] == "vat":
            out.leaf("vatturnover", line["vatturnover"] or "0.00")
            out.leaf("vatbaseturnover", line["vatturnover"] or "0.00")
            if line["baseline"]:
                out.leaf("baseline", line["baseline"])
        if line["type"] == "total":
            vat_total = _vat_total(txn["lines"])
            if vat_total is not None:
                out.leaf("vattotal", vat_total)
                out.leaf("vatbasetotal", vat_total)
        for tag, text in line["extra"] or []:
            out.leaf(tag, text)
        if line["matchable"] and line["type"] != "total":
            # [CHOSEN] an open item's due date: the booking's, or 30 days after its date
            due = txn["duedate"] or fmt_date(plus_days(parse_date(txn["date"]), 30))
            out.leaf("duedate", due)
        if line["matchable"]:
            out.constant("matchlevel", "2")
            out.constant("customersupplier", "2")
            open_value = fmt(abs(Decimal(line["openvalue"] or "0")))
            out.leaf("openvalue", open_value)
            out.leaf("openbasevalue", open_value)
            out.leaf("openrepvalue", open_value)
        out.leaf("matchstatus", line["matchstatus"])
        if line["matchnumber"]:
            out.leaf("matchnumber", line["matchnumber"])
        out.close()

    # -- dimensions -------------------------------------------------------------------------------------

    def dimension(self, dim: dict) -> etree._Element:
        data = dim["data"]
        office = dim["office"]
        root = E("dimension", {"status": data.get("status") or "active", "result": "1"})
        sub(root, "office", office, **self._office_attrs(office))
        sub(root, "type", dim["type"], name=TYPE_NAMES.get(dim["type"], dim["type"]),
            shortname=TYPE_NAMES.get(dim["type"], dim["type"]))
        sub(root, "code", dim["code"])
        sub(root, "uid", dim["uid"])
        sub(root, "name", dim["name"])
        sub(root, "shortname", data.get("shortname") or "")
        sub(root, "inuse", "true" if self.model.ledger.in_use(office, dim["code"]) else "false")
        sub(root, "behaviour", "normal")
        sub(root, "modified", twinfield_stamp(parse_instant(dim["modified_at"])))
        sub(root, "touched", "0")
        for tag in ("beginperiod", "beginyear", "endperiod", "endyear"):
            sub(root, tag, "0")
        for tag in ("website", "cocnumber", "vatnumber"):
            sub(root, tag, data.get(tag) or "")
        sub(root, "editdimensionname", "true")
        fin = sub(root, "financials")
        level = LEVELS.get(dim["type"], 1)
        given = data.get("financials") or {}
        if dim["type"] in ("DEB", "CRD"):
            sub(fin, "matchtype", "customersupplier")
            sub(fin, "accounttype", "inherit")
            sub(fin, "subanalyse", "false")
            sub(fin, "duedays", given.get("duedays") or "30")
            sub(fin, "level", str(level))
            sub(fin, "payavailable", given.get("payavailable") or "false")
            sub(fin, "meansofpayment", given.get("meansofpayment") or "none")
            sub(fin, "paycode", given.get("paycode") or "")
            sub(fin, "ebilling", given.get("ebilling") or "false")
            sub(fin, "ebillmail", given.get("ebillmail") or "")
            sub(fin, "substitutionlevel", "1")
            control = given.get("substitutewith") or "1300"
            control_dim = self.model.ledger.find(office, control, 1)
            sub(fin, "substitutewith", control, name=control_dim["name"] if control_dim else "", shortname="",
                dimensiontype="BAS", id=control_dim["uid"] if control_dim else "")
            sub(fin, "relationsreference", given.get("relationsreference") or "")
            sub(fin, "vattype", None, name="", shortname="")
            vat = given.get("vatcode") or ""
            if vat:
                sub(fin, "vatcode", vat, **self._vat_attrs(office, vat))
            else:
                sub(fin, "vatcode", None, fixed="false")
            sub(fin, "vatobligatory", "false")
            sub(fin, "performancetype", "")
            mandate = sub(fin, "collectmandate")
            sub(mandate, "id", dim["code"])
            sub(mandate, "signaturedate", "")
            sub(fin, "collectionschema", "core")
            childvalidations = sub(fin, "childvalidations")
            sub(childvalidations, "childvalidation", control, type="code", level="1")
            credit = sub(root, "creditmanagement")
            for tag, text in (("responsibleuser", ""), ("basecreditlimit", "0.00"), ("sendreminder", "true"),
                              ("reminderemail", ""), ("freetext1", ""), ("freetext2", ""), ("freetext3", ""),
                              ("comment", "")):
                sub(credit, tag, text)
            sub(credit, "blocked", "false", locked="false", modified="")
            remittance = sub(root, "remittanceadvice")
            sub(remittance, "sendtype", "ToFileManager")
            sub(remittance, "sendmail", "")
        else:
            sub(fin, "matchtype", data.get("matchtype") or "notmatchable")
            sub(fin, "accounttype", "balance" if dim["type"] == "BAS" else
                ("profitandloss" if dim["type"] == "PNL" else "inherit"))
            sub(fin, "subanalyse", "false")
            sub(fin, "level", str(level))
        addresses = sub(root, "addresses")
        for address in data.get("addresses") or []:
            el = sub(addresses, "address", id=address.get("id", "1"), type=address.get("type", "invoice"),
                     default=address.get("default", "true"))
            for tag in ("name", "country", "ictcountrycode", "city", "postcode", "telephone", "telefax", "email",
                        "contact", "field1", "field2", "field3", "field4", "field5", "field6"):
                value = address.get(tag) or (address.get("country") if tag == "ictcountrycode" else "") or ""
                if tag == "country" and value:
                    sub(el, tag, value, name=_COUNTRIES.get(value, value), shortname="")
                else:
                    sub(el, tag, value)
        if dim["type"] == "CRD":
            sub(root, "groups")  # suppliers' groups and payment conditions: kept empty [CHOSEN]
            sub(root, "paymentconditions")
        banks = sub(root, "banks")
        for bank in data.get("banks") or []:
            el = sub(banks, "bank", default=bank.get("default", "true"))
            for tag, value in bank.items():
                if tag != "default" and isinstance(value, str):
                    sub(el, tag, value)
        return root

    def dimension_list(self, office: str, dimtype: str, dims: list[dict]) -> etree._Element:
        root = E("dimensions", {"office": office, "type": dimtype, "result": "1"})
        for dim in dims:
            sub(root, "dimension", dim["code"], name=dim["name"], shortname=dim["data"].get("shortname") or "")
        return root

    # -- VAT codes, offices -----------------------------------------------------------------------------

    def vat(self, vat: dict) -> etree._Element:
        root = E("vat", {"status": "active", "result": "1"})
        sub(root, "code", vat["code"])
        sub(root, "name", vat["name"])
        sub(root, "shortname", vat["shortname"])
        sub(root, "type", vat["type"])
        percentages = sub(root, "percentages")
        for pct in vat["percentages"]:
            el = sub(percentages, "percentage", status="active", inuse="true")
            sub(el, "date", pct["date"])
            sub(el, "percentage", f"{float(pct['percentage']):.9f}")
            sub(el, "name", vat["name"])
            sub(el, "shortname", vat["shortname"])
            accounts = sub(el, "accounts")
            account = sub(accounts, "account", id="1")
            dim = self.model.ledger.find(vat["office"], pct["account"], 1)
            sub(account, "dim1", pct["account"], name=dim["name"] if dim else "", shortname="", dimensiontype="BAS")
            sub(account, "groupcountry", "NL", name="Nederland", shortname="")
            sub(account, "group", pct.get("group") or "")
            sub(account, "percentage", "100.0")
            sub(account, "linetype", "vat")
        return root

    def vat_list(self, office: str, codes: list[dict]) -> etree._Element:
        root = E("vats", {"office": office, "result": "1"})  # [CHOSEN] the shape of <list><type>vat</type>
        for vat in codes:
            sub(root, "vat", vat["code"], name=vat["name"], shortname=vat["shortname"], type=vat["type"])
        return root

    def offices(self, codes: list[str]) -> etree._Element:
        root = E("offices", {"result": "1"})
        for code in codes:
            office = self.model.directory.office(code)
            sub(root, "office", code, name=office.name, shortname=office.shortname)
        return root

    # -- sales invoices ---------------------------------------------------------------------------------

    def invoice(self, inv: dict, attrs: dict | None = None, refused: bool = False) -> etree._Element:
        """A sales invoice as a write's (``attrs``: the request's root attributes) or a read's answer
        (``attrs`` None); see ``invoice_render``."""
        return invoice_answer(inv, attrs, refused, lambda code: self._dim_attrs(inv["office"], code, 1))

    # -- match sets -------------------------------------------------------------------------------------

    def match_set(self, record: dict) -> etree._Element:
        """A match set (php-twinfield's single-matchset.xml): the office without names, each line with the
        booking's details. A refused set's record (``Matching.match``'s draft) has None for a line that was
        not found - left out here, the caller puts the line as sent in its place - and no match number."""
        root = E("set", {"result": "1"} if record["matchnumber"] else {})
        sub(root, "office", record["office"])
        if record["matchcode_name"]:
            sub(root, "matchcode", record["matchcode"], name=record["matchcode_name"])
        else:
            sub(root, "matchcode", record["matchcode"])
        sub(root, "matchdate", record["matchdate"])
        lines = sub(root, "lines")
        dims = []
        for line in record["lines"]:
            if line is None:
                continue
            el = sub(lines, "line", result="1")
            journal = journal_of(self.model.directory.find_office(record["office"]), line["code"]) or \
                {"name": line["code"], "shortname": line["code"]}
            sub(el, "transcode", line["code"], name=journal["name"], shortname=journal["shortname"])
            sub(el, "transnumber", line["number"])
            sub(el, "transline", line["id"])
            sub(el, "matchvalue", line["matchvalue"])
            sub(el, "origin", "import")
            sub(el, "status", line["location"])
            sub(el, "dim1", line["dim1"])
            sub(el, "dim2", line["dim2"] or "")
            sub(el, "matchlevel", "2")
            for tag in ("basevalueopen", "repvalueopen", "valueopen"):
                sub(el, tag, line["openvalue"])
            sub(el, "matchvaluerep", line["matchvalue"])
            sub(el, "matchvaluecur", line["matchvalue"])
            if line["dim2"] and line["dim2"] not in dims:
                dims.append(line["dim2"])
        dimensions = sub(root, "dimensions")
        for code in dims:
            if record["matchnumber"]:
                sub(dimensions, "dimension", code, level="2", matchnumber=record["matchnumber"])
            else:
                sub(dimensions, "dimension", code, level="2")
        sub(root, "value", record["value"])
        return root


def _vat_total(lines: list[dict]) -> str | None:
    """The sum of the VAT lines; None when one of them has no amount (a refused booking's unreadable value)."""
    try:
        return fmt(sum((Decimal(v["value"]) for v in lines if v["type"] == "vat"), Decimal(0)))
    except (InvalidOperation, TypeError):
        return None


_COUNTRIES = {"NL": "Nederland", "BE": "België", "DE": "Duitsland", "FR": "Frankrijk", "GB": "Verenigd Koninkrijk",
              "ES": "Spanje", "IT": "Italië", "AT": "Oostenrijk", "LU": "Luxemburg", "DK": "Denemarken"}

