"""Read a scenario YAML file into a ``Scenario``, or fail with file, line and field.

The one JSON Schema from ``build_schema`` does the validation; what this module adds is the reading
experience for a QA engineer: every error is ``<file>:<line>: <field path>: <message>`` in words
rather than jsonschema's, and the YAML features that make files ambiguous or dangerous are refused.

YAML is read a little stricter than ``yaml.safe_load``, on purpose:

* aliases (``*name``) are refused: they are what a "billion laughs" bomb is made of, and a scenario
  is short enough to write out;
* duplicate keys are an error (PyYAML silently keeps the last one, so a repeated ``expect:`` would
  quietly drop the first set of checks);
* mapping keys are the text as written: ``no:`` in a journal check is the key "no", not ``False``;
* scalars follow the YAML 1.2 core schema: only true/false are booleans (a country code NO or an
  answer "yes" stays text), and ``0301`` stays the text "0301" instead of becoming octal 193;
* date-times YAML recognises are turned back into ISO 8601 text, because the schema, the runner and
  the journal all speak JSON.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Iterable

import yaml
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import WEAK_MATCHES, ValidationError, best_match
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from simulators.core.clock import parse_duration, parse_instant
from simulators.scenario.vocabulary import DURATION_FORMAT, INSTANT_FORMAT, Vocabulary, build_schema

MAX_SCENARIO_BYTES = 1024 * 1024
SCENARIO_SUFFIXES = (".yaml", ".yml")

Location = tuple[str | int, ...]


class ScenarioError(Exception):
    """A scenario that cannot be loaded; ``str()`` is ``<file>:<line>: <field path>: <message>``.

    Line and field are left out when they do not apply (a missing file, an error about the file as
    a whole). All parts are also attributes, for tools that show them differently.
    """

    def __init__(self, path: str | Path, message: str, line: int | None = None, field: str = "") -> None:
        # All arguments go to Exception so the error pickles (pytest-xdist sends it between workers).
        super().__init__(str(path), message, line, field)
        self.path, self.message, self.line, self.field = str(path), message, line, field

    def __str__(self) -> str:
        head = f"{self.path}:{self.line}" if self.line else self.path
        return ": ".join(part for part in (head, self.field, self.message) if part)


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


# --------------------------------------------------------------------------------------------- YAML

_BOOL, _INT, _FLOAT = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
_MAP, _SEQ, _MERGE = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:merge"


class _Refused(yaml.MarkedYAMLError):
    """Valid YAML that scenarios do not allow; its message is already meant for the reader."""


class _ScenarioYamlLoader(yaml.SafeLoader):
    # YAML 1.1 resolvers for bool/int/float replaced by YAML 1.2 core ones (see the module doc).
    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_BOOL, _INT, _FLOAT)]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        # Refusing at the alias event means an alias bomb never gets expanded, not even once.
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _Refused(problem=f"YAML aliases (*{event.anchor}) are not supported in scenarios; "
                                   "write the value out in full", problem_mark=event.start_mark)
        return super().compose_node(parent, index)


_ScenarioYamlLoader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_ScenarioYamlLoader.add_implicit_resolver(
    _INT, re.compile(r"^(?:[-+]?(?:0|[1-9][0-9]*)|0x[0-9a-fA-F]+)$"), list("-+0123456789"))
_ScenarioYamlLoader.add_implicit_resolver(
    _FLOAT, re.compile(r"^(?:[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[-+]?[0-9]+[eE][-+]?[0-9]+"
                       r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"), list("-+0123456789."))


def _read_text(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_SCENARIO_BYTES + 1)  # never more, whatever the file claims to be
    except FileNotFoundError:
        raise ScenarioError(path, "file does not exist") from None
    except IsADirectoryError:
        raise ScenarioError(path, "is a folder, not a scenario file") from None
    except OSError as exc:
        raise ScenarioError(path, f"cannot read the file: {exc.strerror or exc}") from None
    if len(data) > MAX_SCENARIO_BYTES:
        raise ScenarioError(path, f"file is larger than 1 MB ({MAX_SCENARIO_BYTES} bytes); scenarios "
                                  "stay small, keep payloads in their own files")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError(path, "the file is not UTF-8 text; save it as UTF-8",
                            data.count(b"\n", 0, exc.start) + 1) from None


def _yaml_error(path: Path, text: str, exc: yaml.YAMLError) -> ScenarioError:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        if isinstance(exc, _Refused):
            return ScenarioError(path, str(exc.problem), line)
        if exc.problem == "but found another document":
            return ScenarioError(path, "a scenario file holds one YAML document; remove the second '---'",
                                 line)
        message = f"YAML syntax error: {exc.problem or exc.context}"
        started = exc.context_mark.line + 1 if exc.context_mark else None
        if exc.context and exc.problem and started not in (None, line):
            message += f" ({exc.context} that starts on line {started})"
        if "'\\t'" in message:
            message += "; indent with spaces, YAML does not allow tabs"
        elif "<block" in message:
            message += "; check the indentation"
        return ScenarioError(path, message, line)
    position = getattr(exc, "position", None)  # ReaderError: a control character in the text
    line = text.count("\n", 0, position) + 1 if isinstance(position, int) else None
    return ScenarioError(path, f"unreadable YAML: {getattr(exc, 'reason', None) or exc}", line)


def _short_tag(tag: str) -> str:
    return tag.replace("tag:yaml.org,2002:", "!!")


class _TreeReader:
    """Turns the composed node tree into plain JSON-like data plus a map location -> line."""

    def __init__(self, path: Path, loader: yaml.SafeLoader) -> None:
        self.path, self.loader = path, loader
        self.lines: dict[Location, int] = {}

    def fail(self, node: Node, message: str, where: Location) -> ScenarioError:
        return ScenarioError(self.path, message, node.start_mark.line + 1, format_field_path(where))

    def unsupported_tag(self, node: Node, where: Location) -> ScenarioError:
        return self.fail(node, f"YAML tag {_short_tag(node.tag)} is not supported in scenarios", where)

    def read(self, node: Node, where: Location) -> Any:
        self.lines.setdefault(where, node.start_mark.line + 1)
        if isinstance(node, MappingNode):
            return self._mapping(node, where)
        if isinstance(node, SequenceNode):
            if node.tag != _SEQ:
                raise self.unsupported_tag(node, where)
            return [self.read(item, where + (index,)) for index, item in enumerate(node.value)]
        return self._scalar(node, where)

    def _mapping(self, node: MappingNode, where: Location) -> dict:
        if node.tag != _MAP:
            raise self.unsupported_tag(node, where)
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                raise self.fail(key_node, "YAML merge keys (<<) are not supported in scenarios", where)
            if not isinstance(key_node, ScalarNode):
                raise self.fail(key_node, "a key must be plain text, not a list or a mapping", where)
            key = key_node.value  # the text as written: JSON keys are text, and `no:` means "no"
            here = where + (key,)
            if key in result:
                raise self.fail(key_node, f"duplicate key '{key}' (first on line {self.lines[here]})", where)
            self.lines[here] = key_node.start_mark.line + 1
            result[key] = self.read(value_node, here)
        return result

    def _scalar(self, node: Node, where: Location) -> Any:
        try:
            value = self.loader.construct_object(node)
        except yaml.constructor.ConstructorError:
            raise self.unsupported_tag(node, where) from None
        except ValueError:
            # Looks like a date-time but is not one (month 13): keep the text, so the schema can
            # say which field expected a valid instant.
            return node.value
        if isinstance(value, (dt.datetime, dt.date)):
            return value.isoformat()
        if value is None or isinstance(value, (str, bool, int, float)):
            return value
        raise self.unsupported_tag(node, where)


def _read_yaml(path: Path, text: str) -> tuple[Any, dict[Location, int]]:
    loader = _ScenarioYamlLoader(text)
    try:
        root = loader.get_single_node()
        reader = _TreeReader(path, loader)
        data = None if root is None else reader.read(root, ())
        if data is None:  # no document at all, only comments, or a lone '---'
            raise ScenarioError(path, "the file is empty; a scenario needs at least a 'name'")
        return data, reader.lines
    except yaml.YAMLError as exc:
        raise _yaml_error(path, text, exc) from None
    except RecursionError:
        raise ScenarioError(path, "the YAML is nested too deeply") from None
    finally:
        loader.dispose()


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


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_.*/-]+")

_TYPE_WORDS = {"object": "a mapping (key: value)", "array": "a list", "string": "text",
               "integer": "a whole number", "number": "a number", "boolean": "true or false",
               "null": "nothing"}

_FORMAT_HINTS = {
    DURATION_FORMAT: "is not a valid duration (use e.g. 90s, 5m, 2h, 1h30m, 3d, PT2H or a number of seconds)",
    INSTANT_FORMAT: "is not a valid ISO 8601 date-time (e.g. 2026-11-20T09:00:00+01:00)",
}


def format_field_path(where: Iterable[str | int]) -> str:
    """``("steps", 2, "advance")`` -> ``steps[2].advance``; odd keys are quoted: ``given['a b']``."""
    text = ""
    for part in where:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]"
    return text


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
    text = _read_text(path)
    data, lines = _read_yaml(path, text)
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
