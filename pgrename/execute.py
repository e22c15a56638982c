"""Running rendered SQL: one transaction, statement by statement, lock waits retried, failures
classified (by SQLSTATE: pgrename's own are checks), reported with the sessions in the way, and
recorded in the audit trail. The exit codes are errors.py's."""
from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from . import plan as plans
from .config import Config, seconds
from .errors import (
    EXIT_CHECK_FAILED,
    EXIT_LOCK_TIMEOUT,
    EXIT_STATEMENT_FAILED,
    Failure,
    is_pgrename_check,
)
from .locations import SQL_ROOT, WORK_DIR
from .render import Part, Script, statements

LOG_DIR = Path(os.environ.get("PGRENAME_LOG_DIR", WORK_DIR / "logs"))
BLOCKERS_QUERY = SQL_ROOT / "sql" / "analysis" / "blockers.sql"

log = logging.getLogger("pgrename")


class StepFailed(Exception):
    def __init__(self, part: Part, statement: str, error: psycopg.Error):
        super().__init__(str(error))
        self.part, self.statement, self.error = part, statement, error

    @property
    def is_check(self) -> bool:
        return is_pgrename_check(self.error.sqlstate)

    @property
    def is_lock_timeout(self) -> bool:
        return isinstance(self.error, psycopg.errors.LockNotAvailable)

    def exit_code(self) -> int:
        if self.is_lock_timeout:
            return EXIT_LOCK_TIMEOUT
        return EXIT_CHECK_FAILED if self.is_check else EXIT_STATEMENT_FAILED

    def report(self) -> str:
        diag = self.error.diag
        lines = [diag.message_primary or str(self.error).strip()]
        if diag.message_detail:
            lines += ["  " + line for line in diag.message_detail.splitlines()]
        if diag.message_hint:
            lines.append(f"hint: {diag.message_hint}")
        if not self.is_check:
            lines.append(f"in {self.part.template}, statement:")
            lines += ["  " + line for line in self.statement.strip().splitlines()]
        return "\n".join(lines)

    def details(self) -> dict:
        return {"step": self.part.template, "sqlstate": self.error.sqlstate,
                "error": self.error.diag.message_primary, "detail": self.error.diag.message_detail}


@dataclass
class Context:
    config: Config | None          # None for the commands that need no config
    conn: psycopg.Connection | None  # None for the commands that need no database
    target: str    # the connection, described without its password
    conninfo: str  # for pg_dump and pg_restore; never printed


def run(conn: psycopg.Connection, parts: list[Part], quiet: bool = False) -> None:
    """Execute each part statement by statement; log its duration, then the checks it reported.
    Quiet: those lines go to the log file only; warnings the SQL raised are shown all the same."""
    notices: list[tuple[str, str]] = []
    level = logging.DEBUG if quiet else logging.INFO

    def collect(diag: psycopg.errors.Diagnostic) -> None:  # diag is valid only during this call
        notices.append((diag.severity_nonlocalized, diag.message_primary))

    def report(part: Part, outcome: str) -> None:
        log.log(level, "  %-42s %s", part.template, outcome)
        for severity, message in notices:
            if severity == "WARNING":
                log.warning("%s", message)
            else:
                log.log(level, "      %s", message)
        notices.clear()

    conn.add_notice_handler(collect)
    try:
        for part in parts:
            started = time.monotonic()
            done = 0
            for statement in statements(part.sql):
                try:
                    conn.execute(statement)
                except psycopg.Error as error:
                    report(part, f"FAILED at statement {done + 1}")
                    raise StepFailed(part, statement, error) from None
                done += 1
            report(part, f"{done:3d} statement(s) {(time.monotonic() - started) * 1000:8.1f} ms")
    finally:
        conn.remove_notice_handler(collect)


def blockers(conn: psycopg.Connection, config: Config) -> list[dict]:
    plans.use_settings(conn, config)
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(BLOCKERS_QUERY.read_text()).fetchall()
    return [{key: (str(value) if value is not None else None) for key, value in row.items()} for row in rows]


