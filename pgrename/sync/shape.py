"""The natural shape of each synced table: the config's natural keys laid over the catalog
(sql/analysis/sync_tables.sql). Surrogate columns are dropped, and each foreign key is written as
the natural key of the row it points at, so rows mean the same on machines whose ids differ."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import psycopg
from psycopg.rows import dict_row

from ..config import Sync
from ..data.tables import qualified, tables_in_order
from ..errors import EXIT_CHECK_FAILED, ConfigError, Failure
from ..locations import SQL_ROOT

SYNC_TABLES = SQL_ROOT / "sql" / "analysis" / "sync_tables.sql"


class SyncError(Failure):
    """An export or an import refused its input, or the database failed its validation; the
    message names the table, key and file."""

    exit_code = EXIT_CHECK_FAILED


@dataclass
class Reference:
    """A foreign key, written as the natural key of the row it points at."""
    constraint: str
    columns: list[str]              # the child's columns (ids here)
    parent: str                     # the parent table, unqualified
    parent_name: str                # and quoted, schema-qualified
    parent_columns: list[str]       # the columns the foreign key points at (the parent's ids)
    parent_key: list[str]           # the parent's natural key
    exported: list[str]             # the export's columns: the parent's key, one column each
    alias: str                      # the parent's alias in the natural query
    late: bool = False              # bound after every table is written (self reference, or cycle)
    numbered: bool = False          # a self reference to the surrogate: new rows get it as they are inserted


@dataclass
class Shape:
    schema: str
    table: str
    name: str                                   # quoted, schema-qualified
    key: list[str]                              # the natural key, as export columns
    key_columns: list[str]                      # and as the table's columns (a foreign key's: its ids)
    columns: list[dict]                         # export columns in order: {name, type, source, ...}
    references: list[Reference]
    logical: list[dict]                         # {column, parent, parent_column}: references by value
    dropped: list[str]                          # surrogates: serial and identity columns
    plain: list[str] = field(default_factory=list)  # columns exported as they are
    numbering: dict | None = None               # {column, next_value}: the surrogate new rows draw first

    @property
    def label(self) -> str:
        return f"{self.schema}.{self.table}"

    @property
    def column_names(self) -> list[str]:
        return [c["name"] for c in self.columns]

    def context(self) -> dict:
        """What the SQL templates of sql/sync/ need of this table."""
        written = self.plain + [c for r in self.references if not r.late for c in r.columns]
        references = [dataclasses.asdict(r) for r in self.references]
        return {"name": self.name, "label": self.label, "table": self.table, "key": self.key,
                "key_columns": self.key_columns, "columns": self.columns, "plain": self.plain,
                "dropped": self.dropped, "references": references,
                "late": [r for r in references if r["late"]], "logical": self.logical, "numbering": self.numbering,
                "written": written, "updated": [c for c in written if c not in self.key_columns]}


def catalog(conn: psycopg.Connection, schema: str) -> dict[str, dict]:
    conn.execute("SELECT set_config('pgrename.schemas', %s, false)", (schema,))
    with conn.cursor(row_factory=dict_row) as cur:
        return {row["table_name"]: row for row in cur.execute(SYNC_TABLES.read_text()).fetchall()}


def shapes(conn: psycopg.Connection, sync: Sync, schema: str) -> list[Shape]:
    """Every configured table's shape, parents before children (sql/analysis/restore_order.sql)."""
    found = catalog(conn, schema)
    missing = [name for name in sync.tables if name not in found]
    if missing:
        raise ConfigError(f"sync: tables: {missing[0]!r} is not a table of schema {schema!r}")
    order = [t["table_name"] for t in tables_in_order(conn, [schema], []) if t["table_name"] in sync.tables]
    position = {name: number for number, name in enumerate(order)}
    return [_shape(found[name], sync, found, schema, position) for name in order]


