"""config.yaml: what to rename and how carefully, validated before anything connects."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml


class ConfigError(Exception):
    """The config file is unreadable or says something pgrename cannot do."""


KEYS = {
    "migration": "name recorded in pgrename.history; one migration per name",
    "schema": "schema whose tables are renamed",
    "lock_timeout": "longest wait for any lock, e.g. 5s or 500ms",
    "tables": "map of current table name to target table name",
    "include": "globs: analyze considers only the tables they match",
    "exclude": "globs: analyze never proposes the tables they match",
}
LOCK_TIMEOUT_PATTERN = re.compile(r"^\d+\s*(ms|s|min)?$")


@dataclass(frozen=True)
class Config:
    path: Path
    migration: str
    schema: str
    lock_timeout: str
    tables: dict[str, str]
    include: list[str]
    exclude: list[str]


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses a key given twice (PyYAML would keep the last one silently)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    mapping = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in mapping:
            raise ConfigError(f"line {key_node.start_mark.line + 1}: {key!r} is given twice")
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _key_lines(text: str) -> dict[str, int]:
    """Line of each top-level key, for messages that point at the right place."""
    lines = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = re.match(r"^([^\s#][^:]*):", line)
        if match:
            lines.setdefault(match.group(1).strip().strip("'\""), number)
    return lines


def _name(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{what} must be a non-empty string, got {value!r}")
    if "\x00" in value:
        raise ConfigError(f"{what} contains a NUL character")
    return value


def _globs(value: object, key: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(g, str) and g.strip() for g in value):
        raise ConfigError(f"{key} must be a list of table name globs, e.g. ['_prisma_*', '*Snapshot']")
    if any("," in g for g in value):
        raise ConfigError(f"{key}: a glob cannot contain a comma")
    return [g.strip() for g in value]


def load_config(path: Path) -> Config:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not UTF-8 text ({error.reason})") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"{path}:{where}: invalid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys ({', '.join(KEYS)}), got {type(data).__name__}")

    lines = _key_lines(text)
    unknown = [key for key in data if key not in KEYS]
    if unknown:
        key = unknown[0]
        raise ConfigError(f"{path} line {lines.get(str(key), '?')}: unknown key {key!r}; "
                          f"known keys: {', '.join(KEYS)}")
    missing = [key for key in ("migration",) if key not in data]
    if missing:
        raise ConfigError(f"{path}: missing key {missing[0]!r} ({KEYS[missing[0]]})")

    try:
        migration = _name(data["migration"], "migration")
        schema = _name(data.get("schema", "public"), "schema")
        lock_timeout = str(data.get("lock_timeout", "5s")).strip()
        if not LOCK_TIMEOUT_PATTERN.match(lock_timeout):
            raise ConfigError(f"lock_timeout must be a duration like 5s, 500ms or 1min, got {lock_timeout!r}")
        tables = data.get("tables") or {}
        if not isinstance(tables, dict):
            raise ConfigError("tables must be a map of current name: target name")
        tables = {_name(source, "a table name in tables"): _name(target, f"the target of table {source!r}")
                  for source, target in tables.items()}
        unchanged = [source for source, target in tables.items() if source == target]
        if unchanged:
            raise ConfigError(f"table {unchanged[0]!r} is mapped to its own name; remove the entry")
        include, exclude = (_globs(data.get(key), key) for key in ("include", "exclude"))
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None
    return Config(path=path, migration=migration, schema=schema, lock_timeout=lock_timeout, tables=tables,
                  include=include, exclude=exclude)
