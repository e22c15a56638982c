"""Shell commands before and after migrate and rollback (stop or restart a service), and health
checks after migrate: SQL queries that must answer true, commands that must exit 0."""
from __future__ import annotations

import logging
import os
import subprocess
import tempfile
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from .config import Config, HealthCheck, seconds
from .errors import EXIT_HOOK_FAILED, Failure

log = logging.getLogger("pgrename")


class HookFailed(Failure):
    """A hook command failed or ran out of time; the message says which and what it printed."""

    exit_code = EXIT_HOOK_FAILED


# The connection's secrets as libpq and pgrename read them: a hook never inherits these.
SECRET_VARIABLES = ("DATABASE_URL", "PGPASSWORD", "PGPASSFILE", "PGSERVICEFILE", "PGSERVICE")


@contextmanager
def _environment(config: Config, conn: psycopg.Connection) -> Iterator[dict]:
    """What a hook may want to know, and libpq's variables to connect as pgrename did (psql works
    in a hook as it is); never the password itself: where there is one, it is in a .pgpass file
    of the hook's own (mode 0600, gone when the hook ends), as PGPASSFILE."""
    info = conn.info
    environment = {key: value for key, value in os.environ.items() if key not in SECRET_VARIABLES}
    environment.update(PGRENAME_MIGRATION=config.migration, PGRENAME_PROFILE=config.profile.name,
                       PGRENAME_DATABASE=info.dbname, PGRENAME_SCHEMA=config.schema,
                       PGRENAME_SCHEMAS=",".join(config.schemas),
                       PGHOST=info.host, PGPORT=str(info.port), PGUSER=info.user, PGDATABASE=info.dbname)
    with tempfile.TemporaryDirectory(prefix="pgrename-hook-") as private:
        if info.password:
            passfile = Path(private) / "pgpass"
            fields = (info.host, str(info.port), info.dbname, info.user, info.password)
            passfile.write_text(":".join(f.replace("\\", "\\\\").replace(":", "\\:") for f in fields) + "\n")
            passfile.chmod(0o600)
            environment["PGPASSFILE"] = str(passfile)
        yield environment


def _scrubbed(text: str, conn: psycopg.Connection) -> str:
    """What a hook printed, the password (should a hook find and print it) replaced by ****."""
    return text.replace(conn.info.password, "****") if conn.info.password else text


def _run_command(command: str, config: Config, conn: psycopg.Connection) -> tuple[bool, str]:
    timeout = seconds(config.profile.hooks.timeout)
    try:
        with _environment(config, conn) as environment:
            done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=timeout,
                                  env=environment)
    except subprocess.TimeoutExpired:
        return False, f"did not finish within {config.profile.hooks.timeout}"
    output = _scrubbed((done.stdout + done.stderr).strip(), conn)
    return done.returncode == 0, (output or f"exit {done.returncode}") if done.returncode else output


def run_hooks(stage: str, config: Config, conn: psycopg.Connection) -> None:
    """Run the profile's commands for a stage (before_migrate, after_rollback, ...), in order;
    the first that fails stops the rest."""
    for command in getattr(config.profile.hooks, stage):
        ok, output = _run_command(command, config, conn)
        log.info("  hook %s: %s: %s%s", stage, command, "ok" if ok else "FAILED",
                 "\n" + textwrap.indent(output, "    ") if output else "")
        if not ok:
            raise HookFailed(f"hook {stage} failed: {command}: {output}")


def _check(check: HealthCheck, config: Config, conn: psycopg.Connection) -> tuple[bool, str]:
    if check.command:
        return _run_command(check.command, config, conn)
    try:
        with conn.transaction(force_rollback=True):
            conn.execute("SELECT set_config('statement_timeout', %s, true)", (config.profile.hooks.timeout,))
            row = conn.execute(check.sql).fetchone()
        return bool(row and row[0] is True), f"answered {row[0] if row else 'no row'!r}"
    except psycopg.Error as error:
        return False, str(error).strip()


def health_checks(config: Config, conn: psycopg.Connection) -> list[str]:
    """Run every health check; the failures, described."""
    failures = []
    for check in config.profile.hooks.health_checks:
        ok, detail = _check(check, config, conn)
        what = f"sql {check.sql}" if check.sql else f"command {check.command}"
        log.info("  health check %s: %s (%s)", what, "passed" if ok else "FAILED", detail)
        if not ok:
            failures.append(f"{what}: {detail}")
    return failures
