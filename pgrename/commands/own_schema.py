"""status and schema-upgrade: pgrename's own schema, and what it recorded."""
from __future__ import annotations

import json
import logging

from psycopg.rows import dict_row

from .. import json_output, own_schema
from ..errors import EXIT_OK
from ..execute import Context

log = logging.getLogger("pgrename")


def cmd_schema_upgrade(ctx: Context) -> int:
    """Run the pending scripts of sql/install/ (the runner holds the run lock by now)."""
    upgraded = own_schema.upgrade(ctx.conn)
    log.info("pgrename's own schema %s version %d, the version this pgrename needs.",
             f"upgraded to ({', '.join(upgraded)})" if upgraded else "is at", own_schema.REQUIRED_VERSION)
    return EXIT_OK


def cmd_status(ctx: Context, as_json: bool = False, events: int = 20) -> int:
    version, release_0_5 = own_schema.installed_version(ctx.conn)
    installed = version > 0 or release_0_5
    history, audit = [], []
    if installed:
        with ctx.conn.cursor(row_factory=dict_row) as cur:
            history = cur.execute("SELECT migration, status, table_schema, applied_at, applied_by, rolled_back_at,"
                                  " rolled_back_by, sql_checksum FROM pgrename.history ORDER BY migration").fetchall()
            audit = cur.execute("SELECT * FROM (SELECT id, event, migration, db_user, client_addr, application,"
                                " logged_at, sql_checksum, details FROM pgrename.audit ORDER BY id DESC LIMIT %s)"
                                " AS recent ORDER BY id", (events,)).fetchall()
    if as_json:
        json_output.emit("status", {"schema_version": version, "schema_version_required": own_schema.REQUIRED_VERSION,
                                    "history": history, "audit": audit})
        return EXIT_OK
    if not installed:
        log.info("pgrename has never run on %s", ctx.target)
        return EXIT_OK
    log.info("pgrename's own schema: version %s (this pgrename needs %d%s)",
             version if version else "of release 0.5, before versions", own_schema.REQUIRED_VERSION,
             "; the next command that writes upgrades it, or make schema-upgrade"
             if version < own_schema.REQUIRED_VERSION else "")
    log.info("migrations:")
    for h in history:
        when = h["applied_at"] if h["status"] == "applied" else h["rolled_back_at"]
        who = h["applied_by"] if h["status"] == "applied" else h["rolled_back_by"]
        log.info("  %-30s %-12s %s by %s  script sha256 %s", h["migration"], h["status"], when, who,
                 h["sql_checksum"])
    log.info("audit trail (last %d events):", events)
    for a in audit:
        log.info("  %s  %-18s %-24s %-10s %s", a["logged_at"].strftime("%Y-%m-%d %H:%M:%S"), a["event"],
                 a["migration"] or "-", a["db_user"], json.dumps(a["details"])[:120])
    return EXIT_OK
