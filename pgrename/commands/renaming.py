"""The rename: plan, dry-run, migrate, verify, rollback, contract and rehearse. Each renders its
script from sql/ or rollback/, writes it to build/ (its SHA-256 in its first line, in the log and
in the audit), runs it through execute.py, and reports."""
from __future__ import annotations

import json
import logging
import os
import socket
import time
from pathlib import Path

from psycopg.rows import dict_row

from .. import backup, hooks, json_output, prisma
from .. import plan as plans
from ..approval import approve
from ..errors import EXIT_HOOK_FAILED, EXIT_OK, CheckFailed, Failure, UsageError
from ..execute import Context, StepFailed, apply, record, run
from ..kinds import counted
from ..locations import SQL_ROOT, WORK_DIR
from ..rehearsal import rehearse
from ..render import Script, render, sealed_sha256

BUILD_DIR = Path(os.environ.get("PGRENAME_BUILD_DIR", WORK_DIR / "build"))
CONTRACT_QUERY = SQL_ROOT / "sql" / "analysis" / "contract.sql"

log = logging.getLogger("pgrename")


def write(name: str, script: Script) -> Path:
    """A script into build/, as the DBA reviews it and the runner runs it."""
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    path = BUILD_DIR / name
    path.write_text(script.text)
    log.info("wrote %s (sha256 %s)", path, script.sha256)
    return path


def write_build(plan: plans.Plan, migrate: Script) -> dict[str, tuple[Path, str]]:
    """build/migrate.sql, build/rollback.sql and, when foreign keys are added, build/validate.sql
    (to run after migrate.sql commits): each one's path and SHA-256, by name."""
    scripts = {"migrate": migrate, "rollback": plans.rollback_script(plan), "validate": plans.validate_script(plan)}
    return {name: (write(f"{name}.sql", script), script.sha256) for name, script in scripts.items() if script}


def describe_plan(plan: plans.Plan) -> None:
    tables = plan.tables()
    log.info("tables to rename: %d", len(tables))
    for r in tables:
        log.info("  %s.%s -> %s", r["table_schema"], r["object_name"], r["target_name"])
    counts = {kind: n for kind, n in plan.counts().items() if kind not in ("table", "column")}
    log.info("objects named after them, renamed %s: %d (%s)",
             "by make contract (rename_objects: at_contract)" if plan.renamed_by("contract") else "too",
             sum(counts.values()), ", ".join(counted(kind, n) for kind, n in counts.items()) or "none")
    several = len(plan.schemas()) > 1

    def named(schema: str, name: str) -> str:
        return f"{schema}.{name}" if several else name

    for r in plan.renames:
        if r["kind"] == "column":
            log.info("column renamed: %s.%s -> %s", named(r["table_schema"], r["target_table"]), r["object_name"],
                     r["target_name"])
    for a in plan.additions:
        table, name = named(a["object_schema"], a["table_name"]), named(a["object_schema"], a["object_name"])
        log.info("to add: %s %s", a["kind"] if a["kind"] != "view" else "compatibility view",
                 f"{table}.{a['object_name']}" if a["kind"] in ("column", "constraint")
                 else f"{name} into {table}" if a["kind"] == "merge" else name)
    if plan.left_alone:
        log.info("left alone, as their names do not carry their table's: %d", len(plan.left_alone))
        for r in plan.left_alone:
            log.info("  %s %s on %s: %s", r["kind"], r["object_name"], r["source_table"], r["note"])


def said_already_applied(ctx: Context, command: str, as_json: bool = False) -> bool:
    """True, having said so, when the migration is applied already: every command that would plan
    it gives this one answer, and exits 0."""
    status = plans.recorded_status(ctx.conn, ctx.config.migration)
    if not status or status["status"] != "applied":
        return False
    applied = {"migration": ctx.config.migration, "applied_at": status["applied_at"],
               "applied_by": status["applied_by"], "contracted_at": status["contracted_at"],
               "sql_checksum": status["sql_checksum"]}
    if as_json:
        json_output.emit(command, {"already_applied": applied})
    contracted = f", contracted at {json_output.iso_utc(applied['contracted_at'])}" if applied["contracted_at"] else ""
    log.info("migration %s is already applied (at %s by %s%s); nothing to do. `make verify` checks it, "
             "`make status` shows its events, `make rollback` undoes it.", ctx.config.migration,
             json_output.iso_utc(applied["applied_at"]), applied["applied_by"], contracted)
    return True


def catalog_plan(ctx: Context) -> plans.Plan:
    if not ctx.config.tables:
        raise UsageError(f"{ctx.config.path} maps no tables; `runner.py analyze --write-config FILE` proposes a map")
    return plans.from_catalog(ctx.conn, ctx.config)


