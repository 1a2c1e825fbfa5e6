"""CCV Shop's HMAC, from the client's side (the client never imports the simulator).

Request: ``x-hash`` = lowercase hex HMAC-SHA512 with the API secret over ``public|METHOD|uri|body|x-date``,
``uri`` = path plus query exactly as sent, ``body`` = the bytes sent (empty for GET/DELETE)
(demo.ccvshop.nl/API/Docs). Response: the same over ``public|METHOD|uri|responseBody|<response x-date>``
(the official SDK's ``validateResponse``). Webhooks and the App Store's handshake are signed with other
keys: see ``webhooks.verify_webhook`` and ``verify_handshake``.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timezone

DATE_STYLES = ("Z", "+00:00", "+0000")


def x_date(moment: datetime, style: str = "Z") -> str:
    """``2026-11-20T08:00:00Z`` (or the ``+00:00`` / ``+0000`` forms other clients send)."""
    if style not in DATE_STYLES:
        raise ValueError(f"x-date style must be one of {DATE_STYLES}")
    text = moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return text + style


def hash_message(secret: str, public: str, method: str, uri: str | bytes, body: bytes, date: str) -> str:
    uri_bytes = uri.encode("latin-1") if isinstance(uri, str) else uri
    message = b"|".join([public.encode(), method.upper().encode(), uri_bytes, body, date.encode()])
    return hmac.new(secret.encode(), message, hashlib.sha512).hexdigest()


def request_headers(public: str, secret: str, method: str, uri: str, body: bytes, moment: datetime,
                    style: str = "Z") -> dict[str, str]:
    date = x_date(moment, style)
    return {"x-public": public, "x-date": date, "x-hash": hash_message(secret, public, method, uri, body, date)}


def response_is_signed(public: str, secret: str, method: str, uri: str, body: bytes, headers: dict) -> bool:
    """True when a success answer carries x-date and the x-hash the shop's secret gives for it."""
    date, given = headers.get("x-date"), headers.get("x-hash")
    if not date or not given:
        return False
    return hmac.compare_digest(given, hash_message(secret, public, method, uri, body, date))


def verify_handshake(app_secret: str, handshake_uri: str, body: bytes, given: str | None) -> bool:
    """The App Store's handshake: ``x-hash`` = HMAC-SHA512 with the app secret over ``uri|body``."""
    if not given:
        return False
    expected = hmac.new(app_secret.encode(), handshake_uri.encode() + b"|" + body, hashlib.sha512).hexdigest()
    return hmac.compare_digest(given, expected)
