"""The words a scenario file may use, and the one JSON Schema built from them.

Each simulator owns a ``Vocabulary``: the ``given`` sections it can set up, the ``steps`` it can
perform and the ``expect`` names it can check, each with a JSON Schema for its arguments and a
handler the runner calls as ``handler(run_context, args)``. The runner merges the simulators'
vocabularies with ``core_vocabulary()`` and never needs to know any simulator word by name.

Two non-standard schema keywords help the loader write messages a QA engineer can act on; validators
and editors ignore unknown keywords, so schemas stay portable:

* ``x-noun``: what the keys of an object are called ("step", "expectation"), so an unknown key reads
  "unknown step 'digipoort.sumbit'" rather than "Additional properties are not allowed".
* ``errorMessage``: a message replacing the generic one, either a string or a dict per keyword
  (``{"minProperties": "..."}``) — the convention of ajv-errors, so schema authors may know it.
"""

from __future__ import annotations

import copy
import inspect
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

Handler = Callable[[Any, Any], None]
H = TypeVar("H", bound=Handler)

# Custom format names: editors and other validators skip formats they do not know, whereas the
# standard "duration"/"date-time" would make them reject "5m" or a zone-less instant we accept.
DURATION_FORMAT = "koppelsim-duration"
INSTANT_FORMAT = "koppelsim-instant"

# Fragments simulators may reuse for their own arguments (a rule's ``after: 2h``, a due date).
DURATION: dict = {"type": ["string", "number"], "format": DURATION_FORMAT, "minimum": 0,
                  "description": "A duration: 90s, 5m, 2h, 1h30m, 3d, PT2H or a number of seconds."}
INSTANT: dict = {"type": "string", "format": INSTANT_FORMAT,
                 "description": "An ISO 8601 date-time, e.g. 2026-11-20T09:00:00+01:00 (no zone = UTC)."}
PATTERN: dict = {"type": "object", "x-noun": "field",
                 "description": "Journal entry fields to match: field -> value."}

EXPECTATIONS_REF = "#/$defs/expectations"


@dataclass
class GivenSpec:
    name: str
    schema: dict
    handler: Handler
    doc: str = ""


@dataclass
class StepSpec:
    name: str
    schema: dict
    handler: Handler
    doc: str = ""


@dataclass
class ExpectSpec:
    name: str
    schema: dict
    handler: Handler
    doc: str = ""


Spec = GivenSpec | StepSpec | ExpectSpec


def _checked(kind: str, name: str, schema: dict) -> dict:
    # A broken schema found at registration names the simulator word; found later, it would surface
    # as a confusing failure while loading somebody's scenario.
    if not isinstance(name, str) or not name or name != name.strip() or " " in name:
        raise ValueError(f"{kind} name must be a non-empty word without spaces, got {name!r}")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise ValueError(f"{kind} {name!r}: invalid JSON Schema: {exc.message}") from exc
    return schema


def _doc_of(function: Callable[..., Any], doc: str) -> str:
    return doc or (inspect.getdoc(function) or "").split("\n\n")[0].strip()


class Vocabulary:
    """The given sections, steps and expectations one simulator (or the core) understands.

    Spec objects are mutable on purpose: the runner binds the real handlers of the core words with
    ``vocab.step_specs["advance"].handler = ...``.
    """

    def __init__(self) -> None:
        self.given_specs: dict[str, GivenSpec] = {}
        self.step_specs: dict[str, StepSpec] = {}
        self.expect_specs: dict[str, ExpectSpec] = {}

    def given(self, section: str, schema: dict, handler: Handler, doc: str = "") -> None:
        """Register a ``given`` section; ``handler(run_context, value)`` sets it up before the steps."""
        spec = GivenSpec(section, _checked("given section", section, schema), handler, _doc_of(handler, doc))
        self._add(self.given_specs, spec, "given section")

    def step(self, name: str, schema: dict, doc: str = "") -> Callable[[H], H]:
        """Decorator registering ``handler(run_context, args)`` as the step ``name``."""
        _checked("step", name, schema)

        def register(handler: H) -> H:
            self._add(self.step_specs, StepSpec(name, schema, handler, _doc_of(handler, doc)), "step")
            return handler

        return register

    def expectation(self, name: str, schema: dict, doc: str = "") -> Callable[[H], H]:
        """Decorator registering ``handler(run_context, expected)`` as the expectation ``name``."""
        _checked("expectation", name, schema)

        def register(handler: H) -> H:
            spec = ExpectSpec(name, schema, handler, _doc_of(handler, doc))
            self._add(self.expect_specs, spec, "expectation")
            return handler

        return register

    def merge(self, other: Vocabulary) -> None:
        """Add every word of ``other``; two simulators claiming the same word is a programming error."""
        for mine, theirs, kind in ((self.given_specs, other.given_specs, "given section"),
                                   (self.step_specs, other.step_specs, "step"),
                                   (self.expect_specs, other.expect_specs, "expectation")):
            for spec in theirs.values():
                self._add(mine, spec, kind)

    @staticmethod
    def _add(table: dict[str, Any], spec: Spec, kind: str) -> None:
        existing = table.get(spec.name)
        if existing is not None and existing is not spec:
            raise ValueError(f"{kind} {spec.name!r} is registered twice")
        table[spec.name] = spec


