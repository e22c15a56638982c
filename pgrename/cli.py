"""pgrename: rename PostgreSQL tables and every object named after them, safely and reversibly.

The work is done by the SQL files in sql/ and rollback/; this runner renders them, runs them in
one transaction, and reports. The database is DATABASE_URL, else libpq's PG* variables, else
the embedded one of `make db`.

Every command is declared once, below: its name, help, options, and whether it needs a config, a
database, and the run lock (the commands that write: one at a time per database, pgrename's own
schema brought to its version first).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from . import VERSION, json_output, own_schema, run_lock
from .commands import analysis, data_backups, dumps, renaming, sets, sync
from .commands import own_schema as own_schema_commands
from .commands import merges as merges_commands
from .config import DEFAULT_LOCK_TIMEOUT, load_config
from .connection import connect, reached, scrub, target_conninfo
from .data import restore
from .sync import load as sync_load
from .errors import EXIT_CONNECTION, EXIT_INTERRUPTED, EXIT_STATEMENT_FAILED, Failure
from .execute import LOG_DIR, Context
from .locations import WORK_DIR

DEFAULT_CONFIG = WORK_DIR / "config.yaml"


@dataclass(frozen=True)
class Option:
    """One option of a command: argparse's flags and settings; dest names the handler's parameter."""
    flags: tuple[str, ...]
    settings: dict

    @property
    def dest(self) -> str:
        return self.settings.get("dest") or self.flags[0].lstrip("-").replace("-", "_")


def option(*flags: str, **settings) -> Option:
    return Option(flags, settings)


JSON = option("--json", dest="as_json", action="store_true", help="machine-readable output on stdout")
APPROVE = option("--approve", dest="approved", metavar="DBNAME", help="approval without a terminal: the database's name")
# Which migrations of a set a run covers.
SET_RANGE = (
    option("--start", default=os.environ.get("DB_MIGRATION_STARTWITH") or None, metavar="PACKAGE",
           help="the first package (default: $DB_MIGRATION_STARTWITH, else the first)"),
    option("--end", default=os.environ.get("DB_MIGRATION_ENDWITH") or None, metavar="PACKAGE",
           help="the last package (default: $DB_MIGRATION_ENDWITH, else the last)"),
    option("--to", type=int, metavar="NNN", help="no migration numbered above this"),
    option("--only", type=int, metavar="NNN", help="this one migration, manual-only ones included"),
    option("--allow-out-of-order", action="store_true",
           help="let a migration run below an applied number (recorded as out of order)"),
)


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    handler: Callable[..., int]
    options: tuple[Option, ...] = ()
    needs_config: bool = True
    needs_database: bool = True
    renames: bool = False          # plans, applies or undoes the rename migration: the config must name it
    writes: bool = False           # takes the run lock first
    own_schema: bool = False       # and brings pgrename's own schema to its version
    check_files: Callable[..., object] | None = None  # reads and checks its files (config given) before connecting
    old_names: tuple[str, ...] = field(default=())  # still accepted, with a note, for one release


COMMANDS = (
    Command("analyze", "read-only report: tables, conflicts, dependencies, volume, blockers, plan preview",
            analysis.cmd_analyze, (
                option("--format", dest="output", choices=["text", "json", "markdown"], default="text",
                       help="text for people, json for machines, markdown for a change request"),
                option("--exact", action="store_true", help="exact row counts (reads every row)"),
                option("--write-config", type=Path, metavar="FILE",
                       help="also write a starter config from the live database (never overwrites)"))),
    Command("plan", "render build/migrate.sql and build/rollback.sql and run the read-only preflight",
            renaming.cmd_plan, (JSON,), renames=True),
    Command("dry-run", "run the whole migration in a transaction, report, then roll it back",
            renaming.cmd_dry_run, renames=True, writes=True, own_schema=True),
    Command("migrate", "apply the migration in one transaction (does nothing if already applied)",
            renaming.cmd_migrate, (
                APPROVE,
                option("--apply", dest="apply_now", action="store_true",
                       help="apply even where the profile dry-runs by default")), renames=True, writes=True,
            own_schema=True),
    Command("verify", "prove the database matches what the migration (or its rollback) recorded",
            renaming.cmd_verify, (
                option("--contract", type=Path, metavar="FILE",
                       help="also check the database against this Prisma schema (default: config's)"),
                option("--script", type=Path, metavar="FILE",
                       help="also check that this migrate script (e.g. build/migrate.sql) is the one applied")),
            renames=True),
    Command("rollback", "undo the applied migration and prove the schema is back as it was",
            renaming.cmd_rollback, (APPROVE,), renames=True, writes=True, own_schema=True),
    Command("contract", "drop the compatibility views once every client uses the new names (--undo: bring them back)",
            renaming.cmd_contract, (
                APPROVE, option("--undo", action="store_true", help="re-create the views a contract dropped")),
            renames=True, writes=True, own_schema=True),
    Command("merge-prepare", "copy the merges' legacy rows ahead of migrate, in batches, so that its lock covers only "
            "what changes since (--undo: delete the copies)",
            merges_commands.cmd_merge_prepare, (
                option("--batch-size", type=int, default=10000, metavar="ROWS", help="rows a batch copies (default 10000)"),
                option("--pause", type=float, default=0.0, metavar="SECONDS", help="wait between batches (default 0)"),
                option("--batches", type=int, metavar="N", help="stop after N batches; run again to go on"),
                option("--undo", action="store_true", help="delete the rows copied ahead and remove the capture triggers"),
                JSON),
            renames=True, writes=True, own_schema=True),
    Command("rehearse", "migrate, verify, roll back and verify on a scratch copy of the database, then drop it",
            renaming.cmd_rehearse, (
                option("--with-data", action="store_true", help="copy the rows too, not only the schema"),),
            renames=True),
    Command("status", "pgrename's own schema version, the applied migrations and the audit trail",
            own_schema_commands.cmd_status, (
                JSON, option("--events", type=int, default=20, metavar="N",
                             help="how many of the latest audit events to show (default 20)")),
            needs_config=False),
    Command("schema-upgrade", "install or upgrade pgrename's own schema (sql/install/) to this release's version",
            own_schema_commands.cmd_schema_upgrade, needs_config=False, writes=True),
    Command("sets-status", "every migration of the set: applied, pending, manual, edited, missing, out of order",
            sets.cmd_sets_status, (JSON,), check_files=sets.files),
    Command("sets-validate", "exit 3 if an applied migration's file was edited or is missing, or one failed",
            sets.cmd_sets_validate, (JSON,), check_files=sets.files),
    Command("sets-plan", "write build/sets-migrate.sql for the pending migrations of the range", sets.cmd_sets_plan,
            SET_RANGE, check_files=sets.files),
    Command("sets-migrate", "apply the pending migrations of the range in one transaction", sets.cmd_sets_migrate,
            (*SET_RANGE, APPROVE), writes=True, own_schema=True, check_files=sets.files),
    Command("sets-rollback", "roll back every migration above --to, newest first, and prove the schema is as before",
            sets.cmd_sets_rollback, (option("--to", type=int, metavar="NNN", help="the number to roll back to"), APPROVE),
            writes=True, own_schema=True, check_files=sets.files),
    Command("sets-rehearse", "the pending range applied, rolled back and validated on a scratch copy, then dropped",
            sets.cmd_sets_rehearse, (*SET_RANGE, option("--with-data", action="store_true",
                                                          help="copy the rows too, not only the schema")),
            check_files=sets.files),
    Command("sets-baseline", "record the migrations up to --at as present, without running them",
            sets.cmd_sets_baseline, (option("--at", type=int, metavar="NNN", help="the last migration the database has"),
                                     APPROVE), writes=True, own_schema=True, check_files=sets.files),
    Command("sets-repair", "accept an edited applied migration's file, or clear a failed one (audited)",
            sets.cmd_sets_repair, (option("--accept", type=int, metavar="NNN", help="the migration to repair"),
                                   APPROVE), writes=True, own_schema=True, check_files=sets.files),
    Command("dumps", "list the backups in backups/: pg_dump files and data backups, each marked", dumps.cmd_dumps,
            (JSON,),
            needs_config=False, needs_database=False, old_names=("backups",)),
    Command("restore-dump", "restore a pg_dump backup into a new database (or over this one, with approval)",
            dumps.cmd_restore_dump, (
                option("path", type=Path, metavar="FILE", help="a dump from backups/"),
                option("--into-original", action="store_true",
                       help="restore over this database instead of into a new one"), APPROVE),
            writes=True, old_names=("restore-backup",)),
    Command("backup", "back up every table's rows with COPY: FK-ordered, deterministic, checksummed",
            data_backups.cmd_backup, (
                JSON,
                option("--to", dest="directory", type=Path, metavar="DIR",
                       help="where to write it (default: backups/<db>-<time>-data); never overwritten"),
                option("--scope", metavar="CONDITION",
                       help="one tenant's rows: a condition on a table, e.g. '\"Business\".id = 42'; "
                            "its children and the parents they need come along"),
                option("--archive", dest="archived", action="store_true",
                       help="pack the backup into one tar file (DIR.tar) instead of a directory"),
                option("--data-only", action="store_true",
                       help="leave out the schema (pg_dump --schema-only), which is kept by default"))),
    Command("backup-verify", "check a data backup's manifest, files, checksums and row counts (no database needed)",
            data_backups.cmd_backup_verify, (
                JSON, option("directory", type=Path, metavar="DIR",
                             help="a data backup: its directory, or its .tar archive")),
            needs_config=False, needs_database=False),
    Command("backup-diff", "which tables and keys differ between two data backups (no database needed)",
            data_backups.cmd_backup_diff, (
                JSON,
                option("a", type=Path, metavar="A", help="a data backup directory"),
                option("b", type=Path, metavar="B", help="another, compared with A"),
                option("--keys", type=int, default=10, metavar="N",
                       help="keys listed per table and kind of change (default 10; --json lists all)")),
            needs_config=False, needs_database=False),
    Command("restore", "restore a data backup into this database: clean, append or upsert, in one transaction",
            data_backups.cmd_restore, (
                JSON, APPROVE,
                option("directory", type=Path, metavar="DIR", help="a data backup: its directory, or its .tar archive"),
                option("--mode", choices=restore.MODES, default="clean",
                       help="clean: empty the tables first; append: keep existing keys; upsert: overwrite them"),
                option("--schema", dest="with_schema", action="store_true",
                       help="create the backup's schema first (the target must not have its tables)"),
                option("--continue-on-error", action="store_true",
                       help="load the rows that can be, set aside those that fail (exit 3 if any)"),
                option("--errors", type=Path, metavar="FILE",
                       help="where rejected rows go, one JSON object a line "
                            "(default: logs/restore-errors-<time>.jsonl)")),
            writes=True),
    Command("export", "natural-key export: synced tables without surrogate ids, references as the parent's key",
            sync.cmd_export, (
                JSON,
                option("--to", dest="directory", type=Path, metavar="DIR",
                       help="where to write it (default: backups/<db>-<time>-sync; DIR.tar: one tar file)"),
                option("--archive", dest="archived", action="store_true", help="pack it into one tar file"))),
    Command("import", "import a natural-key export in one transaction: init, append, update or replace, validated",
            sync.cmd_import, (
                JSON, APPROVE,
                option("directory", type=Path, metavar="DIR", help="an export: its directory, or its .tar archive"),
                option("--mode", choices=sync_load.MODES, default="update",
                       help="init: into empty tables; append: new keys only; update: also changed rows; "
                            "replace: also delete what the export no longer has"),
                option("--overwrite-local-edits", action="store_true",
                       help="update rows edited here since the last import too (kept and reported by default)"),
                option("--resurrect-deleted", action="store_true",
                       help="insert again rows deleted here since the last import (left deleted by default)"),
                option("--allow-deletes", action="store_true",
                       help="replace: delete more rows than sync.delete_cap"),
                option("--continue-on-error", action="store_true",
                       help="import the rows that can be, set aside those that fail (exit 3 if any)"),
                option("--errors", type=Path, metavar="FILE",
                       help="where rows set aside go, one JSON object a line "
                            "(default: logs/import-errors-<time>.jsonl)")),
            writes=True, own_schema=True),
    Command("validate", "the integrity suite generated from the catalog, plus the config's keys and checks",
            sync.cmd_validate, (
                option("--format", dest="output", choices=["text", "tap", "json"], default="text",
                       help="text for people, tap (Test Anything Protocol) or json for machines"),)),
)
BY_NAME = {name: command for command in COMMANDS for name in (command.name, *command.old_names)}


def global_options(parser: argparse.ArgumentParser, defaults: bool) -> None:
    """--config, --database-url and --profile: before the command, or after it (where they are
    declared again without defaults, so that one given before is not overwritten)."""
    def default(value):
        return value if defaults else argparse.SUPPRESS
    parser.add_argument("--config", type=Path, default=default(None), help="the config file (default: ./config.yaml)")
    parser.add_argument("--database-url", default=default(None),
                        help="the database (default: $DATABASE_URL, PG* variables, embedded)")
    parser.add_argument("--profile", default=default(os.environ.get("PGRENAME_PROFILE") or None),
                        help="development, staging or production (default: $PGRENAME_PROFILE, else the config's)")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=Path(sys.argv[0]).name, description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"pgrename {VERSION}")
    global_options(parser, defaults=True)
    after_the_command = argparse.ArgumentParser(add_help=False)
    global_options(after_the_command, defaults=False)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        for name in (command.name, *command.old_names):
            described = command.help if name == command.name else f"old name of {command.name}: {command.help}"
            subparser = sub.add_parser(name, help=described, description=described, parents=[after_the_command])
            for declared in command.options:
                subparser.add_argument(*declared.flags, **declared.settings)
    return parser.parse_args(argv)


class TerminalHandler(logging.StreamHandler):
    """The terminal's copy of the log. On a terminal, errors and failed steps show red and warnings
    yellow, unless NO_COLOR is set (https://no-color.org); piped or in the log file, plain text.
    When its reader goes away (`pgrename plan | head`), only that copy ends: the work goes on, and
    the log file keeps every line."""

    RED, YELLOW, RESET = "\033[31m", "\033[33m", "\033[0m"

    def __init__(self, stream) -> None:
        super().__init__(stream)
        self.coloured = stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        if not self.coloured:
            return line
        if record.levelno >= logging.ERROR or " FAILED" in line:
            return f"{self.RED}{line}{self.RESET}"
        if record.levelno >= logging.WARNING:
            return f"{self.YELLOW}{line}{self.RESET}"
        return line

    def handleError(self, record: logging.LogRecord) -> None:
        if isinstance(sys.exc_info()[1], BrokenPipeError):
            self.setLevel(logging.CRITICAL + 1)
        else:
            super().handleError(record)


def setup_logging(command: str, quiet: bool) -> Path:
    """Everything said goes to the terminal and to logs/<command>-<timestamp>.log."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    path = LOG_DIR / f"{command}-{time.strftime('%Y%m%d-%H%M%S')}.log"
    logger = logging.getLogger("pgrename")
    logger.setLevel(logging.DEBUG)
    to_terminal = TerminalHandler(sys.stderr if quiet else sys.stdout)
    to_terminal.setLevel(logging.WARNING if quiet else logging.INFO)
    to_file = logging.FileHandler(path, encoding="utf-8")
    to_file.setLevel(logging.DEBUG)
    to_file.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    logger.handlers[:] = [to_terminal, to_file]
    return path


def run_command(command: Command, args: argparse.Namespace, conninfo: str, log: logging.Logger) -> int:
    config = None
    if command.needs_config or args.config is not None:
        config = load_config(args.config or DEFAULT_CONFIG, args.profile)
        if command.renames:
            config.require_migration(command.name)
        # The whole configuration goes to the log file only (it holds no password: those stay in
        # DATABASE_URL or the environment, which are shown without it).
        log.debug("configuration: %s", json.dumps(dataclasses.asdict(config), default=str))
    subject = (f"migration set {config.migration_sets.directory}" if command.check_files and config.migration_sets
               else f"migration {config.migration}" if config and config.migration else "")
    about = f" {subject + ', ' if subject else ''}config {config.path}, profile {config.profile.name}," if config else ""
    options = {declared.dest: getattr(args, declared.dest) for declared in command.options}
    if command.check_files:
        command.check_files(config)
    if not command.needs_database:
        log.info("pgrename %s:%s database (none needed)", command.name, about)
        return command.handler(Context(config, None, "", conninfo), **options)
    with connect(conninfo) as conn:
        target = reached(conn)  # the database itself, however it was named (URL, PG* variables, service)
        log.info("pgrename %s:%s database %s", command.name, about, target)
        if command.writes:
            run_lock.take(conn, config.lock_timeout if config else DEFAULT_LOCK_TIMEOUT, command.name)
        if command.own_schema:
            try:
                upgraded = own_schema.upgrade(conn)
            except own_schema.NotPermitted as refused:
                log.warning("warning: %s", refused)
            else:
                if upgraded:
                    log.info("pgrename's own schema upgraded to version %d (%s)", own_schema.REQUIRED_VERSION,
                             ", ".join(upgraded))
        return command.handler(Context(config, conn, target, conninfo), **options)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    command = BY_NAME[args.command]
    as_json = getattr(args, "as_json", False) or getattr(args, "output", None) == "json"
    # A machine's output, or a document (markdown), owns stdout; the log goes to stderr and the file.
    log_path = setup_logging(command.name, quiet=as_json or getattr(args, "output", None) in ("markdown", "tap"))
    log = logging.getLogger("pgrename")
    if args.command != command.name:
        log.warning("note: `%s` is now `%s` (make %s); the old name goes in the next release",
                    args.command, command.name, command.name)
    conninfo = target_conninfo(args.database_url) if command.needs_database else ""
    message = None
    try:
        code = run_command(command, args, conninfo, log)
    except Failure as failure:
        message = failure.label + scrub(str(failure), conninfo)
        code = failure.exit_code
    except psycopg.Error as error:
        # The connection broke or the server stopped mid-run: any open transaction rolled back.
        message = (f"the database connection failed: {scrub(str(error).strip(), conninfo)}; "
                   "an open transaction, if any, was rolled back")
        code = EXIT_CONNECTION
    except BrokenPipeError:  # a report's reader went away: what it read was all it wanted
        log.debug("the terminal's reader closed the pipe")
        code = 0
    except KeyboardInterrupt:
        message = "interrupted: an open transaction, if any, was rolled back"
        code = EXIT_INTERRUPTED
    except Exception as error:  # a bug of pgrename's: one line here, the traceback in the log file only
        log.debug("unexpected error", exc_info=True)
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        message = (f"internal error, {type(error).__name__}: {scrub(first_line, conninfo)}; an open transaction, "
                   f"if any, was rolled back. This is a bug in pgrename: the traceback is in {log_path}")
        code = EXIT_STATEMENT_FAILED
    if message is not None:
        log.error("%s%s", "" if message.startswith("interrupted") else "error: ", message)
        if as_json:
            json_output.emit_error(command.name, code, message)
    log.info("log: %s", log_path)
    return code


def run() -> None:
    """The `pgrename` command: exits with main()'s code."""
    code = main()
    try:
        sys.stdout.flush()
    except BrokenPipeError:  # as above; and Python would complain of it once more at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(code)
