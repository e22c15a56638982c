"""The commands of runner.py: each renders SQL from sql/ or rollback/, runs it through
execute.py, and reports. Their names are the runner's (cmd_dry_run is `dry-run`)."""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import socket
import sys
import time
from pathlib import Path

import psycopg
from psycopg.rows import dict_row

from . import analyze, backup, data, hooks, prisma
from . import plan as plans
from .config import Profile
from .execute import (EXIT_BLOCKERS, EXIT_CHECK_FAILED, EXIT_CONFLICTS, EXIT_HOOK_FAILED, EXIT_OK,
                      EXIT_STATEMENT_FAILED, EXIT_USAGE, LOG_DIR, Context, Failure, StepFailed, apply, record, run)
from .render import PROJECT_DIR, Part, checksum, render, script

PLURAL = {"table": "tables", "constraint": "constraints", "index": "indexes", "sequence": "sequences",
          "trigger": "triggers", "column": "columns", "type": "types", "merge": "merges", "view": "views"}


BUILD_DIR = Path(os.environ.get("PGRENAME_BUILD_DIR", PROJECT_DIR / "build"))
CONTRACT_QUERY = PROJECT_DIR / "sql" / "analysis" / "contract.sql"

log = logging.getLogger("pgrename")


def counted(kind: str, n: int) -> str:
    return f"{n} {kind if n == 1 else PLURAL[kind]}"


def write_build(plan: plans.Plan, migrate: list[Part], rollback: list[Part]) -> None:
    """build/migrate.sql, build/rollback.sql and, when foreign keys are added, build/validate.sql
    (to run after migrate.sql commits)."""
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    written = {"migrate.sql": migrate, "rollback.sql": rollback, "validate.sql": plans.validate_script(plan)}
    for name, parts in written.items():
        if parts:
            (BUILD_DIR / name).write_text(script(parts))
    log.info("wrote %s", ", ".join(str(BUILD_DIR / name) for name, parts in written.items() if parts))


def describe_plan(plan: plans.Plan) -> None:
    tables = plan.tables()
    log.info("tables to rename: %d", len(tables))
    for r in tables:
        log.info("  %s.%s -> %s", r["table_schema"], r["object_name"], r["target_name"])
    counts = {kind: n for kind, n in plan.counts().items() if kind not in ("table", "column")}
    log.info("objects named after them, renamed too: %d (%s)", sum(counts.values()),
             ", ".join(counted(kind, n) for kind, n in counts.items()) or "none")
    for r in plan.renames:
        if r["kind"] == "column":
            log.info("column renamed: %s.%s -> %s", r["target_table"], r["object_name"], r["target_name"])
    for a in plan.additions:
        log.info("to add: %s %s%s", a["kind"] if a["kind"] != "view" else "compatibility view",
                 f"{a['table_name']}." if a["kind"] in ("column", "constraint") else "",
                 a["object_name"] if a["kind"] != "merge" else f"{a['object_name']} into {a['table_name']}")
    if plan.left_alone:
        log.info("left alone, as their names do not carry their table's: %d", len(plan.left_alone))
        for r in plan.left_alone:
            log.info("  %s %s on %s: %s", r["kind"], r["object_name"], r["source_table"], r["note"])


def said_already_applied(ctx: Context, nothing_to: str) -> bool:
    """True, having said so, when the migration is applied already."""
    status = plans.recorded_status(ctx.conn, ctx.config.migration)
    if status and status["status"] == "applied":
        log.info("migration %s is already applied (at %s by %s); nothing to %s",
                 ctx.config.migration, status["applied_at"], status["applied_by"], nothing_to)
        return True
    return False


def catalog_plan(ctx: Context) -> plans.Plan:
    if not ctx.config.tables:
        raise Failure(f"{ctx.config.path} maps no tables; `runner.py analyze --write-config FILE` proposes a map",
                      EXIT_USAGE)
    return plans.from_catalog(ctx.conn, ctx.config)


