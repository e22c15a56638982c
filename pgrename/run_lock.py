"""One writing run at a time per database: pgrename's advisory lock, taken by every command that
writes before it does anything, and by every rendered script for its transaction, so that psql
runs and runner runs exclude each other too. A second run waits at most lock_timeout, then says
who holds the lock and changes nothing."""
from __future__ import annotations

import psycopg
from psycopg.rows import dict_row

from .errors import LockNotGranted
from .locations import SQL_ROOT

# 'pgre' in ASCII, and 1 for the writers; sql/analysis/run_lock_holder.sql and the templates'
# run_lock global name the same pair.
KEY = (1885827685, 1)
HOLDER_QUERY = SQL_ROOT / "sql" / "analysis" / "run_lock_holder.sql"


def holders(conn: psycopg.Connection) -> list[dict]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(HOLDER_QUERY.read_text()).fetchall()


def hand_over(conn: psycopg.Connection) -> None:
    """Let go of the run lock for a script that runs in a session of its own (psql) and takes the
    lock for its transaction itself."""
    conn.execute("SELECT pg_advisory_unlock(%s, %s)", KEY)


def take(conn: psycopg.Connection, lock_timeout: str, command: str) -> None:
    """Hold the run lock for the rest of this session (it ends with the connection)."""
    conn.execute("SELECT set_config('lock_timeout', %s, false)", (lock_timeout,))
    try:
        conn.execute("SELECT pg_advisory_lock(%s, %s)", KEY)
    except psycopg.errors.LockNotAvailable:
        others = holders(conn)
        who = "; ".join(f"pid {h['pid']}, user {h['user_name']}, application {h['application_name']!r}, "
                        f"connected since {h['backend_start']:%Y-%m-%d %H:%M:%S %Z}"
                        for h in others) or "a session that has ended since"
        raise LockNotGranted(f"another pgrename run holds this database ({who}); waited lock_timeout "
                             f"({lock_timeout}) for it. {command} changed nothing: run it again once that "
                             "run is over") from None
    finally:
        conn.execute("RESET lock_timeout")
