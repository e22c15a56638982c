"""dumps and restore-dump: the pg_dump safety net a profile takes before a migration (pgrename/backup.py);
dumps lists the data backups beside them too."""
from __future__ import annotations

import logging
import socket
import time
from pathlib import Path

from .. import backup, json_output, own_schema, run_lock
from ..data import archive
from ..approval import approve
from ..errors import EXIT_OK, Failure
from ..execute import LOG_DIR, Context
from ..render import Script, render

log = logging.getLogger("pgrename")


def cmd_dumps(ctx: Context, as_json: bool = False) -> int:
    """The backups in backups/: pg_dump files (what restore-dump takes) and data backups (what
    restore takes), each marked with its kind."""
    found = sorted(backup.listing() + archive.listing(backup.BACKUP_DIR), key=lambda b: b["path"])
    if as_json:
        json_output.emit("dumps", {"folder": backup.BACKUP_DIR, "backups": found})
        return EXIT_OK
    log.info("backups in %s (pg_dump: make restore-dump; data: make restore):", backup.BACKUP_DIR)
    for b in found:
        log.info("  %-7s %s  %14s bytes  %s%s", b["kind"], b["taken"], f"{b['bytes']:,}", b["path"],
                 f"  sha256 {b['sha256']}" if b["sha256"] else "")
    if not found:
        log.info("  none")
    return EXIT_OK


def cmd_restore_dump(ctx: Context, path: Path, into_original: bool = False, approved: str | None = None) -> int:
    """Restore a dump into a new database (the default), or over this one with approval."""
    database = ctx.conn.info.dbname
    if into_original:
        return restore_over_original(ctx, path, approved)
    target = f"{database}_restored_{time.strftime('%Y%m%d%H%M%S')}"
    try:
        backup.restore(ctx.conn, ctx.conninfo, path, target)
    except backup.BackupFailed as error:
        raise Failure(f"restore: {error}") from None
    log.info("restored %s (checksum verified) into database %s", path, target)
    return EXIT_OK


def restore_over_original(ctx: Context, path: Path, approved: str | None) -> int:
    """The dump over this database, in one psql transaction (sql/dumps/restore_over_original.sql.j2):
    the schemas it holds dropped and restored, pgrename's own kept, the restore audited and the
    migrations it undoes marked so. Works in any state a migration leaves (views, renames, contract)."""
    database = ctx.conn.info.dbname
    try:
        checksum = backup.verify(path)
        if backup.TABLES_ONLY + "." in path.name:
            raise backup.BackupFailed(f"{path} holds only the tables a migration renamed (backup_scope: tables): "
                                      "restored over the database it would leave everything else as it is now. "
                                      "Restore it into a new database (without INTO_ORIGINAL) and copy what you need")
        dump = backup.contents(path)
    except backup.BackupFailed as error:
        raise Failure(f"restore: {error}; nothing was changed") from None
    log.warning("restoring %s (taken %s) over the database %s itself: everything in %s is dropped and restored "
                "from it; pgrename's audit and history stay", path, dump.taken_at, database,
                ", ".join(sorted(dump.schemas)))
    approve(ctx, "restore-dump", approved, always=True)
    started = time.strftime("%Y%m%d-%H%M%S")
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    restored_sql = LOG_DIR / f"restore-dump-{started}.dump.sql"
    context = {"dump": str(path), "sha256": checksum, "taken_at": dump.taken_at,
               "schemas_created": sorted(dump.created), "schemas_emptied": sorted(dump.schemas - dump.created),
               "restored_sql": restored_sql.name, "lock_timeout": ctx.config.lock_timeout, "run_lock": run_lock.KEY,
               "schema_version": own_schema.REQUIRED_VERSION, "client_host": socket.gethostname()}
    script = Script((render("sql/dumps/restore_over_original.sql.j2", context),))
    script_path = LOG_DIR / f"restore-dump-{started}.sql"
    script_path.write_text(script.text)
    log.info("the restore's SQL: %s (sha256 %s), with the dump as SQL beside it: %s", script_path, script.sha256,
             restored_sql)
    try:
        backup.restore_script_from(path, restored_sql)
        run_lock.hand_over(ctx.conn)  # the script takes it for its own transaction
        backup.run_psql(ctx.conninfo, script_path)
    except backup.BackupFailed as error:
        raise Failure(f"restore over {database}: {error}; the transaction was rolled back, nothing was changed") from None
    undone = ctx.conn.execute("SELECT details->'undid' FROM pgrename.audit WHERE event = 'dump_restored'"
                              " ORDER BY id DESC LIMIT 1").fetchone()[0]
    log.info("restored %s over database %s; migrations undone by it: %s. The audit trail records it (make status).",
             path, database, ", ".join(undone) or "none")
    return EXIT_OK
