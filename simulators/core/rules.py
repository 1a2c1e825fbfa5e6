"""Fault injection as small composable rules: *when* an event looks like this, *do* that.

A rule is ``{"when": {...pattern...}, <action>: {...}, "times": n}`` — the action vocabulary belongs to
each simulator (Digipoort: ``error``, ``answer``, ``ftp``; later others), which registers a validator so
a mistyped rule is refused when it is set, not silently ignored when it should have fired.

Lifetimes: ``times`` absent = permanent, ``times: 1`` = once, ``times: n`` = the first n matches.
Rules are tried in the order they were added; the first match whose action is asked for wins.
Rules live in the state database, so a fault set through the admin API survives a restart.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Iterable, Mapping

from .errors import BadRequest, NotFound
from .matching import matches
from .store import Store

RuleValidator = Callable[[dict], None]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sim TEXT NOT NULL,
    body TEXT NOT NULL,
    times INTEGER,
    hits INTEGER NOT NULL DEFAULT 0
);
"""

_RESERVED = {"when", "times", "name", "id", "sim", "hits", "remaining", "action"}


class Rules:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._validators: dict[str, RuleValidator] = {}
        store.migrate("rules", _SCHEMA)
        # Which (sim, action) pairs have any rule at all: the FTP layer asks on every command, and
        # the answer is almost always "none", which must not cost a database round trip.
        self._present: set[tuple[str, str]] = set()
        self._refresh_present()

    def _refresh_present(self) -> None:
        self._present = {(r["sim"], r["action"]) for r in self.list()}

    def has_action(self, sim: str, action: str) -> bool:
        return (sim, action) in self._present

    def register(self, sim: str, validator: RuleValidator) -> None:
        self._validators[sim] = validator

    def add(self, sim: str, rule: Mapping[str, Any]) -> dict:
        if sim not in self._validators:
            raise BadRequest(f"unknown simulator {sim!r} for a rule; known: {sorted(self._validators)}")
        if not isinstance(rule, Mapping):
            raise BadRequest("a rule must be an object with 'when' and one action")
        body = dict(rule)
        given_reserved = sorted(set(body) & (_RESERVED - {"when", "times", "name"}))
        if given_reserved:
            raise BadRequest(f"rule fields {given_reserved} are set by koppelsim, not by the rule")
        when = body.get("when", {})
        if not isinstance(when, Mapping):
            raise BadRequest("rule field 'when' must be an object of field patterns")
        times = body.pop("times", None)
        if times is not None and (not isinstance(times, int) or isinstance(times, bool) or times < 1):
            raise BadRequest("rule field 'times' must be a positive whole number (omit it for permanent)")
        actions = [k for k in body if k not in _RESERVED]
        if len(actions) != 1:
            raise BadRequest(f"a rule needs exactly one action besides 'when', got {actions or 'none'}")
        try:
            self._validators[sim](body)
        except ValueError as exc:
            raise BadRequest(f"rule for {sim}: {exc}") from exc
        body.setdefault("when", {})
        with self.store.transaction() as db:
            cur = db.execute("INSERT INTO rules (sim, body, times) VALUES (?, ?, ?)",
                             (sim, json.dumps(body, sort_keys=True), times))
            rule_id = int(cur.lastrowid)
        self._refresh_present()
        return self.get(rule_id)

    def get(self, rule_id: int) -> dict:
        rows = self.store.query("SELECT id, sim, body, times, hits FROM rules WHERE id = ?", (rule_id,))
        if not rows:
            raise NotFound(f"no rule with id {rule_id}")
        return _as_dict(rows[0])

    def list(self, sim: str | None = None) -> list[dict]:
        if sim:
            rows = self.store.query("SELECT id, sim, body, times, hits FROM rules WHERE sim = ? ORDER BY id",
                                    (sim,))
        else:
            rows = self.store.query("SELECT id, sim, body, times, hits FROM rules ORDER BY id")
        return [_as_dict(r) for r in rows]

    def remove(self, rule_id: int) -> None:
        with self.store.transaction() as db:
            if db.execute("DELETE FROM rules WHERE id = ?", (rule_id,)).rowcount == 0:
                raise NotFound(f"no rule with id {rule_id}")
        self._refresh_present()

    def clear(self, sim: str | None = None) -> None:
        with self.store.transaction() as db:
            if sim:
                db.execute("DELETE FROM rules WHERE sim = ?", (sim,))
            else:
                db.execute("DELETE FROM rules")
        self._refresh_present()

    def take(self, sim: str, event: Mapping[str, Any], actions: Iterable[str]) -> dict | None:
        """The first live rule of ``sim`` whose pattern matches ``event`` and whose action is one of
        ``actions``; counts the hit (and retires a rule whose ``times`` are used up)."""
        wanted = {a for a in actions if (sim, a) in self._present}
        if not wanted:
            return None
        # The store's transaction is the lock: a hit counts only if the caller's decision commits with it.
        with self.store.transaction() as db:
            rows = db.execute(
                "SELECT id, sim, body, times, hits FROM rules WHERE sim = ? ORDER BY id", (sim,)
            ).fetchall()
            for row in rows:
                rule = _as_dict(row)
                if rule["action"] not in wanted:
                    continue
                if rule["times"] is not None and rule["hits"] >= rule["times"]:
                    continue
                if not matches(rule["when"], event):
                    continue
                db.execute("UPDATE rules SET hits = hits + 1 WHERE id = ?", (rule["id"],))
                rule["hits"] += 1
                if rule["times"] is not None:
                    rule["remaining"] = max(rule["times"] - rule["hits"], 0)
                return rule
        return None


def check_when_fields(rule: Mapping[str, Any], known: Iterable[str], what: str) -> None:
    """Refuse a ``when`` that names a field the event never has: a misspelt field (``berichtsort``) would
    make a rule that silently never fires, and a scenario that passes without its fault ever happening."""
    allowed = set(known)
    unknown = sorted(set(rule.get("when") or {}) - allowed)
    if unknown:
        raise ValueError(f"{what} rules match on {', '.join(sorted(allowed))}; "
                         f"not on {', '.join(repr(name) for name in unknown)}")


def _as_dict(row: tuple) -> dict:
    rule_id, sim, body, times, hits = row
    data = json.loads(body)
    action = next(k for k in data if k not in _RESERVED)
    result = {**data, "id": rule_id, "sim": sim, "action": action, "times": times, "hits": hits}
    result["remaining"] = None if times is None else max(times - hits, 0)
    return result
