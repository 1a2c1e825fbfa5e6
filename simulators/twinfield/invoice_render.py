"""Sales invoices as Twinfield answers them: a write's answer, a read's, and a refused change's.

murb's recorded answers differ between the two: ``cluster_processxml_invoice_create_success.xml`` (a write)
repeats the request's root attributes, names ``dim1`` and ``vatcode`` and puts the totals before the VAT
lines; ``cluster_processxml_invoice_read_success.xml`` (a read) does none of that.
"""

from __future__ import annotations

from typing import Any, Callable

from lxml import etree


def sub(parent: etree._Element, tag: str, text: Any = None, **attrs: Any) -> etree._Element:
    child = etree.SubElement(parent, tag, {k: "" if v is None else str(v) for k, v in attrs.items()})
    if text is not None:
        child.text = str(text)
    return child


def invoice_answer(inv: dict, attrs: dict | None, refused: bool, account_names: Callable[[str], dict]
                   ) -> etree._Element:
    """A sales invoice. ``attrs``: the request's root attributes, for a write's answer (murb's
    ``..._create_success.xml``); ``None`` answers a read, which Twinfield writes differently (murb's
    ``..._read_success.xml``): only ``result`` on the root, ``dim1`` without names, ``vatcode`` with its
    type, no performance fields on the lines, the VAT lines before the totals and those inc before excl.
    ``refused``: the stored invoice as the answer to a refused change (..._create_final_error.xml): no
    result yet and no ``financials``; the caller puts the message on. ``account_names``: a ledger
    account's name attributes (a write's answer names ``dim1``)."""
    read = attrs is None
    data = inv["data"]
    root_attrs = {} if read else {k: v for k, v in attrs.items() if k not in ("result", "msg", "msgtype")}
    root = etree.Element("salesinvoice", root_attrs if refused else {**root_attrs, "result": "1"})
    header = sub(root, "header")
    h = data["header"]
    for tag in ("office", "invoicetype", "invoicenumber", "invoicedate", "duedate", "bank",
                "invoiceaddressnumber", "deliveraddressnumber", "customer", "period", "currency", "status",
                "paymentmethod", "headertext", "footertext"):
        sub(header, tag, h.get(tag) or "")
    if data.get("financials") and not refused:
        fin = sub(root, "financials")
        sub(fin, "code", data["financials"]["code"])
        sub(fin, "number", data["financials"]["number"])
    lines = sub(root, "lines")
    for line in data["lines"]:
        el = sub(lines, "line", id=line["id"])
        sub(el, "article", line["article"])
        if "valueexcl" not in line:
            sub(el, "description", line.get("description") or "")
            continue
        for tag in ("subarticle", "quantity", "units", "allowdiscountorpremium", "description", "valueexcl",
                    "vatvalue", "valueinc", "unitspriceexcl"):
            sub(el, tag, line.get(tag) or "")
        for tag in ("freetext1", "freetext2", "freetext3"):
            sub(el, tag, "")
        if read:
            sub(el, "dim1", line["dim1"])
            sub(el, "vatcode", line["vatcode"], name=line["vatname"], shortname=line["vatshortname"],
                type="sales")
            continue
        account = account_names(line["dim1"])
        sub(el, "dim1", line["dim1"], **{k: account[k] for k in ("name", "shortname") if k in account})
        sub(el, "vatcode", line["vatcode"], name=line["vatname"], shortname=line["vatshortname"])
        sub(el, "performancetype", line.get("performancetype") or "")
        sub(el, "performancedate", line.get("performancedate") or "")
    if not read:
        _totals(root, data)
    vatlines = sub(root, "vatlines")
    for v in data["vatlines"]:
        el = sub(vatlines, "vatline")
        if read:
            sub(el, "vatcode", v["vatcode"], name=v["name"])
        else:
            sub(el, "vatcode", v["vatcode"], name=v["name"], shortname=v["shortname"],
                percentage=f"{float(v['percentage']):.9f}")
        sub(el, "vatvalue", v["vatvalue"])
        sub(el, "performancetype", "")
        sub(el, "performancedate", "")
    if read:
        _totals(root, data, ("valueinc", "valueexcl"))
    return root


def _totals(root: etree._Element, data: dict, order: tuple = ("valueexcl", "valueinc")) -> None:
    totals = sub(root, "totals")
    for tag in order:
        sub(totals, tag, data["totals"][tag])
