"""The exit codes of every command, and the one family of errors that carries them.

Every error pgrename reports is a Failure (or a kind of it) whose exit_code says how the command
ends; runner.py catches that one type. Checks raised in SQL use pgrename's own SQLSTATEs
(class PG), so the runner tells a failed check from a failed statement by its code, not by the
wording of its message.

Exit codes (documented in the README):
    0 done, or nothing to do          5 the database cannot be reached
    1 a statement or backup failed    6 analyze found conflicts
    2 bad config, usage, no approval  7 analyze found sessions that would block the migration
    3 a check failed                  8 a hook or health check failed
    4 a lock was not granted within lock_timeout (another run's included)
"""
from __future__ import annotations

(EXIT_OK, EXIT_STATEMENT_FAILED, EXIT_USAGE, EXIT_CHECK_FAILED, EXIT_LOCK_TIMEOUT, EXIT_CONNECTION,
 EXIT_CONFLICTS, EXIT_BLOCKERS, EXIT_HOOK_FAILED) = range(9)
EXIT_INTERRUPTED = 130

# pgrename's own SQLSTATEs, raised by the SQL in sql/ and rollback/ (USING ERRCODE = ...).
SQLSTATES = {
    "PGR01": "preflight failed: the change cannot be made as planned",
    "PGR02": "verification failed: the database does not match what was planned or recorded",
    "PGR03": "refused in this state: not in a transaction, already applied, not applied, not contracted",
    "PGR04": "pgrename's own schema is not at the version the script needs",
    "PGR05": "a data restore or backup refused its input",
    "PGR06": "a natural-key import refused its input, or the database failed its validation",
}


def is_pgrename_check(sqlstate: str | None) -> bool:
    return sqlstate in SQLSTATES


class Failure(Exception):
    """A command that could not do its work: what to tell the DBA, and the exit code."""

    exit_code = EXIT_STATEMENT_FAILED
    label = ""  # what the message is about, said before it: "config: ..."

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(Failure):
    """Bad input on the command line or in a file the DBA wrote; nothing was done."""

    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    """The config file is unreadable or says something pgrename cannot do."""

    label = "config: "


class RenderError(UsageError):
    """A template could not be rendered from what the config or the catalog gave it."""

    label = "rendering SQL: "


class ConnectionFailed(Failure):
    """The database could not be reached; the message never carries the password."""

    exit_code = EXIT_CONNECTION


class CheckFailed(Failure):
    """A check found the database, a backup or a script other than it must be."""

    exit_code = EXIT_CHECK_FAILED


class LockNotGranted(Failure):
    """A lock (a table's, or another pgrename run's) was not granted within lock_timeout."""

    exit_code = EXIT_LOCK_TIMEOUT
