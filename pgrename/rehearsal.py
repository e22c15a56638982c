"""A rehearsal: steps run on a scratch copy of the database (its schema, and its rows when asked),
dropped afterwards whatever happened. The rename's and the migration sets' rehearse both use it."""
from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable

import psycopg

from . import backup, own_schema
from .config import Profile
from .errors import Failure
from .execute import Context

log = logging.getLogger("pgrename")

Step = tuple[str, Callable[[Context], int]]


def rehearse(ctx: Context, steps: list[Step], with_data: bool,
             prepare: Callable[[psycopg.Connection], None] | None = None) -> None:
    """Run each step on a fresh copy; prepare(copy) first, once pgrename's own schema is there."""
    scratch = f"{ctx.conn.info.dbname}_rehearsal_{time.strftime('%Y%m%d%H%M%S')}"
    copy = "schema and data" if with_data else "schema"
    log.info("rehearsal in scratch database %s (a copy of the %s of %s):", scratch, copy, ctx.conn.info.dbname)
    scratch_conninfo = backup.conninfo_for(ctx.conninfo, scratch)
    # On the copy: no hooks, backup or approval (they are about the real database), applied at once.
    config = dataclasses.replace(ctx.config, profile=Profile("rehearsal"))
    started = time.monotonic()
    try:
        backup.copy_database(ctx.conn, ctx.conninfo, scratch, with_data)
        with psycopg.connect(scratch_conninfo, autocommit=True, application_name="pgrename rehearsal") as conn:
            rehearsal = Context(config, conn, f"{ctx.target} (scratch copy {scratch})", scratch_conninfo)
            own_schema.upgrade(conn)
            if prepare:
                prepare(conn)
            for name, step in steps:
                log.info("rehearsal step: %s", name)
                try:
                    step(rehearsal)
                except Failure as failure:
                    raise Failure(f"rehearsal failed at {name}: {failure}", failure.exit_code) from None
    except backup.BackupFailed as error:
        raise Failure(f"rehearsal: could not copy the database: {error}") from None
    finally:
        ctx.conn.execute(psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            psycopg.sql.Identifier(scratch)))
        log.info("dropped the scratch database %s", scratch)
    log.info("rehearsal passed in %.1f s: %s all succeeded on a copy of the %s.", time.monotonic() - started,
             ", ".join(name for name, _ in steps), copy)
