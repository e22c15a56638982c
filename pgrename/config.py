"""config.yaml: what to rename and how carefully, validated before anything connects."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import ConfigError

KEYS = {
    "migration": "name recorded in pgrename.history; one migration per name",
    "schema": "schema whose tables are renamed; a table named without a schema is in it (default public)",
    "schemas": "several schemas in one migration: the schemas analyze looks at, and whose tables tables: may name as schema.Table (default: [schema])",
    "lock_timeout": "longest wait for any lock, e.g. 5s or 500ms",
    "lock_retries": "how many times to try again after a lock was not granted (default 3)",
    "retry_wait": "wait before the first retry; it doubles each time (default 2s)",
    "statement_timeout": "longest any one statement may run (default 5min; 0 for none)",
    "terminate_blockers_after": "end sessions that block the migration and whose transaction is older than this (default: never)",
    "tables": "map of current table name (schema.Table for a table of another listed schema) to target table name",
    "include": "globs: analyze considers only the tables they match",
    "exclude": "globs: analyze never proposes the tables they match",
    "enums": "enum types to create: name: [values]",
    "columns": "per table (current name): rename: {old: new}, add: {name: {type, not_null, default, ...}}",
    "column_rule": "snake_case: rename every column by the naming rule too (default none: columns keep their names)",
    "object_names": "table_prefix (default: names that start with the table's are renamed by swapping it) or postgres_defaults (every constraint, index and owned sequence gets PostgreSQL's own name)",
    "rename_objects": "now (default: migrate renames the constraints, indexes, sequences and triggers) or at_contract (they keep their old names, for old clients that name them, until make contract)",
    "keep_names": "constraints, indexes, sequences or triggers that keep their names, e.g. [PK_Album]",
    "partitions": "leave (default) or rename: partitions named after their table are renamed with it",
    "compatibility_views": "keep old clients working through views named like the old tables (default true)",
    "merges": "legacy tables whose rows move into another: [{from, into, key, on_conflict, columns}]",
    "contract": "a Prisma schema the database must match after migrate (make verify checks it)",
    "backup_exclude": "globs: tables `make backup` leaves out (e.g. _prisma_migrations, *Snapshot)",
    "backup_limits": "per table: {newest: N, by: column or [columns]}: `make backup` keeps only those rows",
    "migration_sets": "numbered migrations: {directory, packages: {name: 000-018, ...}} (make sets-status, sets-migrate, ...)",
    "sync": "natural-key sync: {namespace, tables: {table: [key columns] or {key, references}}, delete_cap, checks} (make export, import, validate)",
    "profile": "development, staging or production (PGRENAME_PROFILE or --profile override it)",
    "profiles": "per profile: auto_backup, dry_run_default, require_approval, backup_scope, hooks",
}
DEFAULT_LOCK_TIMEOUT = "5s"  # also what a command that needs no config waits for another run
PROFILE_KEYS = {"auto_backup", "dry_run_default", "require_approval", "backup_scope", "backup_jobs", "hooks"}
HOOK_KEYS = {"before_migrate", "after_migrate", "before_rollback", "after_rollback", "health_checks",
             "rollback_on_failed_health_check", "timeout"}
DEFAULT_PROFILES = {
    "development": {"auto_backup": False, "dry_run_default": False, "require_approval": False},
    "staging": {"auto_backup": True, "dry_run_default": False, "require_approval": False},
    "production": {"auto_backup": True, "dry_run_default": True, "require_approval": True},
}


@dataclass(frozen=True)
class HealthCheck:
    sql: str | None               # a query that must return a row whose first value is true
    command: str | None           # or a shell command that must exit 0


@dataclass(frozen=True)
class Hooks:
    before_migrate: list[str] = field(default_factory=list)     # shell commands
    after_migrate: list[str] = field(default_factory=list)
    before_rollback: list[str] = field(default_factory=list)
    after_rollback: list[str] = field(default_factory=list)
    health_checks: list[HealthCheck] = field(default_factory=list)
    rollback_on_failed_health_check: bool = False
    timeout: str = "60s"


@dataclass(frozen=True)
class Profile:
    name: str
    auto_backup: bool = False
    dry_run_default: bool = False
    require_approval: bool = False
    backup_scope: str = "database"  # or tables: only the tables the migration touches
    hooks: Hooks = field(default_factory=Hooks)
    backup_jobs: int = 1            # more: a directory-format dump by that many parallel workers
ADD_COLUMN_KEYS = {"type", "not_null", "default", "default_sql", "references", "on_delete", "on_update"}
MERGE_KEYS = {"from", "into", "key", "on_conflict", "columns"}
LOCK_TIMEOUT_PATTERN = re.compile(r"^\d+\s*(ms|s|min)?$")
# What a column type may look like when written into DDL: a plain type name with an optional
# modifier and array brackets (text, boolean, timestamp(3), numeric(10, 2), character varying(255), text[]).
TYPE_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_ ]*(\(\s*\d+\s*(,\s*\d+\s*)?\))?(\[\])?$")
# A default that is an expression rather than a value: a bare SQL function or keyword.
DEFAULT_SQL_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\(\))?$")
# What a foreign key does when the row it references is deleted or its key updated.
REFERENTIAL_ACTIONS = {"cascade": "CASCADE", "set null": "SET NULL", "restrict": "RESTRICT", "no action": "NO ACTION"}


@dataclass(frozen=True)
class AddedColumn:
    table: str                    # the table's key in tables (current name, schema-qualified if not in schema)
    name: str
    type: str                     # checked against TYPE_PATTERN, or an enum of this config
    type_is_enum: bool
    not_null: bool
    default: object | None        # a value, sent as a literal
    default_sql: str | None       # or an expression such as CURRENT_TIMESTAMP
    references: str | None        # a table's key in tables, or a name in the same schema; its primary key is referenced
    on_delete: str | None
    on_update: str | None = None


@dataclass(frozen=True)
class Merge:
    source: str                   # keys in tables (current names), both in one schema
    into: str
    key: list[str]                # columns of `into` (new names) that identify a row
    on_conflict: str              # skip or update
    columns: dict[str, str]       # column of `into` (new name): column of `source` (new name), or an
                                  # SQL expression over the source row (see is_expression)


PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


def is_expression(value: str) -> bool:
    """A merge's column value: a plain name is a column of the source, quoted as an identifier;
    anything else ("'legacy_' || id", a quoted "conversationId", coalesce(...)) is SQL."""
    return not PLAIN_NAME.fullmatch(value)


@dataclass(frozen=True)
class BackupLimit:
    table: str
    newest: int                   # rows kept
    by: list[str]                 # columns, largest first


@dataclass(frozen=True)
class MigrationSets:
    directory: Path                           # NNN_slug.sql here, rollback/ and verify/ beside them
    packages: dict[str, tuple[int, int]]      # name: (first number, last number), in number order


@dataclass(frozen=True)
class SyncTable:
    name: str
    key: tuple[str, ...]                       # its natural key: its columns (a foreign key's: the parent's key)
    references: dict[str, tuple[str, str]]     # column: (table, column) it names by value, not declared as a FK


@dataclass(frozen=True)
class Sync:
    namespace: str                             # whose rows an import writes: replace deletes only these
    tables: dict[str, SyncTable]
    delete_cap: int                            # replace deletes at most this many rows unless approved
    checks: Path | None                        # a folder of SQL files, each returning the rows that violate it


@dataclass(frozen=True)
class Config:
    path: Path
    migration: str | None  # None: the config is for sets, sync or backups alone (require_migration says so)
    schema: str
    lock_timeout: str
    tables: dict[str, str]
    lock_retries: int = 3
    retry_wait: str = "2s"
    statement_timeout: str = "5min"
    terminate_blockers_after: str | None = None
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    enums: dict[str, list[str]] = field(default_factory=dict)
    column_renames: dict[str, dict[str, str]] = field(default_factory=dict)
    added_columns: list[AddedColumn] = field(default_factory=list)
    compatibility_views: bool = True
    column_rule: str | None = None
    object_names: str = "table_prefix"
    rename_objects: str = "now"
    keep_names: list[str] = field(default_factory=list)
    partitions: str = "leave"
    profile: Profile = field(default_factory=lambda: Profile("development"))
    schemas: tuple[str, ...] = ()              # the listed schemas, schema first
    backup_exclude: list[str] = field(default_factory=list)
    backup_limits: list[BackupLimit] = field(default_factory=list)
    merges: list[Merge] = field(default_factory=list)
    contract: Path | None = None
    migration_sets: MigrationSets | None = None
    sync: Sync | None = None

    def __post_init__(self) -> None:
        if not self.schemas:  # a Config built in code (bench) with schema alone
            object.__setattr__(self, "schemas", (self.schema,))

    def require_migration(self, command: str) -> None:
        """The commands that plan, apply or undo the rename migration need its name."""
        if self.migration is None:
            raise ConfigError(f"{self.path}: missing key 'migration' ({KEYS['migration']}): `{command}` runs the "
                              "rename migration it names (exports, imports, sets and backups need none)")

    @property
    def table_keys(self) -> TableKeys:
        return TableKeys(self.schema, self.schemas)


@dataclass(frozen=True)
class TableKeys:
    """How tables: names a table: "sales.Customer" is table Customer of schema sales when sales is
    listed in schemas; any other name is a table of schema. sql/analysis/*.sql read pgrename.map's
    keys by the same rule."""
    schema: str
    schemas: tuple[str, ...]

    def locate(self, key: str) -> tuple[str, str]:
        """The schema and current name of the table a key names."""
        prefix, dot, name = key.partition(".")
        return (prefix, name) if dot and prefix in self.schemas else (self.schema, key)

    def key(self, table_schema: str, table_name: str) -> str:
        """A table's key: its name, qualified when it is not in schema (or its name reads as qualified)."""
        if table_schema == self.schema and self.locate(table_name) == (self.schema, table_name):
            return table_name
        return f"{table_schema}.{table_name}"

    def canonical(self, written: str, where: str) -> str:
        """The key of the table a config entry names, however it was written (User, public.User)."""
        prefix, dot, _ = written.partition(".")
        if dot and prefix not in self.schemas:
            raise ConfigError(f"{where}: {written!r}: schema {prefix!r} is not in schemas: "
                              f"[{', '.join(self.schemas)}]; list it there (a table whose own name has a '.' is "
                              f"written with its schema: {self.schema}.{written})")
        return self.key(*self.locate(written))


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


def _duration(value: object, key: str) -> str:
    text = str(value).strip()
    if not LOCK_TIMEOUT_PATTERN.match(text):
        raise ConfigError(f"{key} must be a duration like 5s, 500ms or 1min, got {text!r}")
    return text


def seconds(duration: str) -> float:
    """A duration of this config (500ms, 5s, 1min; a bare number is milliseconds, as in PostgreSQL)."""
    number, unit = re.match(r"^(\d+)\s*(ms|s|min)?$", duration).groups()
    return int(number) * {"ms": 0.001, "s": 1, "min": 60, None: 0.001}[unit]


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


def _backup_limits(value: object) -> list[BackupLimit]:
    limits = []
    for table, limit in _mapping(value, "backup_limits").items():
        what = f"backup_limits of {table!r}"
        limit = _mapping(limit, what)
        unknown = sorted(set(limit) - {"newest", "by"})
        if unknown or "newest" not in limit or "by" not in limit:
            raise ConfigError(f"{what} takes newest and by, e.g. {{newest: 1000, by: createdAt}}"
                              + (f"; unknown key {unknown[0]!r}" if unknown else ""))
        newest = limit["newest"]
        if not isinstance(newest, int) or isinstance(newest, bool) or newest < 0:
            raise ConfigError(f"{what}: newest must be a whole number of rows, got {newest!r}")
        by = [limit["by"]] if isinstance(limit["by"], str) else limit["by"]
        if not isinstance(by, list) or not by:
            raise ConfigError(f"{what}: by must be a column or a list of columns")
        limits.append(BackupLimit(_name(table, "a table in backup_limits"), newest,
                                  [_name(column, f"{what}: a column in by") for column in by]))
    return limits


def _profile(value: object, name: object) -> Profile:
    profiles = {key: dict(settings) for key, settings in DEFAULT_PROFILES.items()}
    for key, settings in _mapping(value, "profiles").items():
        settings = _mapping(settings, f"profile {key!r}")
        unknown = set(settings) - PROFILE_KEYS
        if unknown:
            raise ConfigError(f"profile {key!r}: unknown key {sorted(unknown)[0]!r}; "
                              f"known keys: {', '.join(sorted(PROFILE_KEYS))}")
        profiles.setdefault(key, {}).update(settings)
    if name not in profiles:
        raise ConfigError(f"profile {name!r} is not defined; profiles: {', '.join(profiles)}")
    settings = profiles[name]
    for key in ("auto_backup", "dry_run_default", "require_approval"):
        if not isinstance(settings.get(key, False), bool):
            raise ConfigError(f"profile {name!r}: {key} must be true or false")
    scope = settings.get("backup_scope", "database")
    if scope not in ("database", "tables"):
        raise ConfigError(f"profile {name!r}: backup_scope must be database or tables")
    jobs = settings.get("backup_jobs", 1)
    if not isinstance(jobs, int) or isinstance(jobs, bool) or not 1 <= jobs <= 64:
        raise ConfigError(f"profile {name!r}: backup_jobs must be a whole number from 1 to 64")
    return Profile(name, settings.get("auto_backup", False), settings.get("dry_run_default", False),
                   settings.get("require_approval", False), scope, _hooks(settings.get("hooks"), name), jobs)


def _hooks(value: object, profile: str) -> Hooks:
    where = f"profile {profile!r}: hooks"
    hooks = _mapping(value, where)
    unknown = set(hooks) - HOOK_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r}; known keys: {', '.join(sorted(HOOK_KEYS))}")

    def commands(key: str) -> list[str]:
        found = hooks.get(key) or []
        found = [found] if isinstance(found, str) else found
        if not isinstance(found, list) or not all(isinstance(c, str) and c.strip() for c in found):
            raise ConfigError(f"{where}: {key} must be a list of shell commands")
        return found

    checks = []
    for check in hooks.get("health_checks") or []:
        check = _mapping(check, f"{where}: a health check")
        if set(check) - {"sql", "command"} or len(check) != 1:
            raise ConfigError(f"{where}: a health check is {{sql: QUERY}} or {{command: SHELL COMMAND}}")
        checks.append(HealthCheck(check.get("sql"), check.get("command")))
    rollback_on_failure = hooks.get("rollback_on_failed_health_check", False)
    if not isinstance(rollback_on_failure, bool):
        raise ConfigError(f"{where}: rollback_on_failed_health_check must be true or false")
    return Hooks(commands("before_migrate"), commands("after_migrate"), commands("before_rollback"),
                 commands("after_rollback"), checks, rollback_on_failure,
                 _duration(hooks.get("timeout", "60s"), f"{where}: timeout"))


def load_config(path: Path, profile_name: str | None = None) -> Config:
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
    try:
        migration = _name(data["migration"], "migration") if "migration" in data else None
        schema, schemas = _schemas(data.get("schema"), data.get("schemas"))
        lock_timeout = _duration(data.get("lock_timeout", DEFAULT_LOCK_TIMEOUT), "lock_timeout")
        retry_wait = _duration(data.get("retry_wait", "2s"), "retry_wait")
        statement_timeout = _duration(data.get("statement_timeout", "5min"), "statement_timeout")
        terminate_after = data.get("terminate_blockers_after")
        terminate_after = None if terminate_after is None else _duration(terminate_after, "terminate_blockers_after")
        lock_retries = data.get("lock_retries", 3)
        if not isinstance(lock_retries, int) or isinstance(lock_retries, bool) or not 0 <= lock_retries <= 100:
            raise ConfigError(f"lock_retries must be a whole number from 0 to 100, got {lock_retries!r}")
        tables = data.get("tables") or {}
        if not isinstance(tables, dict):
            raise ConfigError("tables must be a map of current name: target name")
        keys = TableKeys(schema, schemas)
        named = {}
        for source, target in tables.items():
            key = keys.canonical(_name(source, "a table name in tables"), "tables")
            if key in named:
                raise ConfigError(f"tables: {source!r} names the table {key!r} names too; give it once")
            named[key] = _name(target, f"the target of table {source!r}")
        tables = named
        dotted = [(source, target) for source, target in tables.items() if "." in target]
        if dotted:
            source, target = dotted[0]
            raise ConfigError(f"the target of table {source!r} is {target!r}: a target is a table name in the "
                              f"table's own schema ({keys.locate(source)[0]!r}), and a '.' in it would be taken "
                              "literally. Moving a table to another schema (ALTER TABLE ... SET SCHEMA) is not a "
                              "rename, and pgrename does not do it")
        unchanged = [source for source, target in tables.items() if keys.locate(source)[1] == target]
        if unchanged:
            raise ConfigError(f"table {unchanged[0]!r} is mapped to its own name; remove the entry")
        include, exclude, backup_exclude = (_globs(data.get(key), key)
                                            for key in ("include", "exclude", "backup_exclude"))
        backup_limits = _backup_limits(data.get("backup_limits"))
        enums = _enums(data.get("enums"))
        column_renames, added_columns = _columns(data.get("columns"), tables, enums, keys)
        compatibility_views = data.get("compatibility_views", True)
        if not isinstance(compatibility_views, bool):
            raise ConfigError("compatibility_views must be true or false")
        merges = _merges(data.get("merges"), tables, keys)
        profile = _profile(data.get("profiles"), profile_name or data.get("profile", "development"))
        column_rule = _choice(data, "column_rule", ("none", "snake_case"))
        if data.get("object_names") == "at_contract":
            raise ConfigError("object_names says what the objects are named (table_prefix or postgres_defaults); "
                              "when they are renamed is rename_objects: at_contract")
        object_names = _choice(data, "object_names", ("table_prefix", "postgres_defaults"))
        rename_objects = _choice(data, "rename_objects", ("now", "at_contract"))
        if rename_objects == "at_contract" and not compatibility_views:
            raise ConfigError("rename_objects: at_contract keeps the old object names for old clients, which reach "
                              "the tables through the compatibility views; with compatibility_views: false nothing "
                              "would use them. Set compatibility_views: true, or rename_objects: now")
        partitions = _choice(data, "partitions", ("leave", "rename"))
        keep_names = data.get("keep_names") or []
        if not isinstance(keep_names, list):
            raise ConfigError("keep_names must be a list of object names, e.g. [PK_Album, IFK_AlbumArtistId]")
        keep_names = [_name(name, "a name in keep_names") for name in keep_names]
        contract = data.get("contract")
        if contract is not None:
            contract = (path.parent / _name(contract, "contract")).resolve()
        migration_sets = _migration_sets(data.get("migration_sets"), path.parent)
        sync = _sync(data.get("sync"), path.parent)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None
    return Config(path=path, migration=migration, schema=schema, schemas=schemas, lock_timeout=lock_timeout, tables=tables,
                  lock_retries=lock_retries, retry_wait=retry_wait, statement_timeout=statement_timeout,
                  terminate_blockers_after=terminate_after,
                  include=include, exclude=exclude, enums=enums, column_renames=column_renames,
                  added_columns=added_columns, compatibility_views=compatibility_views, merges=merges,
                  contract=contract, column_rule=None if column_rule == "none" else column_rule,
                  object_names=object_names, rename_objects=rename_objects, keep_names=keep_names, partitions=partitions, profile=profile,
                  backup_exclude=backup_exclude, backup_limits=backup_limits, migration_sets=migration_sets,
                  sync=sync)


def _schemas(schema: object, schemas: object) -> tuple[str, tuple[str, ...]]:
    """schema (where unqualified names are) and every listed schema, schema first."""
    if schemas is None:
        schema = _name("public" if schema is None else schema, "schema")
        listed = [schema]
    else:
        if not isinstance(schemas, list) or not schemas:
            raise ConfigError("schemas must be a list of schema names, e.g. [public, sales]")
        listed = [_name(s, "a schema in schemas") for s in schemas]
        twice = sorted({s for s in listed if listed.count(s) > 1})
        if twice:
            raise ConfigError(f"schemas: {twice[0]!r} is listed twice")
        schema = listed[0] if schema is None else _name(schema, "schema")
        if schema not in listed:
            raise ConfigError(f"schema {schema!r} (where tables named without a schema are) is not in schemas: "
                              f"[{', '.join(listed)}]; list it there, or leave schema out (the first listed is used)")
    commas = [s for s in listed if "," in s]
    if commas:
        raise ConfigError(f"schema {commas[0]!r}: a schema name with a comma cannot be listed "
                          "(pgrename.schemas is comma-separated)")
    return schema, tuple([schema] + [s for s in listed if s != schema])


PACKAGE_RANGE = re.compile(r"^(\d+)\s*-\s*(\d+)$|^(\d+)\s*\+$")


def _migration_sets(value: object, base: Path) -> MigrationSets | None:
    """Where the numbered migrations are, and their packages: number ranges that do not overlap."""
    if value is None:
        return None
    value = _mapping(value, "migration_sets")
    unknown = sorted(set(value) - {"directory", "packages"})
    if unknown:
        raise ConfigError(f"migration_sets: unknown key {unknown[0]!r}; known keys: directory, packages")
    directory = (base / _name(value.get("directory"), "migration_sets: directory")).resolve()
    packages: dict[str, tuple[int, int]] = {}
    for name, span in _mapping(value.get("packages"), "migration_sets: packages").items():
        match = PACKAGE_RANGE.match(str(span).strip())
        if not match:
            raise ConfigError(f"migration_sets: package {name!r}: {span!r} is not a range such as 000-018 or 040+")
        first, last = (int(match.group(1)), int(match.group(2))) if match.group(1) else (int(match.group(3)), 10 ** 9)
        if first > last:
            raise ConfigError(f"migration_sets: package {name!r} starts at {first}, after its end {last}")
        packages[str(name)] = (first, last)
    if not packages:
        raise ConfigError("migration_sets: packages must name at least one range, e.g. {A: 000-018}")
    spans = sorted(packages.items(), key=lambda item: item[1])
    for (name, (_, last)), (other, (first, _)) in zip(spans, spans[1:]):
        if first <= last:
            raise ConfigError(f"migration_sets: packages {name!r} and {other!r} overlap at {first}")
    return MigrationSets(directory, dict(spans))


SYNC_KEYS = ("namespace", "tables", "delete_cap", "checks")


def _sync(value: object, base: Path) -> Sync | None:
    """Which tables natural-key sync moves, each with its natural key and the references it makes by value."""
    if value is None:
        return None
    value = _mapping(value, "sync")
    unknown = sorted(set(value) - set(SYNC_KEYS))
    if unknown:
        raise ConfigError(f"sync: unknown key {unknown[0]!r}; known keys: {', '.join(SYNC_KEYS)}")
    namespace = _name(value.get("namespace"), "sync: namespace")
    tables = {}
    for name, spec in _mapping(value.get("tables"), "sync: tables").items():
        name = _name(name, "a table name in sync: tables")
        where = f"sync: tables: {name}"
        spec = {"key": spec} if isinstance(spec, (list, str)) else _mapping(spec, where)
        unknown = sorted(set(spec) - {"key", "references"})
        if unknown:
            raise ConfigError(f"{where}: unknown key {unknown[0]!r}; known keys: key, references")
        key = spec.get("key")
        key = [key] if isinstance(key, str) else key
        if not isinstance(key, list) or not key:
            raise ConfigError(f"{where}: key must name its natural key's columns, e.g. [xmlid]")
        references = {}
        for column, target in _mapping(spec.get("references"), f"{where}: references").items():
            parts = target.split(".") if isinstance(target, str) else []
            if len(parts) != 2 or not all(parts):
                raise ConfigError(f"{where}: references: {column}: {target!r} must be table.column, e.g. events.xmlid")
            references[_name(column, f"{where}: a column in references")] = (parts[0], parts[1])
        tables[name] = SyncTable(name, tuple(_name(c, f"{where}: a key column") for c in key), references)
    if not tables:
        raise ConfigError("sync: tables must name at least one table with its key, e.g. {locations: [xmlid]}")
    delete_cap = value.get("delete_cap", 100)
    if not isinstance(delete_cap, int) or isinstance(delete_cap, bool) or delete_cap < 0:
        raise ConfigError(f"sync: delete_cap must be a whole number of rows, got {delete_cap!r}")
    checks = value.get("checks")
    return Sync(namespace, tables, delete_cap, None if checks is None else (base / _name(checks, "sync: checks")).resolve())


def _choice(data: dict, key: str, choices: tuple[str, ...]) -> str:
    """A key that takes one of a few words; the first is the default."""
    value = data.get(key, choices[0])
    if value not in choices:
        raise ConfigError(f"{key} must be {' or '.join(choices)}, got {value!r}")
    return value


def _mapping(value: object, what: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{what} must be a map")
    return value


def _enums(value: object) -> dict[str, list[str]]:
    enums = {}
    for name, labels in _mapping(value, "enums").items():
        _name(name, "an enum name")
        if not isinstance(labels, list) or not labels or not all(isinstance(v, str) and v for v in labels):
            raise ConfigError(f"enum {name!r} must list its values, e.g. [USER, ADMIN]")
        if len(set(labels)) != len(labels):
            raise ConfigError(f"enum {name!r} lists a value twice")
        enums[name] = labels
    return enums


def _columns(value: object, tables: dict[str, str], enums: dict,
             keys: TableKeys) -> tuple[dict, list[AddedColumn]]:
    renames: dict[str, dict[str, str]] = {}
    added: list[AddedColumn] = []
    for table, changes in _mapping(value, "columns").items():
        table = keys.canonical(_name(table, "a table in columns"), "columns")
        if table not in tables:
            raise ConfigError(f"columns: table {table!r} is not in tables (use its current name)")
        changes = _mapping(changes, f"columns of {table!r}")
        unknown = set(changes) - {"rename", "add"}
        if unknown:
            raise ConfigError(f"columns of {table!r}: unknown key {sorted(unknown)[0]!r}; known keys: rename, add")
        table_renames = {}
        for old, new in _mapping(changes.get("rename"), f"columns of {table!r}: rename").items():
            _name(old, f"a column of {table!r}")
            _name(new, f"the new name of column {table}.{old}")
            if old == new:
                raise ConfigError(f"column {table}.{old} is renamed to its own name")
            table_renames[old] = new
        if table_renames:
            renames[table] = table_renames
        for column, spec in _mapping(changes.get("add"), f"columns of {table!r}: add").items():
            added.append(_added_column(table, _name(column, f"a column added to {table!r}"), spec, enums, keys))
    return renames, added


def _added_column(table: str, column: str, spec: object, enums: dict, keys: TableKeys) -> AddedColumn:
    where = f"column {table}.{column}"
    spec = _mapping(spec, where)
    unknown = set(spec) - ADD_COLUMN_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r}; known keys: {', '.join(sorted(ADD_COLUMN_KEYS))}")
    column_type = _name(spec.get("type"), f"{where}: type")
    is_enum = column_type in enums
    if not is_enum and not TYPE_PATTERN.match(column_type):
        raise ConfigError(f"{where}: type {column_type!r} is neither an enum of this config nor a plain type "
                          "name such as text, boolean, integer, timestamp(3), numeric(10, 2)")
    if "default" in spec and "default_sql" in spec:
        raise ConfigError(f"{where}: give default (a value) or default_sql (an expression), not both")
    default = spec.get("default")
    if default is not None and not isinstance(default, (str, int, float, bool)):
        raise ConfigError(f"{where}: default must be a single value")
    if is_enum and default is not None and default not in enums[column_type]:
        raise ConfigError(f"{where}: default {default!r} is not a value of enum {column_type}")
    default_sql = spec.get("default_sql")
    if default_sql is not None and not DEFAULT_SQL_PATTERN.match(str(default_sql)):
        raise ConfigError(f"{where}: default_sql must be a bare SQL function or keyword such as "
                          f"CURRENT_TIMESTAMP or now(), got {default_sql!r}")
    not_null = spec.get("not_null", False)
    if not isinstance(not_null, bool):
        raise ConfigError(f"{where}: not_null must be true or false")
    references = spec.get("references")
    if references is not None:
        references = keys.canonical(_name(references, f"{where}: references"), f"{where}: references")
    actions = {}
    for key in ("on_delete", "on_update"):
        action = spec.get(key)
        if action is not None:
            if references is None:
                raise ConfigError(f"{where}: {key} needs references")
            if str(action).lower() not in REFERENTIAL_ACTIONS:
                raise ConfigError(f"{where}: {key} must be one of {', '.join(REFERENTIAL_ACTIONS)}")
            action = REFERENTIAL_ACTIONS[str(action).lower()]
        actions[key] = action
    return AddedColumn(table, column, column_type, is_enum, not_null, default, default_sql, references, **actions)


def _merges(value: object, tables: dict[str, str], keys: TableKeys) -> list[Merge]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError("merges must be a list of {from, into, key, on_conflict, columns}")
    merges = []
    for number, spec in enumerate(value, start=1):
        where = f"merge {number}"
        spec = _mapping(spec, where)
        unknown = set(spec) - MERGE_KEYS
        if unknown:
            raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r}; known keys: {', '.join(sorted(MERGE_KEYS))}")
        source, into = (keys.canonical(_name(spec.get(k), f"{where}: {k}"), f"{where}: {k}") for k in ("from", "into"))
        for table in (source, into):
            if table not in tables:
                raise ConfigError(f"{where}: table {table!r} is not in tables (use its current name)")
        if keys.locate(source)[0] != keys.locate(into)[0]:
            raise ConfigError(f"{where}: {source!r} and {into!r} are in different schemas; a merge moves rows "
                              "between two tables of one schema")
        columns = {_name(k, f"{where}: a column"): _name(v, f"{where}: columns: {k}") for k, v in
                   _mapping(spec.get("columns"), f"{where}: columns").items()}
        if not columns:
            raise ConfigError(f"{where}: columns must map columns of {into!r} to columns of {source!r} "
                              "or SQL expressions over its rows")
        for column, value in columns.items():
            if is_expression(value) and ";" in value:
                raise ConfigError(f"{where}: columns: {column}: an expression is one SQL expression; "
                                  f"';' is refused: {value!r}")
        key = spec.get("key")
        key = [key] if isinstance(key, str) else key
        if not isinstance(key, list) or not key or not all(k in columns for k in key):
            raise ConfigError(f"{where}: key must name columns of {into!r} that columns maps")
        on_conflict = spec.get("on_conflict", "skip")
        if on_conflict not in ("skip", "update"):
            raise ConfigError(f"{where}: on_conflict must be skip or update")
        merges.append(Merge(source, into, key, on_conflict, columns))
    # pgrename.merged_row and merge_progress name a merge's tables without their schema
    pairs = [(tables[m.source], tables[m.into]) for m in merges]
    twice = next((pair for pair in pairs if pairs.count(pair) > 1), None)
    if twice:
        raise ConfigError(f"two merges move {twice[0]} into {twice[1]} (in different schemas); pgrename records a "
                          "merge by those names alone: rename one of the pairs differently, or merge in two migrations")
    return merges
