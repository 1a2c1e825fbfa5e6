"""The VIES words of the scenario language: ``given.vies``, the steps ``vies.check`` and ``vies.post``,
the expectation ``vies.checked``.

```yaml
given:
  vies:
    numbers: [{number: NL123456782B01, name: ACME B.V., address: "KERKSTRAAT 1\\n1234AB AMSTERDAM"}]
    unavailable: [DE]
    rules: [{when: {country: NL}, fault: MS_UNAVAILABLE, times: 2}]
steps:
  - vies.check: {number: NL123456782B01, fault: MS_UNAVAILABLE}
  - vies.check: {number: BE100, service: test, valid: true, name: John Doe}
expect:
  vies.checked: [NL123456782B01, BE100]
```

Steps talk SOAP over a real socket to the simulator (``requests`` and the safe XML parser), the way a
thin client of the real service does; they never call the model.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

import requests
from lxml import etree

from ..core.config import build
from ..core.matching import value_matches
from ..core.safexml import parse_xml
from ..scenario.vocabulary import Vocabulary
from .config import KnownNumber
from .errors import FAULT_CODES
from .models import SIM
from .soap import BASE, SOAP11_NS
from .wsdl import TYPES_NS

TIMEOUT = 10  # real seconds, for real I/O only
MAX_ANSWER_BYTES = 1024 * 1024

_NUMBER = {"type": "object", "required": ["number"], "additionalProperties": False, "properties": {
    "number": {"type": "string", "description": "with the country prefix: NL123456782B01"},
    "valid": {"type": "boolean"}, "name": {"type": ["string", "null"]},
    "address": {"type": ["string", "null"]}}}
_FAULT = {"enum": sorted(FAULT_CODES)}
_RULE = {"type": "object", "minProperties": 1, "additionalProperties": False, "x-noun": "rule field",
         "properties": {
    "when": {"type": "object", "x-noun": "field",
             "description": "service, operation, country, number, vat (prefix + number), requester"},
    "times": {"type": "integer", "minimum": 1},
    "fault": {"anyOf": [_FAULT, {"type": "object", "required": ["code"], "additionalProperties": False,
                                 "properties": {"code": _FAULT}}]},
    "answer": {"type": "object", "additionalProperties": False, "properties": {
        "valid": {"type": "boolean"}, "name": {"type": "string"}, "address": {"type": "string"}}}}}
_SETTINGS = {"type": "object", "additionalProperties": False, "x-noun": "setting", "properties": {
    "format_errors": {"enum": ["invalid", "invalid_input"]},
    "unknown_numbers": {"enum": ["invalid", "valid"]},
    "fault_http_status": {"enum": [200, 500]}, "strict_soap_action": {"type": "boolean"}}}
GIVEN_SCHEMA = {"type": "object", "additionalProperties": False, "x-noun": "vies setting", "properties": {
    "numbers": {"type": "array", "items": _NUMBER},
    "unavailable": {"type": "array", "items": {"type": "string", "pattern": "^[A-Z]{2}$"},
                    "description": "member states whose service is down (MS_UNAVAILABLE)"},
    "rules": {"type": "array", "items": _RULE}, "settings": _SETTINGS}}
CHECK_SCHEMA = {"type": "object", "required": ["number"], "additionalProperties": False,
                "x-noun": "check field", "properties": {
    "number": {"type": "string", "description": "NL123456782B01, or only the number when 'country' is given"},
    "country": {"type": "string", "description": "sent as countryCode as it is ('nl' to see it refused)"},
    "service": {"enum": ["production", "test"], "description": "test: the test service, its magic numbers"},
    "requester": {"type": "string", "description": "your own VAT number: the check becomes checkVatApprox"},
    "trader_name": {"type": "string", "description": "checkVatApprox: the name to match"},
    "valid": {"type": "boolean", "description": "the answer must say this"},
    "name": {"type": "string", "description": "the answer's name (wildcards allowed)"},
    "address": {"type": "string", "description": "the answer's address (wildcards allowed)"},
    "fault": {**_FAULT, "description": "the answer must be this SOAP fault"},
    "http_status": {"type": "integer", "description": "the answer's HTTP status"}}}
POST_SCHEMA = {"type": "object", "required": ["body"], "additionalProperties": False, "x-noun": "post field",
               "properties": {
    "body": {"type": "string", "description": "the request body, sent as it is"},
    "content_type": {"type": "string", "description": "default text/xml; charset=utf-8"},
    "service": {"enum": ["production", "test"]},
    "http_status": {"type": "integer", "description": "the answer's HTTP status"},
    "faultcode": {"type": "string", "description": "the SOAP faultcode (wildcards allowed), e.g. env:Client"},
    "faultstring": {"type": "string", "description": "the SOAP faultstring (wildcards allowed)"}}}
_VATS = {"type": "array", "items": {"type": "string"}}
CHECKED_SCHEMA = {"anyOf": [_VATS, {"type": "object", "additionalProperties": False, "minProperties": 1,
                                    "properties": {"has": _VATS, "count": {"type": "integer", "minimum": 0},
                                                   "no": _VATS}}],
                  "errorMessage": {"anyOf": "expected a list of VAT numbers, or {has, no, count}"}}


def vocabulary() -> Vocabulary:
    vocab = Vocabulary()
    vocab.given(SIM, GIVEN_SCHEMA, _given,
                "VIES: known numbers, unavailable member states, rules and settings.")

    @vocab.step("vies.check", CHECK_SCHEMA)
    def check(run, args: dict) -> None:
        """Check a VAT number over SOAP (checkVat, or checkVatApprox with a requester) and its answer."""
        country, number = (args["country"], args["number"]) if "country" in args \
            else (args["number"][:2], args["number"][2:])
        status, answer = _call(run, args.get("service", "production"),
                               _check_body(country, number, args.get("requester"), args.get("trader_name")))
        problems = _compare(args, status, answer)
        if problems:
            raise AssertionError(f"check of {country}{number}: " + "; ".join(problems)
                                 + f" (answer: {answer})")

    @vocab.step("vies.post", POST_SCHEMA)
    def post(run, args: dict) -> None:
        """POST any body to the SOAP endpoint (malformed XML, a DOCTYPE, ...) and check the answer."""
        status, answer = _call(run, args.get("service", "production"), args["body"].encode("utf-8"),
                               args.get("content_type", "text/xml; charset=utf-8"))
        problems = []
        if "http_status" in args and status != args["http_status"]:
            problems.append(f"HTTP {status}, expected {args['http_status']}")
        for key in ("faultcode", "faultstring"):
            if key in args and not value_matches(args[key], answer.get(key)):
                problems.append(f"{key} {answer.get(key)!r}, expected {args[key]!r}")
        if problems:
            raise AssertionError("; ".join(problems) + f" (answer: {answer})")

    @vocab.expectation("vies.checked", CHECKED_SCHEMA)
    def checked(run, expected) -> None:
        """Which VAT numbers were checked: a list = exactly these, in order; or {has, no, count}."""
        seen = [r["country"] + r["number"] for r in run.runtime.simulators[SIM].model.requests()]
        spec = {"exactly": expected} if isinstance(expected, list) else expected
        if "exactly" in spec and (len(seen) != len(spec["exactly"]) or
                                  not all(value_matches(p, v) for p, v in zip(spec["exactly"], seen))):
            raise AssertionError(f"checked {seen}, expected exactly {spec['exactly']}")
        missing = [p for p in spec.get("has", []) if not any(value_matches(p, v) for v in seen)]
        if missing:
            raise AssertionError(f"never checked {missing}; checked {seen}")
        forbidden = [v for v in seen if any(value_matches(p, v) for p in spec.get("no", []))]
        if forbidden:
            raise AssertionError(f"checked {forbidden}, which must not be checked")
        if "count" in spec and len(seen) != spec["count"]:
            raise AssertionError(f"{len(seen)} checks ({seen}), expected {spec['count']}")

    return vocab


def _given(run, value: dict) -> None:
    sim = run.runtime.simulators[SIM]
    model = sim.model
    if value.get("settings"):
        try:  # on a copy of the configuration: the runtime's own instance stays as configured
            sim.configure(**value["settings"])
        except (TypeError, ValueError) as exc:  # the message names the setting
            raise ValueError(f"given.vies.settings: {exc}") from exc
    for raw in value.get("numbers", []):
        model.put_number(build(KnownNumber, raw, str(run.scenario.path), "given.vies.numbers"))
    for country in value.get("unavailable", []):
        model.set_available(country, False)
    for rule in value.get("rules", []):
        run.runtime.rules.add(SIM, rule)


def _check_body(country: str, number: str, requester: str | None, trader_name: str | None) -> bytes:
    """A request as the usual thin clients write it (a ``urn`` prefix for the types namespace)."""
    def el(name: str, text: str) -> str:
        return f"<urn:{name}>{escape(text)}</urn:{name}>"

    fields = el("countryCode", country) + el("vatNumber", number)
    operation = "checkVat"
    if requester is not None or trader_name is not None:
        operation = "checkVatApprox"
        if trader_name is not None:
            fields += el("traderName", trader_name)
        if requester is not None:
            fields += el("requesterCountryCode", requester[:2]) + el("requesterVatNumber", requester[2:])
    return (f'<soapenv:Envelope xmlns:soapenv="{SOAP11_NS}" xmlns:urn="{TYPES_NS}"><soapenv:Header/>'
            f"<soapenv:Body><urn:{operation}>{fields}</urn:{operation}></soapenv:Body></soapenv:Envelope>"
            ).encode("utf-8")


def _call(run, service: str, body: bytes, content_type: str = "text/xml; charset=utf-8") -> tuple[int, dict]:
    endpoint = run.runtime.endpoint("vies-soap")
    name = "checkVatTestService" if service == "test" else "checkVatService"
    host = f"[{endpoint.host}]" if ":" in endpoint.host else endpoint.host
    response = requests.post(f"http://{host}:{endpoint.port}{BASE}/services/{name}", data=body,
                             headers={"Content-Type": content_type, "SOAPAction": '""'}, timeout=TIMEOUT)
    return response.status_code, _read_answer(response.content)


def _read_answer(data: bytes) -> dict[str, Any]:
    """The answer's fields (local name -> text) or its faultcode and faultstring."""
    try:
        root = parse_xml(data, max_bytes=MAX_ANSWER_BYTES, what="VIES answer")
    except ValueError as exc:
        return {"unreadable": str(exc), "text": data[:200].decode("utf-8", "replace")}
    body = root.find(f"{{{SOAP11_NS}}}Body")
    content = next((c for c in body if isinstance(c.tag, str)), None) if body is not None else None
    if content is None:
        return {"unreadable": "no SOAP Body content"}
    answer: dict[str, Any] = {"element": etree.QName(content).localname}
    for child in content:
        if isinstance(child.tag, str):
            answer[etree.QName(child).localname] = child.text or ""
    return answer


def _compare(args: dict, status: int, answer: dict) -> list[str]:
    problems = []
    if "http_status" in args and status != args["http_status"]:
        problems.append(f"HTTP {status}, expected {args['http_status']}")
    if "fault" in args:
        if answer.get("faultstring") != args["fault"]:
            problems.append(f"expected the fault {args['fault']}")
        return problems
    if "faultstring" in answer:  # a fault nobody expected fails the step, whatever else was asked
        return problems + [f"a fault {answer['faultstring']}, expected an answer"]
    if "valid" in args and answer.get("valid") != ("true" if args["valid"] else "false"):
        problems.append(f"valid {answer.get('valid')}, expected {str(args['valid']).lower()}")
    for key, element in (("name", ("name", "traderName")), ("address", ("address", "traderAddress"))):
        if key in args:
            actual = next((answer[e] for e in element if e in answer), None)
            if not value_matches(args[key], actual):
                problems.append(f"{key} {actual!r}, expected {args[key]!r}")
    return problems
