"""backup, backup-verify, backup-diff and restore: COPY data backups (pgrename/data/)."""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import psycopg

from .. import backup as dumps
from .. import json_output
from ..approval import approve
from ..data import archive, diff, restore, take
from ..data.tables import tables_in_order
from ..errors import EXIT_CHECK_FAILED, EXIT_OK, CheckFailed, Failure
from ..execute import LOG_DIR, Context

log = logging.getLogger("pgrename")


def cmd_backup(ctx: Context, directory: Path | None = None, scope: str | None = None,
               data_only: bool = False, archived: bool = False, as_json: bool = False) -> int:
    """Every table's rows (or one tenant's, or within limits), FK-ordered, deterministic, with a
    verified manifest."""
    directory = directory or dumps.BACKUP_DIR / f"{ctx.conn.info.dbname}-{time.strftime('%Y%m%d-%H%M%S')}-data"
    log.info("data backup of %s (schema %s%s%s) into %s:", ctx.conn.info.dbname, ctx.config.schema,
             f", leaving out {', '.join(ctx.config.backup_exclude)}" if ctx.config.backup_exclude else "",
             f", scope {scope}" if scope else "", directory)
    try:
        manifest = take.backup(ctx.conn, directory, [ctx.config.schema], ctx.config.backup_exclude,
                               take.Scope.parse(scope) if scope else None, ctx.config.backup_limits,
                               None if data_only else ctx.conninfo)
        if archived:
            directory = archive.pack(directory)
        with archive.opened(directory) as unpacked:
            archive.verify(unpacked)  # what was written, read back as restore will read it
    except archive.DataBackupError as error:
        raise Failure(f"backup: {error}") from None
    except psycopg.Error as error:
        raise Failure(f"backup failed: {str(error).strip()}; no backup was written") from None
    present = len(tables_in_order(ctx.conn, [ctx.config.schema], []))
    rows = sum(t["rows"] for t in manifest["tables"])
    log.info("backed up %d of %d tables, %d rows; manifest verified: %s", len(manifest["tables"]), present,
             rows, directory if archived else directory / archive.MANIFEST)
    if as_json:
        json_output.emit("backup", {"path": directory, "tables": len(manifest["tables"]), "tables_present": present,
                                    "rows": rows, "scope": manifest["scope"], "schema": manifest["schema"] is not None})
    return EXIT_OK


def cmd_backup_verify(ctx: Context, directory: Path, as_json: bool = False) -> int:
    """Manifest, files, checksums and row counts, without touching a database."""
    try:
        with archive.opened(directory) as unpacked:
            manifest = archive.verify(unpacked)
    except archive.DataBackupError as error:
        raise CheckFailed(f"backup-verify: {error}") from None
    rows = sum(t["rows"] for t in manifest["tables"])
    log.info("verified %s: %d tables, %d rows, every checksum and row count as the manifest says", directory,
             len(manifest["tables"]), rows)
    if as_json:
        json_output.emit("backup-verify", {
            "path": directory, "verified": True, "tables": len(manifest["tables"]), "rows": rows,
            "backup_format_version": manifest.get("format_version"),
            **{key: manifest.get(key) for key in ("tool_version", "database", "taken_at", "scope")}})
    return EXIT_OK


