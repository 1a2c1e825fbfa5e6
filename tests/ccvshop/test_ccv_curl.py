"""curl, the way a developer tries the API from a shell: the hash made with openssl in bash."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

pytestmark = pytest.mark.skipif(not (shutil.which("curl") and shutil.which("openssl") and shutil.which("bash")),
                                reason="needs curl, openssl and bash")

SIGNED_GET = r"""
set -euo pipefail
uri="/api/rest/v1/orders/?size=2"
date="$X_DATE"
hash=$(printf '%s' "$PUBLIC|GET|$uri||$date" | openssl dgst -sha512 -hmac "$SECRET" | sed 's/^.*= //')
curl -sS -D "$HEADERS" -H "x-public: $PUBLIC" -H "x-date: $date" -H "x-hash: $hash" "$ROOT$uri"
"""

SIGNED_PATCH = r"""
set -euo pipefail
uri="/api/rest/v1/orders/$ORDER/"
body='{"status":5,"track_and_trace_code":"3SKOPPEL42"}'
date="$X_DATE"
hash=$(printf '%s' "$PUBLIC|PATCH|$uri|$body|$date" | openssl dgst -sha512 -hmac "$SECRET" | sed 's/^.*= //')
curl -sS -o /dev/null -w '%{http_code}' -X PATCH --data-binary "$body" \
     -H "x-public: $PUBLIC" -H "x-date: $date" -H "x-hash: $hash" "$ROOT$uri"
"""


def run_bash(script: str, shop, tmp_path, **extra: str) -> str:
    env = {"PATH": "/usr/bin:/bin", "PUBLIC": shop.config.public_key, "SECRET": shop.config.secret_key,
           "ROOT": shop.root, "X_DATE": shop.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
           "HEADERS": str(tmp_path / "headers.txt"), **extra}
    done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_get_signed_in_bash_with_openssl(shop, tmp_path):
    shop.orders(3)
    listing = json.loads(run_bash(SIGNED_GET, shop, tmp_path))
    assert len(listing["items"]) == 2 and listing["next"].endswith("start=2&size=2")
    headers = (tmp_path / "headers.txt").read_text().lower()
    assert "x-hash:" in headers and "x-ratelimit-remaining: 149" in headers


def test_a_patch_signed_in_bash_changes_the_order(shop, tmp_path):
    order = shop.orders(1, paid=False, status=1)[0]
    assert run_bash(SIGNED_PATCH, shop, tmp_path, ORDER=str(order["id"])) == "204"
    changed = shop.model.order(order["id"])
    assert changed["status"] == 5 and changed["track_and_trace_code"] == "3SKOPPEL42"


def test_curl_without_headers_gets_the_json_error(shop, tmp_path):
    done = subprocess.run(["curl", "-sS", shop.root + "/api/rest/v1/orders/"], capture_output=True, text=True,
                          timeout=30)
    assert json.loads(done.stdout)["code"] == "401.10"
