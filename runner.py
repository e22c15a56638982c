#!/usr/bin/env python3
"""pgrename: rename PostgreSQL tables and every object named after them, safely and reversibly.

The work is done by the SQL files in sql/ and rollback/; this runner renders them, runs them in
one transaction, and reports. The database is DATABASE_URL, else libpq's PG* variables, else
the embedded one of `make db`.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

from pgrename import commands
from pgrename.commands import EXIT_CONNECTION, EXIT_USAGE, Context, Failure
from pgrename.config import ConfigError, load_config
from pgrename.connection import ConnectionFailed, connect, describe, scrub, target_conninfo
from pgrename.render import PROJECT_DIR, RenderError

COMMANDS = {
    "analyze": "read-only report: tables, conflicts, dependencies, volume, blockers, plan preview",
    "plan": "render build/migrate.sql and build/rollback.sql and run the read-only preflight",
    "dry-run": "run the whole migration in a transaction, report, then roll it back",
    "migrate": "apply the migration in one transaction (does nothing if already applied)",
    "verify": "prove the database matches what the migration (or its rollback) recorded",
    "rollback": "undo the applied migration and prove the schema is back as it was",
    "status": "show applied migrations and the audit trail",
    "contract": "drop the compatibility views once every client uses the new names (--undo: bring them back)",
}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="runner.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=PROJECT_DIR / "config.yaml",
                        help="the config file (default: config.yaml)")
    parser.add_argument("--database-url", help="the database (default: $DATABASE_URL, PG* variables, embedded)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        if name in ("plan", "status"):
            command.add_argument("--json", action="store_true", help="machine-readable output on stdout")
        if name == "verify":
            command.add_argument("--contract", type=Path, metavar="FILE",
                                 help="also check the database against this Prisma schema (default: config's contract)")
        if name == "contract":
            command.add_argument("--undo", action="store_true", help="re-create the views a contract dropped")
        if name == "analyze":
            command.add_argument("--format", choices=["text", "json", "markdown"], default="text",
                                 help="text for people, json for machines, markdown for a change request")
            command.add_argument("--exact", action="store_true", help="exact row counts (reads every row)")
            command.add_argument("--write-config", type=Path, metavar="FILE",
                                 help="also write a starter config from the live database (never overwrites)")
    return parser.parse_args(argv)


def setup_logging(command: str, quiet: bool) -> Path:
    """Everything said goes to the terminal and to logs/<command>-<timestamp>.log."""
    logs = Path(os.environ.get("PGRENAME_LOG_DIR", PROJECT_DIR / "logs"))
    logs.mkdir(parents=True, exist_ok=True)
    path = logs / f"{command}-{time.strftime('%Y%m%d-%H%M%S')}.log"
    logger = logging.getLogger("pgrename")
    logger.setLevel(logging.INFO)
    to_terminal = logging.StreamHandler(sys.stderr if quiet else sys.stdout)
    to_terminal.setLevel(logging.WARNING if quiet else logging.INFO)
    to_file = logging.FileHandler(path, encoding="utf-8")
    to_file.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    logger.handlers[:] = [to_terminal, to_file]
    return path


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    as_json = getattr(args, "json", False) or getattr(args, "format", None) == "json"
    log_path = setup_logging(args.command, quiet=as_json)
    log = logging.getLogger("pgrename")
    conninfo = target_conninfo(args.database_url)
    try:
        config = load_config(args.config)
        target = describe(conninfo)
        log.info("pgrename %s: migration %s, config %s, database %s", args.command, config.migration,
                 args.config, target)
        with connect(conninfo) as conn:
            ctx = Context(config, conn, target)
            handler = getattr(commands, "cmd_" + args.command.replace("-", "_"))
            if args.command == "analyze":
                code = handler(ctx, output=args.format, exact=args.exact, write_config=args.write_config)
            elif args.command == "verify":
                code = handler(ctx, contract=args.contract)
            elif args.command == "contract":
                code = handler(ctx, undo=args.undo)
            elif args.command in ("plan", "status"):
                code = handler(ctx, as_json=as_json)
            else:
                code = handler(ctx)
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
    log.info("log: %s", log_path)
    return code


if __name__ == "__main__":
    sys.exit(main())
