"""Numbered migration sets (pgrename/sets.py reads the files): status, validate, plan, migrate,
rollback, baseline and repair. Each script is rendered from sql/sets/ or rollback/sets/, written to
build/ (sealed: its SHA-256 in its first line, in the log and in the audit), and run in one
transaction, a part per migration so that a failure names its file."""
from __future__ import annotations

import json
import logging
import socket

import psycopg
from psycopg.rows import dict_row

from .. import json_output, own_schema, run_lock, sets
from ..approval import approve
from ..config import Config, MigrationSets
from ..errors import EXIT_CHECK_FAILED, EXIT_OK, CheckFailed, Failure, UsageError
from ..execute import Context, StepFailed, apply, record, run
from ..locations import SQL_ROOT
from ..rehearsal import rehearse
from ..render import Script, render
from .renaming import write

STATUS_QUERY = SQL_ROOT / "sql" / "analysis" / "sets_status.sql"
INVALID_INDEXES_QUERY = SQL_ROOT / "sql" / "analysis" / "invalid_indexes.sql"
TROUBLE = ("edited", "missing", "failed")

log = logging.getLogger("pgrename")


def files(config: Config) -> tuple[MigrationSets, list[sets.Migration]]:
    """The config's migration set and its files, read and checked (the runner does it before it
    connects, so that a bad file changes nothing anywhere)."""
    if config.migration_sets is None:
        raise UsageError(f"{config.path} has no migration_sets: give its directory and packages, e.g.\n"
                         "  migration_sets: {directory: migrations, packages: {A: 000-018, B: 019-020}}")
    return config.migration_sets, sets.discover(config.migration_sets)


def status(ctx: Context, migrations: list[sets.Migration]) -> list[dict]:
    """Every migration, file against history (sql/analysis/sets_status.sql); with no history here
    yet, every file is pending (or manual)."""
    recorded = ctx.conn.execute("SELECT to_regclass('pgrename.set_migration') IS NOT NULL").fetchone()[0]
    if not recorded:
        return [{"number": m.number, "name": m.name, "package": m.package, "kind": m.kind,
                 "state": "manual" if m.manual else "pending", "applied_at": None, "applied_by": None,
                 "recorded_sha256": None, "file_sha256": m.source_sha256, "out_of_order": None} for m in migrations]
    ctx.conn.execute("SELECT set_config('pgrename.set_files', %s, false)",
                     (json.dumps([m.recorded() for m in migrations]),))
    with ctx.conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(STATUS_QUERY.read_text()).fetchall()


def _report(rows: list[dict]) -> None:
    for row in rows:
        when = f"  {json_output.iso_utc(row['applied_at'])} by {row['applied_by']}" if row["applied_at"] else ""
        line = f"  {row['number']:03d} {row['name']:<40} {row['package']:<8} {row['kind']:<7} {row['state']:<12}{when}"
        log.info("%s", line.rstrip())
        if row["state"] == "edited":
            log.info("      applied with sha256 %s, the file now has %s", row["recorded_sha256"], row["file_sha256"])


def cmd_sets_status(ctx: Context, as_json: bool = False) -> int:
    """Every migration: applied, baselined, pending, manual, edited, missing, failed, out of order."""
    migration_sets, migrations = files(ctx.config)
    rows = status(ctx, migrations)
    if as_json:
        json_output.emit("sets-status", {"directory": migration_sets.directory, "migrations": rows})
        return EXIT_OK
    log.info("migration set %s:", migration_sets.directory)
    _report(rows)
    counts = {}
    for row in rows:
        counts[row["state"]] = counts.get(row["state"], 0) + 1
    log.info("%s", ", ".join(f"{n} {state}" for state, n in counts.items()) or "no migrations")
    return EXIT_OK


def cmd_sets_validate(ctx: Context, as_json: bool = False) -> int:
    """Exit 3 when an applied file was edited or is missing, or a migration failed half way."""
    migration_sets, migrations = files(ctx.config)
    rows = status(ctx, migrations)
    trouble = [row for row in rows if row["state"] in TROUBLE]
    if as_json:
        json_output.emit("sets-validate", {"directory": migration_sets.directory, "valid": not trouble,
                                           "problems": trouble})
        return EXIT_CHECK_FAILED if trouble else EXIT_OK
    if trouble:
        _report(trouble)
        listed = ", ".join(f"{row['name']} ({row['state']})" for row in trouble)
        raise CheckFailed(f"{len(trouble)} migration(s) of {migration_sets.directory} are not as applied: {listed}. "
                          "An edited file: restore it, or accept it with make sets-repair ACCEPT=NNN")
    log.info("valid: every applied migration of %s is the file that ran", migration_sets.directory)
    return EXIT_OK


