"""pgrename's own schema (audit, history, what each migration changed): created and upgraded by
the numbered scripts of sql/install/, each once, in a transaction of its own, under the run lock.
Its version is the highest recorded in pgrename.schema_version. A database set up by release
0.5, before versions, has its tables but no version table: 001 adopts them as they are."""
from __future__ import annotations

import logging
from pathlib import Path

import psycopg

from . import execute
from .errors import CheckFailed, Failure
from .locations import SQL_ROOT
from .render import Part

INSTALL_DIR = SQL_ROOT / "sql" / "install"

log = logging.getLogger("pgrename")


class NotPermitted(Failure):
    """The role may not create or change pgrename's schema. The command goes on: its script's
    preflight reports the DBA's problems first, then refuses for want of the schema."""


def scripts() -> list[Path]:
    return sorted(INSTALL_DIR.glob("[0-9][0-9][0-9]_*.sql"))


def number(script: Path) -> int:
    return int(script.name[:3])


REQUIRED_VERSION = number(scripts()[-1])


def installed_version(conn: psycopg.Connection) -> tuple[int, bool]:
    """The version here (0: none), and whether release 0.5 set the schema up before versions."""
    present = conn.execute("SELECT to_regclass('pgrename.schema_version') IS NOT NULL,"
                           " to_regclass('pgrename.audit') IS NOT NULL").fetchone()
    if present[0]:
        return conn.execute("SELECT coalesce(max(version), 0) FROM pgrename.schema_version").fetchone()[0], False
    return 0, present[1]


def upgrade(conn: psycopg.Connection) -> list[str]:
    """Run the pending install scripts, each in its own transaction; the names of those run. The
    caller holds the run lock."""
    version, release_0_5 = installed_version(conn)
    if version > REQUIRED_VERSION:
        raise CheckFailed(f"pgrename's own schema here is at version {version}, newer than this pgrename knows "
                          f"({REQUIRED_VERSION}): a newer release has run here; use it")
    pending = [script for script in scripts() if number(script) > version]
    if not pending:
        return []
    log.info("pgrename's own schema: %s, upgrading to version %d:", f"version {version}" if version else
             "set up by release 0.5 (no versions yet), adopted as it is" if release_0_5 else "not installed",
             REQUIRED_VERSION)
    for script in pending:
        try:
            with conn.transaction():
                execute.run(conn, [Part(str(script.relative_to(SQL_ROOT)), script.read_text())])
        except execute.StepFailed as failed:
            if isinstance(failed.error, psycopg.errors.InsufficientPrivilege):
                raise NotPermitted(f"cannot install pgrename's own schema: {failed.error.diag.message_primary} "
                                   f"(in {failed.part.template}); a role that may create in this database "
                                   "can: make schema-upgrade") from None
            raise Failure(f"upgrading pgrename's own schema: {failed.report()}\nthat script was rolled back; "
                          f"the schema stays at version {number(script) - 1}", failed.exit_code()) from None
    return [script.name for script in pending]