def cmd_plan(ctx: Context, as_json: bool = False) -> int:
    plan = catalog_plan(ctx)
    migrate, rollback = plans.migrate_script(plan), plans.rollback_script(plan)
    describe_plan(plan)
    log.info("preflight (catalog reads only, rolled back):")
    try:
        with ctx.conn.transaction(force_rollback=True):
            run(ctx.conn, migrate[:2])
    except StepFailed as failed:
        raise Failure(failed.report(), failed.exit_code()) from None
    write_build(plan, migrate, rollback)
    if as_json:
        print(json.dumps({"migration": plan.migration, "schema": plan.schema, "renames": plan.renames,
                          "left_alone": plan.left_alone, "migrate_sql": str(BUILD_DIR / "migrate.sql"),
                          "rollback_sql": str(BUILD_DIR / "rollback.sql")}, indent=2))
    return EXIT_OK


def cmd_dry_run(ctx: Context) -> int:
    if said_already_applied(ctx, "dry-run"):
        return EXIT_OK
    plan = catalog_plan(ctx)
    migrate = plans.migrate_script(plan)
    describe_plan(plan)
    log.info("dry run: the whole migration in a transaction, then ROLLBACK:")
    sql_checksum = checksum(migrate)
    try:
        with ctx.conn.transaction(force_rollback=True):
            run(ctx.conn, migrate)
    except StepFailed as failed:
        record(ctx.conn, "dry_run", ctx.config.migration, sql_checksum,
               {"result": "failed", "client_host": socket.gethostname()} | failed.details())
        raise Failure(failed.report() + "\ndry run failed; nothing was changed.", failed.exit_code()) from None
    record(ctx.conn, "dry_run", ctx.config.migration, sql_checksum,
           {"result": "passed", "renamed": plan.counts(), "client_host": socket.gethostname()})
    log.info("dry run passed: every rename and check succeeded, and all of it was rolled back.")
    return EXIT_OK


def approve(ctx: Context, action: str, approved: str | None, always: bool = False) -> None:
    """Where the profile requires approval (or always, for what overwrites a database): the
    database's name, typed at a terminal or given with --approve. What will happen is printed by then."""
    profile, database = ctx.config.profile.name, ctx.conn.info.dbname
    if not (always or ctx.config.profile.require_approval):
        return
    if approved is not None:
        if approved != database:
            raise Failure(f"--approve {approved} does not name this database ({database}); nothing was done",
                          EXIT_USAGE)
        log.info("approved with --approve %s", database)
        return
    if not sys.stdin.isatty():
        raise Failure(f"{'this' if always else f'profile {profile}'} requires approval to {action} {database}: "
                      "run it at a terminal and type "
                      f"the database name, or pass --approve {database} (make {action} APPROVE={database}); "
                      "nothing was done", EXIT_USAGE)
    answer = input(f"profile {profile}: type the database name ({database}) to {action} it: ").strip()
    if answer != database:
        raise Failure(f"not approved ({answer!r} is not {database}); nothing was done", EXIT_USAGE)


def hook(ctx: Context, stage: str, after_commit: bool = False) -> None:
    try:
        hooks.run_hooks(stage, ctx.config, ctx.conn)
    except hooks.HookFailed as error:
        state = "the change is committed" if after_commit else "nothing was changed"
        raise Failure(f"{error}; {state}", EXIT_HOOK_FAILED) from None


def take_backup(ctx: Context, plan: plans.Plan) -> None:
    """The profile's automatic backup, verified, its path and checksum handed to the audit row."""
    ctx.conn.execute("SELECT set_config('pgrename.backup', '', false)")
    if not ctx.config.profile.auto_backup:
        return
    tables = [r["object_name"] for r in plan.tables()] if ctx.config.profile.backup_scope == "tables" else None
    try:
        taken = backup.take(ctx.conn, ctx.conninfo, ctx.config.schema, tables, ctx.config.profile.backup_jobs)
    except backup.BackupFailed as error:
        raise Failure(f"backup: {error}; nothing was changed", EXIT_STATEMENT_FAILED) from None
    log.info("backup (%s): %s, %s bytes, sha256 %s, verified with pg_restore --list",
             "the tables to rename" if tables else "the whole database", taken.path, f"{taken.bytes:,}", taken.sha256)
    ctx.conn.execute("SELECT set_config('pgrename.backup', %s, false)", (json.dumps(taken.as_audit()),))


