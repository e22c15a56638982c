#!/usr/bin/env python3
"""pgrename: rename PostgreSQL tables and every object named after them, safely and reversibly.

The work is done by the SQL files in sql/ and rollback/; this runner renders them, runs them in
one transaction, and reports. The database is DATABASE_URL, else libpq's PG* variables, else
the embedded one of `make db`.
"""
from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import logging
import os
import sys
import time
from pathlib import Path

import psycopg

from pgrename import commands
from pgrename.config import ConfigError, load_config
from pgrename.connection import ConnectionFailed, connect, describe, scrub, target_conninfo
from pgrename.execute import EXIT_CONNECTION, EXIT_USAGE, LOG_DIR, Context, Failure
from pgrename.render import PROJECT_DIR, RenderError

COMMANDS = {
    "analyze": "read-only report: tables, conflicts, dependencies, volume, blockers, plan preview",
    "plan": "render build/migrate.sql and build/rollback.sql and run the read-only preflight",
    "dry-run": "run the whole migration in a transaction, report, then roll it back",
    "migrate": "apply the migration in one transaction (does nothing if already applied)",
    "verify": "prove the database matches what the migration (or its rollback) recorded",
    "rollback": "undo the applied migration and prove the schema is back as it was",
    "contract": "drop the compatibility views once every client uses the new names (--undo: bring them back)",
    "status": "show applied migrations and the audit trail",
    "rehearse": "migrate, verify, roll back and verify on a scratch copy of the database, then drop it",
    "backups": "list the backups taken before migrations",
    "restore-backup": "restore a backup into a new database (or over this one, with approval)",
    "backup": "back up every table's rows with COPY: FK-ordered, deterministic, checksummed",
    "backup-verify": "check a data backup's manifest, files, checksums and row counts (no database needed)",
    "backup-diff": "which tables and keys differ between two data backups (no database needed)",
    "restore": "restore a data backup into this database: clean, append or upsert, in one transaction",
}
WITHOUT_DATABASE = {"backup-verify", "backup-diff"}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="runner.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=PROJECT_DIR / "config.yaml",
                        help="the config file (default: config.yaml)")
    parser.add_argument("--database-url", help="the database (default: $DATABASE_URL, PG* variables, embedded)")
    parser.add_argument("--profile", default=os.environ.get("PGRENAME_PROFILE") or None,
                        help="development, staging or production (default: $PGRENAME_PROFILE, else the config's)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands = {name: sub.add_parser(name, help=text, description=text) for name, text in COMMANDS.items()}
    for name in ("plan", "status", "backups", "backup", "backup-verify", "backup-diff", "restore"):
        commands[name].add_argument("--json", dest="as_json", action="store_true",
                                    help="machine-readable output on stdout")
    for name in ("migrate", "rollback", "contract", "restore-backup", "restore"):
        commands[name].add_argument("--approve", dest="approved", metavar="DBNAME",
                                    help="approval without a terminal: the database's name")
    commands["migrate"].add_argument("--apply", dest="apply_now", action="store_true",
                                     help="apply even where the profile dry-runs by default")
    commands["analyze"].add_argument("--format", dest="output", choices=["text", "json", "markdown"], default="text",
                                     help="text for people, json for machines, markdown for a change request")
    commands["analyze"].add_argument("--exact", action="store_true", help="exact row counts (reads every row)")
    commands["analyze"].add_argument("--write-config", type=Path, metavar="FILE",
                                     help="also write a starter config from the live database (never overwrites)")
    commands["verify"].add_argument("--contract", type=Path, metavar="FILE",
                                    help="also check the database against this Prisma schema (default: config's)")
    commands["rehearse"].add_argument("--with-data", action="store_true",
                                      help="copy the rows too, not only the schema")
    commands["contract"].add_argument("--undo", action="store_true", help="re-create the views a contract dropped")
    commands["restore-backup"].add_argument("path", type=Path, metavar="FILE", help="a backup from backups/")
    commands["backup"].add_argument("--to", dest="directory", type=Path, metavar="DIR",
                                    help="where to write it (default: backups/<db>-<time>-data); never overwritten")
    commands["backup"].add_argument("--scope", metavar="CONDITION",
                                    help="one tenant's rows: a condition on a table, e.g. '\"Business\".id = 42'; "
                                         "its children and the parents they need come along")
    for name in ("backup-verify", "restore"):
        commands[name].add_argument("directory", type=Path, metavar="DIR",
                                    help="a data backup: its directory, or its .tar archive")
    commands["backup-diff"].add_argument("a", type=Path, metavar="A", help="a data backup directory")
    commands["backup-diff"].add_argument("b", type=Path, metavar="B", help="another, compared with A")
    commands["backup-diff"].add_argument("--keys", type=int, default=10, metavar="N",
                                         help="keys listed per table and kind of change (default 10; --json lists all)")
    commands["restore"].add_argument("--mode", choices=["clean", "append", "upsert"], default="clean",
                                     help="clean: empty the tables first; append: keep existing keys; "
                                          "upsert: overwrite them")
    commands["backup"].add_argument("--archive", action="store_true",
                                    help="pack the backup into one tar file (DIR.tar) instead of a directory")
    commands["backup"].add_argument("--data-only", action="store_true",
                                    help="leave out the schema (pg_dump --schema-only), which is kept by default")
    commands["restore"].add_argument("--schema", dest="with_schema", action="store_true",
                                     help="create the backup's schema first (the target must not have its tables)")
    commands["restore"].add_argument("--continue-on-error", action="store_true",
                                     help="load the rows that can be, set aside those that fail (exit 3 if any)")
    commands["restore"].add_argument("--errors", type=Path, metavar="FILE",
                                     help="where rejected rows go, one JSON object a line "
                                          "(default: logs/restore-errors-<time>.jsonl)")
    commands["restore-backup"].add_argument("--into-original", action="store_true",
                                            help="restore over this database instead of into a new one")
    return parser.parse_args(argv)


def setup_logging(command: str, quiet: bool) -> Path:
    """Everything said goes to the terminal and to logs/<command>-<timestamp>.log."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    path = LOG_DIR / f"{command}-{time.strftime('%Y%m%d-%H%M%S')}.log"
    logger = logging.getLogger("pgrename")
    logger.setLevel(logging.DEBUG)
    to_terminal = logging.StreamHandler(sys.stderr if quiet else sys.stdout)
    to_terminal.setLevel(logging.WARNING if quiet else logging.INFO)
    to_file = logging.FileHandler(path, encoding="utf-8")
    to_file.setLevel(logging.DEBUG)
    to_file.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    logger.handlers[:] = [to_terminal, to_file]
    return path


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    as_json = getattr(args, "as_json", False) or getattr(args, "output", None) == "json"
    log_path = setup_logging(args.command, quiet=as_json)
    log = logging.getLogger("pgrename")
    conninfo = target_conninfo(args.database_url)
    try:
        config = load_config(args.config, args.profile)
        target = describe(conninfo)
        log.info("pgrename %s: migration %s, config %s, profile %s, database %s", args.command,
                 config.migration, args.config, config.profile.name, target)
        # The whole configuration goes to the log file only (it holds no password: those stay in
        # DATABASE_URL or the environment, which are shown without it).
        log.debug("configuration: %s", json.dumps(dataclasses.asdict(config), default=str))
        handler = getattr(commands, "cmd_" + args.command.replace("-", "_"))
        # Each option's dest is the name of the handler's parameter it sets.
        options = {name: getattr(args, name) for name in inspect.signature(handler).parameters
                   if hasattr(args, name) and name != "ctx"}
        if args.command in WITHOUT_DATABASE:
            code = handler(Context(config, None, target, conninfo), **options)
        else:
            with connect(conninfo) as conn:
                code = handler(Context(config, conn, target, conninfo), **options)
    except ConfigError as error:
        log.error("error: config: %s", error)
        code = EXIT_USAGE
    except ConnectionFailed as error:
        log.error("error: %s", error)
        code = EXIT_CONNECTION
    except RenderError as error:
        log.error("error: rendering SQL: %s", error)
        code = EXIT_USAGE
    except Failure as failure:
        log.error("error: %s", scrub(str(failure), conninfo))
        code = failure.exit_code
    except psycopg.Error as error:
        # The connection broke or the server stopped mid-run: any open transaction rolled back.
        log.error("error: the database connection failed: %s; an open transaction, if any, was rolled back",
                  scrub(str(error).strip(), conninfo))
        code = EXIT_CONNECTION
    except KeyboardInterrupt:
        log.error("interrupted: an open transaction, if any, was rolled back")
        code = 130
    log.info("log: %s", log_path)
    return code


if __name__ == "__main__":
    sys.exit(main())
