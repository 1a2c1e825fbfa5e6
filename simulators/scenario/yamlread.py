"""Read a scenario file's YAML into plain JSON-like data, keeping the line of every value.

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

A file must be UTF-8 and at most ``MAX_SCENARIO_BYTES`` long. Every problem is a ``ScenarioError``
with the file, and the line and field where known.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from simulators.scenario.errors import Location, ScenarioError, format_field_path

MAX_SCENARIO_BYTES = 1024 * 1024

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


def _parse(path: Path, text: str) -> tuple[Any, dict[Location, int]]:
    loader = None
    try:
        loader = _ScenarioYamlLoader(text)  # inside the try: making it already checks the characters
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
        if loader is not None:
            loader.dispose()


def read_scenario_yaml(path: Path) -> tuple[Any, dict[Location, int]]:
    """The file's data and, for every location in it (keys and values), the line it starts on."""
    return _parse(path, _read_text(path))
