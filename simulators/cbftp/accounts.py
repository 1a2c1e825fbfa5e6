"""CB accounts: relation ids, logins, the /{RelatieID}/in and /out folders, and the login clock."""

from __future__ import annotations

import hmac
import os
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Hashable

from ..core.clock import Clock, format_instant, parse_duration, parse_instant
from ..core.errors import BadRequest, NotFound
from ..core.store import Store, TableCache
from .config import CBAccount, CBConfig
from .listing import date_folder

FOLDERS = ("in", "out")
RELATION_ID = re.compile(r"^\d{7}$")  # CB's relatienummer: seven digits (SPEC §3, party record #0010)
_ALL_ACCOUNTS = "SELECT relation_id, password, login, name, email, invoice_channel FROM cb_accounts"


class CBAccountBook:
    """Mixin of ``CBModel``: accounts in the state database, folders under ``root``."""

    store: Store
    config: CBConfig
    clock: Clock
    root: Path
    # Every account by its login, as of the rows the cache holds (see ``login_account``).
    _accounts_table: TableCache
    _by_login: tuple[tuple, dict[str, CBAccount]] = ((), {})

    def keep_accounts_in_memory(self) -> None:
        """Every FTP login looks its account up: accounts are few and change only through the admin API
        or the configuration, so they are kept in memory and read again once the table changed."""
        self._accounts_table = TableCache(self.store, "cb_accounts", max_entries=4)

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
        self._make_folders(account.relation_id)
        return account.as_public_dict()

    def _make_folders(self, relation_id: str) -> None:
        """A new account's in/ and out/, dated by the clock: a listing shows when CB made them in simulated
        time, not the host's (``listing.py``). An existing account's folders keep their dates."""
        missing = [path for path in (self.folder(relation_id, name) for name in FOLDERS) if not path.is_dir()]
        if not missing:
            return
        for path in missing:
            path.mkdir(parents=True, exist_ok=True)
        now = self.clock.now()
        for path in (*missing, missing[0].parent, self.ftp_root(relation_id)):  # and the folders they went into
            date_folder(path, now)

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

    def ftp_root_text(self, relation_id: str) -> str:
        """``ftp_root`` as text (an FTP login's home folder), made once per account."""
        # (joined as text: building a Path costs more than the look-up it saves)
        return self._kept("_root_texts", relation_id,
                          lambda: os.path.join(str(self.root), "accounts", relation_id))

    def folder(self, relation_id: str, name: str) -> Path:
        return self._kept("_folder_paths", (relation_id, name),
                          lambda: self.ftp_root(relation_id) / relation_id / name)

    def _kept(self, cache: str, key: Hashable, make: Callable[[], Any]) -> Any:
        """``make()`` once per key: paths asked several times per FTP session cost microseconds to build and
        nothing to look up (at most 10,000 kept per cache)."""
        kept: dict = self.__dict__.setdefault(cache, {})
        value = kept.get(key)
        if value is None:
            if len(kept) > 10_000:
                kept.clear()
            value = kept[key] = make()
        return value

    def login_account(self, login: str, password: str) -> CBAccount | None:
        """``check_login`` from the accounts kept in memory (what every FTP login asks)."""
        rows = self._accounts_table.rows(_ALL_ACCOUNTS)
        kept = self._by_login
        if kept[0] is not rows:  # the table changed (or this is the first login): index it again
            kept = self._by_login = (rows, {account.login: account for account in map(_account_of, rows)})
        account = kept[1].get(login)
        expected = account.password if account else "\0" * max(len(password), 1)
        return account if hmac.compare_digest(expected.encode(), password.encode()) and account else None

    def note_login_unless_too_soon(self, relation_id: str, at: datetime) -> bool:
        """Note a login at ``at`` unless the previous one was less than ``login_interval`` before (then
        nothing is written); whether it was noted. One statement: the check is its WHERE clause, on
        instants as ``format_instant`` writes them (fixed width, UTC, milliseconds), which sort as text
        in time order; the previous login is read only when the rule was broken."""
        cutoff = format_instant(at - self._login_interval())
        return self.store.write(
            "INSERT INTO cb_logins (relation_id, last_login) VALUES (?, ?) ON CONFLICT(relation_id) DO UPDATE "
            "SET last_login = excluded.last_login WHERE cb_logins.last_login <= ?",
            (relation_id, format_instant(at), cutoff)) > 0

    def last_login(self, relation_id: str) -> datetime | None:
        rows = self.store.query("SELECT last_login FROM cb_logins WHERE relation_id = ?", (relation_id,))
        return parse_instant(rows[0][0]) if rows else None

    def _login_interval(self) -> timedelta:
        # Parsed once per setting, not at every login (a reconfigured interval is parsed anew).
        text = self.config.login_interval
        kept = self.__dict__.get("_login_interval_kept")
        if kept is None or kept[0] != text:
            kept = self.__dict__["_login_interval_kept"] = (text, parse_duration(text))
        return kept[1]

    def note_login(self, relation_id: str, at: datetime) -> None:
        with self.store.transaction() as db:
            db.execute("INSERT INTO cb_logins (relation_id, last_login) VALUES (?, ?) ON CONFLICT(relation_id) "
                       "DO UPDATE SET last_login = excluded.last_login", (relation_id, format_instant(at)))

    def next_login_allowed(self, previous: datetime) -> datetime:
        return previous + parse_duration(self.config.login_interval)


def _account_of(row: tuple) -> CBAccount:
    """An account from a row of ``_ALL_ACCOUNTS``."""
    relation_id, password, login, name, email, channel = row
    return CBAccount(relation_id=relation_id, password=password, user=login, name=name, email=email,
                     invoice_channel=channel)


def _account(row: dict) -> CBAccount:
    return CBAccount(relation_id=row["relation_id"], password=row["password"], user=row["login"], name=row["name"],
                     email=row["email"], invoice_channel=row["invoice_channel"])

