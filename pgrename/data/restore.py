"""Restoring a verified data backup in one transaction: parents before children
(sql/analysis/restore_order.sql), non-deferrable cycles bound late, bad rows set aside on request
(sql/restore/), sequences moved past the restored values."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import psycopg
import zstandard
from psycopg import sql
from psycopg.rows import dict_row
from tqdm import tqdm

from ..render import PROJECT_DIR
from .archive import DataBackupError, verify
from .tables import column_list, qualified, table_name

RESET_SEQUENCES = PROJECT_DIR / "sql" / "restore" / "reset_sequences.sql"
LATE_BOUND = PROJECT_DIR / "sql" / "restore" / "late_bound_foreign_keys.sql"
ROW_BY_ROW = PROJECT_DIR / "sql" / "restore" / "row_by_row.sql"
MODES = ("clean", "append", "upsert")

log = logging.getLogger("pgrename")


def _load(conn: psycopg.Connection, target: sql.Composable, entry: dict, path: Path) -> None:
    """One table's file into `target` by COPY, with a progress bar against the manifest's byte count."""
    query = sql.SQL("COPY {} ({}) FROM STDIN").format(target, column_list(entry["columns"]))
    with path.open("rb") as handle, zstandard.ZstdDecompressor().stream_reader(handle) as data, \
            conn.cursor().copy(query) as copy, \
            tqdm(desc=f"{entry['schema']}.{entry['table']}", total=entry["bytes"], unit="B", unit_scale=True,
                 leave=False, disable=None) as progress:
        for block in iter(lambda: data.read(1 << 20), b""):
            copy.write(block)
            progress.update(len(block))


@dataclass
class Restored:
    manifest: dict
    rejected: list[dict]          # rows left out by --continue-on-error, each with its table and error


def restore(conn: psycopg.Connection, directory: Path, mode: str, continue_on_error: bool = False,
            with_schema: bool = False) -> Restored:
    """Load a verified backup in one transaction: clean empties the tables first; append keeps rows
    whose primary key exists; upsert overwrites them. Parents load before children; foreign keys
    on a cycle are deferred to the commit where they can be and bound late where not; sequences end
    past the largest restored value. With continue_on_error a table whose load fails is loaded row
    by row, and the rows that fail are returned instead of stopping the restore. With with_schema
    the backup's schema is created first, in the same transaction: the target must not have it."""
    if mode not in MODES:
        raise DataBackupError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    manifest = verify(directory)
    entries = manifest["tables"]
    names = [table_name(e["schema"], e["table"]) for e in entries]
    if with_schema and not manifest.get("schema"):
        raise DataBackupError(f"{directory} holds no schema (it was taken with --data-only)")
    with conn.transaction():
        _prepare_target(conn, directory, manifest, with_schema)
        late = _late_boundcolumn_list(conn, entries, continue_on_error)
        # Continuing past bad rows needs every check at the row it concerns, not all at the commit.
        conn.execute("SET CONSTRAINTS ALL IMMEDIATE" if continue_on_error else "SET CONSTRAINTS ALL DEFERRED")
        if continue_on_error:
            conn.execute(ROW_BY_ROW.read_text())
        if mode == "clean" and names:
            if manifest.get("scope") or manifest.get("limits"):
                _refuse_to_empty_for_a_part(conn, manifest, names)
            conn.execute(sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(names)))
        for number, (entry, name) in enumerate(zip(entries, names), start=1):
            label = f"{entry['schema']}.{entry['table']}"
            columns = late.get((entry["schema"], entry["table"]), [])
            set_aside = 0
            if mode == "clean" and not columns and not continue_on_error:
                _load(conn, name, entry, directory / entry["file"])
            else:
                staging = sql.Identifier(f"pgrename_staging_{number}")
                conn.execute(sql.SQL("CREATE TEMPORARY TABLE {} (LIKE {}) ON COMMIT DROP").format(staging, name))
                _load(conn, staging, entry, directory / entry["file"])
                set_aside = _insert_staged(conn, entry, name, staging, mode, columns, continue_on_error)
                if not columns:
                    conn.execute(sql.SQL("DROP TABLE {}").format(staging))
            log.info("  %-48s %10d rows %s%s%s", label, entry["rows"] - set_aside,
                     "loaded" if mode == "clean" else mode + "ed", f", {set_aside} set aside" if set_aside else "",
                     f", {', '.join(columns)} set after the other tables" if columns else "")
        for number, (entry, name) in enumerate(zip(entries, names), start=1):
            columns = late.get((entry["schema"], entry["table"]))
            if columns:
                _bind_late(conn, entry, name, sql.Identifier(f"pgrename_staging_{number}"), columns,
                           continue_on_error)
        conn.execute(RESET_SEQUENCES.read_text())
        rejected = []
        if continue_on_error:
            with conn.cursor(row_factory=dict_row) as cur:
                rejected = cur.execute("SELECT * FROM pgrename_restore_error").fetchall()
    return Restored(manifest, rejected)


