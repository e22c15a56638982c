"""Data backups with COPY: every table the catalog lists (nothing hard-coded), or the rows a scope
or row limits choose (sql/backup/choose_rows.sql.j2), in primary-key order so the same data always
gives the same files, zstd-compressed, described by a manifest with row counts and SHA-256
checksums that are verified before any restore, and compared key by key by diff(). Restores load
parents before children (sql/analysis/restore_order.sql) in one transaction, bind non-deferrable
cycles late, and can set bad rows aside (sql/restore/)."""
from __future__ import annotations

import itertools
import json
import logging
import re
import shutil
import tarfile
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import sqlparse
import zstandard
from psycopg import sql
from psycopg.rows import dict_row
from tqdm import tqdm

from . import VERSION
from .backup import BackupFailed, schema_script, sha256_of
from .config import BackupLimit
from .render import PROJECT_DIR, ident, render, statements

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SCHEMA_FILE = "schema.sql"
CHOSEN_ROWS_FILE = "choose_rows.sql"
ORDER_QUERY = PROJECT_DIR / "sql" / "analysis" / "restore_order.sql"
CHOOSE_ROWS = "sql/backup/choose_rows.sql.j2"
RESET_SEQUENCES = PROJECT_DIR / "sql" / "restore" / "reset_sequences.sql"
LATE_BOUND = PROJECT_DIR / "sql" / "restore" / "late_bound_foreign_keys.sql"
ROW_BY_ROW = PROJECT_DIR / "sql" / "restore" / "row_by_row.sql"
MODES = ("clean", "append", "upsert")
COMPRESSION_LEVEL = 3  # zstd output depends only on the input and the level: deterministic

log = logging.getLogger("pgrename")


class DataBackupError(Exception):
    """The backup cannot be written, read or trusted; the message names the file at fault."""


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


def _qualified(schema: str, name: str) -> str:
    return f"{ident(schema)}.{ident(name)}"


def _table(schema: str, name: str) -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(name))


def _columns(names: list[str]) -> sql.Composed:
    return sql.SQL(", ").join(map(sql.Identifier, names))


