"""The authorize endpoint's state: a login request lives from the login page to the consent page's redirect.

``/connect/authorize`` opens a login request; the login form fills in who logged in; the consent form uses it
up and hands out an authorization code (or ``access_denied``) at the client's redirect URI.

A login request that is never finished (a browser closed on the login page, a bot hammering ``authorize``)
must not live for ever: it expires after ``login_request_lifetime`` of *simulated* time - the page then says
the attempt has expired, as IdentityServer's does when its sign-in message is gone - and every new authorize
sweeps away the expired requests and the codes that can no longer be exchanged, so neither table grows
without bound. [CHOSEN] ten minutes, and the sweep on the next authorize (no timer: nothing observable
depends on the exact moment a dead row disappears).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Callable
from urllib.parse import urlencode

from ..core.clock import Clock, format_instant, parse_duration, parse_instant
from ..core.store import Store
from .config import SCOPES, TwinfieldConfig
from .directory import Directory


class OAuthError(Exception):
    """An OAuth protocol error: ``error`` is the RFC 6749 code the JSON body carries."""

    def __init__(self, error: str, status: int = 400, description: str | None = None) -> None:
        super().__init__(description or error)
        self.error = error
        self.status = status
        self.description = description


UNKNOWN_REQUEST = "This login request is unknown or was not completed."


class AuthorizeFlow:
    def __init__(self, store: Store, directory: Directory, clock: Clock, config: TwinfieldConfig,
                 new_token: Callable[[], str]) -> None:
        self.store = store
        self.directory = directory
        self.clock = clock
        self.config = config  # read at each use: a scenario's settings replace it (TwinfieldSimulator.configure)
        self._new_token = new_token

    def _now(self) -> datetime:
        return self.clock.now()

    def check_authorize(self, params: dict) -> None:
        """Problems that must not redirect (unknown client, redirect URI not registered)."""
        client = self.directory.client(params.get("client_id"))
        if client is None:
            raise OAuthError("unauthorized_client", description="The client application is unknown or is not "
                                                                "authorized.")
        if params.get("redirect_uri") not in client["redirect_uris"]:
            raise OAuthError("invalid_request", description="The redirect URI is not registered for this client.")

    def redirect_error(self, params: dict) -> str | None:
        """An error the client hears about at its redirect URI (response type, scope)."""
        if params.get("response_type") != "code":
            return self._redirect(params, {"error": "unsupported_response_type"})
        scopes = (params.get("scope") or "").split()
        if not scopes or any(s not in SCOPES for s in scopes):
            return self._redirect(params, {"error": "invalid_scope"})
        return None

    def start_login(self, params: dict) -> str:
        request_id = self._new_token()
        kept = {k: params.get(k) for k in ("client_id", "redirect_uri", "scope", "state", "nonce", "response_mode")}
        now = self._now()
        with self.store.transaction() as db:
            self._sweep(db, now)
            db.execute("INSERT INTO tw_login_requests (id, params, created_at) VALUES (?,?,?)",
                       (request_id, json.dumps(kept), format_instant(now)))
        return request_id

    def _sweep(self, db, now: datetime) -> None:
        """Forget login requests past their lifetime and codes that can no longer be exchanged."""
        oldest = format_instant(now - parse_duration(self.config.login_request_lifetime))
        db.execute("DELETE FROM tw_login_requests WHERE created_at <= ?", (oldest,))
        db.execute("DELETE FROM tw_codes WHERE expires_at <= ?", (format_instant(now),))

    def _expired(self, created_at: str) -> bool:
        return parse_instant(created_at) + parse_duration(self.config.login_request_lifetime) <= self._now()

    def login_request(self, request_id: str) -> dict | None:
        """The request, or None when it is unknown, used up or past its lifetime."""
        rows = self.store.query_dicts("SELECT id, params, organisation, user, created_at FROM tw_login_requests "
                                      "WHERE id=?", (request_id,))
        if not rows or self._expired(rows[0]["created_at"]):
            return None
        row = rows[0]
        row["params"] = json.loads(row["params"])
        return row

    def submit_credentials(self, request_id: str, organisation: str, user: str, password: str) -> bool:
        row = self.directory.check_password(organisation.strip(), user.strip(), password)
        if row is None:
            return False
        with self.store.transaction() as db:
            db.execute("UPDATE tw_login_requests SET organisation=?, user=? WHERE id=?",
                       (row["organisation"], row["user"], request_id))
        return True

    def consent(self, request_id: str, allow: bool) -> str:
        """The URL to send the browser to: the client's redirect URI with a code (or access_denied)."""
        request = self.login_request(request_id)
        if request is None or not request["user"]:
            raise OAuthError("invalid_request", description=UNKNOWN_REQUEST)
        params = request["params"]
        with self.store.transaction() as db:
            # Used up in the statement that checks it: a consent form posted twice gives one code
            if db.execute("DELETE FROM tw_login_requests WHERE id=?", (request_id,)).rowcount != 1:
                raise OAuthError("invalid_request", description=UNKNOWN_REQUEST)
        if not allow:
            return self._redirect(params, {"error": "access_denied"})
        code = self._new_token()
        now = self._now()
        with self.store.transaction() as db:
            db.execute("INSERT INTO tw_codes (code, client_id, redirect_uri, organisation, user, scope, nonce, "
                       "auth_time, expires_at) VALUES (?,?,?,?,?,?,?,?,?)",
                       (code, params["client_id"], params["redirect_uri"], request["organisation"], request["user"],
                        params["scope"], params.get("nonce"), format_instant(now),
                        format_instant(now + parse_duration(self.config.code_lifetime))))
        return self._redirect(params, {"code": code, "scope": params["scope"],
                                       "session_state": hashlib.sha256(code.encode()).hexdigest()[:43]})

    @staticmethod
    def _redirect(params: dict, values: dict) -> str:
        if params.get("state") is not None:
            values["state"] = params["state"]
        separator = "&" if "?" in params["redirect_uri"] else "?"
        return f"{params['redirect_uri']}{separator}{urlencode(values)}"
