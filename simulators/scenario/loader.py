"""Read a scenario YAML file into a ``Scenario``, or fail with file, line and field.

The one JSON Schema from ``build_schema`` does the validation; what this module adds is the reading
experience for a QA engineer: every error is ``<file>:<line>: <field path>: <message>`` in words
rather than jsonschema's. Reading the YAML itself - strictly, refusing the features that make files
ambiguous or dangerous, and keeping line numbers - is ``yamlread``'s job; see its doc for the rules.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Iterable

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import WEAK_MATCHES, ValidationError, best_match

from simulators.core.clock import parse_duration, parse_instant
from simulators.scenario.errors import Location, ScenarioError, format_field_path
from simulators.scenario.vocabulary import DURATION_FORMAT, INSTANT_FORMAT, Vocabulary, build_schema
from simulators.scenario.yamlread import MAX_SCENARIO_BYTES, read_scenario_yaml

# The public API of scenario loading; ScenarioError, format_field_path and MAX_SCENARIO_BYTES live
# in the modules that use them first, but callers import everything from here.
__all__ = ["MAX_SCENARIO_BYTES", "SCENARIO_SUFFIXES", "Scenario", "ScenarioError", "Step", "discover",
           "format_field_path", "load_scenario"]

SCENARIO_SUFFIXES = (".yaml", ".yml")

@dataclass
class Step:
    index: int  # 0-based, as in the field path steps[2]
    action: str
    args: Any
    line: int


@dataclass
class Scenario:
    path: Path
    name: str
    description: str
    tags: list[str]
    given: dict
    steps: list[Step]
    expect: dict
    expect_line: int  # line of the top-level ``expect:`` key; 0 when the scenario has none
    expect_lines: dict[str, int] = field(default_factory=dict)  # expectation name -> its line


# ------------------------------------------------------------------------------------- validation

_FORMATS = FormatChecker()


@_FORMATS.checks(DURATION_FORMAT, raises=ValueError)
def _is_duration(value: Any) -> bool:
    # The runner's clock parses durations too; sharing its parser means "valid here" is "runs there".
    if isinstance(value, str):
        parse_duration(value)
    return True


@_FORMATS.checks(INSTANT_FORMAT, raises=ValueError)
def _is_instant(value: Any) -> bool:
    if isinstance(value, str):
        parse_instant(value)
    return True


_TYPE_WORDS = {"object": "a mapping (key: value)", "array": "a list", "string": "text",
               "integer": "a whole number", "number": "a number", "boolean": "true or false",
               "null": "nothing"}

_FORMAT_HINTS = {
    DURATION_FORMAT: "is not a valid duration (use e.g. 90s, 5m, 2h, 1h30m, 3d, PT2H or a number of seconds)",
    INSTANT_FORMAT: "is not a valid ISO 8601 date-time (e.g. 2026-11-20T09:00:00+01:00)",
}


def _line_of(lines: dict[Location, int], where: Location) -> int:
    for depth in range(len(where), -1, -1):  # the deepest part of the path that exists in the file
        if where[:depth] in lines:
            return lines[where[:depth]]
    return 1


def _show(value: Any) -> str:
    text = f"'{value}'" if isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"text {_show(value)}"
    return "a list" if isinstance(value, list) else "a mapping"


def _expected(schema: Any) -> str:
    types = schema.get("type") if isinstance(schema, dict) else None
    types = [types] if isinstance(types, str) else types or []
    return " or ".join(_TYPE_WORDS.get(kind, kind) for kind in types) or "another form"


def _did_you_mean(word: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _unexpected(error: ValidationError) -> list[str]:
    known, patterns = error.schema.get("properties", {}), error.schema.get("patternProperties", {})
    return [key for key in error.instance
            if key not in known and not any(re.search(rx, key) for rx in patterns)]


def _locate(error: ValidationError, lines: dict[Location, int]) -> tuple[Location, int]:
    """Where an error is reported: the object for key errors, else the failing value itself."""
    where = tuple(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        unknown = _unexpected(error)
        if unknown:
            return where, _line_of(lines, where + (unknown[0],))
    return where, _line_of(lines, where)


# Among errors about the same object, the one that explains the others: "more than one action in
# a step" beats "unknown step 'payload'" (mis-indented arguments), and "unknown field 'pasword'
# (did you mean 'password'?)" beats "missing required field 'password'".
_EXPLAINS_MORE = {"maxProperties": 2, "additionalProperties": 1}


def _weight(error: ValidationError) -> tuple:
    return error.validator not in WEAK_MATCHES, _EXPLAINS_MORE.get(error.validator, 0)


def _relevance(lines: dict[Location, int], error: ValidationError) -> tuple:
    # Like a compiler: the first problem in the file wins, then the broadest one at that line.
    return (-_locate(error, lines)[1], -len(error.absolute_path), *_weight(error))


def _most_relevant(errors: Iterable[ValidationError], lines: dict[Location, int]) -> ValidationError | None:
    best_here: dict[Location, ValidationError] = {}
    for error in errors:
        where = tuple(error.absolute_path)
        if where not in best_here or _weight(error) > _weight(best_here[where]):
            best_here[where] = error
    # best_match also walks into anyOf/oneOf to find the branch the writer most likely meant.
    return best_match(best_here.values(), key=partial(_relevance, lines))


def _message(error: ValidationError) -> str:
    kind, rule, instance = error.validator, error.validator_value, error.instance
    schema = error.schema if isinstance(error.schema, dict) else {}
    noun = schema.get("x-noun", "field")
    custom = schema.get("errorMessage")
    custom = custom.get(kind) if isinstance(custom, dict) else custom
    if custom:
        return f"{custom}, got {_describe(instance)}" if kind in ("type", "anyOf", "oneOf") else custom
    if kind == "additionalProperties":
        unknown = _unexpected(error) or ["?"]
        known = sorted(schema.get("properties", {}))
        message = f"unknown {noun} '{unknown[0]}'" + _did_you_mean(unknown[0], known)
        message += f"; known {noun}s: {', '.join(known)}" if known else f"; no {noun}s are allowed here"
        return message + (f" (also unknown: {', '.join(unknown[1:])})" if len(unknown) > 1 else "")
    if kind == "required":
        missing = [key for key in rule if key not in instance]
        return f"missing required {noun} " + ", ".join(f"'{key}'" for key in missing)
    if kind == "type":
        return f"expected {_expected(schema)}, got {_describe(instance)}"
    if kind == "format":
        return f"{_show(instance)} {_FORMAT_HINTS.get(rule, f'is not a valid {rule}')}"
    if kind in ("anyOf", "oneOf"):
        if kind == "oneOf" and not error.context:
            return "matches more than one of the allowed forms; make it unambiguous"
        return f"expected {' or '.join(_expected(branch) for branch in rule)}, got {_describe(instance)}"
    if kind == "enum":
        allowed = [str(option) for option in rule]
        return (f"{_show(instance)} is not one of: {', '.join(allowed)}"
                + _did_you_mean(str(instance), allowed))
    if kind == "maxProperties" and rule == 1 and isinstance(instance, dict):
        keys = list(instance)
        return (f"expected exactly one {noun}, found {len(keys)}: {', '.join(keys)}; "
                f"if the others are arguments, indent them under '{keys[0]}'")
    simple = {
        "const": f"must be {_show(rule)}",
        "minimum": f"must be at least {rule}, got {instance}",
        "exclusiveMinimum": f"must be more than {rule}, got {instance}",
        "maximum": f"must be at most {rule}, got {instance}",
        "exclusiveMaximum": f"must be less than {rule}, got {instance}",
        "minItems": "must not be an empty list" if rule == 1 else f"needs at least {rule} items",
        "maxItems": f"allows at most {rule} items",
        "minLength": "must not be empty" if rule == 1 else f"must be at least {rule} characters long",
        "maxLength": f"must be at most {rule} characters long",
        "minProperties": f"needs at least {rule} {noun}(s)",
        "maxProperties": f"allows at most {rule} {noun}(s)",
        "pattern": f"{_show(instance)} does not match the pattern {rule}",
    }
    return simple.get(kind, error.message)


def _validate(path: Path, data: Any, lines: dict[Location, int], vocab: Vocabulary) -> None:
    validator = Draft202012Validator(build_schema(vocab), format_checker=_FORMATS)
    error = _most_relevant(validator.iter_errors(data), lines)
    if error is not None:
        where, line = _locate(error, lines)
        raise ScenarioError(path, _message(error), line, format_field_path(where))


# ------------------------------------------------------------------------------------- public API

def load_scenario(path: str | Path, vocab: Vocabulary) -> Scenario:
    """Read, check and return one scenario; any problem raises ``ScenarioError``."""
    path = Path(path)
    data, lines = read_scenario_yaml(path)
    _validate(path, data, lines, vocab)
    steps = []
    for index, item in enumerate(data.get("steps", [])):
        (action, args), = item.items()  # the schema guarantees exactly one key
        steps.append(Step(index, action, args, lines[("steps", index)]))
    expect = data.get("expect", {})
    return Scenario(
        path=path,
        name=data["name"],
        description=data.get("description", ""),
        tags=list(data.get("tags", [])),
        given=data.get("given", {}),
        steps=steps,
        expect=expect,
        expect_line=lines.get(("expect",), 0),
        expect_lines={name: lines[("expect", name)] for name in expect},
    )


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def discover(paths: Iterable[str | Path]) -> list[Path]:
    """Scenario files named directly or found (recursively, sorted) in folders; duplicates once.

    Hidden files and folders (``.git``, editor backups) are skipped inside folders. A path that
    does not exist, or a named file that is not ``.yaml``/``.yml``, raises ``ScenarioError``.
    """
    found: list[Path] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            candidates = sorted(
                child for child in path.rglob("*")
                if child.suffix.lower() in SCENARIO_SUFFIXES and child.is_file() and not _hidden(child, path)
            )
        elif path.is_file():
            if path.suffix.lower() not in SCENARIO_SUFFIXES:
                raise ScenarioError(path, "not a scenario file (expected a .yaml or .yml file)")
            candidates = [path]
        else:
            raise ScenarioError(path, "no such file or folder")
        for candidate in candidates:
            if candidate.resolve() not in seen:
                seen.add(candidate.resolve())
                found.append(candidate)
    return found