def validate_foreign_keys(ctx: Context, plan: plans.Plan) -> None:
    """Validate, after the commit and without blocking anyone, the foreign keys added NOT VALID.
    Until then they hold for every new row; a failure here is reported, not fatal."""
    parts = plans.validate_script(plan)
    if not parts:
        return
    try:
        with ctx.conn.transaction():
            run(ctx.conn, parts)
        log.info("validated the foreign keys the migration added")
    except StepFailed as failed:
        log.warning("warning: the foreign keys the migration added are not validated yet (%s); they hold for new "
                    "rows already. Run %s later.", failed.error.diag.message_primary, BUILD_DIR / "validate.sql")


def cmd_migrate(ctx: Context, apply_now: bool = False, approved: str | None = None) -> int:
    if said_already_applied(ctx, "do"):
        return EXIT_OK
    if ctx.config.profile.dry_run_default and not apply_now:
        log.info("profile %s dry-runs by default: this is a dry run. To apply: make migrate APPLY=1 "
                 "(runner.py migrate --apply)", ctx.config.profile.name)
        return cmd_dry_run(ctx)
    plan = catalog_plan(ctx)
    migrate, rollback = plans.migrate_script(plan), plans.rollback_script(plan)
    describe_plan(plan)
    approve(ctx, "migrate", approved)
    hook(ctx, "before_migrate")
    take_backup(ctx, plan)
    sql_checksum = checksum(migrate)
    log.info("migrate (one transaction, lock_timeout %s, sql sha256 %s):", ctx.config.lock_timeout, sql_checksum)
    started = time.monotonic()
    apply(ctx, migrate, "migration_failed", sql_checksum)
    write_build(plan, migrate, rollback)
    log.info("migration %s applied in %.0f ms: %s; verification passed.", ctx.config.migration,
             (time.monotonic() - started) * 1000,
             ", ".join(counted(kind, n) for kind, n in plan.counts().items()) + " renamed")
    validate_foreign_keys(ctx, plan)
    hook(ctx, "after_migrate", after_commit=True)
    failures = hooks.health_checks(ctx.config, ctx.conn)
    if failures:
        if ctx.config.profile.hooks.rollback_on_failed_health_check:
            log.warning("health check(s) failed: rolling back, as the profile says")
            roll_back(ctx, plans.from_history(ctx.conn, ctx.config, ctx.config.schema))
            raise Failure("health check(s) failed after migrate, so it was rolled back:\n  "
                          + "\n  ".join(failures), EXIT_HOOK_FAILED)
        raise Failure("health check(s) failed after migrate; the migration stays applied "
                      "(make rollback undoes it):\n  " + "\n  ".join(failures), EXIT_HOOK_FAILED)
    return EXIT_OK


def contract_differences(ctx: Context, contract: Path) -> list[dict]:
    """Every difference between the live schema and a Prisma schema, worst first."""
    try:
        expected = prisma.expectations(prisma.load(contract))
    except prisma.PrismaError as error:
        raise Failure(f"contract: {error}", EXIT_USAGE) from None
    ctx.conn.execute("SELECT set_config('pgrename.schema', %s, false), set_config('pgrename.contract', %s, false)",
                     (ctx.config.schema, json.dumps(expected)))
    with ctx.conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(CONTRACT_QUERY.read_text()).fetchall()


def check_contract(ctx: Context, contract: Path) -> int:
    """Report the differences with the contract; how many are errors."""
    differences = contract_differences(ctx, contract)
    errors = [d for d in differences if d["severity"] == "error"]
    log.info("contract %s: %d difference(s), %d note(s)", contract, len(errors), len(differences) - len(errors))
    for d in differences:
        where = d["table_name"] + (f".{d['column_name']}" if d["column_name"] else "")
        log.info("  %s %s %s: expected %s, found %s (%s:%s)", d["severity"].upper(), d["kind"], where,
                 d["expected"], d["actual"], contract.name, d["line"])
    return len(errors)


