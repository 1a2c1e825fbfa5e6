"""CB accounts: relation ids, logins, the /{RelatieID}/in and /out folders, and the login clock."""

from __future__ import annotations

import hmac
import re
from datetime import datetime
from pathlib import Path

from ..core.clock import format_instant, parse_duration, parse_instant
from ..core.errors import BadRequest, NotFound
from ..core.store import Store
from .config import CBAccount, CBConfig

FOLDERS = ("in", "out")
RELATION_ID = re.compile(r"^\d{7}$")  # CB's relatienummer: seven digits (SPEC §3, party record #0010)


class CBAccountBook:
    """Mixin of ``CBModel``: accounts in the state database, folders under ``root``."""

    store: Store
    config: CBConfig
    root: Path

    def seed_accounts(self) -> None:
        for account in self.config.accounts:
            self.put_account(account, source="config")

    def put_account(self, account: CBAccount, source: str = "api") -> dict:
        if not RELATION_ID.match(account.relation_id):
            raise BadRequest(f"relation_id must be 7 digits (CB's relatienummer), got {account.relation_id!r}")
        if not account.password:
            raise BadRequest("an account needs a password")
        if account.invoice_channel not in ("ftp", "email", "both"):
            raise BadRequest("invoice_channel must be ftp, email or both")
        if account.invoice_channel != "ftp" and not account.email:
            raise BadRequest(f"invoice_channel {account.invoice_channel} needs an email address")
        with self.store.transaction() as db:
            db.execute(
                "INSERT INTO cb_accounts (relation_id, login, password, name, email, invoice_channel, source) "
                "VALUES (?,?,?,?,?,?,?) ON CONFLICT(relation_id) DO UPDATE SET login=excluded.login, "
                "password=excluded.password, name=excluded.name, email=excluded.email, "
                "invoice_channel=excluded.invoice_channel",
                (account.relation_id, account.login, account.password, account.name, account.email,
                 account.invoice_channel, source))
        for folder in FOLDERS:
            self.folder(account.relation_id, folder).mkdir(parents=True, exist_ok=True)
        return account.as_public_dict()

    def account(self, relation_id: str) -> CBAccount | None:
        rows = self.store.query_dicts("SELECT * FROM cb_accounts WHERE relation_id = ?", (relation_id,))
        return _account(rows[0]) if rows else None

    def account_by_login(self, login: str) -> CBAccount | None:
        rows = self.store.query_dicts("SELECT * FROM cb_accounts WHERE login = ?", (login,))
        return _account(rows[0]) if rows else None

    def accounts(self) -> list[CBAccount]:
        return [_account(r) for r in self.store.query_dicts("SELECT * FROM cb_accounts ORDER BY relation_id")]

    def delete_account(self, relation_id: str) -> None:
        with self.store.transaction() as db:
            if db.execute("DELETE FROM cb_accounts WHERE relation_id = ?", (relation_id,)).rowcount == 0:
                raise NotFound(f"no CB account {relation_id!r}")

    def check_login(self, login: str, password: str) -> CBAccount | None:
        account = self.account_by_login(login)
        expected = account.password if account else "\0" * max(len(password), 1)
        return account if hmac.compare_digest(expected.encode(), password.encode()) and account else None

    def ftp_root(self, relation_id: str) -> Path:
        """The FTP root of an account: it holds one folder, ``/{relation_id}/``, with in/ and out/."""
        return self.root / "accounts" / relation_id

    def folder(self, relation_id: str, name: str) -> Path:
        # Asked several times per FTP session; a Path costs microseconds to build, a look-up nothing.
        cache: dict = self.__dict__.setdefault("_folder_paths", {})
        path = cache.get((relation_id, name))
        if path is None:
            if len(cache) > 10_000:
                cache.clear()
            path = cache[(relation_id, name)] = self.ftp_root(relation_id) / relation_id / name
        return path

    def check_login_and_last(self, login: str, password: str) -> tuple[CBAccount | None, datetime | None]:
        """``check_login`` and the account's last login in one query (what every FTP login asks)."""
        rows = self.store.query_dicts("SELECT a.*, l.last_login AS _last_login FROM cb_accounts a LEFT JOIN "
                                      "cb_logins l ON l.relation_id = a.relation_id WHERE a.login = ?", (login,))
        row = rows[0] if rows else None
        expected = row["password"] if row else "\0" * max(len(password), 1)
        if not (hmac.compare_digest(expected.encode(), password.encode()) and row):
            return None, None
        last = row.pop("_last_login")
        return _account(row), parse_instant(last) if last else None

    def login_too_soon(self, relation_id: str, at: datetime) -> datetime | None:
        """The previous login when it was less than ``login_interval`` ago, else None."""
        rows = self.store.query("SELECT last_login FROM cb_logins WHERE relation_id = ?", (relation_id,))
        if not rows:
            return None
        previous = parse_instant(rows[0][0])
        return previous if at - previous < parse_duration(self.config.login_interval) else None

    def login_too_soon_after(self, previous: datetime, at: datetime) -> bool:
        return at - previous < parse_duration(self.config.login_interval)

    def note_login(self, relation_id: str, at: datetime) -> None:
        with self.store.transaction() as db:
            db.execute("INSERT INTO cb_logins (relation_id, last_login) VALUES (?, ?) ON CONFLICT(relation_id) "
                       "DO UPDATE SET last_login = excluded.last_login", (relation_id, format_instant(at)))

    def next_login_allowed(self, previous: datetime) -> datetime:
        return previous + parse_duration(self.config.login_interval)


def _account(row: dict) -> CBAccount:
    return CBAccount(relation_id=row["relation_id"], password=row["password"], user=row["login"], name=row["name"],
                     email=row["email"], invoice_channel=row["invoice_channel"])

