"""Configuration as instances: dataclasses handed to factories, read from YAML with clear errors.

Every simulator declares its own config dataclass and registers it under its section name; the core
knows none of them by name. Unknown or mistyped fields are refused naming the file and the field.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

from .errors import ConfigError

_SECTIONS: dict[str, type] = {}


def register_section(name: str, cls: type) -> None:
    """A simulator's config section (e.g. ``digipoort``) and the dataclass that holds it."""
    _SECTIONS[name] = cls


def sections() -> dict[str, type]:
    return dict(_SECTIONS)


@dataclass
class TLSConfig:
    cert: str | None = None  # PEM chain; generated under <state-dir>/tls when absent
    key: str | None = None
    ca: str | None = None  # shown to users as what to trust


@dataclass
class SimConfig:
    state_dir: str = "./.koppelsim"
    host: str = "127.0.0.1"  # where the simulators listen
    # The admin API has no authentication: it stays on loopback even when --host opens the simulators.
    admin_host: str = "127.0.0.1"
    admin_port: int = 8800
    port_offset: int = 0
    seed: int = 20261121  # the seeded random generator every simulator draws from
    clock: str = "system"  # "system" (real time + offset) or "virtual" (moves only when advanced)
    start: str | None = None  # start time of a virtual clock (ISO 8601)
    log_level: str = "warning"  # "info" logs every FTP session and transfer
    durability: str = "process"  # "process": survives kill -9; "power": also a power cut (fsync everything)
    # "one": the HTTP simulators' connection threads share one CPU (faster under load, core/affinity.py);
    # "any": the operating system places them
    http_cpu: str = "one"
    tls: TLSConfig = field(default_factory=TLSConfig)
    # section name -> its config instance; filled from the sections, never set directly
    simulators: dict[str, Any] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        for name, allowed in (("clock", ("system", "virtual")), ("durability", ("process", "power")),
                              ("http_cpu", ("one", "any")),
                              ("log_level", ("debug", "info", "warning", "error"))):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")

    def section(self, name: str) -> Any:
        if name not in self.simulators:
            cls = _SECTIONS[name]
            self.simulators[name] = cls()
        return self.simulators[name]

    def port(self, default: int) -> int:
        """A listener's port: 0 stays 0 (pick a free one), anything else is shifted by the offset."""
        return 0 if default == 0 else default + self.port_offset


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None,
                skip: Iterable[str] = ()) -> SimConfig:
    """Read a YAML config file (optional) and apply command-line overrides on top. Sections named in
    ``skip`` (simulators not started this time) are left unread, so one file serves every ``--only``."""
    data: dict[str, Any] = {}
    where = "configuration"
    if path is not None:
        where = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{where}: cannot read the configuration file ({exc.strerror})") from exc
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{where}: not valid YAML: {exc}") from exc
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{where}: the top level must be a mapping of settings")
        data = loaded
    for key, value in (overrides or {}).items():
        if value is not None:
            data[key] = value
    return config_from_dict(data, where, skip)


def config_from_dict(data: dict[str, Any], where: str = "configuration", skip: Iterable[str] = ()) -> SimConfig:
    data = {key: value for key, value in data.items() if key not in set(skip)}
    sim_sections = {name: data.pop(name) for name in list(data) if name in _SECTIONS}
    config = build(SimConfig, data, where, "")
    for name, cls in _SECTIONS.items():
        config.simulators[name] = build(cls, sim_sections.get(name), where, name)
    return config


def build(cls: type, data: Any, where: str, path: str) -> Any:
    """Turn a mapping into ``cls``, recursively, refusing unknown fields and wrong types."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: {path or 'top level'}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(
            f"{where}: {_join(path, unknown[0])}: unknown setting; known settings here: {', '.join(sorted(known))}"
        )
    missing = [name for name, f in known.items() if name not in data
               and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise ConfigError(f"{where}: {path or 'top level'}: missing {', '.join(repr(m) for m in missing)} "
                          f"(required here: {', '.join(missing)})")
    kwargs = {}
    for name, value in data.items():
        kwargs[name] = _coerce(hints[name], value, where, _join(path, name))
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {path or 'top level'}: {exc}") from exc


def _coerce(hint: Any, value: Any, where: str, path: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        errors = []
        for option in options:
            try:
                return _coerce(option, value, where, path)
            except ConfigError as exc:
                errors.append(exc)
        raise errors[0]
    if dataclasses.is_dataclass(hint):
        return build(hint, value, where, path)
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{where}: {path}: expected a list, got {type(value).__name__}")
        (item,) = args or (Any,)
        return [_coerce(item, v, where, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: {path}: expected a mapping, got {type(value).__name__}")
        _, item = args or (Any, Any)
        return {k: _coerce(item, v, where, f"{path}.{k}") for k, v in value.items()}
    if hint is Any:
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: {path}: expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: {path}: expected a whole number, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: {path}: expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if isinstance(value, (dict, list)) or value is None:
            raise ConfigError(f"{where}: {path}: expected text, got {type(value).__name__}")
        return str(value)
    return value


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
