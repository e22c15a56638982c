"""An export into this database, in one transaction, set-based: every file COPYed into a staging
table, all of them checked before anything is written, then each table written parents first in
its mode, self and cyclic references bound late, rows deleted (replace) children first, the
registry of imported rows brought up to date, sequences moved past the new values, and the
validation suite run last: a failure rolls it all back. Every statement comes from sql/sync/ and
is kept as the script psql would run from the export's directory."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.rows import dict_row

from .. import run_lock
from ..config import Sync
from ..data.archive import verify
from ..data.restore import RecordedRun
from ..errors import EXIT_STATEMENT_FAILED
from ..execute import StepFailed
from ..locations import SQL_ROOT
from ..render import ident, render
from . import validation
from .export import FORMAT
from .shape import Shape, SyncError, shapes

MODES = ("init", "append", "update", "replace")
OUTCOMES = ("inserted", "updated", "unchanged", "deleted", "kept_edited_here", "kept_deleted_here", "set_aside")
RESET_SEQUENCES = SQL_ROOT / "sql" / "restore" / "reset_sequences.sql"
ROW_BY_ROW = SQL_ROOT / "sql" / "restore" / "row_by_row.sql"

log = logging.getLogger("pgrename")


@dataclass
class Imported:
    manifest: dict
    counts: dict[str, dict[str, int]]     # per table: rows per outcome
    results: list[validation.Result]
    script: str
    set_aside: list[dict]                 # --continue-on-error: each row left out, with its table and why


class ImportFailed(Exception):
    """The import rolled back: why, its exit code, and the script of what ran until then."""

    def __init__(self, message: str, exit_code: int, script: str):
        super().__init__(message)
        self.exit_code, self.script = exit_code, script


def manifest_of(directory: Path, namespace: str) -> dict:
    """The export's manifest, once every file's checksum and row count agree, and it comes from
    the namespace this config syncs."""
    manifest = verify(directory)
    if manifest.get("format") != FORMAT:
        raise SyncError(f"{directory}: not a natural-key export (a data backup? make restore reads those)")
    if manifest["namespace"] != namespace:
        raise SyncError(f"{directory}: the export comes from namespace {manifest['namespace']!r}, and this config "
                        f"syncs namespace {namespace!r} (sync: namespace): its rows are not this source's")
    return manifest


def _table_context(shape: Shape, entry: dict, number: int, staging_of: dict) -> dict:
    """What the templates of sql/sync/import/ need of one table: its shape, its file, and the names
    of its temporary tables and views."""
    exported = [c["name"] for c in entry["columns"]]
    missing = [c for c in exported if c not in shape.column_names]
    if missing:
        raise SyncError(f"{shape.label}: the export's column {missing[0]!r} ({entry['file']}) is not in this "
                        f"database's table (its columns: {', '.join(shape.column_names)})")
    if shape.key != entry["key"]:
        raise SyncError(f"{shape.label}: the export is keyed by ({', '.join(entry['key'])}), this config by "
                        f"({', '.join(shape.key)})")
    context = shape.context()
    context["columns"] = [c for c in context["columns"] if c["name"] in exported]
    for name, role in (("staging", "staged"), ("natural", "natural"), ("edited", "edited"),
                       ("deleted_here", "deleted_here"), ("to_delete", "to_delete"), ("resolved", "resolved"),
                       ("left_as_is", "left_as_is"), ("before", "before"), ("compared", "compared")):
        context[name] = ident(f"pgrename_sync_{number}_{role}")
    for reference in context["references"]:  # the late ones among them: the same dicts
        reference["parent_staging"] = staging_of[reference["parent"]]
    for logical in context["logical"]:
        logical["parent_staging"] = staging_of[logical["parent"]]
    return context | {"file": entry["file"], "rows": entry["rows"], "content_md5": entry["content_md5"],
                      "entry": entry, "exported": exported}


def load(conn: psycopg.Connection, directory: Path, manifest: dict, sync: Sync, schema: str, mode: str,
         overwrite_local_edits: bool = False, resurrect_deleted: bool = False,
         deletes_approved: bool = False, continue_on_error: bool = False) -> Imported:
    if mode not in MODES:
        raise SyncError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    run = RecordedRun(conn, directory, {
        "mode": mode, "namespace": manifest["namespace"], "source_database": manifest["database"],
        "taken_at": manifest["taken_at"], "run_lock": run_lock.KEY, "delete_cap": sync.delete_cap,
        "deletes_approved": deletes_approved, "overwrite_local_edits": overwrite_local_edits,
        "resurrect_deleted": resurrect_deleted, "continue_on_error": continue_on_error})
    try:
        with conn.transaction():
            return _load(run, manifest, sync, schema, mode, deletes_approved)
    except StepFailed as failed:
        raise ImportFailed(failed.report(), failed.exit_code(), run.script()) from None
    except (psycopg.Error, SyncError) as error:
        raise ImportFailed(str(error).strip(), getattr(error, "exit_code", EXIT_STATEMENT_FAILED), run.script()) from None


def _load(run: RecordedRun, manifest: dict, sync: Sync, schema: str, mode: str, deletes_approved: bool) -> Imported:
    by_table = {(e["schema"], e["table"]): e for e in manifest["tables"]}
    found = [s for s in shapes(run.conn, sync, schema) if (s.schema, s.table) in by_table]
    absent = sorted(set(by_table) - {(s.schema, s.table) for s in found})
    if absent:
        raise SyncError(f"the export holds {'.'.join(absent[0])}, which this config's sync: tables does not list")
    staging_of = {s.table: ident(f"pgrename_sync_{n}_staged") for n, s in enumerate(found, start=1)}
    tables = [_table_context(s, by_table[(s.schema, s.table)], n, staging_of) for n, s in enumerate(found, start=1)]
    run.context["tables"] = tables
    continue_on_error = run.context["continue_on_error"]
    run.step("sql/sync/import/header.sql.j2")
    if continue_on_error:
        run.plain(ROW_BY_ROW, "sql/restore/row_by_row.sql")
    for table in tables:
        run.step("sql/sync/import/stage.sql.j2", table=table)
        run.copy(table["entry"], table["exported"], table["staging"])
    for table in tables:
        run.step("sql/sync/import/check_staged.sql.j2", table=table)
    if continue_on_error:
        run.step("sql/sync/import/set_aside_orphans.sql.j2")
    if mode == "init":
        run.step("sql/sync/import/refuse_non_empty.sql.j2")
    for table in tables:
        run.step("sql/sync/import/local_state.sql.j2", table=table)
    if mode == "replace" and not deletes_approved:
        run.step("sql/sync/import/refuse_too_many_deletes.sql.j2")
    for table in tables:
        run.step("sql/sync/import/write.sql.j2", table=table)
        if continue_on_error and _set_aside(run.conn, table):
            run.step("sql/sync/import/set_aside_orphans.sql.j2")  # rows that name those set aside follow
    for table in tables:
        if table["late"]:
            run.step("sql/sync/import/bind_late.sql.j2", table=table)
    if mode == "replace":
        for table in reversed(tables):
            run.step("sql/sync/import/delete_gone.sql.j2", table=table)
    for table in tables:
        run.step("sql/sync/import/compare.sql.j2", table=table)
    run.plain(RESET_SEQUENCES, "sql/restore/reset_sequences.sql")
    counts = _counts(run.conn, tables, continue_on_error)
    validation.settings(run.conn, schema, found)
    checks = validation.generated(run.conn) + validation.user_checks(sync) + validation.listed(
        run.conn, render("sql/sync/import/import_checks.sql.j2", run.context).sql)
    run.ran.append(validation.suite(checks, run.conn.info.dbname))  # kept with the script; run below
    results = validation.run(run.conn, checks)
    failed = [r for r in results if not r.ok]
    if failed:
        raise SyncError("the validation suite failed, so nothing of the import stays:\n" + "\n".join(
            f"  {r.check.description}: {r.violations} violation(s), e.g. {r.example}" for r in failed))
    run.step("sql/sync/import/audit.sql.j2", counts=counts)
    run.step("sql/sync/import/drop_views.sql.j2")
    set_aside = []
    if continue_on_error:
        with run.conn.cursor(row_factory=dict_row) as cur:
            set_aside = cur.execute("SELECT * FROM pgrename_restore_error").fetchall()
    return Imported(manifest, counts, results, run.script(), set_aside)


def _set_aside(conn: psycopg.Connection, table: dict) -> int:
    return conn.execute("SELECT count(*) FROM pgrename_restore_error WHERE table_name = %s",
                        (table["label"],)).fetchone()[0]


def _counts(conn: psycopg.Connection, tables: list[dict], continue_on_error: bool) -> dict[str, dict[str, int]]:
    counted = {t["label"]: dict.fromkeys(OUTCOMES, 0) for t in tables}
    for table_name, outcome, rows in conn.execute(
            "SELECT table_name, outcome, sum(row_count)::bigint FROM pgrename_sync_count GROUP BY 1, 2").fetchall():
        counted[table_name][outcome] = rows
    for table in tables:
        done = counted[table["label"]]
        if continue_on_error:
            done["set_aside"] = _set_aside(conn, table)
        done["unchanged"] = table["rows"] - done["inserted"] - done["updated"] - done["kept_edited_here"] \
            - done["kept_deleted_here"] - done["set_aside"]
    return counted
