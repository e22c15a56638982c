"""Restoring a verified data backup in one transaction: parents before children
(sql/analysis/restore_order.sql), non-deferrable cycles bound late, bad rows set aside on request,
sequences moved past the restored values.

Every statement comes from sql/restore/. The runner renders them table by table, runs them, and
writes the whole run as one script a DBA can read, and run again with psql from the backup's
directory: the script's \\copy lines are what the runner does with COPY FROM STDIN."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import psycopg
import zstandard
from psycopg.rows import dict_row
from tqdm import tqdm

from .. import run_lock
from ..execute import StepFailed, run
from ..locations import SQL_ROOT
from ..render import Part, ident, render
from .archive import SCHEMA_FILE, DataBackupError, verify
from .tables import column_list, qualified

LATE_BOUND = SQL_ROOT / "sql" / "restore" / "late_bound_foreign_keys.sql"
MODES = ("clean", "append", "upsert")

log = logging.getLogger("pgrename")


@dataclass(frozen=True)
class Copy:
    """One table's file loaded by COPY: a \\copy line of the script."""
    file: str
    columns: list[str]
    target: str                   # the table, or its staging table, quoted

    @property
    def sql(self) -> str:
        columns = ", ".join(ident(c) for c in self.columns)
        return f"\\copy {self.target} ({columns}) FROM PROGRAM 'zstd -dcq {self.file}'\n"


@dataclass
class Restored:
    manifest: dict
    rejected: list[dict]          # rows left out by --continue-on-error, each with its table and error
    script: str                   # every statement of the run, as psql runs it
    written: dict[str, int]       # rows inserted, updated, and already there unchanged, in all tables


class RecordedRun:
    """A load in one transaction from a directory of COPY files: the templates it renders and runs
    and the files it copies, in order, kept as the one script psql would run from that directory."""

    def __init__(self, conn: psycopg.Connection, directory: Path, context: dict):
        self.conn, self.directory, self.context = conn, directory, context
        self.ran: list[Part | Copy] = []

    def step(self, template: str, **extra) -> None:
        """Render a template and run it; its notices that are warnings are logged as such."""
        part = render(template, {**self.context, **extra})
        run(self.conn, [part], quiet=True)
        self.ran.append(part)

    def plain(self, path: Path, shown_as: str) -> None:
        """A file run as it is."""
        part = Part(shown_as, path.read_text())
        run(self.conn, [part], quiet=True)
        self.ran.append(part)

    def copy(self, entry: dict, columns: list[str], target: str) -> None:
        """One table's file into `target` by COPY, with a progress bar against the manifest's byte count."""
        query = psycopg.sql.SQL("COPY {} ({}) FROM STDIN").format(psycopg.sql.SQL(target), column_list(columns))
        with (self.directory / entry["file"]).open("rb") as handle, \
                zstandard.ZstdDecompressor().stream_reader(handle) as data, \
                self.conn.cursor().copy(query) as copy, \
                tqdm(desc=f"{entry['schema']}.{entry['table']}", total=entry["bytes"], unit="B", unit_scale=True,
                     leave=False, disable=None) as progress:
            for block in iter(lambda: data.read(1 << 20), b""):
                copy.write(block)
                progress.update(len(block))
        self.ran.append(Copy(entry["file"], columns, target))

    def script(self) -> str:
        """What ran, as one file: each part under a banner naming its template, \\copy lines between."""
        return "".join(step.sql if isinstance(step, Copy) else f"\n-- ==== {step.template}\n{step.sql}"
                       for step in self.ran).lstrip("\n")


class Restore(RecordedRun):
    """One restore run: what it loads and how."""

    def __init__(self, conn: psycopg.Connection, directory: Path, manifest: dict, mode: str,
                 continue_on_error: bool, with_schema: bool):
        super().__init__(conn, directory, {
            "mode": mode, "continue_on_error": continue_on_error, "with_schema": with_schema,
            "source_database": manifest.get("database"), "taken_at": manifest.get("taken_at"),
            "run_lock": run_lock.KEY,
            "part_of_the_data": (f"scope {manifest['scope']}" if manifest.get("scope")
                                 else "backup_limits" if manifest.get("limits") else None),
            "tables": [{"name": qualified(e["schema"], e["table"]), "label": f"{e['schema']}.{e['table']}",
                        "staging": ident(f"pgrename_staging_{number}"), "columns": e["columns"],
                        "key": e["order_by"], "has_primary_key": e["has_primary_key"], "late": [],
                        "why_staged": None, "rows": e["rows"], "file": e["file"]}
                       for number, e in enumerate(manifest["tables"], start=1)],
        })
        self.manifest = manifest


def restore(conn: psycopg.Connection, directory: Path, mode: str, continue_on_error: bool = False,
            with_schema: bool = False) -> Restored:
    """Load a verified backup in one transaction: clean empties the tables first; append keeps rows
    whose primary key exists; upsert overwrites them. With continue_on_error a table whose load fails
    is loaded row by row, and the rows that fail are returned instead of stopping the restore. With
    with_schema the backup's schema is created first, in the same transaction: the target must not
    have it. The script of what ran comes back either way: in Restored, or in RestoreFailed."""
    if mode not in MODES:
        raise DataBackupError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    manifest = verify(directory)
    if with_schema and not manifest.get("schema"):
        raise DataBackupError(f"{directory} holds no schema (it was taken with --data-only)")
    if mode == "upsert":
        keyless = [e for e in manifest["tables"] if not e["has_primary_key"]]
        if keyless:
            raise DataBackupError(f"{keyless[0]['schema']}.{keyless[0]['table']} has no primary key: upsert cannot "
                                  "tell rows apart; use append or clean")
    restoring = Restore(conn, directory, manifest, mode, continue_on_error, with_schema)
    try:
        with conn.transaction():
            rejected = _load(restoring, mode, continue_on_error, with_schema)
    except (psycopg.Error, StepFailed, DataBackupError) as error:
        raise RestoreFailed(error, restoring.script()) from None
    written = {what: sum(t[what] for t in restoring.context["tables"]) for what in ("inserted", "updated", "unchanged")}
    return Restored(manifest, rejected, restoring.script(), written)


