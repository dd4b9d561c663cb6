"""Load YAML and remember the line of every key, so configuration errors can point at it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")
KeyPath = tuple[str | int, ...]


class ConfigError(Exception):
    """Configuration that cannot be used. The message names the file, the key and the line."""


def _describe(key_path: KeyPath) -> str:
    text = ""
    for part in key_path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(top level)"


@dataclass(frozen=True)
class YamlDocument:
    path: Path
    data: Any
    lines: dict[KeyPath, int]

    def line_of(self, key_path: KeyPath) -> int | None:
        """The line of `key_path`, or of its nearest parent that has one."""
        while key_path:
            if key_path in self.lines:
                return self.lines[key_path]
            key_path = key_path[:-1]
        return self.lines.get((), None)

    def error(self, key_path: KeyPath, problem: str) -> ConfigError:
        line = self.line_of(key_path)
        where = f"{self.path}, line {line}" if line else str(self.path)
        return ConfigError(f"{where}: {_describe(key_path)}: {problem}")


def _to_python(node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int]) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(yaml.safe_load(yaml.serialize(key_node)))
            lines[(*path, key)] = key_node.start_mark.line + 1
            result[key] = _to_python(value_node, (*path, key), lines)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(item, (*path, index), lines) for index, item in enumerate(node.value)]
    return yaml.safe_load(yaml.serialize(node))


def load_yaml(path: Path) -> YamlDocument:
    """Parse `path`; syntax errors become ConfigError naming the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read the configuration file: {error}") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        line = f", line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{line}: invalid YAML: {error.problem}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: invalid YAML: {error}") from None
    lines: dict[KeyPath, int] = {}
    data = _to_python(node, (), lines) if node is not None else {}
    return YamlDocument(path, data, lines)


_MISSING = object()


class Section:
    """Typed, checked access to one mapping of a YAML document.

    Every accessor names the key and line in its error, and unknown keys are refused so a
    misspelt option is reported instead of silently ignored.
    """

    def __init__(self, document: YamlDocument, key_path: KeyPath = ()) -> None:
        self.document = document
        self.key_path = key_path
        value = document.data
        for part in key_path:
            value = value[part]
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise document.error(key_path, f"expected a mapping of keys, got {_kind(value)}")
        self.values: dict[str, Any] = value
        self._read: set[str] = set()

    def error(self, key: str | int, problem: str) -> ConfigError:
        return self.document.error((*self.key_path, key), problem)

    def has(self, key: str) -> bool:
        return key in self.values and self.values[key] is not None

    def get(
        self,
        key: str,
        expected: type[T] | tuple[type, ...],
        default: Any = _MISSING,
        *,
        check: Callable[[Any], str | None] | None = None,
    ) -> Any:
        """The value of `key`, checked against `expected` and by `check` (returns a problem)."""
        self._read.add(key)
        if not self.has(key):
            if default is _MISSING:
                raise self.error(key, "this key is required")
            return default
        value = self.values[key]
        if isinstance(value, bool) and expected in (int, float):
            raise self.error(key, f"expected {_type_names(expected)}, got {value!r}")
        if expected is float and isinstance(value, int):
            value = float(value)
        if not isinstance(value, expected):
            names = _type_names(expected)
            raise self.error(key, f"expected {names}, got {_kind(value)} {value!r}")
        problem = check(value) if check else None
        if problem:
            raise self.error(key, problem)
        return value

    def section(self, key: str) -> Section:
        self._read.add(key)
        if key not in self.values:
            self.values[key] = {}
        return Section(self.document, (*self.key_path, key))

    def items(self, key: str) -> list[Section]:
        """A list of mappings under `key`, each as a Section."""
        entries = self.get(key, list, [])
        return [
            Section(self.document, (*self.key_path, key, index)) for index in range(len(entries))
        ]

    def reject_unknown(self, allowed: set[str] | None = None) -> None:
        known = self._read if allowed is None else allowed
        for key in self.values:
            if key not in known:
                choices = ", ".join(sorted(known)) or "none"
                raise self.error(key, f"unknown key (known keys here: {choices})")


def _type_names(expected: type | tuple[type, ...]) -> str:
    names = {
        str: "text",
        int: "a whole number",
        float: "a number",
        bool: "true or false",
        list: "a list",
        dict: "a mapping",
    }
    types = expected if isinstance(expected, tuple) else (expected,)
    return " or ".join(names.get(kind, kind.__name__) for kind in types)


def _kind(value: Any) -> str:
    return _type_names(type(value)) if not isinstance(value, type(None)) else "nothing"