def cmd_verify(ctx: Context, contract: Path | None = None) -> int:
    contract = contract or ctx.config.contract
    status = plans.recorded_status(ctx.conn, ctx.config.migration)
    if status is None:
        raise Failure(f"nothing to verify: migration {ctx.config.migration} has never run on this database",
                      EXIT_CHECK_FAILED)
    plan = plans.from_history(ctx.conn, ctx.config, status["table_schema"])
    log.info("verify: migration %s is %s; checking the database against what it recorded:",
             ctx.config.migration, status["status"].replace("_", " "))
    failure = None
    try:
        with ctx.conn.transaction(force_rollback=True):
            run(ctx.conn, plans.verify_script(plan, status["status"]))
        log.info("verified: the database matches migration %s (%s).", ctx.config.migration,
                 status["status"].replace("_", " "))
    except StepFailed as failed:
        failure = Failure(failed.report(), failed.exit_code())
    # The contract is checked even when the checks above failed: a DBA wants every difference at once.
    contract_errors = check_contract(ctx, contract) if contract and status["status"] == "applied" else 0
    if contract_errors:
        message = f"the database does not match the contract {contract}: {contract_errors} difference(s)"
        failure = Failure(f"{failure}\n{message}" if failure else message, EXIT_CHECK_FAILED)
    if failure:
        raise failure
    return EXIT_OK


def cmd_rollback(ctx: Context, approved: str | None = None) -> int:
    status = plans.recorded_status(ctx.conn, ctx.config.migration)
    if not status or status["status"] != "applied":
        log.info("migration %s is not applied%s; nothing to roll back", ctx.config.migration,
                 f" (it is {status['status'].replace('_', ' ')})" if status else "")
        return EXIT_OK
    recorded = plans.from_history(ctx.conn, ctx.config, status["table_schema"])
    describe_plan(recorded)
    approve(ctx, "rollback", approved)
    roll_back(ctx, recorded)
    return EXIT_OK


def roll_back(ctx: Context, recorded: plans.Plan) -> None:
    """The rollback itself, from what the migration recorded, between the profile's hooks."""
    rollback = plans.rollback_script(recorded)
    hook(ctx, "before_rollback")
    sql_checksum = checksum(rollback)
    log.info("rollback (one transaction, lock_timeout %s, sql sha256 %s):", ctx.config.lock_timeout, sql_checksum)
    apply(ctx, rollback, "rollback_failed", sql_checksum)
    log.info("migration %s rolled back; every name restored, schema fingerprint equal to before.",
             ctx.config.migration)
    hook(ctx, "after_rollback", after_commit=True)


def cmd_status(ctx: Context, as_json: bool = False, events: int = 20) -> int:
    installed = ctx.conn.execute("SELECT to_regclass('pgrename.audit') IS NOT NULL").fetchone()[0]
    history, audit = [], []
    if installed:
        with ctx.conn.cursor(row_factory=dict_row) as cur:
            history = cur.execute("SELECT migration, status, table_schema, applied_at, applied_by, rolled_back_at,"
                                  " rolled_back_by, sql_checksum FROM pgrename.history ORDER BY migration").fetchall()
            audit = cur.execute("SELECT * FROM (SELECT id, event, migration, db_user, client_addr, application,"
                                " logged_at, sql_checksum, details FROM pgrename.audit ORDER BY id DESC LIMIT %s)"
                                " AS recent ORDER BY id", (events,)).fetchall()
    if as_json:
        print(json.dumps({"history": history, "audit": audit}, indent=2, default=str))
        return EXIT_OK
    if not installed:
        log.info("pgrename has never run on %s", ctx.target)
        return EXIT_OK
    log.info("migrations:")
    for h in history:
        when = h["applied_at"] if h["status"] == "applied" else h["rolled_back_at"]
        who = h["applied_by"] if h["status"] == "applied" else h["rolled_back_by"]
        log.info("  %-30s %-12s %s by %s", h["migration"], h["status"], when, who)
    log.info("audit trail (last %d events):", events)
    for a in audit:
        log.info("  %s  %-18s %-24s %-10s %s", a["logged_at"].strftime("%Y-%m-%d %H:%M:%S"), a["event"],
                 a["migration"], a["db_user"], json.dumps(a["details"])[:120])
    return EXIT_OK