class RestoreFailed(Exception):
    """The restore rolled back: why, and the script of what it ran until then."""

    def __init__(self, error: Exception, script: str):
        super().__init__(error.report() if isinstance(error, StepFailed) else str(error).strip())
        self.script = script


def _load(restoring: Restore, mode: str, continue_on_error: bool, with_schema: bool) -> list[dict]:
    tables = restoring.context["tables"]
    restoring.step("sql/restore/header.sql.j2")
    if with_schema:
        restoring.step("sql/restore/refuse_existing_tables.sql.j2")
        restoring.plain(restoring.directory / SCHEMA_FILE, SCHEMA_FILE)
        log.info("  schema created from %s", SCHEMA_FILE)
    restoring.step("sql/restore/require_tables.sql.j2")
    late = _late_bound_columns(restoring, continue_on_error)
    for table in tables:
        table["late"] = late.get(table["label"], [])
    if continue_on_error:
        restoring.plain(SQL_ROOT / "sql" / "restore" / "row_by_row.sql", "sql/restore/row_by_row.sql")
    if mode == "clean" and tables:
        restoring.step("sql/restore/empty_tables.sql.j2")
    for table, entry in zip(tables, restoring.manifest["tables"]):
        if mode == "clean" and not table["late"] and not continue_on_error:
            restoring.copy(entry, entry["columns"], table["name"])
            table["inserted"], table["updated"] = table["rows"], 0
        else:
            table["why_staged"] = ("some of its foreign keys are set after every table is loaded" if table["late"]
                                   else "rows that fail are set aside" if continue_on_error
                                   else f"{mode} compares it with the rows there")
            restoring.step("sql/restore/stage_table.sql.j2", table=table)
            restoring.copy(entry, entry["columns"], table["staging"])
            restoring.step("sql/restore/insert_staged.sql.j2", table=table)
            table["inserted"], table["updated"] = _written(restoring, table)
        set_aside = _set_aside(restoring, table) if continue_on_error else 0
        table["unchanged"] = table["rows"] - set_aside - table["inserted"] - table["updated"]
        log.info("  %-48s %10d rows: %s%s%s", table["label"], table["rows"], describe_written(table),
                 f", {set_aside} set aside" if set_aside else "",
                 f"; {', '.join(table['late'])} set after the other tables" if table["late"] else "")
    for table in tables:
        if table["late"]:
            restoring.step("sql/restore/bind_late.sql.j2", table=table)
    restoring.plain(SQL_ROOT / "sql" / "restore" / "reset_sequences.sql", "sql/restore/reset_sequences.sql")
    if not continue_on_error:
        return []
    with restoring.conn.cursor(row_factory=dict_row) as cur:
        return cur.execute("SELECT * FROM pgrename_restore_error").fetchall()


def describe_written(counts: dict) -> str:
    """What a load did to the rows it was given, in words: 5000 inserted, 0 already there."""
    said = [f"{counts['inserted']} inserted"]
    if counts["updated"]:
        said.append(f"{counts['updated']} updated")
    if counts["unchanged"]:
        said.append(f"{counts['unchanged']} already there" + (" as they are" if counts["updated"] else ""))
    return ", ".join(said)


def _written(restoring: Restore, table: dict) -> tuple[int, int]:
    return restoring.conn.execute("SELECT coalesce(sum(inserted), 0)::bigint, coalesce(sum(updated), 0)::bigint"
                                  " FROM pgrename_restore_count WHERE table_name = %s", (table["label"],)).fetchone()


def _set_aside(restoring: Restore, table: dict) -> int:
    return restoring.conn.execute("SELECT count(*) FROM pgrename_restore_error WHERE table_name = %s",
                                  (table["label"],)).fetchone()[0]


def _late_bound_columns(restoring: Restore, continue_on_error: bool) -> dict[str, list[str]]:
    """Per table (by label), the columns that load as NULL and are set after every table is loaded."""
    with restoring.conn.cursor(row_factory=dict_row) as cur:
        found = cur.execute(LATE_BOUND.read_text()).fetchall()
    late: dict[str, list[str]] = {}
    by_label = {f"{e['schema']}.{e['table']}": e for e in restoring.manifest["tables"]}
    for key in found:
        label = f"{key['table_schema']}.{key['table_name']}"
        entry = by_label[label]
        if not entry["rows"] or (not continue_on_error and (key["deferrable"] or key["self_reference"])):
            continue
        if not key["columns_nullable"] or not entry["has_primary_key"]:
            why = "its columns are NOT NULL" if not key["columns_nullable"] else "the table has no primary key"
            raise DataBackupError(
                f"foreign key {key['constraint_name']} of {label} points at a table loaded after it and "
                f"cannot be set later, as {why}: make it DEFERRABLE (ALTER TABLE ... ALTER CONSTRAINT ... DEFERRABLE)")
        late.setdefault(label, []).extend(c for c in key["columns"] if c not in late.get(label, []))
    return late

