"""dumps and restore-dump: the pg_dump safety net a profile takes before a migration (pgrename/backup.py)."""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from .. import backup
from ..approval import approve
from ..errors import EXIT_OK, Failure
from ..execute import Context

log = logging.getLogger("pgrename")


def cmd_dumps(ctx: Context, as_json: bool = False) -> int:
    found = backup.listing()
    if as_json:
        print(json.dumps(found, indent=2))
        return EXIT_OK
    log.info("pg_dump backups taken before migrations, in %s:", backup.BACKUP_DIR)
    for b in found:
        log.info("  %s  %12s bytes  %s  sha256 %s", b["taken"], f"{b['bytes']:,}", b["path"], b["sha256"])
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
