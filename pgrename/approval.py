"""Approval before a change: the database's name, typed at a terminal or given with --approve."""
from __future__ import annotations

import logging
import sys

from .errors import UsageError
from .execute import Context

log = logging.getLogger("pgrename")


def approve(ctx: Context, action: str, approved: str | None, always: bool = False) -> None:
    """Where the profile requires approval (or always, for what overwrites a database). What will
    happen is printed by then."""
    profile, database = ctx.config.profile.name, ctx.conn.info.dbname
    if not (always or ctx.config.profile.require_approval):
        return
    if approved is not None:
        if approved != database:
            raise UsageError(f"--approve {approved} does not name this database ({database}); nothing was done")
        log.info("approved with --approve %s", database)
        return
    if not sys.stdin.isatty():
        raise UsageError(f"{'this' if always else f'profile {profile}'} requires approval to {action} {database}: "
                         "run it at a terminal and type "
                         f"the database name, or pass --approve {database} (make {action} APPROVE={database}); "
                         "nothing was done")
    answer = input(f"profile {profile}: type the database name ({database}) to {action} it: ").strip()
    if answer != database:
        raise UsageError(f"not approved ({answer!r} is not {database}); nothing was done")