def cmd_analyze(ctx: Context, output: str = "text", exact: bool = False, write_config: Path | None = None) -> int:
    """The read-only report; exits 6 on conflicts, else 7 on blockers, so a pipeline can gate on it."""
    report = analyze.collect(ctx.conn, ctx.config, exact)
    if output == "json":
        print(analyze.as_json(report))
    else:
        log.info("%s", analyze.as_text(report, markdown=output == "markdown").rstrip())
    if write_config:
        try:
            analyze.write_config(write_config, analyze.starter_config(report, ctx.config))
        except FileExistsError:
            raise Failure(f"{write_config} exists already; choose another name (it is never overwritten)",
                          EXIT_USAGE) from None
        log.warning("wrote a starter config to %s: review it, then `runner.py --config %s plan`",
                    write_config, write_config)
    if report["summary"]["conflicts"]:
        return EXIT_CONFLICTS
    return EXIT_BLOCKERS if report["summary"]["blockers"] else EXIT_OK


def cmd_contract(ctx: Context, undo: bool = False, approved: str | None = None) -> int:
    """Drop the compatibility views once old clients are updated (or, with undo, bring them back)."""
    status = plans.recorded_status(ctx.conn, ctx.config.migration)
    contracted = bool(status and status["contracted_at"])
    if not status or status["status"] != "applied" or contracted != undo:
        state = ("not applied" if not status or status["status"] != "applied"
                 else "contracted already" if contracted else "not contracted")
        log.info("migration %s is %s; nothing to %s", ctx.config.migration, state, "undo" if undo else "contract")
        return EXIT_OK
    plan = plans.from_history(ctx.conn, ctx.config, status["table_schema"])
    views = [a["object_name"] for a in plan.additions if a["kind"] == "view"]
    # The change itself is the view step (its rollback mirror drops them); its checksum is audited.
    change = render("sql/100_compatibility_views.sql.j2" if undo else "rollback/100_compatibility_views.sql.j2",
                    plan.context())
    template = ("rollback" if undo else "sql") + "/contract/drop_compatibility_views.sql.j2"
    part = render(template, plan.context(checksum=checksum([change])))
    log.info("%s the compatibility views %s:", "re-creating" if undo else "dropping", ", ".join(views) or "(none)")
    approve(ctx, "contract", approved)
    apply(ctx, [part], "contract_failed", checksum([change]))
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    written = BUILD_DIR / ("uncontract.sql" if undo else "contract.sql")
    written.write_text(script([part]))
    log.info("wrote %s", written)
    log.info("%s", "views back: old clients work again." if undo
             else "contracted: only the new names remain. `make rollback` still undoes the whole migration.")
    return EXIT_OK


def cmd_backups(ctx: Context, as_json: bool = False) -> int:
    found = backup.listing()
    if as_json:
        print(json.dumps(found, indent=2))
        return EXIT_OK
    log.info("backups in %s:", backup.BACKUP_DIR)
    for b in found:
        log.info("  %s  %12s bytes  %s  sha256 %s", b["taken"], f"{b['bytes']:,}", b["path"], b["sha256"])
    if not found:
        log.info("  none")
    return EXIT_OK


def cmd_restore_backup(ctx: Context, path: Path, into_original: bool = False, approved: str | None = None) -> int:
    """Restore a backup into a new database (the default), or over this one with approval."""
    database = ctx.conn.info.dbname
    if into_original:
        log.warning("restoring %s over the database %s itself: its tables are dropped and restored", path, database)
        approve(ctx, "restore-backup", approved, always=True)
        target = database
    else:
        target = f"{database}_restored_{time.strftime('%Y%m%d%H%M%S')}"
    try:
        backup.restore(ctx.conn, ctx.conninfo, path, target)
    except backup.BackupFailed as error:
        hint = ("; nothing was changed (one transaction). Restoring over the database needs its schema to be "
                "what the backup holds: after a migrate, roll it back first, or restore into a new database "
                "(the default)") if into_original else ""
        raise Failure(f"restore: {error}{hint}", EXIT_STATEMENT_FAILED) from None
    log.info("restored %s (checksum verified) into database %s", path, target)
    return EXIT_OK