def cmd_plan(ctx: Context, as_json: bool = False) -> int:
    if said_already_applied(ctx, "plan", as_json):
        return EXIT_OK
    plan = catalog_plan(ctx)
    migrate = plans.migrate_script(plan)
    describe_plan(plan)
    log.info("preflight (catalog reads only, rolled back):")
    preflight = [part for part in migrate.parts
                 if part.template in ("sql/header.sql.j2", "sql/verify/preflight.sql.j2")]
    try:
        with ctx.conn.transaction(force_rollback=True):
            run(ctx.conn, preflight)
    except StepFailed as failed:
        raise Failure(failed.report(), failed.exit_code()) from None
    written = write_build(plan, migrate)
    if as_json:
        json_output.emit("plan", {"migration": plan.migration, "schema": plan.schema, "schemas": plan.schemas(),
                                  "renames": plan.renames,
                                  "left_alone": plan.left_alone, "additions": plan.additions,
                                  "scripts": {name: {"path": path, "sha256": sha256}
                                              for name, (path, sha256) in written.items()}})
    return EXIT_OK


def cmd_dry_run(ctx: Context) -> int:
    if said_already_applied(ctx, "dry-run"):
        return EXIT_OK
    plan = catalog_plan(ctx)
    migrate = plans.migrate_script(plan)
    describe_plan(plan)
    write_build(plan, migrate)
    log.info("dry run: the whole migration in a transaction, then ROLLBACK:")
    try:
        with ctx.conn.transaction(force_rollback=True):
            run(ctx.conn, migrate.runnable())
    except StepFailed as failed:
        record(ctx.conn, "dry_run", ctx.config.migration, migrate.sha256,
               {"result": "failed", "client_host": socket.gethostname()} | failed.details())
        raise Failure(failed.report() + "\ndry run failed; nothing was changed.", failed.exit_code()) from None
    record(ctx.conn, "dry_run", ctx.config.migration, migrate.sha256,
           {"result": "passed", "renamed": plan.counts(), "client_host": socket.gethostname()})
    log.info("dry run passed: every rename and check succeeded, and all of it was rolled back.")
    return EXIT_OK


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
    tables = ([(r["object_schema"], r["object_name"]) for r in plan.tables()]
              if ctx.config.profile.backup_scope == "tables" else None)
    try:
        taken = backup.take(ctx.conn, ctx.conninfo, tables, ctx.config.profile.backup_jobs)
    except backup.BackupFailed as error:
        raise Failure(f"backup: {error}; nothing was changed") from None
    log.info("backup (%s): %s, %s bytes, sha256 %s, verified with pg_restore --list",
             "the tables to rename" if tables else "the whole database", taken.path, f"{taken.bytes:,}", taken.sha256)
    ctx.conn.execute("SELECT set_config('pgrename.backup', %s, false)", (json.dumps(taken.as_audit()),))


def validate_foreign_keys(ctx: Context, plan: plans.Plan) -> None:
    """Validate, after the commit and without blocking anyone, the foreign keys added NOT VALID.
    Until then they hold for every new row; a failure here is reported, not fatal."""
    script = plans.validate_script(plan)
    if not script:
        return
    try:
        with ctx.conn.transaction():
            run(ctx.conn, script.runnable())
        log.info("validated the foreign keys the migration added")
    except StepFailed as failed:
        log.warning("warning: the foreign keys the migration added are not validated yet (%s); they hold for new "
                    "rows already. Run %s later.", failed.error.diag.message_primary, BUILD_DIR / "validate.sql")


def cmd_migrate(ctx: Context, apply_now: bool = False, approved: str | None = None) -> int:
    if said_already_applied(ctx, "migrate"):
        return EXIT_OK
    if ctx.config.profile.dry_run_default and not apply_now:
        log.info("profile %s dry-runs by default: this is a dry run. To apply: make migrate APPLY=1 "
                 "(runner.py migrate --apply)", ctx.config.profile.name)
        return cmd_dry_run(ctx)
    plan = catalog_plan(ctx)
    migrate = plans.migrate_script(plan)
    describe_plan(plan)
    approve(ctx, "migrate", approved)
    hook(ctx, "before_migrate")
    take_backup(ctx, plan)
    write_build(plan, migrate)
    log.info("migrate (one transaction, lock_timeout %s): %s, sha256 %s", ctx.config.lock_timeout,
             BUILD_DIR / "migrate.sql", migrate.sha256)
    started = time.monotonic()
    apply(ctx, migrate, "migration_failed", ctx.config.migration)
    left = len(plan.renamed_by("contract"))
    log.info("migration %s applied in %.0f ms: %s renamed%s; verification passed.", ctx.config.migration,
             (time.monotonic() - started) * 1000,
             ", ".join(counted(kind, n) for kind, n in plan.counts(plan.renamed_by("migrate")).items()),
             f" ({left} left to make contract)" if left else "")
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
        raise UsageError(f"contract: {error}") from None
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


