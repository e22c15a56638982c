"""Taking a data backup with COPY: every table the catalog lists (nothing hard-coded), or the rows a
scope or row limits choose (sql/backup/choose_rows.sql.j2), in key order so the same data always
gives the same files, zstd-compressed, from one snapshot, the manifest written last."""
from __future__ import annotations

import itertools
import json
import logging
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import psycopg
import sqlparse
import zstandard
from psycopg import sql
from tqdm import tqdm

from .. import VERSION
from ..backup import BackupFailed, schema_script, sha256_of
from ..config import BackupLimit
from ..json_output import iso_utc
from ..render import render, statements
from .archive import (
    CHOSEN_ROWS_FILE,
    FORMAT_VERSION,
    MANIFEST,
    SCHEMA_FILE,
    DataBackupError,
)
from .tables import column_list, qualified, table_name, tables_in_order

CHOOSE_ROWS = "sql/backup/choose_rows.sql.j2"
COMPRESSION_LEVEL = 3  # zstd output depends only on the input and the level: deterministic

log = logging.getLogger("pgrename")


@dataclass(frozen=True)
class Scope:
    """One tenant's rows: a table and a condition on it, e.g. `"Business".id = 42`."""
    table: str
    condition: str

    @classmethod
    def parse(cls, text: str) -> "Scope":
        """The table is the name the condition starts with (quoted or not), as in "Business".id=42."""
        match = re.match(r'\s*("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)\s*\.', text)
        if not match:
            raise DataBackupError(f"scope {text!r} must start with its table, e.g. '\"Business\".id = 42'")
        table = match.group(1)
        table = table[1:-1].replace('""', '"') if table.startswith('"') else table.lower()
        if any(token.match(sqlparse.tokens.Punctuation, ";") for token in sqlparse.parse(text)[0].flatten()):
            raise DataBackupError(f"scope {text!r} must be one condition, not several statements")
        return cls(table, text.strip())


def choose_rows(conn: psycopg.Connection, directory: Path, tables: list[dict], scope: Scope | None,
                limits: list[BackupLimit]) -> dict[tuple[str, str], str]:
    """Run sql/backup/choose_rows.sql.j2 for a scope or limits, keeping the rendered script in the
    backup for a reviewer; the tables it chose, each with why."""
    by_name = {t["table_name"]: t for t in tables}
    named = ([scope.table] if scope else []) + [limit.table for limit in limits]
    unknown = [name for name in named if name not in by_name]
    if unknown:
        raise DataBackupError(f"{unknown[0]!r} is not a table this backup covers; the scope and backup_limits "
                              "name tables of the configured schema that backup_exclude leaves in")
    for limit in limits:
        missing = [c for c in limit.by if c not in by_name[limit.table]["columns"]]
        if missing:
            raise DataBackupError(f"backup_limits of {limit.table!r}: no column {missing[0]!r}")
    context = {
        "tables": [qualified(t["table_schema"], t["table_name"]) for t in tables],
        "scope": scope and {"schema": by_name[scope.table]["table_schema"], "table": scope.table,
                            "qualified": qualified(by_name[scope.table]["table_schema"], scope.table),
                            "condition": scope.condition},
        "limits": [{"schema": by_name[l.table]["table_schema"], "table": l.table, "newest": l.newest, "by": l.by,
                    "qualified": qualified(by_name[l.table]["table_schema"], l.table),
                    "order_by": by_name[l.table]["order_by"]} for l in limits],
    }
    script = render(CHOOSE_ROWS, context).sql
    (directory / CHOSEN_ROWS_FILE).write_text(script)
    for statement in statements(script):
        cursor = conn.execute(statement)
        if cursor.description:
            log.info("  %s: %s", cursor.description[0].name.replace("_", " "), cursor.fetchone()[0])
    reasons = {limit.table: f"newest {limit.newest} by {', '.join(limit.by)}" for limit in limits}
    chosen = conn.execute("SELECT n.nspname, c.relname FROM pgrename_backup_table AS t "
                          "JOIN pg_class AS c ON c.oid = t.relid JOIN pg_namespace AS n ON n.oid = c.relnamespace")
    default = "scope" if scope else "rows whose parents are kept"
    return {(schema, name): reasons.get(name, default) for schema, name in chosen.fetchall()}


