"""Who is who: organisations, their offices (administraties), users and OAuth clients.

A caller (``Caller``) is a user of one organisation, through one client; the offices it may reach are
its user's offices. Everything else asks this module before touching an office.
"""

from __future__ import annotations

import hmac
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import BadRequest, NotFound
from ..core.store import Store, TableCache
from .config import ORG_ID_NAMESPACE, Client, Office, Organisation, User


@dataclass
class Caller:
    """The identity behind one SOAP call."""

    organisation: str
    organisation_id: str
    user: str
    user_name: str
    offices: list[str]  # the offices this caller may reach, in order
    client_id: str | None = None
    company: str | None = None  # the header's CompanyCode / the session's selected office
    token: str | None = None
    kind: str = "access"  # access | session

    def may_reach(self, office: str) -> bool:
        return office in self.offices


@dataclass(frozen=True)
class OfficeInfo:
    """An office as read from the database; shared between calls (kept per database row): never changed."""

    code: str
    organisation: str
    name: str
    shortname: str
    masks: dict[str, str] = field(default_factory=dict)
    reporting_currency: str | None = None
    invoice_types: list[str] = field(default_factory=list)
    journals: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "organisation": self.organisation, "name": self.name,
                "shortname": self.shortname, "masks": dict(self.masks), "reporting_currency": self.reporting_currency,
                "invoice_types": list(self.invoice_types), "journals": dict(self.journals)}


_ORG = ("code", "id", "name")
_USER = ("organisation", "user", "password", "name", "offices")


def organisation_id(code: str, given: str | None = None) -> str:
    return given or str(uuid.uuid5(uuid.UUID(ORG_ID_NAMESPACE), code))


# Read on every SOAP call (the caller, its offices) and changed seldom: kept until one of them changes.
DIRECTORY_TABLES = ("tw_organisations", "tw_offices", "tw_users")


