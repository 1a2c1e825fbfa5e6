"""Scripted faults: a rule makes the API answer a chosen CCV error for matching requests.

```yaml
rules:
  - when: {method: GET, resource: orders}     # fields: method, resource, path, uri (wildcards allowed)
    error: {code: "503.10", message: "Onderhoud", retry_after: 120}
    times: 2
```

Applied to an authenticated request on a known route, before the rate limit and the model, so a
refused write changes nothing. The code decides the HTTP status (``503.10`` -> 503).
"""

from __future__ import annotations

import re

from .errors import CODES, CCVError, Code

SIM = "ccvshop"
_CODE = re.compile(r"([45][0-9][0-9])\.[0-9]{1,3}")  # [0-9]: \d would take "４２９" and int() read it


def validate_rule(rule: dict) -> None:
    action = next(k for k in rule if k not in ("when", "name"))
    if action != "error" or not isinstance(rule[action], dict):
        raise ValueError(f"the CCV Shop simulator takes 'error' rules ({{code, message, retry_after}}), not {action!r}")
    error = rule[action]
    unknown = set(error) - {"code", "message", "retry_after"}
    if unknown:
        raise ValueError(f"unknown field(s) in 'error': {sorted(unknown)}; known: code, message, retry_after")
    if not isinstance(error.get("code"), str) or not _CODE.fullmatch(error["code"]):
        raise ValueError(f"error.code must look like 429.10 or 503.10 (a 4xx/5xx status, a dot, a number), "
                         f"got {error.get('code')!r}")
    retry = error.get("retry_after")
    if retry is not None and (isinstance(retry, bool) or not isinstance(retry, int) or retry < 0):
        raise ValueError("error.retry_after must be a whole number of seconds")
    when = rule.get("when") or {}
    unknown_fields = set(when) - {"method", "resource", "path", "uri"}
    if unknown_fields:
        raise ValueError(f"a CCV Shop rule matches on method, resource, path and uri, not {sorted(unknown_fields)}")


def scripted(rule: dict) -> CCVError:
    error = rule["error"]
    code = CODES.get(error["code"]) or Code(error["code"], int(error["code"].split(".")[0]), "scripted by a rule",
                                            "[CHOSEN] (rule)")
    headers = {"Retry-After": str(error["retry_after"])} if error.get("retry_after") is not None else {}
    return CCVError(code, error.get("message") or f"Scripted error {code.code} (rule {rule['id']}).", headers)
