"""Query strings of collections: filters, ``orderby`` and the ``start``/``size`` paging links.

Facts: the collection shape ``{start, size, href, first, previous, next, items}`` (official schema, as the
jacobdekeizer client's generated models have it), order filters ``ordernumber, status, is_paid,
take_out_date, min_create_date, max_create_date, is_completed (default true), paymethod_id`` and invoice
filters ``invoicenumber, ordernumber, invoicenumber_full, ordernumber_full, status, min/max_create_date``
(that client's ``Parameters``), ``orderby=<field>`` or ``<field>_desc`` (its ``SortableFields``).
[CHOSEN]: ``transaction_id`` as an order filter (SPEC §4), the default and largest page size, clamping a
larger ``size``, a date-only ``max_create_date`` meaning the whole day, and a 400 for a parameter the
resource does not know (rather than silently returning everything).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Mapping, Sequence
from urllib.parse import urlencode

from .errors import validation

Parser = Callable[[str], Any]
PAGING = ("start", "size")
IGNORED = ("expand",)  # [CHOSEN] accepted, no effect: resources are always returned whole


# ASCII digits only: str.isdigit() and int() also take other scripts' digits ("１" is 1), and int() takes
# spaces and underscores; a query value is a number as a URL writes it.
_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,18}")


def _int(text: str) -> int:
    if not _WHOLE_NUMBER.fullmatch(text):
        raise ValueError("a whole number")
    return int(text)


def _bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ValueError("true or false")


def _date_min(text: str) -> datetime:
    return _moment(text, end_of_day=False)


def _date_max(text: str) -> datetime:
    return _moment(text, end_of_day=True)


def _moment(text: str, end_of_day: bool) -> datetime:
    try:
        if not text.isascii():  # strptime's %Y would read "２０２６" as 2026
            raise ValueError("not ASCII")
        if len(text) == 10:
            day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=timezone.utc)
            return day + timedelta(days=1, microseconds=-1) if end_of_day else day
        moment = datetime.fromisoformat(text.replace(" ", "T").replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError("a date (2026-11-20) or date-time (2026-11-20T08:00:00Z)") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _text(text: str) -> str:
    return text


ORDER_FILTERS: dict[str, Parser] = {
    "ordernumber": _int, "status": _int, "is_paid": _bool, "min_create_date": _date_min,
    "max_create_date": _date_max, "is_completed": _bool, "paymethod_id": _int, "transaction_id": _text,
    "take_out_date": _text,
}
ORDER_SORT = ("id", "ordernumber", "create_date", "deliver_date")
INVOICE_FILTERS: dict[str, Parser] = {
    "invoicenumber": _int, "ordernumber": _int, "invoicenumber_full": _text, "ordernumber_full": _text,
    "status": _text, "min_create_date": _date_min, "max_create_date": _date_max,
}
INVOICE_SORT = ("id", "invoicenumber", "ordernumber", "invoicenumber_full", "ordernumber_full", "create_date",
                "status", "total_price")
INVOICE_STATUSES = ("paid", "unpaid", "reimbursed")


def parse(args: Sequence[tuple[str, str]], filters: Mapping[str, Parser], sortable: Sequence[str]) -> dict:
    """The filters of a query string, checked: unknown names and unreadable values are a 400."""
    known = set(filters) | set(PAGING) | set(IGNORED) | ({"orderby"} if sortable else set())
    parsed: dict[str, Any] = {}
    for name, value in args:
        if name not in known:
            raise validation(f"Unknown query parameter '{name}'. This resource knows: {', '.join(sorted(known))}.")
        if name in PAGING or name in IGNORED:
            continue
        if name == "orderby":
            field = value[:-5] if value.endswith("_desc") else value
            if field not in sortable:
                raise validation(f"orderby '{value}' is not possible; use one of {', '.join(sortable)} "
                                 f"(with _desc for descending).")
            parsed["orderby"] = (field, value.endswith("_desc"))
            continue
        try:
            parsed[name] = filters[name](value)
        except ValueError as exc:
            raise validation(f"Query parameter '{name}' must be {exc}, got '{value}'.") from exc
    if "status" in parsed and filters is INVOICE_FILTERS and parsed["status"] not in INVOICE_STATUSES:
        raise validation(f"Query parameter 'status' must be one of {', '.join(INVOICE_STATUSES)}.")
    return parsed


def paging(args: Sequence[tuple[str, str]], default_size: int, max_size: int) -> tuple[int, int]:
    values = dict(args)
    try:
        start = _int(values.get("start", "0"))
        size = _int(values.get("size", str(default_size)))
    except ValueError as exc:
        raise validation("Query parameters 'start' and 'size' must be whole numbers.") from exc
    if start < 0 or size < 1:
        raise validation("'start' must be 0 or more and 'size' 1 or more.")
    return start, min(size, max_size)


def sort(items: list[dict], order: tuple[str, bool] | None) -> list[dict]:
    field, descending = order or ("id", False)
    return sorted(items, key=lambda item: (item.get(field) is None, item.get(field), item["id"]),
                  reverse=descending)


def collection(items: Iterable[dict], start: int, size: int, base: str, path: str,
               args: Sequence[tuple[str, str]]) -> dict:
    """One page of a collection with full-URL links; ``next``/``previous`` are null at the ends."""
    items = list(items)
    kept = [(k, v) for k, v in args if k not in PAGING]

    def link(at: int) -> str:
        return f"{base}{path}?{urlencode(kept + [('start', str(at)), ('size', str(size))])}"

    return {
        "start": start, "size": size, "href": link(start), "first": link(0),
        "previous": link(max(start - size, 0)) if start > 0 else None,
        "next": link(start + size) if start + size < len(items) else None,
        "items": items[start:start + size],
    }