def _prepare_target(conn: psycopg.Connection, directory: Path, manifest: dict, with_schema: bool) -> None:
    """The backup's schema created where asked (never over tables that exist), then every table of
    the backup present; the load order handed to the SQL of sql/restore/ in a setting."""
    names = [qualified(e["schema"], e["table"]) for e in manifest["tables"]]
    if with_schema:
        present = conn.execute("SELECT array_agg(t) FROM unnest(%s::text[]) AS t WHERE to_regclass(t) IS NOT NULL",
                               (names,)).fetchone()[0]
        if present:
            raise DataBackupError(f"the target has {_some(present)} already: the schema restores "
                                  "into an empty database; leave out the schema to load the rows alone")
        conn.execute((directory / manifest["schema"]["file"]).read_text())
        log.info("  schema created from %s", manifest["schema"]["file"])
    missing = conn.execute("SELECT array_agg(t) FROM unnest(%s::text[]) AS t WHERE to_regclass(t) IS NULL",
                           (names,)).fetchone()[0]
    if missing:
        raise DataBackupError(f"the target lacks {_some(missing)}: restore the schema first "
                              "(make restore SCHEMA=1, or pg_dump --schema-only | psql)")
    conn.execute("SELECT set_config('pgrename.restored_tables', %s, true)", (json.dumps(names),))


def _refuse_to_empty_for_a_part(conn: psycopg.Connection, manifest: dict, names: list[sql.Composed]) -> None:
    """A scoped or limited backup holds part of each table: clean would empty whole tables and put
    back only that part. Allowed where the tables hold no rows yet."""
    holding = conn.execute(sql.SQL("SELECT array_remove(ARRAY[{}], NULL)").format(sql.SQL(", ").join(
        sql.SQL("(SELECT {} WHERE EXISTS (SELECT FROM {}))").format(sql.Literal(name.as_string(conn)), name)
        for name in names))).fetchone()[0]
    if holding:
        part = f"scope {manifest['scope']}" if manifest.get("scope") else "backup_limits"
        raise DataBackupError(f"this backup holds part of the data ({part}), and {_some(holding)} in the target "
                              "hold rows that clean would delete: use MODE=upsert or MODE=append, or restore "
                              "into an empty database")


def _some(tables: list[str]) -> str:
    """Tables named in a message: the first few, and how many more."""
    named = ", ".join(tables[:3]) + (f" and {len(tables) - 3} more" if len(tables) > 3 else "")
    return f"table{'s' if len(tables) > 1 else ''} {named}"


def _late_boundcolumn_list(conn: psycopg.Connection, entries: list[dict],
                        continue_on_error: bool) -> dict[tuple[str, str], list[str]]:
    """Per table, the columns that load as NULL and are set after every table is loaded."""
    with conn.cursor(row_factory=dict_row) as cur:
        found = cur.execute(LATE_BOUND.read_text()).fetchall()
    late: dict[tuple[str, str], list[str]] = {}
    by_table = {(e["schema"], e["table"]): e for e in entries}
    for key in found:
        table = (key["table_schema"], key["table_name"])
        if not by_table[table]["rows"] or (not continue_on_error and (key["deferrable"] or key["self_reference"])):
            continue
        if not key["columns_nullable"] or not by_table[table]["has_primary_key"]:
            why = "its columns are NOT NULL" if not key["columns_nullable"] else "the table has no primary key"
            raise DataBackupError(
                f"foreign key {key['constraint_name']} of {'.'.join(table)} points at a table loaded after it and "
                f"cannot be set later, as {why}: make it DEFERRABLE (ALTER TABLE ... ALTER CONSTRAINT ... DEFERRABLE)")
        late.setdefault(table, []).extend(c for c in key["columns"] if c not in late.get(table, []))
    return late