class Directory:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._cache = TableCache(store, *DIRECTORY_TABLES)
        self._office_infos: dict[tuple, OfficeInfo] = {}

    def _dicts(self, sql: str, args: tuple, names: tuple[str, ...]) -> list[dict]:
        return [dict(zip(names, row)) for row in self._cache.rows(sql, args)]

    # -- organisations and offices ----------------------------------------------------------------------

    def put_organisation(self, org: Organisation) -> dict:
        if not org.code.strip():
            raise BadRequest("an organisation needs a code")
        with self.store.transaction() as db:
            db.execute("INSERT INTO tw_organisations (code, id, name) VALUES (?,?,?) ON CONFLICT(code) DO UPDATE "
                       "SET id=excluded.id, name=excluded.name",
                       (org.code, organisation_id(org.code, org.id), org.name or org.code))
        return self.organisation(org.code)

    def organisation(self, code: str) -> dict:
        rows = self._dicts("SELECT code, id, name FROM tw_organisations WHERE code = ?", (code,), _ORG)
        if not rows:
            raise NotFound(f"no Twinfield organisation {code!r}")
        return rows[0]

    def find_organisation(self, code: str) -> dict | None:
        rows = self._dicts("SELECT code, id, name FROM tw_organisations WHERE upper(code) = upper(?)",
                           (code.strip(),), _ORG)
        return rows[0] if rows else None

    def organisations(self) -> list[dict]:
        return self.store.query_dicts("SELECT code, id, name FROM tw_organisations ORDER BY code")

    def put_office(self, office: Office) -> dict:
        if not office.code.strip() or not office.name.strip():
            raise BadRequest("an office needs a code and a name")
        self.organisation(office.organisation)  # must exist
        with self.store.transaction() as db:
            db.execute(
                "INSERT INTO tw_offices (code, organisation, name, shortname, masks, reporting_currency, invoice_types, "
                "journals) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(code) DO UPDATE SET organisation=excluded.organisation, "
                "name=excluded.name, shortname=excluded.shortname, masks=excluded.masks, "
                "reporting_currency=excluded.reporting_currency, invoice_types=excluded.invoice_types, "
                "journals=excluded.journals",
                (office.code, office.organisation, office.name, office.shortname or office.name[:20],
                 json.dumps({t: office.mask(t) for t in ("BAS", "PNL", "DEB", "CRD", "KPL")} | office.masks),
                 office.reporting_currency, json.dumps(office.invoice_types), json.dumps(office.journals)))
        return self.office(office.code).as_dict()

    def office(self, code: str) -> OfficeInfo:
        found = self.find_office(code)
        if found is None:
            raise NotFound(f"no Twinfield office {code!r}")
        return found

    def find_office(self, code: str | None) -> OfficeInfo | None:
        if not code:
            return None
        rows = self._cache.rows("SELECT code, organisation, name, shortname, masks, reporting_currency, "
                                "invoice_types, journals FROM tw_offices WHERE code = ?", (code.strip(),))
        if not rows:
            return None
        info = self._office_infos.get(rows[0])
        if info is None:
            code, org, name, shortname, masks, reporting, types, journals = rows[0]
            info = OfficeInfo(code, org, name, shortname, json.loads(masks), reporting, json.loads(types),
                              json.loads(journals))
            if len(self._office_infos) >= 1024:
                self._office_infos.clear()
            self._office_infos[rows[0]] = info  # the row itself is the key: a changed office is a new one
        return info

    def offices(self, organisation: str | None = None) -> list[OfficeInfo]:
        sql = "SELECT code FROM tw_offices"
        args: tuple = ()
        if organisation:
            sql += " WHERE organisation = ?"
            args = (organisation,)
        return [self.office(row[0]) for row in self._cache.rows(sql + " ORDER BY code", args)]

    # -- users ------------------------------------------------------------------------------------------

    def put_user(self, user: User) -> dict:
        if not user.user.strip() or not user.password:
            raise BadRequest("a user needs a name and a password")
        self.organisation(user.organisation)
        for office in user.offices or []:
            info = self.find_office(office)
            if info is None or info.organisation != user.organisation:
                raise BadRequest(f"user {user.user}: office {office!r} is not an office of {user.organisation}")
        with self.store.transaction() as db:
            db.execute("INSERT INTO tw_users (organisation, user, password, name, offices) VALUES (?,?,?,?,?) "
                       "ON CONFLICT(organisation, user) DO UPDATE SET password=excluded.password, "
                       "name=excluded.name, offices=excluded.offices",
                       (user.organisation, user.user, user.password, user.name or user.user,
                        json.dumps(user.offices) if user.offices is not None else None))
        return self.user_view(user.organisation, user.user)

    def _user_row(self, organisation: str, user: str) -> dict | None:
        rows = self._dicts("SELECT organisation, user, password, name, offices FROM tw_users "
                           "WHERE upper(organisation) = upper(?) AND upper(user) = upper(?)", (organisation, user),
                           _USER)
        return rows[0] if rows else None

    def user_view(self, organisation: str, user: str) -> dict:
        row = self._user_row(organisation, user)
        if row is None:
            raise NotFound(f"no user {user!r} in organisation {organisation!r}")
        return {"organisation": row["organisation"], "user": row["user"], "name": row["name"],
                "offices": self.user_offices(row["organisation"], row["user"]),
                "all_offices": row["offices"] is None}

    def users(self) -> list[dict]:
        rows = self.store.query("SELECT organisation, user FROM tw_users ORDER BY organisation, user")
        return [self.user_view(org, user) for org, user in rows]

    def user_password(self, organisation: str, user: str) -> str | None:
        row = self._user_row(organisation, user)
        return row["password"] if row else None

    def check_password(self, organisation: str, user: str, password: str) -> dict | None:
        """The user row when the password is right (compared in constant time), else None."""
        row = self._user_row(organisation, user)
        expected = row["password"] if row else "\0" * max(len(password), 1)
        if hmac.compare_digest(expected.encode(), password.encode()) and row is not None:
            return row
        return None

    def user_offices(self, organisation: str, user: str) -> list[str]:
        row = self._user_row(organisation, user)
        if row is None:
            return []
        return self._offices_of(row)

    def _offices_of(self, row: dict) -> list[str]:
        own = [code for (code,) in self._cache.rows("SELECT code FROM tw_offices WHERE organisation = ? ORDER BY code",
                                                    (row["organisation"],))]
        if row["offices"] is None:
            return own
        allowed = set(json.loads(row["offices"]))
        return [code for code in own if code in allowed]

    def caller(self, organisation: str, user: str, **extra: Any) -> Caller | None:
        row = self._user_row(organisation, user)
        if row is None:
            return None
        org = self.organisation(row["organisation"])
        return Caller(org["code"], org["id"], row["user"], row["name"], self._offices_of(row), **extra)

    # -- OAuth clients ----------------------------------------------------------------------------------

    def put_client(self, client: Client) -> dict:
        if not client.client_id.strip() or not client.client_secret:
            raise BadRequest("a client needs a client_id and a client_secret")
        with self.store.transaction() as db:
            db.execute("INSERT INTO tw_clients (client_id, secret, redirect_uris, name) VALUES (?,?,?,?) "
                       "ON CONFLICT(client_id) DO UPDATE SET secret=excluded.secret, "
                       "redirect_uris=excluded.redirect_uris, name=excluded.name",
                       (client.client_id, client.client_secret, json.dumps(client.redirect_uris),
                        client.name or client.client_id))
        return self.client_view(client.client_id)

    def client(self, client_id: str | None) -> dict | None:
        if not client_id:
            return None
        rows = self.store.query_dicts("SELECT client_id, secret, redirect_uris, name FROM tw_clients "
                                      "WHERE client_id = ?", (client_id,))
        if not rows:
            return None
        row = rows[0]
        row["redirect_uris"] = json.loads(row["redirect_uris"])
        return row

    def client_view(self, client_id: str) -> dict:
        row = self.client(client_id)
        if row is None:
            raise NotFound(f"no OAuth client {client_id!r}")
        return {"client_id": row["client_id"], "name": row["name"], "redirect_uris": row["redirect_uris"]}

    def clients(self, secrets: bool = False) -> list[dict]:
        rows = self.store.query("SELECT client_id FROM tw_clients ORDER BY client_id")
        views = []
        for (client_id,) in rows:
            view = self.client_view(client_id)
            if secrets:
                view["client_secret"] = self.client(client_id)["secret"]
            views.append(view)
        return views

    def check_client(self, client_id: str | None, secret: str | None) -> dict | None:
        row = self.client(client_id)
        expected = row["secret"] if row else "\0"
        if hmac.compare_digest(expected.encode(), (secret or "").encode()) and row is not None:
            return row
        return None