def tables_in_order(conn: psycopg.Connection, schemas: list[str], exclude: list[str]) -> list[dict]:
    conn.execute("SELECT set_config('pgrename.schemas', %s, false), set_config('pgrename.exclude', %s, false)",
                 (",".join(schemas), ",".join(exclude)))
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(ORDER_QUERY.read_text()).fetchall()


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
        "tables": [_qualified(t["table_schema"], t["table_name"]) for t in tables],
        "scope": scope and {"schema": by_name[scope.table]["table_schema"], "table": scope.table,
                            "qualified": _qualified(by_name[scope.table]["table_schema"], scope.table),
                            "condition": scope.condition},
        "limits": [{"schema": by_name[l.table]["table_schema"], "table": l.table, "newest": l.newest, "by": l.by,
                    "qualified": _qualified(by_name[l.table]["table_schema"], l.table),
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
                "schemas": schemas, "exclude": exclude, "taken_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "scope": scope.condition if scope else None,
                "limits": {limit.table: {"newest": limit.newest, "by": limit.by} for limit in limits},
                "schema": schema, "tables": entries}
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def _write(conn: psycopg.Connection, table: dict, chosen: bool, path: Path) -> tuple[int, int]:
    """One table's rows (only those choose_rows kept, when it chose) as compressed COPY text."""
    name = _table(table["table_schema"], table["table_name"])
    where = sql.SQL(" WHERE (tableoid, ctid) IN (SELECT row_table, row_ctid FROM pgrename_backup_row "
                    "WHERE relid = {}::regclass)").format(
        _qualified(table["table_schema"], table["table_name"])) if chosen else sql.SQL("")
    query = sql.SQL("COPY (SELECT {} FROM {}{} ORDER BY {}) TO STDOUT").format(
        _columns(table["columns"]), name, where, _columns(table["order_by"]))
    rows = raw_bytes = 0
    pending = bytearray()  # COPY hands over a row at a time: the per-row work is this append only
    with path.open("wb") as handle, \
            zstandard.ZstdCompressor(level=COMPRESSION_LEVEL).stream_writer(handle, closefd=False) as out, \
            conn.cursor().copy(query) as copy, \
            tqdm(desc=f"{table['table_schema']}.{table['table_name']}", unit="B", unit_scale=True,
                 leave=False, disable=None) as progress:
        for block in itertools.chain(copy, [b""]):  # the empty block at the end flushes the rest
            pending += block
            if len(pending) >= 1 << 20 or not block:
                out.write(pending)
                rows += pending.count(b"\n")  # COPY text: one line a row, newlines in values escaped
                raw_bytes += len(pending)
                progress.set_postfix(rows=rows, refresh=False)
                progress.update(len(pending))
                pending.clear()
    return rows, raw_bytes


def pack(directory: Path) -> Path:
    """The backup as one tar file beside its directory, which goes. Every member has the same
    owner, mode and time, in name order, so the same backup always packs to the same bytes."""
    archive = directory.with_name(directory.name + ".tar")
    if archive.exists():
        raise DataBackupError(f"{archive} exists already; a backup never overwrites")
    with tarfile.open(archive, "w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(directory.iterdir()):
            member = tar.gettarinfo(str(path), arcname=path.name)
            member.mtime, member.mode, member.uid, member.gid, member.uname, member.gname = 0, 0o644, 0, 0, "", ""
            with path.open("rb") as handle:
                tar.addfile(member, handle)
    shutil.rmtree(directory)
    return archive


@contextmanager
def opened(path: Path) -> Iterator[Path]:
    """A backup directory as it is, or an archive unpacked into a scratch directory for the time
    of the with block; messages about its files name them inside the archive."""
    if not path.is_file():
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="pgrename-backup-") as scratch:
        try:
            with tarfile.open(path) as tar:
                tar.extractall(scratch, filter="data")  # no absolute paths, links out or devices
        except (tarfile.TarError, EOFError, OSError) as error:
            raise DataBackupError(f"{path}: not a readable backup archive ({error})") from None
        try:
            yield Path(scratch)
        except DataBackupError as error:
            raise DataBackupError(str(error).replace(scratch, str(path))) from None


def verify(directory: Path) -> dict:
    """The manifest, once its shape, version, every file's checksum and row count agree."""
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except FileNotFoundError:
        raise DataBackupError(f"{directory / MANIFEST}: no manifest; not a pgrename data backup") from None
    except json.JSONDecodeError as error:
        raise DataBackupError(f"{directory / MANIFEST}: not valid JSON (line {error.lineno})") from None
    if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
        raise DataBackupError(f"{directory / MANIFEST}: format_version {manifest.get('format_version')!r} is not "
                              f"{FORMAT_VERSION}, which this pgrename reads")
    if manifest.get("schema"):
        path = directory / manifest["schema"]["file"]
        if not path.exists():
            raise DataBackupError(f"{path}: missing (the schema)")
        if sha256_of(path) != manifest["schema"]["sha256"]:
            raise DataBackupError(f"{path}: SHA-256 differs from the manifest: the file was changed or truncated")
    for entry in manifest.get("tables", []):
        path = directory / entry["file"]
        if not path.exists():
            raise DataBackupError(f"{path}: missing (table {entry['schema']}.{entry['table']})")
        if sha256_of(path) != entry["sha256"]:
            raise DataBackupError(f"{path}: SHA-256 differs from the manifest: the file was changed or truncated")
        with path.open("rb") as handle, zstandard.ZstdDecompressor().stream_reader(handle) as data:
            rows = sum(block.count(b"\n") for block in iter(lambda: data.read(1 << 20), b""))
        if rows != entry["rows"]:
            raise DataBackupError(f"{path}: holds {rows} rows, the manifest says {entry['rows']}")
    return manifest


def _lines(path: Path) -> list[bytes]:
    with path.open("rb") as handle, zstandard.ZstdDecompressor().stream_reader(handle) as data:
        return data.read().splitlines()


def _rows_by_key(directory: Path, entry: dict, columns: list[str], key: list[str]) -> dict[tuple, Counter]:
    """A table's rows (the given columns, as COPY text) grouped by their key's values."""
    fields = [entry["columns"].index(c) for c in columns]
    positions = [columns.index(c) for c in key]
    rows: dict[tuple, Counter] = {}
    for line in _lines(directory / entry["file"]):
        values = line.split(b"\t")
        row = tuple(values[i].decode() for i in fields)
        rows.setdefault(tuple(row[i] for i in positions), Counter())[row] += 1
    return rows


def _table_diff(old_dir: Path, old: dict, new_dir: Path, new: dict) -> dict:
    """The keys under which one table's rows were added, removed or changed from backup A to B,
    compared on the columns both have. A table without a primary key is keyed by its whole row."""
    common = [c for c in old["columns"] if c in new["columns"]]
    found = {"schema": old["schema"], "table": old["table"], "rows_a": old["rows"], "rows_b": new["rows"],
             "columns_added": [c for c in new["columns"] if c not in old["columns"]],
             "columns_removed": [c for c in old["columns"] if c not in new["columns"]]}
    if old["has_primary_key"] != new["has_primary_key"] or (
            old["has_primary_key"] and (old["order_by"] != new["order_by"] or
                                        not set(old["order_by"]) <= set(common))):
        return {**found, "note": "the primary key differs: rows not compared"}
    key = old["order_by"] if old["has_primary_key"] else common
    a_rows, b_rows = _rows_by_key(old_dir, old, common, key), _rows_by_key(new_dir, new, common, key)
    return {**found,
            "added": sorted(k for k in b_rows if k not in a_rows),
            "removed": sorted(k for k in a_rows if k not in b_rows),
            "changed": sorted(k for k in a_rows if k in b_rows and a_rows[k] != b_rows[k])}


def diff(a: Path, b: Path) -> dict:
    """Two verified backups compared: tables only in one, and per table the keys whose rows differ."""
    old, new = verify(a), verify(b)
    old_tables = {(e["schema"], e["table"]): e for e in old["tables"]}
    new_tables = {(e["schema"], e["table"]): e for e in new["tables"]}
    tables = [_table_diff(a, old_tables[name], b, new_tables[name]) for name in old_tables
              if name in new_tables and (old_tables[name]["sha256"] != new_tables[name]["sha256"]
                                         or old_tables[name]["columns"] != new_tables[name]["columns"])]
    return {"only_in_a": [".".join(name) for name in old_tables if name not in new_tables],
            "only_in_b": [".".join(name) for name in new_tables if name not in old_tables],
            "schema_differs": (old.get("schema") or {}).get("sha256") != (new.get("schema") or {}).get("sha256"),
            "tables": tables}


def _load(conn: psycopg.Connection, target: sql.Composable, entry: dict, path: Path) -> None:
    """One table's file into `target` by COPY, with a progress bar against the manifest's byte count."""
    query = sql.SQL("COPY {} ({}) FROM STDIN").format(target, _columns(entry["columns"]))
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
    names = [_table(e["schema"], e["table"]) for e in entries]
    if with_schema and not manifest.get("schema"):
        raise DataBackupError(f"{directory} holds no schema (it was taken with --data-only)")
    with conn.transaction():
        _prepare_target(conn, directory, manifest, with_schema)
        late = _late_bound_columns(conn, entries, continue_on_error)
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
    qualified = [_qualified(e["schema"], e["table"]) for e in manifest["tables"]]
    if with_schema:
        present = conn.execute("SELECT array_agg(t) FROM unnest(%s::text[]) AS t WHERE to_regclass(t) IS NOT NULL",
                               (qualified,)).fetchone()[0]
        if present:
            raise DataBackupError(f"the target has {_some(present)} already: the schema restores "
                                  "into an empty database; leave out the schema to load the rows alone")
        conn.execute((directory / manifest["schema"]["file"]).read_text())
        log.info("  schema created from %s", manifest["schema"]["file"])
    missing = conn.execute("SELECT array_agg(t) FROM unnest(%s::text[]) AS t WHERE to_regclass(t) IS NULL",
                           (qualified,)).fetchone()[0]
    if missing:
        raise DataBackupError(f"the target lacks {_some(missing)}: restore the schema first "
                              "(make restore SCHEMA=1, or pg_dump --schema-only | psql)")
    conn.execute("SELECT set_config('pgrename.restored_tables', %s, true)", (json.dumps(qualified),))


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


def _late_bound_columns(conn: psycopg.Connection, entries: list[dict],
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
    key = _columns(entry["order_by"])
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
        name, _columns(entry["columns"]), values, staging)
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