def _insert_staged(conn: psycopg.Connection, entry: dict, name: sql.Composed, staging: sql.Identifier, mode: str,
                   late_columns: list[str], continue_on_error: bool) -> int:
    """Staged rows into the table: late-bound columns NULL for now; append skips existing keys,
    upsert overwrites them. Returns how many rows were set aside."""
    if mode == "upsert" and not entry["has_primary_key"]:
        raise DataBackupError(f"{entry['schema']}.{entry['table']} has no primary key: upsert cannot tell rows "
                              "apart; use append or clean")
    key = column_list(entry["order_by"])
    if mode == "append" and late_columns:
        # Rows already there stay as they are, so the late binding below must not reach them.
        conn.execute(sql.SQL("DELETE FROM {} AS s WHERE ({}) IN (SELECT {} FROM {})").format(
            staging, sql.SQL(", ").join(sql.SQL("s.{}").format(sql.Identifier(c)) for c in entry["order_by"]),
            key, name))
    values = sql.SQL(", ").join(sql.SQL("NULL") if c in late_columns else sql.SQL("s.{}").format(sql.Identifier(c))
                                for c in entry["columns"])
    if mode == "clean" or not entry["has_primary_key"]:
        conflict = sql.SQL("")
    elif mode == "append":
        conflict = sql.SQL(" ON CONFLICT ({}) DO NOTHING").format(key)
    else:
        updates = [c for c in entry["columns"] if c not in entry["order_by"] and c not in late_columns]
        conflict = sql.SQL(" ON CONFLICT ({}) DO UPDATE SET {}").format(
            key, sql.SQL(", ").join(sql.SQL("{0} = excluded.{0}").format(sql.Identifier(c)) for c in updates)
        ) if updates else sql.SQL(" ON CONFLICT ({}) DO NOTHING").format(key)
    # OVERRIDING SYSTEM VALUE: the backup's values go into GENERATED ALWAYS identity columns too.
    head = sql.SQL("INSERT INTO {} ({}) OVERRIDING SYSTEM VALUE SELECT {} FROM {} AS s").format(
        name, column_list(entry["columns"]), values, staging)
    return _run_staged(conn, entry, staging, head, conflict, continue_on_error)


def _bind_late(conn: psycopg.Connection, entry: dict, name: sql.Composed, staging: sql.Identifier,
               columns: list[str], continue_on_error: bool) -> None:
    """Set the late-bound columns from the staged rows, now that every table they point to is loaded."""
    head = sql.SQL("UPDATE {} AS t SET {} FROM {} AS s WHERE {}").format(
        name, sql.SQL(", ").join(sql.SQL("{0} = s.{0}").format(sql.Identifier(c)) for c in columns), staging,
        sql.SQL(" AND ").join(sql.SQL("t.{0} = s.{0}").format(sql.Identifier(c)) for c in entry["order_by"]))
    if _run_staged(conn, entry, staging, head, sql.SQL(""), continue_on_error, filter_joiner=" AND "):
        log.warning("  %s.%s: some rows keep NULL in %s", entry["schema"], entry["table"], ", ".join(columns))


def _run_staged(conn: psycopg.Connection, entry: dict, staging: sql.Identifier, head: sql.Composed,
                tail: sql.Composable, continue_on_error: bool, filter_joiner: str = " WHERE ") -> int:
    """One statement over every staged row; with continue_on_error, if it fails, the same statement
    once per staged row (sql/restore/row_by_row.sql), its failures kept. Returns how many failed."""
    if not continue_on_error:
        conn.execute(head + tail)
        return 0
    try:
        with conn.transaction():
            conn.execute(head + tail)
        return 0
    except psycopg.Error as error:
        log.warning("  %s.%s: %s; trying its rows one at a time", entry["schema"], entry["table"],
                    str(error).splitlines()[0])
        one_row = (head + sql.SQL(filter_joiner + "s.ctid = $1") + tail).as_string(conn)
        return conn.execute("SELECT pg_temp.pgrename_row_by_row(%s, %s::regclass, %s)",
                            (f"{entry['schema']}.{entry['table']}", staging.as_string(conn), one_row)).fetchone()[0]