def cmd_rehearse(ctx: Context, with_data: bool = False) -> int:
    """Migrate, verify, roll back and verify on a scratch copy of this database (its schema, and
    its rows with --with-data), then drop the copy: a full rehearsal, no risk to the real one."""
    scratch = f"{ctx.conn.info.dbname}_rehearsal_{time.strftime('%Y%m%d%H%M%S')}"
    copy = "schema and data" if with_data else "schema"
    log.info("rehearsal in scratch database %s (a copy of the %s of %s):", scratch, copy, ctx.conn.info.dbname)
    scratch_conninfo = backup.conninfo_for(ctx.conninfo, scratch)
    # On the copy: no hooks, backup or approval (they are about the real database), applied at once.
    config = dataclasses.replace(ctx.config, profile=Profile("rehearsal"))
    steps = [("migrate", lambda c: cmd_migrate(c, apply_now=True)), ("verify", cmd_verify),
             ("rollback", cmd_rollback), ("verify after rollback", cmd_verify)]
    started = time.monotonic()
    try:
        backup.copy_database(ctx.conn, ctx.conninfo, scratch, with_data)
        with psycopg.connect(scratch_conninfo, autocommit=True, application_name="pgrename rehearsal") as conn:
            rehearsal = Context(config, conn, f"{ctx.target} (scratch copy {scratch})", scratch_conninfo)
            for name, step in steps:
                log.info("rehearsal step: %s", name)
                try:
                    step(rehearsal)
                except Failure as failure:
                    raise Failure(f"rehearsal failed at {name}: {failure}", failure.exit_code) from None
    except backup.BackupFailed as error:
        raise Failure(f"rehearsal: could not copy the database: {error}", EXIT_STATEMENT_FAILED) from None
    finally:
        ctx.conn.execute(psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            psycopg.sql.Identifier(scratch)))
        log.info("dropped the scratch database %s", scratch)
    log.info("rehearsal passed in %.1f s: migrate, verify, rollback and verify all succeeded on a copy of the %s.",
             time.monotonic() - started, copy)
    return EXIT_OK


def cmd_backup(ctx: Context, directory: Path | None = None, scope: str | None = None,
               data_only: bool = False, archive: bool = False, as_json: bool = False) -> int:
    """Every table's rows (or one tenant's, or within limits), FK-ordered, deterministic, with a
    verified manifest."""
    directory = directory or backup.BACKUP_DIR / f"{ctx.conn.info.dbname}-{time.strftime('%Y%m%d-%H%M%S')}-data"
    log.info("data backup of %s (schema %s%s%s) into %s:", ctx.conn.info.dbname, ctx.config.schema,
             f", leaving out {', '.join(ctx.config.backup_exclude)}" if ctx.config.backup_exclude else "",
             f", scope {scope}" if scope else "", directory)
    try:
        manifest = data.backup(ctx.conn, directory, [ctx.config.schema], ctx.config.backup_exclude,
                               data.Scope.parse(scope) if scope else None, ctx.config.backup_limits,
                               None if data_only else ctx.conninfo)
        if archive:
            directory = data.pack(directory)
        with data.opened(directory) as unpacked:
            data.verify(unpacked)  # what was written, read back as restore will read it
    except data.DataBackupError as error:
        raise Failure(f"backup: {error}", EXIT_STATEMENT_FAILED) from None
    except psycopg.Error as error:
        raise Failure(f"backup failed: {str(error).strip()}; no backup was written", EXIT_STATEMENT_FAILED) from None
    present = len(data.tables_in_order(ctx.conn, [ctx.config.schema], []))
    rows = sum(t["rows"] for t in manifest["tables"])
    log.info("backed up %d of %d tables, %d rows; manifest verified: %s", len(manifest["tables"]), present,
             rows, directory if archive else directory / data.MANIFEST)
    if as_json:
        print(json.dumps({"path": str(directory), "tables": len(manifest["tables"]), "tables_present": present,
                          "rows": rows, "scope": manifest["scope"], "schema": manifest["schema"] is not None}))
    return EXIT_OK


def cmd_backup_verify(ctx: Context, directory: Path, as_json: bool = False) -> int:
    """Manifest, files, checksums and row counts, without touching a database."""
    try:
        with data.opened(directory) as unpacked:
            manifest = data.verify(unpacked)
    except data.DataBackupError as error:
        raise Failure(f"backup-verify: {error}", EXIT_CHECK_FAILED) from None
    rows = sum(t["rows"] for t in manifest["tables"])
    log.info("verified %s: %d tables, %d rows, every checksum and row count as the manifest says", directory,
             len(manifest["tables"]), rows)
    if as_json:
        print(json.dumps({"path": str(directory), "verified": True, "tables": len(manifest["tables"]), "rows": rows,
                          **{key: manifest.get(key) for key in ("format_version", "tool_version", "database",
                                                                 "taken_at", "scope")}}))
    return EXIT_OK


