"""VAT codes per office: a code, its type (sales/purchase) and percentages that change over time.

A percentage applies from its date on; a transaction uses the one in force on its own date. Before the
first date the code is "not (yet) active" - which is exactly Twinfield's text for an unknown code too.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from decimal import Decimal

from ..core.errors import BadRequest
from ..core.store import Store, TableCache
from .config import VatCode
from .money import parse_date


class VatBook:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._cache = TableCache(store, "tw_vatcodes")  # read by every line with a VAT code

    def put(self, office: str, vat: VatCode) -> dict:
        if vat.type not in ("sales", "purchase"):
            raise BadRequest(f"VAT code {vat.code}: type must be sales or purchase, got {vat.type!r}")
        if not vat.percentages:
            raise BadRequest(f"VAT code {vat.code}: at least one percentage is needed")
        for pct in vat.percentages:
            try:
                parse_date(pct.date)
                Decimal(pct.percentage)
            except Exception:
                raise BadRequest(f"VAT code {vat.code}: percentage {asdict(pct)} needs date yyyymmdd and a number")
        data = {"shortname": vat.shortname or vat.name[:20], "icp": vat.icp,
                "percentages": sorted((asdict(p) for p in vat.percentages), key=lambda p: p["date"])}
        with self.store.transaction() as db:
            db.execute("INSERT INTO tw_vatcodes (office, code, name, type, data) VALUES (?,?,?,?,?) "
                       "ON CONFLICT(office, code) DO UPDATE SET name=excluded.name, type=excluded.type, "
                       "data=excluded.data", (office, vat.code, vat.name, vat.type, json.dumps(data)))
        return self.get(office, vat.code)  # type: ignore[return-value]

    def get(self, office: str, code: str | None) -> dict | None:
        if not code:
            return None
        rows = self._cache.rows("SELECT office, code, name, type, data FROM tw_vatcodes WHERE office=? AND code=?",
                                (office, code.strip()))
        if not rows:
            return None
        row = dict(zip(("office", "code", "name", "type"), rows[0][:4]))
        row.update(json.loads(rows[0][4]))
        return row

    def list(self, office: str, vattype: str | None = None) -> list[dict]:
        rows = self.store.query("SELECT code FROM tw_vatcodes WHERE office=? ORDER BY code", (office,))
        found = [self.get(office, code) for (code,) in rows]
        return [v for v in found if v and (vattype is None or v["type"] == vattype)]

    @staticmethod
    def in_force(vat: dict, day: date) -> dict | None:
        """The percentage entry in force on ``day`` (None before the first one)."""
        current = None
        for pct in vat["percentages"]:
            if parse_date(pct["date"]) <= day:
                current = pct
        return current


def vat_view(vat: dict) -> dict:
    return {"office": vat["office"], "code": vat["code"], "name": vat["name"], "type": vat["type"],
            "icp": vat["icp"], "percentages": vat["percentages"]}