def record(conn: psycopg.Connection, event: str, migration: str | None, sql_checksum: str | None,
           details: dict) -> None:
    """An audit row in a transaction of its own: kept even though the work it reports rolled back."""
    try:
        with conn.transaction():
            conn.execute("INSERT INTO pgrename.audit (event, migration, sql_checksum, details)"
                         " VALUES (%s, %s, %s, %s)", (event, migration, sql_checksum, Jsonb(details)))
    except psycopg.Error as error:
        log.warning("warning: could not record %s in pgrename.audit: %s", event, str(error).strip())


def describe_blockers(held_by: list[dict]) -> str:
    return "\n".join(f"  pid {b['pid']} user {b['user_name']} application {b['application_name']!r}"
                     f" state {b['state']} transaction age {b['transaction_age']}:"
                     f" {b['mode']} on {b['locked_table']}; last query: {b['last_query']}"
                     for b in held_by) or "  (none left by now)"


def terminate_old_blockers(ctx: Context, held_by: list[dict]) -> None:
    """With terminate_blockers_after set: end the blocking sessions whose transaction is older."""
    if ctx.config.terminate_blockers_after is None:
        return
    ended = ctx.conn.execute(
        "SELECT array_agg(pid) FROM pg_stat_activity WHERE pid = ANY (%s::int[])"
        " AND now() - xact_start > %s::interval AND pg_terminate_backend(pid)",
        ([int(b["pid"]) for b in held_by if b["locked_table"]], ctx.config.terminate_blockers_after)).fetchone()[0]
    if ended:
        log.warning("terminated blocking session(s) %s, in a transaction for more than %s",
                    ", ".join(map(str, ended)), ctx.config.terminate_blockers_after)


def apply(ctx: Context, script: Script, failed_event: str, migration: str | None) -> None:
    """Run the script in one transaction. When a lock is not granted within lock_timeout the
    transaction rolls back (nothing changed, nobody kept waiting behind it); then wait, doubling
    the wait each time, and try again, lock_retries times at most. A failure is audited as
    failed_event, about the migration named (None: a migration set's run)."""
    wait = seconds(ctx.config.retry_wait)
    attempts = ctx.config.lock_retries + 1
    for attempt in range(1, attempts + 1):
        try:
            with ctx.conn.transaction():
                run(ctx.conn, script.runnable())
            return
        except StepFailed as failed:
            if not failed.is_lock_timeout or attempt == attempts:
                raise fail(ctx, failed, failed_event, migration, script.sha256, attempts=attempt) from None
            held_by = blockers(ctx.conn, ctx.config)
            log.warning("attempt %d of %d: a lock was not granted within lock_timeout (%s); rolled back, "
                        "nothing changed. Sessions holding locks on the tables:\n%s\ntrying again in %.1f s",
                        attempt, attempts, ctx.config.lock_timeout, describe_blockers(held_by), wait)
            terminate_old_blockers(ctx, held_by)
            time.sleep(wait)
            wait *= 2


def fail(ctx: Context, failed: StepFailed, event: str, migration: str | None, sql_checksum: str,
         attempts: int = 1) -> Failure:
    """Report a failed run, record it, and say how the command ends."""
    details = failed.details() | {"client_host": socket.gethostname(), "attempts": attempts}
    message = failed.report()
    if failed.is_lock_timeout:
        held_by = blockers(ctx.conn, ctx.config)
        details["blockers"] = held_by
        message = (f"a lock was not granted within lock_timeout ({ctx.config.lock_timeout}), {attempts} "
                   f"attempt(s); nothing was changed.\n{message}\nsessions holding locks on the tables:\n"
                   + describe_blockers(held_by))
    record(ctx.conn, event, migration, sql_checksum, details)
    return Failure(message + f"\n{event.replace('_', ' ')}: the transaction was rolled back; the database is as it was.",
                   failed.exit_code())
