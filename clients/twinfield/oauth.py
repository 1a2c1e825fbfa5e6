"""OAuth 2 against Twinfield's login host: the authorization code flow, refresh, and the cluster lookup.

``login()`` does what a person does in a browser: open the authorize URL, fill in the login form
(organisation, user, password), allow access on the consent page, and take the ``code`` from the
redirect - over real HTTP, reading the HTML forms the login host serves. ``validate()`` asks
``accesstokenvalidation`` for the token's claims, among them ``twf.clusterUrl``: where the SOAP services are.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html.parser import HTMLParser
from typing import Protocol
from urllib.parse import parse_qs, urlencode, urljoin, urlparse

import requests

DEFAULT_SCOPE = "openid twf.user twf.organisation twf.organisationUser offline_access"
AUTH_PATH = "/auth/authentication/connect"


class Clock(Protocol):
    def now(self) -> datetime: ...


class OAuthError(Exception):
    """The login host refused: ``error`` is the OAuth error code (invalid_grant, invalid_client, ...) or the
    validation endpoint's ``Message`` (invalid_token, expired_token)."""

    def __init__(self, error: str, status: int | None = None, detail: str = "") -> None:
        super().__init__(f"{error}{f' ({detail})' if detail else ''}")
        self.error = error
        self.status = status


@dataclass
class Tokens:
    access_token: str
    expires_at: datetime
    refresh_token: str | None = None
    id_token: str | None = None
    claims: dict = field(default_factory=dict)  # accesstokenvalidation's answer, once asked

    @property
    def cluster_url(self) -> str | None:
        url = self.claims.get("twf.clusterUrl")
        return url.rstrip("/") if url else None


class _Forms(HTMLParser):
    """The forms of a page: action, hidden/text fields and submit buttons (enough for a login page)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self.errors: list[str] = []
        self._in_error = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": values.get("action", ""), "method": values.get("method", "get").lower(),
                               "fields": {}, "buttons": []})
        elif tag in ("input", "button") and self.forms:
            kind = values.get("type", "text" if tag == "input" else "submit")
            if kind == "submit":
                self.forms[-1]["buttons"].append((values.get("name"), values.get("value", "")))
            elif values.get("name"):
                self.forms[-1]["fields"][values["name"]] = values.get("value", "")
        elif values.get("class") == "error":
            self._in_error = True

    def handle_data(self, data: str) -> None:
        if self._in_error and data.strip():
            self.errors.append(data.strip())
            self._in_error = False


def _forms(html: str) -> _Forms:
    parser = _Forms()
    parser.feed(html)
    return parser


class TwinfieldOAuth:
    def __init__(self, login_url: str, client_id: str, client_secret: str, redirect_uri: str, clock: Clock,
                 session: requests.Session | None = None, timeout: float = 30.0) -> None:
        self.login_url = login_url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.clock = clock
        self.http = session or requests.Session()
        self.timeout = timeout

    def authorization_url(self, state: str, nonce: str | None = None, scope: str = DEFAULT_SCOPE) -> str:
        query = {"client_id": self.client_id, "redirect_uri": self.redirect_uri, "response_type": "code",
                 "scope": scope, "state": state, "nonce": nonce or secrets.token_hex(12)}
        return f"{self.login_url}{AUTH_PATH}/authorize?{urlencode(query)}"

    def login(self, organisation: str, user: str, password: str, scope: str = DEFAULT_SCOPE,
              allow: bool = True) -> Tokens:
        """The whole code flow through the HTML pages; raises OAuthError when the login is refused."""
        state = secrets.token_hex(8)
        browser = requests.Session()  # a browser of its own: the login pages are not the API
        page = browser.get(self.authorization_url(state, scope=scope), timeout=self.timeout, allow_redirects=False)
        if page.is_redirect:
            return self._from_redirect(page.headers["Location"], state)
        if page.status_code != 200:
            raise OAuthError("authorize_refused", page.status_code, _forms(page.text).errors[0]
                             if _forms(page.text).errors else page.text[:200])
        login_form = _forms(page.text).forms[0]
        fields = dict(login_form["fields"], organisation=organisation, username=user, password=password)
        page = browser.post(urljoin(page.url, login_form["action"]), data=fields, timeout=self.timeout,
                            allow_redirects=False)
        parsed = _forms(page.text)
        if page.status_code != 200 or not parsed.forms or "decision" not in dict(parsed.forms[0]["buttons"]):
            raise OAuthError("access_denied", page.status_code, parsed.errors[0] if parsed.errors else "login refused")
        consent = parsed.forms[0]
        data = dict(consent["fields"], decision="allow" if allow else "deny")
        answer = browser.post(urljoin(page.url, consent["action"]), data=data, timeout=self.timeout,
                              allow_redirects=False)
        if not answer.is_redirect:
            raise OAuthError("consent_failed", answer.status_code, answer.text[:200])
        return self._from_redirect(answer.headers["Location"], state)

    def _from_redirect(self, location: str, state: str) -> Tokens:
        query = parse_qs(urlparse(location).query)
        if query.get("state", [None])[0] != state:
            raise OAuthError("state_mismatch", detail=location)
        if "error" in query:
            raise OAuthError(query["error"][0])
        return self.exchange_code(query["code"][0])

    def exchange_code(self, code: str) -> Tokens:
        return self._token({"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri})

    def refresh(self, refresh_token: str) -> Tokens:
        tokens = self._token({"grant_type": "refresh_token", "refresh_token": refresh_token})
        tokens.refresh_token = tokens.refresh_token or refresh_token  # refresh tokens are reusable
        return tokens

    def _token(self, form: dict) -> Tokens:
        response = self.http.post(f"{self.login_url}{AUTH_PATH}/token", data=form,
                                  auth=(self.client_id, self.client_secret), timeout=self.timeout)
        try:
            body = response.json()
        except ValueError:
            raise OAuthError("bad_response", response.status_code, response.text[:200]) from None
        if response.status_code != 200 or "access_token" not in body:
            raise OAuthError(body.get("error", "token_refused"), response.status_code)
        return Tokens(body["access_token"], self.clock.now() + timedelta(seconds=int(body.get("expires_in", 3600))),
                      body.get("refresh_token"), body.get("id_token"))

    def validate(self, access_token: str) -> dict:
        """The token's claims (``twf.clusterUrl``, ``exp``, ...); OAuthError(invalid_token|expired_token)."""
        response = self.http.get(f"{self.login_url}{AUTH_PATH}/accesstokenvalidation",
                                 params={"token": access_token}, timeout=self.timeout)
        try:
            body = response.json()
        except ValueError:
            raise OAuthError("bad_response", response.status_code, response.text[:200]) from None
        if response.status_code != 200 or "Message" in body:
            raise OAuthError(body.get("Message", "invalid_token"), response.status_code)
        return body
