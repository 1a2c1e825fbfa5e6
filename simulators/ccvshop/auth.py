"""CCV Shop's request authentication and response signature (no HTTP here: strings and the clock).

Facts (demo.ccvshop.nl/API/Docs; official SDK ccvshop/ccvshop-api ``BaseEndpoint``):

* every request has ``x-public`` (the API key), ``x-date`` ("current timestamp in ISO 8601 UTC") and
  ``x-hash`` = HMAC-SHA512, hex, with the secret, over ``public|METHOD|uri|data|x-date``: ``uri`` is "the
  request URI minus the domain name" - path plus query exactly as sent - and ``data`` the body as sent
  (empty for GET and DELETE);
* "this timestamp may not differ more than 5 minutes from server time";
* the SDK checks every success: the response's ``x-hash`` must equal the HMAC-SHA512 of
  ``public|METHOD|uri|responseBody|<response x-date>``.

Clients write x-date as ``...Z`` (docs, python example), ``+00:00`` (SDK: Carbon ``format('c')``), ``+0000``
(jacobdekeizer: PHP ``ISO8601``) and with milliseconds (JavaScript ``toISOString()``); all are read.
[CHOSEN] a date without a zone is taken as UTC; the hash comparison is exact (lowercase hex, as PHP's
``===`` on ``hash_hmac`` output).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from .errors import AUTH_DATE, AUTH_HASH, AUTH_MISSING, AUTH_PUBLIC, CCVError

_OFFSET_WITHOUT_COLON = re.compile(r"([+-][0-9]{2})([0-9]{2})$")
MAX_SHOWN_BODY = 200  # how much of the body a 401 message repeats


@dataclass(frozen=True)
class Keys:
    public: str
    secret: str


def digest(secret: str, public: str, method: str, uri: bytes, body: bytes, date: str) -> str:
    """The lowercase hex HMAC-SHA512 of ``public|METHOD|uri|body|date`` (bytes: a body is hashed as sent)."""
    message = b"|".join([public.encode(), method.upper().encode(), uri, body, date.encode()])
    return hmac.new(secret.encode(), message, hashlib.sha512).hexdigest()


def parse_x_date(text: str) -> datetime:
    """Read an ISO 8601 x-date in any of the forms clients send; ValueError when it is none of them."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    value = _OFFSET_WITHOUT_COLON.sub(r"\1:\2", value)
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def format_x_date(moment: datetime) -> str:
    """How this server writes x-date on its answers: ``2026-11-20T08:00:00Z``."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def verify(keys: Keys, method: str, uri: bytes, body: bytes, headers: dict[str, str], now: datetime,
           skew_seconds: float) -> None:
    """Raise ``CCVError`` (401.1x) unless the request is signed by ``keys`` within the allowed skew.

    ``headers`` has lower-case names. The messages say exactly what was expected, secret excepted: what a
    developer needs to find a signing mistake."""
    missing = [name for name in ("x-public", "x-date", "x-hash") if not headers.get(name)]
    if missing:
        raise CCVError(AUTH_MISSING, f"Authentication failed: header(s) {', '.join(missing)} missing. Every request "
                                     "needs x-public, x-date and x-hash.")
    public, date, given = headers["x-public"], headers["x-date"], headers["x-hash"]
    if not hmac.compare_digest(public.encode(), keys.public.encode()):
        raise CCVError(AUTH_PUBLIC, "Authentication failed: unknown x-public key.")
    try:
        moment = parse_x_date(date)
    except ValueError:
        raise CCVError(AUTH_DATE, f"Authentication failed: x-date '{date[:60]}' is not an ISO 8601 date-time "
                                  f"(e.g. {format_x_date(now)}).") from None
    if abs((moment - now).total_seconds()) > skew_seconds:
        raise CCVError(AUTH_DATE, f"Authentication failed: x-date {date[:60]} differs more than "
                                  f"{timedelta(seconds=skew_seconds)} from server time {format_x_date(now)}.")
    expected = digest(keys.secret, public, method, uri, body, date)
    if not hmac.compare_digest(given.encode(), expected.encode()):
        shown = body[:MAX_SHOWN_BODY].decode("utf-8", errors="replace") + ("..." if len(body) > MAX_SHOWN_BODY else "")
        raise CCVError(AUTH_HASH, "Authentication failed: x-hash is not the lowercase hex HMAC-SHA512, with your "
                                  f"secret, of '{public}|{method.upper()}|{uri.decode('latin-1')}|{shown}|{date}' "
                                  f"(body of {len(body)} bytes).")


def sign_response(keys: Keys, method: str, uri: bytes, body: bytes, now: datetime) -> dict[str, str]:
    """The headers that let a client check a success answer (official SDK ``validateResponse``)."""
    date = format_x_date(now)
    return {"x-date": date, "x-hash": digest(keys.secret, keys.public, method, uri, body, date)}


class ResponseSigner:
    """``sign_response`` for an answer that repeats (a kept page): the HMAC over ``public|METHOD|uri|body|`` is
    kept, and only the x-date is added per answer (an HMAC's state can be copied and continued). A page of
    ``GET orders/`` is ~90 KB: hashing it again for every answer was half the cost of the request.

    Kept per (keys, method, uri) and the very bytes object of the body (the page cache hands out the same
    one while the data is unchanged): looked up by identity, so a 90 KB body is never hashed for the lookup,
    and the object is held, so its identity cannot pass to another one while kept."""

    MAX_KEPT = 256  # distinct answers kept (at most the page cache's pages); past that it starts over

    def __init__(self) -> None:
        self._kept: dict[tuple, tuple[bytes, "hmac.HMAC"]] = {}

    def sign(self, keys: Keys, method: str, uri: bytes, body: bytes, now: datetime) -> dict[str, str]:
        key = (keys, method, uri, id(body))
        kept = self._kept.get(key)
        if kept is None or kept[0] is not body:
            prefix = hmac.new(keys.secret.encode(), b"|".join([keys.public.encode(), method.upper().encode(), uri,
                                                                body, b""]), hashlib.sha512)
            if len(self._kept) >= self.MAX_KEPT:
                self._kept.clear()
            self._kept[key] = kept = (body, prefix)
        date = format_x_date(now)
        signature = kept[1].copy()  # the kept state stays as it was: threads may sign from it at once
        signature.update(date.encode())
        return {"x-date": date, "x-hash": signature.hexdigest()}