def backup(conn: psycopg.Connection, directory: Path, schemas: list[str], exclude: list[str],
           scope: Scope | None = None, limits: list[BackupLimit] = (), schema_from: str | None = None) -> dict:
    """Write every table's rows into `directory` (which must not exist) and the manifest last, all
    from one snapshot (REPEATABLE READ), so the files agree with each other as the database did.
    With schema_from (a conninfo), the schema too, by pg_dump from that same snapshot."""
    try:
        directory.mkdir(parents=True)
    except FileExistsError:
        raise DataBackupError(f"{directory} exists already; a backup never overwrites") from None
    entries = []
    try:
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            schema = None
            if schema_from is not None:
                snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
                (directory / SCHEMA_FILE).write_text(schema_script(schema_from, snapshot))
                schema = {"file": SCHEMA_FILE, "sha256": sha256_of(directory / SCHEMA_FILE)}
            tables = tables_in_order(conn, schemas, exclude)
            chosen = choose_rows(conn, directory, tables, scope, list(limits)) if scope or limits else {}
            for number, table in enumerate(tables, start=1):
                name = (table["table_schema"], table["table_name"])
                path = directory / f"{number:04d}.copy.zst"
                rows, raw_bytes = _write(conn, table, name in chosen, path)
                log.info("  %-48s %10d rows %12d bytes%s", ".".join(name), rows, raw_bytes,
                         f"  ({chosen[name]})" if chosen.get(name, "scope") != "scope" else "")
                entries.append({"schema": table["table_schema"], "table": table["table_name"], "file": path.name,
                                "columns": table["columns"], "order_by": table["order_by"],
                                "has_primary_key": table["has_primary_key"], "depth": table["depth"],
                                "in_cycle": table["in_cycle"], "rows": rows, "bytes": raw_bytes,
                                "chosen": chosen.get(name, "all rows"), "sha256": sha256_of(path)})
    except BackupFailed as error:
        shutil.rmtree(directory)
        raise DataBackupError(str(error)) from None
    except BaseException:
        shutil.rmtree(directory)  # made above, so nothing of the user's is lost: no half backup is left
        raise
    manifest = {"format_version": FORMAT_VERSION, "tool": "pgrename", "tool_version": VERSION,
                "server_version": conn.info.parameter_status("server_version"), "database": conn.info.dbname,
                "schemas": schemas, "exclude": exclude, "taken_at": iso_utc(),
                "scope": scope.condition if scope else None,
                "limits": {limit.table: {"newest": limit.newest, "by": limit.by} for limit in limits},
                "schema": schema, "tables": entries}
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def _write(conn: psycopg.Connection, table: dict, chosen: bool, path: Path) -> tuple[int, int]:
    """One table's rows (only those choose_rows kept, when it chose) as compressed COPY text."""
    name = table_name(table["table_schema"], table["table_name"])
    where = sql.SQL(" WHERE (tableoid, ctid) IN (SELECT row_table, row_ctid FROM pgrename_backup_row "
                    "WHERE relid = {}::regclass)").format(
        qualified(table["table_schema"], table["table_name"])) if chosen else sql.SQL("")
    query = sql.SQL("COPY (SELECT {} FROM {}{} ORDER BY {}) TO STDOUT").format(
        column_list(table["columns"]), name, where, column_list(table["order_by"]))
    return write_copy(conn, query, path, f"{table['table_schema']}.{table['table_name']}", table["estimated_rows"])


def write_copy(conn: psycopg.Connection, query: sql.Composable | str, path: Path, label: str,
               estimated_rows: int | None) -> tuple[int, int]:
    """What a COPY ... TO STDOUT gives, zstd-compressed into path, with a progress bar: (rows, bytes)."""
    rows = raw_bytes = 0
    pending = bytearray()  # COPY hands over a row at a time: the per-row work is this append only
    with path.open("wb") as handle, \
            zstandard.ZstdCompressor(level=COMPRESSION_LEVEL).stream_writer(handle, closefd=False) as out, \
            conn.cursor().copy(query) as copy, \
            tqdm(desc=label, total=estimated_rows,
                 unit=" rows", unit_scale=True, leave=False, disable=None) as progress:
        for block in itertools.chain(copy, [b""]):  # the empty block at the end flushes the rest
            pending += block
            if len(pending) >= 1 << 20 or not block:
                out.write(pending)
                written = pending.count(b"\n")  # COPY text: one line a row, newlines in values escaped
                rows += written
                raw_bytes += len(pending)
                if progress.total is not None and rows > progress.total:
                    progress.total = rows  # the estimate was low: the bar ends at what is known
                progress.set_postfix_str(f"{raw_bytes / 1e6:.1f} MB", refresh=False)
                progress.update(written)
                pending.clear()
    return rows, raw_bytes
