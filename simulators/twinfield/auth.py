"""Authentication: OAuth 2 / OpenID Connect as login.twinfield.com does it, and legacy SessionIDs.

Facts (developers.twinfield.com "OpenID Connect Authentication"; Wolters Kluwer community articles;
the IdentityServer3 code behind ``/auth/authentication/connect/...``):

* authorization code flow; the client authenticates with Basic auth or form fields; scopes ``openid
  twf.user twf.organisation twf.organisationUser offline_access``;
* access tokens live 60 minutes; refresh tokens are long-lived (25 years) and reusable;
* ``accesstokenvalidation?token=`` answers the token's claims as JSON (claims are strings, ``scope`` a
  list) with ``twf.clusterUrl``; an unusable token gets 400 ``{"Message": "invalid_token"}`` (or
  ``expired_token``) - IdentityServer3's ``BadRequest(error)``, which omniauth-twinfield reads as ``Message``.

[CHOSEN] tokens are opaque 32-hex strings (Twinfield's documentation shows such tokens) drawn from the
runtime's seeded generator; the id_token is a JWT signed HS256 with the client secret (the real one is
RS256 with Twinfield's key, which a test double cannot have); ``idp`` "idsrv" and ``amr`` "password" for a
login through this simulator's own page; ``sub`` is base64 JSON ``{"MemberId": ...}`` like the redacted real one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import uuid
from datetime import datetime, timedelta

from ..core.clock import Clock, format_instant, parse_duration, parse_instant
from ..core.store import Store, TableCache
from .authorize import AuthorizeFlow, OAuthError
from .config import TwinfieldConfig
from .directory import Caller, Directory
from .errors import (F101_MISSING_CREDENTIALS, F102_ACCESS_DENIED, F103_CREDENTIALS_INVALID, F351_NO_USER_CLAIM, F352_NO_ORG_CODE_CLAIM,
                     F354_TOKEN_INVALID, TwinfieldFault)

# Session.asmx LogonResult values (session WSDL).
LOGON_OK, LOGON_INVALID, LOGON_OAUTH_REQUIRED, LOGON_TOKEN_INVALID = "Ok", "Invalid", "OAuth2AuthenticationRequired", \
    "TokenInvalid"
LOGON_NO_COMPANIES = "NoAvailableCompanies"


__all__ = ["Auth", "OAuthError"]  # OAuthError lives with the authorize flow; the token endpoint raises it too


class Auth:
    def __init__(self, store: Store, directory: Directory, clock: Clock, config: TwinfieldConfig,
                 rng: random.Random) -> None:
        self.store = store
        self.directory = directory
        self.clock = clock
        self.config = config
        self.random = rng
        self.login_url = "http://127.0.0.1"
        self.cluster_url = "http://127.0.0.1"
        # The login and consent pages' state: its own module (the login request's lifetime lives there)
        self.authorize = AuthorizeFlow(store, directory, clock, config, self._new_token)
        # Every SOAP call looks its token up; tokens change at issue, expiry, revocation (and session use)
        self._tokens = TableCache(store, "tw_tokens")

    def configure(self, config: TwinfieldConfig) -> None:
        """Use new settings (a scenario's): token lifetimes and the rest are read at each use."""
        self.config = config
        self.authorize.config = config

    def _new_token(self) -> str:
        return f"{self.random.getrandbits(128):032x}"

    def _now(self) -> datetime:
        return self.clock.now()

    # -- the token endpoint -----------------------------------------------------------------------------

    def client_from(self, client_id: str | None, secret: str | None) -> dict:
        client = self.directory.check_client(client_id, secret)
        if client is None:
            raise OAuthError("invalid_client")
        return client

    def token_from_code(self, client: dict, code: str | None, redirect_uri: str | None) -> dict:
        rows = self.store.query_dicts("SELECT * FROM tw_codes WHERE code=?", (code or "",))
        if not rows:
            raise OAuthError("invalid_grant")
        grant = rows[0]
        now = self._now()
        if grant["used"] or grant["client_id"] != client["client_id"] or grant["redirect_uri"] != redirect_uri \
                or parse_instant(grant["expires_at"]) <= now:
            raise OAuthError("invalid_grant")
        with self.store.transaction() as db:
            # Spent in the same statement that checks it: two token requests racing with one code get
            # one set of tokens, not two.
            if db.execute("UPDATE tw_codes SET used=1 WHERE code=? AND used=0", (code,)).rowcount != 1:
                raise OAuthError("invalid_grant")
        return self.issue(client, grant["organisation"], grant["user"], grant["scope"], grant["auth_time"],
                          nonce=grant["nonce"], id_token=True)

    def token_from_refresh(self, client: dict, refresh_token: str | None) -> dict:
        rows = self.store.query_dicts("SELECT * FROM tw_tokens WHERE token=? AND kind='refresh'", (refresh_token or "",))
        if not rows or rows[0]["revoked"] or rows[0]["client_id"] != client["client_id"]:
            raise OAuthError("invalid_grant")
        grant = rows[0]
        return self.issue(client, grant["organisation"], grant["user"], grant["scope"], grant["auth_time"],
                          refresh_token=grant["token"])

    def issue(self, client: dict, organisation: str, user: str, scope: str, auth_time: str, nonce: str | None = None,
              id_token: bool = False, refresh_token: str | None = None) -> dict:
        """A token response: ``{id_token?, access_token, expires_in, token_type, refresh_token?}``."""
        now = self._now()
        lifetime = parse_duration(self.config.token_lifetime)
        access = self._new_token()
        scopes = scope.split()
        if refresh_token is None and "offline_access" in scopes:
            refresh_token = self._new_token()
            self._store_token(refresh_token, "refresh", client["client_id"], organisation, user, scope, auth_time,
                              now, None)
        self._store_token(access, "access", client["client_id"], organisation, user, scope, auth_time, now,
                          now + lifetime, refresh_token=refresh_token)
        response: dict = {}
        if id_token and "openid" in scopes:
            response["id_token"] = self._id_token(client, organisation, user, scopes, auth_time, nonce, now,
                                                  lifetime)
        response.update({"access_token": access, "expires_in": int(lifetime.total_seconds()),
                         "token_type": "Bearer"})
        if refresh_token:
            response["refresh_token"] = refresh_token
        return response

    def _store_token(self, token: str, kind: str, client_id: str | None, organisation: str, user: str, scope: str,
                     auth_time: str, now: datetime, expires: datetime | None, company: str | None = None,
                     refresh_token: str | None = None) -> None:
        with self.store.transaction() as db:
            db.execute("INSERT INTO tw_tokens (token, kind, client_id, organisation, user, scope, auth_time, "
                       "issued_at, expires_at, company, refresh_token) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                       (token, kind, client_id, organisation, user, scope, auth_time, format_instant(now),
                        format_instant(expires) if expires else None, company, refresh_token))

    def _id_token(self, client: dict, organisation: str, user: str, scopes: list[str], auth_time: str,
                  nonce: str | None, now: datetime, lifetime: timedelta) -> str:
        claims = {"iss": self.issuer, "aud": client["client_id"], "exp": int((now + lifetime).timestamp()),
                  "nbf": int(now.timestamp()), "iat": int(now.timestamp()),
                  "auth_time": int(parse_instant(auth_time).timestamp()), "sub": self._subject(organisation, user),
                  "idp": "idsrv", "amr": ["password"]}
        if nonce:
            claims["nonce"] = nonce
        claims.update(self._twf_claims(organisation, user, scopes))
        header = {"typ": "JWT", "alg": "HS256"}
        signing_input = f"{_b64(json.dumps(header))}.{_b64(json.dumps(claims))}"
        signature = hmac.new(client["secret"].encode(), signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(signature)}"

    @property
    def issuer(self) -> str:
        return f"{self.login_url}/auth/authentication"

    @staticmethod
    def _subject(organisation: str, user: str) -> str:
        member = uuid.uuid5(uuid.NAMESPACE_URL, f"twinfield:{organisation}/{user}")
        return base64.b64encode(json.dumps({"MemberId": str(member)}).encode()).decode()

    def _twf_claims(self, organisation: str, user: str, scopes: list[str]) -> dict:
        org = self.directory.organisation(organisation)
        claims: dict = {}
        if "twf.user" in scopes or "twf.organisationUser" in scopes:
            claims["twf.organisationUserCode"] = user
        if "twf.organisation" in scopes or "twf.organisationUser" in scopes:
            claims["twf.organisationCode"] = org["code"]
        if {"twf.user", "twf.organisation", "twf.organisationUser"} & set(scopes):
            claims["twf.organisationId"] = org["id"]
        if "twf.organisation" in scopes:
            claims["twf.clusterUrl"] = self.cluster_url
        return claims

    # -- access tokens in use ---------------------------------------------------------------------------

    def _token_row(self, token: str | None, kind: str) -> dict | None:
        if not token:
            return None
        rows = self._tokens.rows(f"SELECT {', '.join(_TOKEN_COLUMNS)} FROM tw_tokens WHERE token=? AND kind=?",
                                 (token.strip(), kind))
        return dict(zip(_TOKEN_COLUMNS, rows[0])) if rows else None

    def validation(self, token: str | None) -> dict:
        """The accesstokenvalidation answer; raises OAuthError(invalid_token|expired_token)."""
        if not token:
            raise OAuthError("token is missing")  # [CHOSEN] IdentityServer3's MissingToken message id
        row = self._token_row(token, "access")
        if row is None or row["revoked"]:
            raise OAuthError("invalid_token")
        expires = parse_instant(row["expires_at"])
        if expires <= self._now():
            raise OAuthError("expired_token")
        issued = parse_instant(row["issued_at"])
        claims: dict = {"aud": f"{self.issuer}/resources", "iss": self.issuer,
                        "nbf": str(int(issued.timestamp())), "exp": str(int(expires.timestamp())),
                        "client_id": row["client_id"], "scope": row["scope"].split(),
                        "sub": self._subject(row["organisation"], row["user"]),
                        "auth_time": str(int(parse_instant(row["auth_time"]).timestamp())),
                        "idp": "idsrv", "amr": "password"}
        claims.update(self._twf_claims(row["organisation"], row["user"], row["scope"].split()))
        return claims

    def userinfo(self, token: str | None) -> dict:
        claims = self.validation(token)
        return {k: v for k, v in claims.items() if k == "sub" or k.startswith("twf.")}

    def caller_for_token(self, token: str | None, company: str | None) -> Caller:
        """The caller behind a SOAP header's AccessToken (fault 354 when it is not usable)."""
        row = self._token_row(token, "access")
        if row is None or row["revoked"] or parse_instant(row["expires_at"]) <= self._now():
            raise TwinfieldFault(F354_TOKEN_INVALID)
        scopes = row["scope"].split()
        if not ({"twf.user", "twf.organisationUser"} & set(scopes)):
            raise TwinfieldFault(F351_NO_USER_CLAIM)
        if not ({"twf.organisation", "twf.organisationUser"} & set(scopes)):
            raise TwinfieldFault(F352_NO_ORG_CODE_CLAIM)
        caller = self.directory.caller(row["organisation"], row["user"], client_id=row["client_id"],
                                       company=company, token=row["token"])
        if caller is None:  # the user was removed after the token was issued
            raise TwinfieldFault(F354_TOKEN_INVALID)
        return caller

    # -- legacy sessions (session.asmx) -----------------------------------------------------------------

    def logon(self, user: str, password: str, organisation: str) -> tuple[str, str | None]:
        if not self.config.legacy_logon:
            return LOGON_OAUTH_REQUIRED, None
        row = self.directory.check_password(organisation, user, password)
        if row is None:
            return LOGON_INVALID, None
        return self._new_session(row["organisation"], row["user"], None, "")

    def access_token_logon(self, token: str) -> tuple[str, str | None]:
        row = self._token_row(token, "access")
        if row is None or row["revoked"] or parse_instant(row["expires_at"]) <= self._now():
            return LOGON_TOKEN_INVALID, None
        return self._new_session(row["organisation"], row["user"], row["client_id"], row["scope"])

    def _new_session(self, organisation: str, user: str, client_id: str | None, scope: str) -> tuple[str, str | None]:
        offices = self.directory.user_offices(organisation, user)
        if not offices:
            return LOGON_NO_COMPANIES, None
        session = self._new_token()
        now = self._now()
        self._store_token(session, "session", client_id, organisation, user, scope, format_instant(now), now,
                          now + parse_duration(self.config.session_idle), company=offices[0])
        return LOGON_OK, session

    def session_caller(self, session_id: str | None) -> Caller:
        # [CHOSEN] an unknown or expired SessionID is fault 103 ("The log-on credentials are not valid anymore.")
        row = self._token_row(session_id, "session")
        if row is None or row["revoked"] or parse_instant(row["expires_at"]) <= self._now():
            raise TwinfieldFault(F103_CREDENTIALS_INVALID)
        self._touch(row["token"])
        caller = self.directory.caller(row["organisation"], row["user"], client_id=row["client_id"],
                                       company=row["company"], token=row["token"], kind="session")
        if caller is None:
            raise TwinfieldFault(F103_CREDENTIALS_INVALID)
        return caller

    def _touch(self, session_id: str) -> None:
        expires = self._now() + parse_duration(self.config.session_idle)
        with self.store.transaction() as db:
            db.execute("UPDATE tw_tokens SET expires_at=? WHERE token=?", (format_instant(expires), session_id))

    def select_company(self, session_id: str | None, company: str) -> str:
        caller = self.session_caller(session_id)
        if not caller.may_reach(company.strip()):
            return "Invalid"
        with self.store.transaction() as db:
            db.execute("UPDATE tw_tokens SET company=? WHERE token=?", (company.strip(), session_id))
        return "Ok"

    def abandon(self, session_id: str | None) -> None:
        self.session_caller(session_id)
        with self.store.transaction() as db:
            db.execute("UPDATE tw_tokens SET revoked=1 WHERE token=?", (session_id,))

    def caller_from_header(self, header: dict) -> Caller:
        """The caller of a SOAP call: AccessToken (+ CompanyCode/CompanyId) or SessionID."""
        if header.get("AccessToken"):
            # [CHOSEN] a missing CompanyCode is tolerated: the office in the request document decides
            company = (header.get("CompanyCode") or "").strip() or None
            caller = self.caller_for_token(header["AccessToken"], company)
            company_id = (header.get("CompanyId") or "").strip()
            if company_id and not company:
                caller.company = company_id  # [CHOSEN] a CompanyId is looked up like a code
            if caller.company and not caller.may_reach(caller.company):
                raise TwinfieldFault(F102_ACCESS_DENIED)
            return caller
        if header.get("SessionID"):
            return self.session_caller(header["SessionID"])
        raise TwinfieldFault(F101_MISSING_CREDENTIALS)

    # -- for the admin API and scenarios ----------------------------------------------------------------

    def tokens(self) -> list[dict]:
        now = self._now()
        # In the order they were issued (tokens of one instant by rowid: a random token says nothing)
        rows = self.store.query_dicts("SELECT token, kind, client_id, organisation, user, scope, issued_at, "
                                      "expires_at, revoked, company FROM tw_tokens ORDER BY issued_at, rowid")
        for row in rows:
            row["revoked"] = bool(row["revoked"])
            row["expired"] = bool(row["expires_at"]) and parse_instant(row["expires_at"]) <= now
            row["active"] = not row["revoked"] and not row["expired"]
        return rows

    def expire(self, token: str | None = None, kind: str = "access") -> int:
        """Make tokens unusable now (one token, or every one of a kind): the token-expiry helper."""
        stamp = format_instant(self._now())
        with self.store.transaction() as db:
            if token:
                return db.execute("UPDATE tw_tokens SET expires_at=? WHERE token=?", (stamp, token)).rowcount
            return db.execute("UPDATE tw_tokens SET expires_at=? WHERE kind=? AND (expires_at IS NULL OR "
                              "expires_at > ?)", (stamp, kind, stamp)).rowcount

    def revoke(self, token: str) -> int:
        with self.store.transaction() as db:
            return db.execute("UPDATE tw_tokens SET revoked=1 WHERE token=?", (token,)).rowcount


_TOKEN_COLUMNS = ("token", "kind", "client_id", "organisation", "user", "scope", "auth_time", "issued_at",
                  "expires_at", "revoked", "company", "refresh_token")


def _b64(data: str | bytes) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
