"""dumps and restore-dump: the pg_dump safety net a profile takes before a migration (pgrename/backup.py);
dumps lists the data backups beside them too."""
from __future__ import annotations

import logging
import time
from pathlib import Path

from .. import backup, json_output
from ..data import archive
from ..approval import approve
from ..errors import EXIT_OK, Failure
from ..execute import Context

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
        log.warning("restoring %s over the database %s itself: its tables are dropped and restored", path, database)
        approve(ctx, "restore-dump", approved, always=True)
        target = database
    else:
        target = f"{database}_restored_{time.strftime('%Y%m%d%H%M%S')}"
    try:
        backup.restore(ctx.conn, ctx.conninfo, path, target)
    except backup.BackupFailed as error:
        hint = ("; nothing was changed (one transaction). Restoring over the database needs its schema to be "
                "what the backup holds: after a migrate, roll it back first, or restore into a new database "
                "(the default)") if into_original else ""
        raise Failure(f"restore: {error}{hint}") from None
    log.info("restored %s (checksum verified) into database %s", path, target)
    return EXIT_OK
