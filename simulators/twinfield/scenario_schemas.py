"""The JSON Schemas of the Twinfield scenario words: what a QA engineer may write under each word.

They end up in ``scenarios/schema.json`` (``koppelsim schema``); a test keeps that file equal to them.
"""

from __future__ import annotations

_TEXT = {"type": "string"}
_VALUE = {"type": ["string", "number"]}
_FAILS = {"type": "string", "description": "the step must fail with an error like this (wildcards)"}
_CLIENT = {"type": "string", "description": "which connected client (default: the first)"}
_OFFICE = {"type": "string", "description": "office code (default: the client's office)"}

_LINE = {"type": "object", "additionalProperties": False, "x-noun": "line field", "properties": {
    **{k: _TEXT for k in ("type", "dim1", "dim2", "dim3", "debitcredit", "vatcode", "description", "invoicenumber",
                          "performancetype", "performancecountry", "performancevatnumber", "performancedate")},
    "value": _VALUE, "vatvalue": _VALUE}}
_PERCENTAGE = {"type": "object", "required": ["date", "percentage", "account"], "additionalProperties": False,
               "properties": {"date": _TEXT, "percentage": _VALUE, "account": _TEXT, "group": _TEXT}}
GIVEN_SCHEMA = {"type": "object", "additionalProperties": False, "x-noun": "twinfield setting", "properties": {
    "settings": {"type": "object", "x-noun": "setting", "description": "twinfield config settings, e.g. "
                 "token_lifetime, rate_limit_per_ip, max_concurrent_per_organisation, legacy_logon"},
    "organisations": {"type": "array", "items": {"type": "object", "required": ["code"]}},
    "offices": {"type": "array", "items": {"type": "object", "required": ["code", "name"]}},
    "users": {"type": "array", "items": {"type": "object", "required": ["user", "password"]}},
    "clients": {"type": "array", "items": {"type": "object", "required": ["client_id", "client_secret"]}},
    "customers": {"type": "array", "items": {"type": "object", "required": ["code", "name"],
                                             "additionalProperties": False, "properties": {
        "code": _TEXT, "name": _TEXT, "email": _TEXT, "office": _TEXT, "vatnumber": _TEXT, "country": _TEXT}}},
    "ledger": {"type": "array", "items": {"type": "object", "required": ["type", "code", "name"]}},
    "vat_codes": {"type": "array", "items": {"type": "object", "required": ["code", "name", "percentages"],
                                             "properties": {"percentages": {"type": "array", "items": _PERCENTAGE}}}},
    "rules": {"type": "array", "items": {"type": "object"},
              "description": "fault rules: when + reject / timeout / fault / throttle / delay"},
}}

CONNECT_SCHEMA = {"type": ["object", "null"], "additionalProperties": False, "properties": {
    "as": {"type": "string", "description": "a name for this client"}, "user": _TEXT, "password": _TEXT,
    "organisation": _TEXT, "client_id": _TEXT, "office": _OFFICE, "deny": {"type": "boolean"},
    "scope": _TEXT, "fails": _FAILS}}
BOOK_SCHEMA = {"type": "object", "required": ["journal", "lines"], "additionalProperties": False, "properties": {
    "journal": {"type": "string", "description": "VRK (sales) or MEMO"}, "invoicenumber": _VALUE, "date": _VALUE,
    "destiny": {"enum": ["temporary", "final"]}, "office": _OFFICE, "client": _CLIENT,
    "raisewarning": {"type": "boolean"}, "autobalancevat": {"type": "boolean"},
    "lines": {"type": "array", "items": _LINE, "minItems": 1}, "fails": _FAILS,
    "as": {"type": "string", "description": "remember the booking number under this name"}}}
CUSTOMER_SCHEMA = {"type": "object", "required": ["name"], "additionalProperties": False, "properties": {
    "code": _VALUE, "name": _TEXT, "email": _TEXT, "country": _TEXT, "city": _TEXT, "postcode": _TEXT,
    "vatnumber": _TEXT, "office": _OFFICE, "client": _CLIENT, "fails": _FAILS}}
MATCH_SCHEMA = {"type": "object", "additionalProperties": False, "properties": {
    "customer": _VALUE, "invoicenumber": _VALUE, "office": _OFFICE, "client": _CLIENT, "fails": _FAILS,
    "lines": {"type": "array", "items": {"type": "array", "items": _VALUE, "minItems": 3, "maxItems": 3}}}}
POST_SCHEMA = {"type": "object", "required": ["xml"], "additionalProperties": False, "properties": {
    "xml": _TEXT, "office": _OFFICE, "client": _CLIENT, "result": {"enum": [0, 1, "0", "1"]},
    "msgs": {"type": "array", "items": _TEXT, "description": "msg texts that must be in the answer (wildcards)"},
    "fails": _FAILS}}
SEARCH_SCHEMA = {"type": "object", "required": ["type"], "additionalProperties": False, "properties": {
    "type": _TEXT, "pattern": _TEXT, "field": {"type": "integer"}, "options": {"type": "object"},
    "office": _OFFICE, "client": _CLIENT, "total": {"type": "integer"},
    "rows": {"type": "array", "items": {"type": "array"}}, "fails": _FAILS}}
HTTP_SCHEMA = {"type": "object", "required": ["path"], "additionalProperties": False, "properties": {
    "method": {"enum": ["GET", "POST"]}, "path": _TEXT, "body": _TEXT, "content_type": _TEXT,
    "headers": {"type": "object"}, "token": {"type": "boolean", "description": "put the client's access token "
                                                                                "in {token} of the body"},
    "status": {"type": "integer"}, "contains": {"type": "array", "items": _TEXT}}}

_LINE_PATTERN = {"type": "object", "x-noun": "line field"}
_BOOKING_PATTERN = {"type": "object", "x-noun": "booking field", "properties": {
    "lines": {"type": "array", "items": _LINE_PATTERN, "description": "exactly these lines, in order"},
    "has_lines": {"type": "array", "items": _LINE_PATTERN, "description": "at least these lines"}}}
BOOKINGS_SCHEMA = {"type": "object", "additionalProperties": False, "minProperties": 1, "x-noun": "bookings check",
                   "properties": {"count": {"type": "integer", "minimum": 0},
                                  "has": {"type": "array", "items": _BOOKING_PATTERN},
                                  "none": {"type": "array", "items": _BOOKING_PATTERN}}}
CUSTOMERS_SCHEMA = {"type": "object", "additionalProperties": False, "minProperties": 1, "properties": {
    "count": {"type": "integer", "minimum": 0}, "office": _TEXT,
    "has": {"type": "array", "items": {"type": "object"}}}}
CLIENT_SCHEMA = {"type": "object", "additionalProperties": False, "minProperties": 1, "properties": {
    "client": _CLIENT, "refreshes": {"type": "integer", "minimum": 0},
    "last_error": {"type": ["string", "null"], "description": "the last failed step's error (wildcards)"},
    "cluster_url": _TEXT}}
TOKENS_SCHEMA = {"type": "object", "additionalProperties": False, "minProperties": 1, "properties": {
    "issued": {"type": "integer"}, "active": {"type": "integer"}, "kind": {"enum": ["access", "refresh", "session"]}}}