def _shape(table: dict, sync: Sync, found: dict, schema: str, position: dict) -> Shape:
    name, config = table["table_name"], sync.tables[table["table_name"]]
    types = {c["name"]: c for c in table["columns"]}
    where = f"sync: tables: {name}"
    for column in [*config.key, *config.references]:
        if column not in types:
            raise ConfigError(f"{where}: no column {column!r} in {schema}.{name}")
    references, by_column = [], {}
    for number, fk in enumerate(table["foreign_keys"], start=1):
        parent = fk["parent_table"]
        if parent not in sync.tables:
            raise ConfigError(f"{where}: foreign key {fk['name']} ({', '.join(fk['columns'])}) points at {parent}, "
                              "which sync: tables does not list: add it with its key, so its rows can be named")
        parent_key = list(sync.tables[parent].key)
        parent_types = {c["name"]: c for c in found[parent]["columns"]}
        if any(k in {c for f in found[parent]["foreign_keys"] for c in f["columns"]} for k in parent_key):
            raise ConfigError(f"{where}: foreign key {fk['name']} points at {parent}, whose key "
                              f"({', '.join(parent_key)}) holds a foreign key: name {parent} by columns of its own")
        if fk["parent_columns"] == parent_key:
            continue  # it points at the natural key already: written as it is
        exported = [f"{'+'.join(fk['columns'])}.{k}" for k in parent_key]
        reference = Reference(fk["name"], fk["columns"], parent, qualified(fk["parent_schema"], parent),
                              fk["parent_columns"], parent_key, exported, f"p{number}",
                              late=position[parent] >= position[name])
        if reference.late and any(types[c]["not_null"] for c in fk["columns"]) and not fk["deferrable"]:
            raise ConfigError(f"{where}: foreign key {fk['name']} points at {parent}, written after {name} or with it, "
                              f"and {', '.join(fk['columns'])} is NOT NULL: make it DEFERRABLE or nullable, so the "
                              "rows can be bound after they are all written")
        references.append(reference)
        for column in fk["columns"]:
            by_column[column] = (reference, [dict(parent_types[k], name=e, source="reference", alias=reference.alias,
                                                  parent_column=k) for k, e in zip(parent_key, exported)])
    columns, plain, dropped, emitted = [], [], [], set()
    for column in table["columns"]:
        if column["name"] in by_column:
            reference, exported = by_column[column["name"]]
            if reference.constraint not in emitted:
                emitted.add(reference.constraint)
                columns += exported
        elif column["surrogate"]:
            if column["name"] in config.key:
                raise ConfigError(f"{where}: key column {column['name']!r} is serial or identity: a machine's own "
                                "numbering, never the same elsewhere, is no natural key")
            dropped.append(column["name"])
        else:
            columns.append({"name": column["name"], "type": column["type"], "not_null": column["not_null"],
                            "source": "column"})
            plain.append(column["name"])
    key = list(dict.fromkeys(exported["name"] for column in config.key
                             for exported in (by_column[column][1] if column in by_column else [types[column]])))
    _check_key(table, config.key, where)
    logical = []
    for column, (parent, parent_column) in config.references.items():
        if parent not in sync.tables:
            raise ConfigError(f"{where}: references: {column} names {parent}, which sync: tables does not list")
        if parent_column not in {c["name"] for c in found[parent]["columns"]}:
            raise ConfigError(f"{where}: references: {column}: {parent} has no column {parent_column!r}")
        logical.append({"column": column, "parent": parent, "parent_name": qualified(schema, parent),
                        "parent_column": parent_column})
    next_values = {c["name"]: c["next_value"] for c in table["columns"] if c["next_value"]}
    numbering = None
    for reference in references:
        if reference.parent == name and len(reference.columns) == 1 and reference.parent_columns[0] in next_values:
            reference.numbered = True
            numbering = {"column": reference.parent_columns[0], "next_value": next_values[reference.parent_columns[0]]}
    late_keys = [r.constraint for r in references if r.late and set(r.columns) & set(config.key)]
    if late_keys:
        raise ConfigError(f"{where}: key ({', '.join(config.key)}) holds foreign key {late_keys[0]}, which points at "
                        f"{name} itself or a table written after it: key {name} by columns of its own")
    return Shape(schema, name, qualified(schema, name), key, list(config.key), columns, references, logical,
                 dropped, plain, numbering)


def _check_key(table: dict, configured: tuple[str, ...], where: str) -> None:
    """A natural key whose column may be NULL is one only where a unique index with NULLS NOT
    DISTINCT says two NULLs collide; otherwise two rows could share it."""
    types = {c["name"]: c for c in table["columns"]}
    nullable = [c for c in configured if not types[c]["not_null"]]
    if not nullable:
        return
    guarded = any(set(u["columns"]) == set(configured) and u["nulls_not_distinct"] for u in table["unique_keys"])
    if not guarded:
        raise ConfigError(f"{where}: key column {nullable[0]!r} of {table['table_schema']}.{table['table_name']} may be "
                        f"NULL and no unique index with NULLS NOT DISTINCT covers ({', '.join(configured)}): make it "
                        "NOT NULL, or add such an index")

