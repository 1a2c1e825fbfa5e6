"""The App Store's side of installing an app: the handshake that hands the app its API credentials.

Facts (ccvshop/App-Example-Code ``Handshake.php``/``AppConnector::ProcessCredentials``/``ValidateHash``;
field names also in Simply-Translate/Connector-CCVShop ``HandshakeModel``): the webshop POSTs JSON with
``api_public, api_secret, api_root, return_url`` to the app's handshake URI, with header ``x-hash`` =
HMAC-SHA512 (hex) with the app's secret key over ``<handshake uri>|<body>``; the app answers 200 and the
merchant is sent on to the install step. The app then reads ``GET /api/rest/v1/apps`` (one item: itself)
and marks itself installed with ``PATCH /api/rest/v1/apps/{id}`` ``{"is_installed": true}``.
[CHOSEN]: ``customer_id`` and ``create_date`` sent as null (shape only in the reference), the return URL.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from .config import CCVShopConfig
from .outbound import Outcome, post


def handshake_body(config: CCVShopConfig, api_root: str, return_url: str) -> bytes:
    return json.dumps({"api_public": config.public_key, "api_secret": config.secret_key, "api_root": api_root,
                       "return_url": return_url, "customer_id": None, "create_date": None},
                      separators=(",", ":")).encode()


def handshake_hash(app_secret: str, handshake_uri: str, body: bytes) -> str:
    return hmac.new(app_secret.encode(), handshake_uri.encode() + b"|" + body, hashlib.sha512).hexdigest()


def send_handshake(config: CCVShopConfig, handshake_uri: str, api_root: str, return_url: str,
                   timeout: float) -> tuple[bytes, Outcome]:
    """POST the credentials to the app, signed as the App Store does; returns the body sent and the answer."""
    body = handshake_body(config, api_root, return_url)
    return body, post(handshake_uri, body, {"x-hash": handshake_hash(config.app_secret, handshake_uri, body)},
                      timeout)