def _to_run(ctx: Context, start: str | None, end: str | None, to: int | None, only: int | None,
            allow_out_of_order: bool) -> tuple[list[sets.Migration], dict]:
    """The migrations a run applies, after refusing what must not run: an edited or missing applied
    file, a failed one, one below an applied number (unless allowed)."""
    migration_sets, migrations = files(ctx.config)
    chosen = sets.selected(migrations, migration_sets, start, end, to, only)
    rows = {row["number"]: row for row in status(ctx, migrations)}
    trouble = [row for row in rows.values() if row["state"] in TROUBLE]
    if trouble:
        raise CheckFailed("refused, nothing was applied: " + "; ".join(
            f"{row['name']} is {row['state']}" for row in trouble) + ". `make sets-validate` lists them; "
            "`make sets-repair ACCEPT=NNN` accepts an edit")
    pending = [m for m in chosen if rows[m.number]["state"] in ("pending", "out_of_order", "manual", "changed")]
    below = [m for m in pending if rows[m.number]["state"] == "out_of_order"]
    if below and not allow_out_of_order:
        applied_above = max(n for n, row in rows.items() if row["state"] in ("applied", "baselined"))
        raise CheckFailed(f"refused, nothing was applied: {', '.join(m.name for m in below)} would run below the "
                          f"applied {rows[applied_above]['name']}. Allow it with OUT_OF_ORDER=1 "
                          "(--allow-out-of-order; recorded as out of order)")
    context = {"lock_timeout": ctx.config.lock_timeout, "statement_timeout": ctx.config.statement_timeout,
               "run_lock": run_lock.KEY, "schema_version": own_schema.REQUIRED_VERSION,
               "allow_out_of_order": allow_out_of_order, "client_host": socket.gethostname(),
               "again": [m.number for m in pending if rows[m.number]["state"] == "changed"]}
    return pending, context


def _scripts(ctx: Context, pending: list[sets.Migration], context: dict):
    """The run's scripts, in order, each rendered when its turn comes (a rename step is planned
    from the catalog as the runs before it left it): (file name in build/, script, whether it runs
    outside a transaction). One, sets-migrate.sql, unless a no-transaction migration or a rename
    step cuts the run."""
    grouped = sets.runs(pending)
    for number, group in enumerate(grouped, start=1):
        name = "sets-migrate.sql" if len(grouped) == 1 else f"sets-migrate-{number}.sql"
        if group[0].no_transaction:
            yield name, sets.no_transaction_script(group[0], context), True
        elif group[0].rename:
            yield name, sets.rename_script(group[0], ctx.conn, context), False
        else:
            yield name, sets.apply_script(group, context), False


def cmd_sets_plan(ctx: Context, start: str | None = None, end: str | None = None, to: int | None = None,
                  only: int | None = None, allow_out_of_order: bool = False) -> int:
    """Write the scripts of the pending range to build/, for review or for psql (in order; each in
    one transaction, but a no-transaction migration's, which psql runs without --single-transaction)."""
    pending, context = _to_run(ctx, start, end, to, only, allow_out_of_order)
    if not pending:
        log.info("nothing to apply: every migration of the range is applied")
        return EXIT_OK
    groups = sets.runs(pending)
    for index, (name, script, outside) in enumerate(_scripts(ctx, pending, context)):
        log.info("%s: %s", name, "outside a transaction (psql without --single-transaction)" if outside
                 else "one transaction")
        write(name, script)
        if index + 1 < len(groups) and groups[index + 1][0].rename:
            log.info("the rename step after it is planned from the catalog once the scripts before it have run: "
                     "run them, then sets-plan again")
            break
    return EXIT_OK


