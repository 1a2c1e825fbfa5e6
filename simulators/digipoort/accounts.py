"""Digipoort accounts: who may log in, and their IN/OUT folders (part of the Digipoort model)."""

from __future__ import annotations

import hmac
import json
from pathlib import Path

from ..core.errors import BadRequest, NotFound
from ..core.store import Store
from .config import Account, DigipoortConfig
from .meta import is_allowed_filename

FOLDERS = ("IN", "OUT")


class AccountBook:
    """Mixin of ``DigipoortModel``: accounts in the state database, folders under ``root``."""

    store: Store
    config: DigipoortConfig
    root: Path

    def seed_accounts(self) -> None:
        for account in self.config.accounts:
            self.put_account(account, source="config")

    def put_account(self, account: Account, source: str = "api") -> dict:
        if not is_allowed_filename(account.user) or len(account.user) > 64:
            raise BadRequest(f"account name {account.user!r} must be 1-64 letters, digits, '.', '_' or '-'")
        if not account.password:
            raise BadRequest("an account needs a password")
        with self.store.transaction() as db:
            db.execute(
                "INSERT INTO dp_accounts (user, password, berichtsoorten, identities, source) VALUES (?,?,?,?,?) "
                "ON CONFLICT(user) DO UPDATE SET password=excluded.password, "
                "berichtsoorten=excluded.berichtsoorten, identities=excluded.identities",
                (account.user, account.password, json.dumps(account.berichtsoorten),
                 json.dumps(account.identities), source),
            )
        for folder in FOLDERS:
            self.folder(account.user, folder).mkdir(parents=True, exist_ok=True)
        return account.as_public_dict()

    def account(self, user: str) -> Account | None:
        rows = self.store.query("SELECT user, password, berichtsoorten, identities FROM dp_accounts WHERE user=?",
                                (user,))
        if not rows:
            return None
        name, password, soorten, identities = rows[0]
        return Account(name, password, json.loads(soorten), json.loads(identities))

    def accounts(self) -> list[dict]:
        rows = self.store.query("SELECT user FROM dp_accounts ORDER BY user")
        return [self.account(r[0]).as_public_dict() for r in rows]

    def delete_account(self, user: str) -> None:
        with self.store.transaction() as db:
            if db.execute("DELETE FROM dp_accounts WHERE user=?", (user,)).rowcount == 0:
                raise NotFound(f"no Digipoort account {user!r}")

    def check_login(self, user: str, password: str) -> bool:
        account = self.account(user)
        # Compare in constant time even for unknown users, so timing does not reveal account names.
        expected = account.password if account else "\0" * max(len(password), 1)
        return hmac.compare_digest(expected.encode(), password.encode()) and account is not None

    def home(self, user: str) -> Path:
        return self.root / "accounts" / user

    def folder(self, user: str, name: str) -> Path:
        return self.home(user) / name