def cmd_backup_diff(ctx: Context, a: Path, b: Path, as_json: bool = False, keys: int = 10) -> int:
    """Which tables and which keys differ between two data backups, without a database. Exits 0
    when they hold the same data, 3 when they differ (like diff, for scripts)."""
    try:
        with archive.opened(a) as unpacked_a, archive.opened(b) as unpacked_b:
            found = {**diff.diff(unpacked_a, unpacked_b), "a": str(a), "b": str(b)}
    except archive.DataBackupError as error:
        raise CheckFailed(f"backup-diff: {error}") from None
    same = not (found["only_in_a"] or found["only_in_b"] or found["tables"] or found["schema_differs"])
    if as_json:
        json_output.emit("backup-diff", {**found, "same": same})
        return EXIT_OK if same else EXIT_CHECK_FAILED
    log.info("A: %s\nB: %s", a, b)
    for side, tables in (("A", found["only_in_a"]), ("B", found["only_in_b"])):
        if tables:
            log.info("only in %s: %s", side, ", ".join(tables))
    if found["schema_differs"]:
        log.info("the schema differs (diff %s %s)", a / archive.SCHEMA_FILE, b / archive.SCHEMA_FILE)
    for table in found["tables"]:
        log.info("%s.%s: %d rows in A, %d in B%s", table["schema"], table["table"], table["rows_a"], table["rows_b"],
                 "".join(f"; columns {what}: {', '.join(table[f'columns_{what}'])}"
                         for what in ("added", "removed") if table[f"columns_{what}"]))
        if "note" in table:
            log.info("  %s", table["note"])
        for what in ("added", "removed", "changed"):
            listed = table.get(what, [])
            if listed:
                shown = ", ".join("(" + ", ".join(k) + ")" for k in listed[:keys])
                log.info("  %-8s %d: %s%s", what, len(listed), shown, ", ..." if len(listed) > keys else "")
    log.info("the backups hold the same data" if same else "the backups differ")
    return EXIT_OK if same else EXIT_CHECK_FAILED


def keep_script(text: str, started: str) -> Path:
    """The run's SQL, as psql would run it from the backup's directory, kept with the run's log."""
    path = LOG_DIR / f"restore-{started}.sql"
    path.write_text(text)
    log.info("the restore's SQL, as it ran: %s (psql runs it from the backup's directory)", path)
    return path


def cmd_restore(ctx: Context, directory: Path, mode: str = "clean", continue_on_error: bool = False,
                errors: Path | None = None, with_schema: bool = False, approved: str | None = None,
                as_json: bool = False) -> int:
    """A verified data backup into this database, parents first, in one transaction."""
    log.info("restore %s into %s, mode %s (one transaction%s):", directory, ctx.conn.info.dbname, mode,
             ", rows that fail are set aside" if continue_on_error else "")
    approve(ctx, "restore", approved)
    started = time.strftime("%Y%m%d-%H%M%S")
    try:
        with archive.opened(directory) as unpacked:
            restored = restore.restore(ctx.conn, unpacked, mode, continue_on_error, with_schema)
    except archive.DataBackupError as error:
        raise Failure(f"restore: {error}; nothing was changed") from None
    except restore.RestoreFailed as failed:
        keep_script(failed.script, started)
        raise Failure(f"restore failed: {failed}\nthe transaction was rolled back, nothing was changed") from None
    script = keep_script(restored.script, started)
    tables = restored.manifest["tables"]
    rows = sum(t["rows"] for t in tables) - len(restored.rejected)
    log.info("restored %d tables, %d rows: %s; sequences moved past the restored values", len(tables), rows,
             restore.describe_written(restored.written))
    if restored.rejected:
        errors = errors or LOG_DIR / f"restore-errors-{time.strftime('%Y%m%d-%H%M%S')}.jsonl"
        errors.parent.mkdir(parents=True, exist_ok=True)
        errors.write_text("".join(json.dumps(row, sort_keys=True, ensure_ascii=False) + "\n"
                                  for row in restored.rejected))
        log.warning("%d rows were rejected and the rest committed; each rejected row and its error: %s",
                    len(restored.rejected), errors)
    if as_json:
        json_output.emit("restore", {"path": directory, "database": ctx.conn.info.dbname, "mode": mode,
                                     "tables": len(tables), "rows": rows, **restored.written,
                                     "rejected": len(restored.rejected),
                                     "errors_file": errors if restored.rejected else None, "script": script})
    return EXIT_CHECK_FAILED if restored.rejected else EXIT_OK