def cmd_sets_migrate(ctx: Context, start: str | None = None, end: str | None = None, to: int | None = None,
                     only: int | None = None, allow_out_of_order: bool = False, approved: str | None = None) -> int:
    """Apply the pending migrations of the range in one transaction."""
    pending, context = _to_run(ctx, start, end, to, only, allow_out_of_order)
    if not pending:
        log.info("nothing to apply: every migration of the range is applied")
        return EXIT_OK
    log.info("to apply (lock_timeout %s): %s", ctx.config.lock_timeout,
             "; then ".join(", ".join(m.name for m in group) + (" (outside a transaction)" if group[0].no_transaction
                                                                 else " (one transaction)")
                            for group in sets.runs(pending)))
    approve(ctx, "sets-migrate", approved)
    for name, script, outside in _scripts(ctx, pending, context):
        write(name, script)
        if outside:
            _run_outside_a_transaction(ctx, script)
        else:
            apply(ctx, script, "sets_failed", None)
    log.info("applied %d migration(s): %s", len(pending), ", ".join(m.name for m in pending))
    return EXIT_OK


def _run_outside_a_transaction(ctx: Context, script: Script) -> None:
    """A no-transaction migration, statement by statement. When one fails, what ran stays: its
    history row says failed, and any index it left invalid is named."""
    try:
        run(ctx.conn, script.runnable())
    except StepFailed as failed:
        record(ctx.conn, "sets_failed", None, script.sha256, failed.details() | {"client_host": socket.gethostname()})
        with ctx.conn.cursor(row_factory=dict_row) as cur:
            invalid = cur.execute(INVALID_INDEXES_QUERY.read_text()).fetchall()
        left = "".join(f"\n  invalid index {i['index_schema']}.{i['index_name']} on {i['table_name']}: {i['definition']}"
                       for i in invalid)
        raise Failure(f"{failed.report()}\nit ran outside a transaction: the statements before the failing one stay "
                      f"done, and its history row says failed.{left or ' No index was left invalid.'}\n"
                      "Fix the cause, clear it with make sets-repair ACCEPT=NNN, and run it again: an invalid index "
                      "it left is dropped first.", failed.exit_code()) from None


def cmd_sets_rollback(ctx: Context, to: int | None = None, approved: str | None = None) -> int:
    """Undo every applied migration numbered above TO, newest first, and prove the schema is as it
    was before the oldest of them ran."""
    if to is None:
        raise UsageError("sets-rollback needs TO=NNN: the number to roll back to (it stays applied)")
    migrations = {m.number: m for m in files(ctx.config)[1]}
    rows = status(ctx, list(migrations.values()))
    undone = [row for row in rows if row["number"] > to and row["state"] in ("applied", "baselined", *TROUBLE)]
    if not undone:
        log.info("nothing to roll back: no migration above %03d is applied", to)
        return EXIT_OK
    refused = [f"{row['name']} is {row['state']}" for row in undone if row["state"] != "applied"]
    refused += [f"{migrations[row['number']].name} is irreversible" for row in undone
                if row["number"] in migrations and migrations[row["number"]].irreversible]
    if refused:
        raise CheckFailed(f"refused, nothing was rolled back: {'; '.join(refused)}")
    chosen = [migrations[row["number"]] for row in undone]
    context = {"lock_timeout": ctx.config.lock_timeout, "statement_timeout": ctx.config.statement_timeout,
               "run_lock": run_lock.KEY, "schema_version": own_schema.REQUIRED_VERSION,
               "client_host": socket.gethostname()}
    log.info("to roll back, newest first, in one transaction: %s",
             ", ".join(m.name for m in sorted(chosen, key=lambda m: -m.number)))
    approve(ctx, "sets-rollback", approved)
    script = sets.rollback_script(chosen, ctx.conn, context)
    write("sets-rollback.sql", script)
    apply(ctx, script, "sets_failed", None)
    log.info("rolled back to %03d; the schema is what it was before %s ran.", to, min(chosen, key=lambda m: m.number).name)
    return EXIT_OK