def check_script(status: dict, script: Path) -> str | None:
    """Whether a migrate script file is the one applied; the problem, if any."""
    try:
        stated, actual = sealed_sha256(script.read_text())
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"--script {script}: cannot read it ({error})") from None
    if stated is None:
        return f"{script} has no pgrename seal in its first line: not a script pgrename wrote"
    if stated != actual:
        return f"{script} was edited after pgrename wrote it: its seal says sha256 {stated}, its lines hash to {actual}"
    if actual != status["sql_checksum"]:
        return (f"{script} (sha256 {actual}) is not the script that was applied "
                f"(sha256 {status['sql_checksum']})")
    log.info("%s (sha256 %s) is the script that was applied", script, actual)
    return None


def cmd_verify(ctx: Context, contract: Path | None = None, script: Path | None = None) -> int:
    contract = contract or ctx.config.contract
    status = plans.recorded_status(ctx.conn, ctx.config.migration)
    if status is None:
        raise CheckFailed(f"nothing to verify: migration {ctx.config.migration} has never run on this database")
    if status["status"] == "undone_by_dump":
        log.info("migration %s was undone by restoring a dump taken before it (at %s by %s): the database is the "
                 "dump's, with nothing of the migration to verify. `make status` shows the restore.",
                 ctx.config.migration, json_output.iso_utc(status["rolled_back_at"]), status["rolled_back_by"])
        return EXIT_OK
    plan = plans.from_history(ctx.conn, ctx.config, status["table_schema"])
    log.info("verify: migration %s is %s; checking the database against what it recorded:",
             ctx.config.migration, status["status"].replace("_", " "))
    problems = []
    try:
        with ctx.conn.transaction(force_rollback=True):
            run(ctx.conn, plans.verify_script(plan, status["status"]))
        log.info("verified: the database matches migration %s (%s).", ctx.config.migration,
                 status["status"].replace("_", " "))
    except StepFailed as failed:
        problems.append(failed.report())
    if script:
        problems.append(check_script(status, script))
    # The contract is checked even when the checks above failed: a DBA wants every difference at once.
    contract_errors = check_contract(ctx, contract) if contract and status["status"] == "applied" else 0
    if contract_errors:
        problems.append(f"the database does not match the contract {contract}: {contract_errors} difference(s)")
    problems = [p for p in problems if p]
    if problems:
        raise CheckFailed("\n".join(problems))
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
    path = write("rollback.sql", rollback)
    log.info("rollback (one transaction, lock_timeout %s): %s, sha256 %s", ctx.config.lock_timeout, path,
             rollback.sha256)
    apply(ctx, rollback, "rollback_failed", ctx.config.migration)
    log.info("migration %s rolled back; every name restored, schema fingerprint equal to before.",
             ctx.config.migration)
    hook(ctx, "after_rollback", after_commit=True)


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
    name = "uncontract" if undo else "contract"
    context = plan.context(name)
    script = Script((render(("rollback" if undo else "sql") + "/contract/contract.sql.j2", context),))
    log.info("%s the compatibility views %s:", "re-creating" if undo else "dropping", ", ".join(views) or "(none)")
    if context["renamed_now"]:
        log.info("%s the objects left to the contract (rename_objects: at_contract): %s",
                 "giving back their old names to" if undo else "renaming",
                 ", ".join(counted(kind, n) for kind, n in plan.counts(context["renamed_now"]).items()))
    approve(ctx, "contract", approved)
    write(f"{name}.sql", script)
    apply(ctx, script, "contract_failed", ctx.config.migration)
    log.info("%s", "views back: old clients work again." if undo
             else "contracted: only the new names remain. `make rollback` still undoes the whole migration.")
    return EXIT_OK


def cmd_rehearse(ctx: Context, with_data: bool = False) -> int:
    """Migrate, verify, roll back and verify on a scratch copy of this database (its schema, and
    its rows with --with-data), then drop the copy: a full rehearsal, no risk to the real one."""
    if said_already_applied(ctx, "rehearse"):
        return EXIT_OK
    rehearse(ctx, [("migrate", lambda c: cmd_migrate(c, apply_now=True)), ("verify", cmd_verify),
                   ("rollback", cmd_rollback), ("verify after rollback", cmd_verify)], with_data)
    return EXIT_OK