def cmd_backup_diff(ctx: Context, a: Path, b: Path, as_json: bool = False, keys: int = 10) -> int:
    """Which tables and which keys differ between two data backups, without a database. Exits 0
    when they hold the same data, 3 when they differ (like diff, for scripts)."""
    try:
        with data.opened(a) as unpacked_a, data.opened(b) as unpacked_b:
            found = {**data.diff(unpacked_a, unpacked_b), "a": str(a), "b": str(b)}
    except data.DataBackupError as error:
        raise Failure(f"backup-diff: {error}", EXIT_CHECK_FAILED) from None
    same = not (found["only_in_a"] or found["only_in_b"] or found["tables"] or found["schema_differs"])
    if as_json:
        print(json.dumps({**found, "same": same}, indent=2))
        return EXIT_OK if same else EXIT_CHECK_FAILED
    log.info("A: %s\nB: %s", a, b)
    for side, tables in (("A", found["only_in_a"]), ("B", found["only_in_b"])):
        if tables:
            log.info("only in %s: %s", side, ", ".join(tables))
    if found["schema_differs"]:
        log.info("the schema differs (diff %s %s)", a / data.SCHEMA_FILE, b / data.SCHEMA_FILE)
    for table in found["tables"]:
        log.info("%s.%s: %d rows in A, %d in B%s", table["schema"], table["table"], table["rows_a"], table["rows_b"],
                 "".join(f"; columns {what}: {', '.join(table[f'columns_{what}'])}"
                         for what in ("added", "removed") if table[f"columns_{what}"]))
        if "note" in table:
            log.info("  %s", table["note"])
        for what in ("added", "removed", "changed"):
            listed = table.get(what, [])
            if listed:
                shown = ", ".join("(" + ", ".join(k) + ")" for k in listed[:keys])
                log.info("  %-8s %d: %s%s", what, len(listed), shown, ", ..." if len(listed) > keys else "")
    log.info("the backups hold the same data" if same else "the backups differ")
    return EXIT_OK if same else EXIT_CHECK_FAILED


def cmd_restore(ctx: Context, directory: Path, mode: str = "clean", continue_on_error: bool = False,
                errors: Path | None = None, with_schema: bool = False, approved: str | None = None,
                as_json: bool = False) -> int:
    """A verified data backup into this database, parents first, in one transaction."""
    log.info("restore %s into %s, mode %s (one transaction%s):", directory, ctx.conn.info.dbname, mode,
             ", rows that fail are set aside" if continue_on_error else "")
    approve(ctx, "restore", approved)
    try:
        with data.opened(directory) as unpacked:
            restored = data.restore(ctx.conn, unpacked, mode, continue_on_error, with_schema)
    except data.DataBackupError as error:
        raise Failure(f"restore: {error}; nothing was changed", EXIT_STATEMENT_FAILED) from None
    except psycopg.Error as error:
        raise Failure(f"restore failed: {str(error).strip()}; the transaction was rolled back, nothing was changed",
                      EXIT_STATEMENT_FAILED) from None
    tables = restored.manifest["tables"]
    rows = sum(t["rows"] for t in tables) - len(restored.rejected)
    log.info("restored %d tables, %d rows; sequences moved past the restored values", len(tables), rows)
    if restored.rejected:
        errors = errors or LOG_DIR / f"restore-errors-{time.strftime('%Y%m%d-%H%M%S')}.jsonl"
        errors.parent.mkdir(parents=True, exist_ok=True)
        errors.write_text("".join(json.dumps(row, sort_keys=True, ensure_ascii=False) + "\n"
                                  for row in restored.rejected))
        log.warning("%d rows were rejected and the rest committed; each rejected row and its error: %s",
                    len(restored.rejected), errors)
    if as_json:
        print(json.dumps({"path": str(directory), "database": ctx.conn.info.dbname, "mode": mode,
                          "tables": len(tables), "rows": rows, "rejected": len(restored.rejected),
                          "errors_file": str(errors) if restored.rejected else None}))
    return EXIT_CHECK_FAILED if restored.rejected else EXIT_OK
