"""Dimensions: ledger accounts (BAS, PNL), customers (DEB), suppliers (CRD) and cost centres (KPL).

Level 1 holds the ledger accounts, level 2 customers, suppliers and cost centres; a transaction line's
``dim1`` is a level-1 code, its ``dim2`` a level-2 code. Codes must fit the office's mask of their type.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime
from typing import Any

from ..core.clock import format_instant
from ..core.store import Store, TableCache
from . import errors
from .errors import Outcome

LEVELS = {"BAS": 1, "PNL": 1, "DEB": 2, "CRD": 2, "KPL": 2}
TYPE_NAMES = {"BAS": "Balans", "PNL": "Winst & verlies", "DEB": "Debiteuren", "CRD": "Crediteuren",
              "KPL": "Kostenplaatsen"}
MAX_EMAIL = 200  # seed 003: e-mail addresses of at most 200 characters
MAX_NAME = 80  # [CHOSEN] Twinfield's dimension name field length
DEFAULT_DUEDAYS = 30  # a customer's or supplier's payment term when none is set (the recorded customers' 30)
_DUEDAYS = re.compile(r"[0-9]{1,3}")  # [CHOSEN] a payment term is 0 to 999 days, written in ASCII digits


_COLUMNS = ("office", "type", "code", "name", "uid", "data", "created_at", "modified_at")
_SELECTED = ", ".join(_COLUMNS)
_LEVEL_TYPES = {level: tuple(t for t, lv in LEVELS.items() if lv == level) for level in (1, 2)}


def fits_mask(code: str, mask: str) -> bool:
    try:
        return re.fullmatch(mask, code) is not None
    except re.error:
        return False


def twinfield_stamp(moment: datetime) -> str:
    """``20211110121916``: how Twinfield writes a modification time."""
    return moment.strftime("%Y%m%d%H%M%S")


class Ledger:
    def __init__(self, store: Store) -> None:
        self.store = store
        # Every transaction line looks up its accounts and relation: kept until a dimension changes
        self._cache = TableCache(store, "tw_dimensions")

    # -- reading ----------------------------------------------------------------------------------------

    def get(self, office: str, dimtype: str, code: str) -> dict | None:
        rows = self._cache.rows(f"SELECT {_SELECTED} FROM tw_dimensions WHERE office=? AND type=? AND code=?",
                                (office, dimtype, code))
        return _unpack(dict(zip(_COLUMNS, rows[0]))) if rows else None

    def find(self, office: str, code: str | None, level: int) -> dict | None:
        """The dimension with this code on a level (1: BAS/PNL, 2: DEB/CRD/KPL)."""
        if not code:
            return None
        types = _LEVEL_TYPES.get(level, ())
        rows = self._cache.rows(
            f"SELECT {_SELECTED} FROM tw_dimensions WHERE office=? AND code=? AND type IN "
            f"({','.join('?' * len(types))})", (office, code, *types))
        return _unpack(dict(zip(_COLUMNS, rows[0]))) if rows else None

    def list(self, office: str, dimtype: str | None = None) -> list[dict]:
        sql = ("SELECT office, type, code, name, uid, data, created_at, modified_at FROM tw_dimensions "
               "WHERE office=?")
        args: list[Any] = [office]
        if dimtype:
            sql += " AND type=?"
            args.append(dimtype)
        return [_unpack(r) for r in self.store.query_dicts(sql + " ORDER BY type, code", args)]

    def in_use(self, office: str, code: str) -> bool:
        rows = self.store.query("SELECT 1 FROM tw_lines l JOIN tw_transactions t ON t.id = l.txn "
                                "WHERE t.office=? AND (l.dim1=? OR l.dim2=?) LIMIT 1", (office, code, code))
        return bool(rows)

    # -- writing ----------------------------------------------------------------------------------------

    def put(self, office: str, dimtype: str, code: str, name: str, data: dict, now: datetime,
            uid: str | None = None) -> dict:
        """Create or update (inside the caller's transaction when there is one)."""
        stamp = format_instant(now)
        with self.store.transaction() as db:  # the read inside: two creates of one code cannot both insert
            existing = self.get(office, dimtype, code)
            merged = {**(existing or {}).get("data", {}), **data}
            if existing:
                db.execute("UPDATE tw_dimensions SET name=?, data=?, modified_at=? WHERE office=? AND type=? "
                           "AND code=?", (name, json.dumps(merged), stamp, office, dimtype, code))
            else:
                db.execute("INSERT INTO tw_dimensions (office, type, code, name, uid, data, created_at, modified_at)"
                           " VALUES (?,?,?,?,?,?,?,?)",
                           (office, dimtype, code, name, uid or str(uuid.uuid4()), json.dumps(merged), stamp,
                            stamp))
        return self.get(office, dimtype, code)  # type: ignore[return-value]

    def next_code(self, office: str, dimtype: str, mask: str) -> str | None:
        """[CHOSEN] an empty code on create gets the lowest free code of the mask (digits only), as
        Twinfield's automatic numbering of customers does; None when the mask cannot be counted."""
        taken = {d["code"] for d in self.list(office, dimtype)}
        tokens = re.findall(r"\[[^\]]+\]|[A-Za-z0-9_.-]", mask)
        if not tokens or "".join(tokens) != mask:
            return None  # a mask with repetition or alternatives: no automatic code
        choices = []
        for token in tokens:
            if not token.startswith("["):
                choices.append([token])  # a literal character of the mask
                continue
            digits = [str(d) for d in range(10) if re.fullmatch(token, str(d))]
            if not digits:
                return None
            choices.append(digits)
        return _first_free(choices, taken)

    # -- the create-or-update of a <dimension> ----------------------------------------------------------

    def upsert(self, office: str, mask: str, given: dict, now: datetime, vat_exists) -> Outcome:
        """``given``: type, code, name and the other fields sent. Validates, then creates or updates."""
        outcome = Outcome()
        dimtype = (given.get("type") or "").strip().upper()
        if dimtype not in LEVELS:
            outcome.add(("type",), f"Dimensietype {dimtype or '(leeg)'} bestaat niet.")
            return outcome
        code = (given.get("code") or "").strip()
        existing = self.get(office, dimtype, code) if code else None
        if not code:
            if dimtype in ("DEB", "CRD"):
                code = self.next_code(office, dimtype, mask) or ""
                if not code:
                    outcome.add(("code",), errors.NO_FREE_CODE)
            else:
                outcome.add(("code",), errors.required("Code"))
        elif existing is None and not fits_mask(code, mask):
            outcome.add(("code",), errors.mask(mask))
        name = given.get("name")
        if name is None:
            name = existing["name"] if existing else ""
        name = name.strip()
        if not name:
            outcome.add(("name",), errors.NAME_REQUIRED)
        elif len(name) > MAX_NAME:
            outcome.add(("name",), errors.too_long("Naam", MAX_NAME))
        for index, address in enumerate(given.get("addresses") or []):
            if len(address.get("email") or "") > MAX_EMAIL:
                outcome.add(("addresses", index, "email"), errors.EMAIL_TOO_LONG)
        duedays = ((given.get("financials") or {}).get("duedays") or "").strip()
        if duedays and not _DUEDAYS.fullmatch(duedays):
            outcome.add(("financials", "duedays"), errors.bad_duedays(duedays))
        vatcode = ((given.get("financials") or {}).get("vatcode") or "").strip()
        if vatcode and not vat_exists(vatcode):
            outcome.add(("financials", "vatcode"), errors.vat_unknown(vatcode))
        if any(issue.blocking for issue in outcome.issues):
            return outcome
        data = {k: v for k, v in given.items() if k not in ("type", "code", "name", "office")}
        if dimtype == "DEB" and not (existing or {}).get("data", {}).get("financials"):
            data.setdefault("financials", {})
        if "financials" in data and dimtype in ("DEB", "CRD"):
            fin = {"duedays": str(DEFAULT_DUEDAYS), "substitutewith": "1300" if dimtype == "DEB" else "1600"}
            fin.update((existing or {}).get("data", {}).get("financials") or {})
            fin.update({k: v for k, v in data["financials"].items() if v not in (None, "")})
            if duedays:
                fin["duedays"] = str(int(duedays))  # as Twinfield writes a number: 030 is 30
            data["financials"] = fin
        if "addresses" in data or dimtype in ("DEB", "CRD"):
            stored = (existing or {}).get("data", {}).get("addresses") or []
            data["addresses"] = merge_addresses(stored, data.get("addresses") or [], existing is None)
            if not data["addresses"] and dimtype in ("DEB", "CRD"):
                data["addresses"] = [default_address(name)]
        outcome.record = self.put(office, dimtype, code, name, data, now)
        outcome.record["created"] = existing is None
        return outcome

    def emails(self, office: str, dimtype: str = "DEB") -> dict[str, str]:
        """e-mail address -> code, for the admin API (Twinfield itself has no search by e-mail)."""
        found = {}
        for dim in self.list(office, dimtype):
            for address in dim["data"].get("addresses") or []:
                if address.get("email"):
                    found[address["email"].lower()] = dim["code"]
        return found


def due_days(relation: dict | None) -> int:
    """A customer's (or supplier's) payment term in days. A stored term that is not one (a state directory
    written before terms were checked) counts as the default, so it cannot break every later booking."""
    text = str(((relation or {}).get("data", {}).get("financials") or {}).get("duedays") or "")
    return int(text) if _DUEDAYS.fullmatch(text) else DEFAULT_DUEDAYS


def default_address(name: str, country: str = "NL", email: str | None = None) -> dict:
    """The address Twinfield gives a customer or supplier created without one: an invoice address with its
    name and the office's country (murb's cluster_processxml_customer_create_success.xml answers a create
    with ``<addresses/>`` so). [CHOSEN] the country is NL: every simulated office is Dutch."""
    address = {"id": "1", "type": "invoice", "default": "true", "name": name, "country": country}
    if email is not None:
        address["email"] = email
    return address


def merge_addresses(stored: list[dict], sent: list[dict], create: bool) -> list[dict]:
    """The addresses after a create or update (``sent``: each address's fields, ``id``/``type``/``default``
    None where not sent).

    A create numbers the addresses sent from 1, the first the default. An update keeps every stored
    address it does not name - an empty ``<addresses/>`` changes nothing, as murb's
    cluster_processxml_customer_update_success.xml still has address 1 - and changes the fields sent of the
    address whose ``id`` it gives. [CHOSEN] an address sent without an id (the koppeling sends none) changes
    the first stored address of its type that this update has not changed yet, or else is added with the
    next free id: sending the same invoice and postal address again does not pile up copies."""
    if create:
        return [{**_given(a), "id": str(i + 1), "type": a.get("type") or "invoice",
                 "default": a.get("default") or ("true" if i == 0 else "false")} for i, a in enumerate(sent)]
    result = [dict(a) for a in stored]
    changed: set[str] = set()
    for address in sent:
        wanted = (address.get("id") or "").strip()
        kind = address.get("type") or "invoice"
        target = next((a for a in result if a.get("id") == wanted), None) if wanted else \
            next((a for a in result if a.get("type", "invoice") == kind and a.get("id") not in changed), None)
        if target is None:
            free = str(max((int(a["id"]) for a in result if re.fullmatch(r"[0-9]{1,9}", str(a.get("id", "")))),
                           default=0) + 1)
            target = {"id": free, "type": kind, "default": "false" if result else "true"}
            result.append(target)
        target.update(_given(address))
        changed.add(target["id"])
    return result


def _given(address: dict) -> dict:
    """The fields an address was sent with (``id`` is the stored one's, not taken from the request)."""
    return {k: v for k, v in address.items() if v is not None and k != "id"}


def _first_free(choices: list[list[str]], taken: set[str]) -> str | None:
    def walk(prefix: str, depth: int):
        if depth == len(choices):
            yield prefix
            return
        for digit in choices[depth]:
            yield from walk(prefix + digit, depth + 1)

    for candidate in walk("", 0):
        if candidate not in taken and candidate.strip("0") and any(ch != "0" for ch in candidate if ch.isdigit()):
            return candidate
    return None


def _unpack(row: dict) -> dict:
    row["data"] = json.loads(row["data"])
    return row


def dimension_view(dim: dict) -> dict:
    """A dimension as the admin API and scenarios see it."""
    data = dim["data"]
    emails = [a.get("email") for a in data.get("addresses") or [] if a.get("email")]
    return {"office": dim["office"], "type": dim["type"], "code": dim["code"], "name": dim["name"],
            "email": emails[0] if emails else None, "vatnumber": data.get("vatnumber") or None,
            "cocnumber": data.get("cocnumber") or None, "uid": dim["uid"], "modified": dim["modified_at"],
            "data": data}