def cmd_sets_baseline(ctx: Context, at: int | None = None, approved: str | None = None) -> int:
    """Adopt a database whose schema came from these migrations some other way: record every
    migration up to AT as present, without running them. Only where none is recorded yet."""
    if at is None:
        raise UsageError("sets-baseline needs AT=NNN: the last migration the database already has")
    migration_sets, every = files(ctx.config)
    migrations = [m for m in every if m.number <= at and not m.manual]
    recorded = [row for row in status(ctx, migrations) if row["state"] not in ("pending", "out_of_order", "manual")]
    if recorded:
        raise CheckFailed(f"refused: migrations are recorded here already ({', '.join(r['name'] for r in recorded)}); "
                          "a baseline adopts a database with no history of this set")
    if not migrations:
        raise UsageError(f"no migration numbered {at:03d} or below in {migration_sets.directory}")
    log.info("to record as present, without running them: %s", ", ".join(m.name for m in migrations))
    approve(ctx, "sets-baseline", approved)
    context = {"run_lock": run_lock.KEY, "schema_version": own_schema.REQUIRED_VERSION,
               "lock_timeout": ctx.config.lock_timeout, "algorithm": sets.CHECKSUM_ALGORITHM,
               "client_host": socket.gethostname(), "at": at, "migrations": [m.recorded() | {"name": m.name}
                                                                              for m in migrations]}
    script = Script((render("sql/sets/baseline.sql.j2", context),))
    write("sets-baseline.sql", script)
    apply(ctx, script, "sets_failed", None)
    log.info("baselined at %03d: %d migration(s) recorded as present", at, len(migrations))
    return EXIT_OK


def cmd_sets_repair(ctx: Context, accept: int | None = None, approved: str | None = None) -> int:
    """Accept an edited applied migration's new checksum, or clear a failed one (so that it is
    pending again), with approval, audited."""
    if accept is None:
        raise UsageError("sets-repair needs ACCEPT=NNN: the migration whose file or failure to accept")
    migrations = files(ctx.config)[1]
    row = next((r for r in status(ctx, migrations) if r["number"] == accept), None)
    if row is None or row["state"] not in ("edited", "failed"):
        raise CheckFailed(f"refused: migration {accept:03d} is {row['state'] if row else 'unknown'}, "
                          "neither edited nor failed; there is nothing to repair")
    migration = next((m for m in migrations if m.number == accept), None)
    if row["state"] == "edited":
        log.warning("accepting %s as it is now (sha256 %s) in place of the file applied (sha256 %s): the database "
                    "keeps what the old file did", row["name"], row["file_sha256"], row["recorded_sha256"])
    else:
        log.warning("clearing the failed %s: it becomes pending again; what it left half done stays", row["name"])
    approve(ctx, "sets-repair", approved)
    context = {"run_lock": run_lock.KEY, "schema_version": own_schema.REQUIRED_VERSION,
               "lock_timeout": ctx.config.lock_timeout, "client_host": socket.gethostname(), "state": row["state"],
               "m": migration.recorded() | {"name": migration.name} if migration else {"number": accept}}
    script = Script((render("sql/sets/repair.sql.j2", context),))
    write("sets-repair.sql", script)
    apply(ctx, script, "sets_failed", None)
    log.info("repaired %03d (%s)", accept, row["state"])
    return EXIT_OK


def cmd_sets_rehearse(ctx: Context, start: str | None = None, end: str | None = None, to: int | None = None,
                      only: int | None = None, allow_out_of_order: bool = False, with_data: bool = False) -> int:
    """The pending range applied, rolled back and validated on a scratch copy of this database (its
    set history copied with it), then the copy dropped."""
    pending, _ = _to_run(ctx, start, end, to, only, allow_out_of_order)
    if not pending:
        log.info("nothing to rehearse: every migration of the range is applied")
        return EXIT_OK
    back_to = min(m.number for m in pending) - 1
    range_options = {"start": start, "end": end, "to": to, "only": only, "allow_out_of_order": allow_out_of_order}

    def copy_history(scratch: psycopg.Connection) -> None:
        with ctx.conn.cursor().copy("COPY pgrename.set_migration TO STDOUT") as source, \
                scratch.cursor().copy("COPY pgrename.set_migration FROM STDIN") as target:
            for block in source:
                target.write(block)

    has_history = ctx.conn.execute("SELECT to_regclass('pgrename.set_migration') IS NOT NULL").fetchone()[0]
    rehearse(ctx, [("sets-migrate", lambda c: cmd_sets_migrate(c, **range_options)),
                   ("sets-validate", cmd_sets_validate),
                   (f"sets-rollback to {back_to:03d}", lambda c: cmd_sets_rollback(c, to=back_to)),
                   ("sets-validate after rollback", cmd_sets_validate)],
             with_data, copy_history if has_history else None)
    return EXIT_OK
