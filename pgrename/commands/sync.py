"""export, import and validate: natural-key sync between machines (pgrename/sync/)."""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from .. import json_output
from ..approval import approve
from ..backup import BACKUP_DIR
from ..data import archive
from ..errors import EXIT_CHECK_FAILED, EXIT_OK, Failure, UsageError
from ..execute import LOG_DIR, Context, record
from ..sync import export as exporting
from ..sync import load, shape, validation
from .renaming import BUILD_DIR

SUITE_FILE = BUILD_DIR / "integrity-suite.sql"  # build/validate.sql is the rename's (VALIDATE CONSTRAINT)

log = logging.getLogger("pgrename")


def _sync(ctx: Context):
    if ctx.config.sync is None:
        raise UsageError(f"{ctx.config.path} has no sync: section: name the tables to sync and their natural keys, "
                         "e.g. sync: {namespace: master, tables: {locations: [xmlid]}}")
    return ctx.config.sync


def cmd_export(ctx: Context, directory: Path | None = None, archived: bool = False, as_json: bool = False) -> int:
    """Every synced table's natural rows from one snapshot, with the query that wrote each."""
    sync = _sync(ctx)
    directory = directory or BACKUP_DIR / f"{ctx.conn.info.dbname}-{time.strftime('%Y%m%d-%H%M%S')}-sync"
    if directory.suffix == ".tar":
        directory, archived = directory.with_suffix(""), True
    log.info("natural-key export of %s (namespace %s) into %s:", ctx.conn.info.dbname, sync.namespace, directory)
    manifest = exporting.export(ctx.conn, sync, ctx.config.schema, directory)
    if archived:
        directory = archive.pack(directory)
    rows = sum(t["rows"] for t in manifest["tables"])
    log.info("exported %d tables, %d rows by natural key: %s", len(manifest["tables"]), rows, directory)
    if as_json:
        json_output.emit("export", {"path": directory, "namespace": sync.namespace, "tables": len(manifest["tables"]),
                                    "rows": rows})
    return EXIT_OK


def cmd_import(ctx: Context, directory: Path, mode: str = "update", overwrite_local_edits: bool = False,
               resurrect_deleted: bool = False, allow_deletes: bool = False, continue_on_error: bool = False,
               errors: Path | None = None, approved: str | None = None, as_json: bool = False) -> int:
    """An export into this database in one transaction, validated before it commits; with
    continue_on_error the rows that fail are set aside (written to `errors`) and the exit is 3."""
    sync = _sync(ctx)
    started = time.strftime("%Y%m%d-%H%M%S")
    with archive.opened(directory) as unpacked:
        manifest = load.manifest_of(unpacked, sync.namespace)
        log.info("import %s (namespace %s, taken from %s at %s) into %s, mode %s (one transaction):", directory,
                 manifest["namespace"], manifest["database"], manifest["taken_at"], ctx.conn.info.dbname, mode)
        approve(ctx, "import", approved)
        try:
            imported = load.load(ctx.conn, unpacked, manifest, sync, ctx.config.schema, mode,
                                 overwrite_local_edits, resurrect_deleted, allow_deletes, continue_on_error)
        except load.ImportFailed as failed:
            _keep_script(failed.script, started)
            record(ctx.conn, "sync_failed", None, None, {"export": str(directory), "mode": mode, "error": str(failed)})
            raise Failure(f"import failed: {failed}\nthe transaction was rolled back, nothing was changed",
                          failed.exit_code) from None
    _keep_script(imported.script, started)
    total = dict.fromkeys(load.OUTCOMES, 0)
    for table, counts in imported.counts.items():
        log.info("  %-40s %s", table, _described(counts))
        for outcome, rows in counts.items():
            total[outcome] += rows
    log.info("validation: %d checks passed", len(imported.results))
    changed = total["inserted"] + total["updated"] + total["deleted"]
    log.info("imported: %s%s", _described(total), "" if changed else " (nothing to change: the rows are here as exported)")
    if imported.set_aside:
        errors = errors or LOG_DIR / f"import-errors-{started}.jsonl"
        errors.parent.mkdir(parents=True, exist_ok=True)
        errors.write_text("".join(json.dumps(row, sort_keys=True, ensure_ascii=False) + "\n"
                                  for row in imported.set_aside))
        log.warning("%d rows were set aside and the rest committed; each row and why: %s",
                    len(imported.set_aside), errors)
    if as_json:
        json_output.emit("import", {"path": directory, "database": ctx.conn.info.dbname, "mode": mode,
                                    "namespace": manifest["namespace"], "changed": changed, "total": total,
                                    "tables": imported.counts, "checks": validation.as_json(imported.results),
                                    "set_aside": len(imported.set_aside),
                                    "errors_file": errors if imported.set_aside else None})
    return EXIT_CHECK_FAILED if imported.set_aside else EXIT_OK


def _described(counts: dict[str, int]) -> str:
    return ", ".join(f"{rows} {outcome.replace('_', ' ')}" for outcome, rows in counts.items()
                     if rows or outcome in ("inserted", "updated", "unchanged"))


def _keep_script(text: str, started: str) -> None:
    path = LOG_DIR / f"import-{started}.sql"
    path.write_text(text)
    log.info("the import's SQL, as it ran: %s (psql runs it from the export's directory)", path)


def cmd_validate(ctx: Context, output: str = "text") -> int:
    """The integrity suite generated from the catalog (and the config's keys, references and
    checks), written to build/integrity-suite.sql and run; exit 3 when a check fails."""
    sync = ctx.config.sync
    shapes = shape.shapes(ctx.conn, sync, ctx.config.schema) if sync else []
    validation.settings(ctx.conn, ctx.config.schema, shapes)
    checks = validation.generated(ctx.conn) + validation.user_checks(sync)
    SUITE_FILE.parent.mkdir(parents=True, exist_ok=True)
    SUITE_FILE.write_text(validation.suite(checks, ctx.conn.info.dbname).sql)
    results = validation.run(ctx.conn, checks)
    failed = [r for r in results if not r.ok]
    if output == "tap":
        print(validation.tap(results), end="")
    elif output == "json":
        json_output.emit("validate", {"database": ctx.conn.info.dbname, "suite": SUITE_FILE, "passed": not failed,
                                      "checks": validation.as_json(results)})
    else:
        for result in results:
            log.info("  %-4s %s%s", "ok" if result.ok else "FAIL", result.check.description,
                     "" if result.ok else f": {result.violations} violation(s), e.g. {result.example}")
        log.info("%d of %d checks passed (the suite: %s)", len(results) - len(failed), len(results), SUITE_FILE)
    return EXIT_CHECK_FAILED if failed else EXIT_OK