def _not_bound(word: str) -> Handler:
    def handler(run_context: Any, args: Any) -> None:
        raise NotImplementedError(f"core word {word!r} has no handler; the runner binds it")

    return handler


def core_vocabulary() -> Vocabulary:
    """The words every scenario may use; only schemas here — the runner binds the handlers."""
    vocab = Vocabulary()
    vocab.given("clock", INSTANT, _not_bound("clock"), "Start time of the scenario's virtual clock.")
    vocab.step("advance", DURATION, "Move the virtual clock forward; due events fire.")(_not_bound("advance"))
    vocab.step("set_clock", INSTANT, "Move the virtual clock to an instant.")(_not_bound("set_clock"))
    vocab.step("expect", {"$ref": EXPECTATIONS_REF},
               "Check expectations now, in the middle of the scenario.")(_not_bound("expect"))
    vocab.expectation("journal", _journal_schema(),
                      "Facts about the journal: has / no / count of matching entries.")(_not_bound("journal"))
    return vocab


def _journal_schema() -> dict:
    patterns = {"anyOf": [PATTERN, {"type": "array", "items": PATTERN, "minItems": 1}],
                "errorMessage": {"anyOf": "expected a pattern (field: value) or a list of patterns"}}
    bound = {"type": "integer", "minimum": 0}
    count = {
        "type": "object",
        "properties": {"pattern": PATTERN, "equals": bound, "at_least": bound, "at_most": bound},
        "required": ["pattern"],
        "minProperties": 2,
        "additionalProperties": False,
        "errorMessage": {"minProperties": "count needs 'equals', 'at_least' or 'at_most' next to 'pattern'"},
    }
    return {
        "type": "object",
        "properties": {"has": patterns, "no": patterns,
                       # if/then/else rather than anyOf: a wrong count then gets the count's own message.
                       "count": {"if": {"type": "array"}, "then": {"items": count, "minItems": 1}, "else": count}},
        "minProperties": 1,
        "additionalProperties": False,
        "x-noun": "journal check",
    }


def _described(spec: Spec) -> dict:
    # Copies, so a schema exported to scenarios/schema.json never aliases a simulator's own dict;
    # the doc becomes the tooltip an editor shows while a QA engineer types the word.
    schema = copy.deepcopy(spec.schema)
    if spec.doc and "description" not in schema:
        schema["description"] = spec.doc
    return schema


def build_schema(vocab: Vocabulary) -> dict:
    """The one JSON Schema (draft 2020-12) every scenario file is validated against."""
    expectations = {
        "type": "object",
        "properties": {name: _described(vocab.expect_specs[name]) for name in sorted(vocab.expect_specs)},
        "additionalProperties": False,
        "x-noun": "expectation",
    }
    step = {
        "type": "object",
        "properties": {name: _described(vocab.step_specs[name]) for name in sorted(vocab.step_specs)},
        "minProperties": 1,
        "maxProperties": 1,
        "additionalProperties": False,
        "x-noun": "step",
        "errorMessage": {"type": "expected a step written as '- action: arguments' (e.g. '- advance: 5m')",
                         "minProperties": "a step needs an action, e.g. '- advance: 5m'"},
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "koppelsim scenario",
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "minLength": 1,
                     "description": "What the scenario shows, in one line."},
            "description": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string", "minLength": 1}},
            "given": {
                "type": "object",
                "properties": {name: _described(vocab.given_specs[name])
                               for name in sorted(vocab.given_specs)},
                "additionalProperties": False,
                "x-noun": "given section",
            },
            "steps": {"type": "array", "items": step},
            "expect": {"$ref": EXPECTATIONS_REF},
        },
        "additionalProperties": False,
        "x-noun": "top-level key",
        "$defs": {"expectations": expectations},
    }
