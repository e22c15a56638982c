"""The rename plan (from the live catalog, or as a migration recorded it) and the scripts made from it."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

import psycopg
from psycopg.rows import dict_row

from . import merges, own_schema, run_lock
from .config import Config, is_expression, seconds
from .locations import SQL_ROOT
from .render import Part, Script, render, steps

RENAME_PLAN_QUERY = SQL_ROOT / "sql" / "analysis" / "rename_plan.sql"


@dataclass
class Plan:
    migration: str
    schema: str
    lock_timeout: str
    statement_timeout: str
    renames: list[dict] = field(default_factory=list)      # objects that get a new name (columns too)
    left_alone: list[dict] = field(default_factory=list)   # objects whose names do not carry their table's
    additions: list[dict] = field(default_factory=list)    # what the migration creates, in order
    contracted: bool = False                               # make contract has run (from history)

    def tables(self) -> list[dict]:
        return [r for r in self.renames if r["kind"] == "table"]

    def counts(self, rows: list[dict] | None = None) -> dict[str, int]:
        """Renames by kind, in plan order: all of them, or the rows given."""
        return dict(Counter(r["kind"] for r in (self.renames if rows is None else rows)))

    def renamed_by(self, script: str) -> list[dict]:
        """The constraints, indexes, sequences and triggers whose names a script changes: migrate
        all but those left to contract (rename_objects: at_contract), contract (and its undo) only
        those, rollback whichever have their new names by then."""
        if script in ("contract", "uncontract"):
            return [r for r in self.renames if r["at_contract"]]
        if script == "rollback":
            return [r for r in self.renames if not r["at_contract"] or self.contracted]
        return [r for r in self.renames if not r["at_contract"]]

    def schemas(self) -> list[str]:
        """The schemas whose tables the plan renames, schema first, then by name (schema alone when
        it renames none)."""
        found = {r["table_schema"] for r in self.tables()} or {self.schema}
        return sorted(found, key=lambda name: (name != self.schema, name))

    def context(self, script: str = "migrate", **extra) -> dict:
        return dict(migration=self.migration, schema=self.schema, schemas=self.schemas(),
                    lock_timeout=self.lock_timeout,
                    lock_wait_ms=round(seconds(self.lock_timeout) * 1000), statement_timeout=self.statement_timeout,
                    renames=self.renames, left_alone=self.left_alone, additions=self.additions,
                    renamed_now=self.renamed_by(script), contracted=self.contracted,
                    kept_until_contract=[r for r in self.renames if r["at_contract"]] if script == "migrate" else [],
                    run_lock=run_lock.KEY, schema_version=own_schema.REQUIRED_VERSION,
                    capture_trigger=merges.CAPTURE_TRIGGER,
                    preflight_checks=steps("sql/verify/preflight"), **extra)


def use_settings(conn: psycopg.Connection, config: Config) -> None:
    """Feed the analysis queries their inputs, as a DBA would with SET in psql."""
    settings = {
        "schema": config.schema,
        "schemas": ",".join(config.schemas),
        "map": json.dumps(config.tables) if config.tables else "",
        "columns": json.dumps(config.column_renames) if config.column_renames else "",
        "column_rule": config.column_rule or "",
        "object_names": config.object_names,
        "keep_names": json.dumps(config.keep_names) if config.keep_names else "",
        "partitions": config.partitions,
    }
    conn.execute("SELECT " + ", ".join(f"set_config('pgrename.{name}', %s, false)" for name in settings),
                 list(settings.values()))


def from_catalog(conn: psycopg.Connection, config: Config) -> Plan:
    use_settings(conn, config)
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(RENAME_PLAN_QUERY.read_text()).fetchall()
    columns = [r for r in rows if r["kind"] == "column"]
    for r in rows:
        r["at_contract"] = config.rename_objects == "at_contract" and r["kind"] not in ("table", "column")
    prepared = {name for name, p in merges.progress(conn, config.migration).items() if p["finished_at"]}
    return Plan(config.migration, config.schema, config.lock_timeout, config.statement_timeout,
                renames=[r for r in rows if r["target_name"] not in (None, r["object_name"])],
                left_alone=[r for r in rows if r["target_name"] is None],
                additions=additions(config, columns, prepared))


def additions(config: Config, columns: list[dict], prepared: set[str] = frozenset()) -> list[dict]:
    """What the migration creates, in the order it creates it, each with what rollback needs, in
    its table's schema (a type: in config.schema).
    prepared: the legacy tables (names after) whose merge make merge-prepare copied ahead."""
    target, locate = config.tables, config.table_keys.locate
    found: list[dict] = []

    def add(kind: str, schema: str, table: str | None, name: str, detail: dict) -> None:
        found.append({"ordinal": len(found) + 1, "kind": kind, "object_schema": schema, "table_name": table,
                      "object_name": name, "detail": detail})

    for name, values in config.enums.items():
        add("type", config.schema, None, name, {"values": values})
    for column in config.added_columns:
        add("column", locate(column.table)[0], target[column.table], column.name,
            {"type": column.type, "type_is_enum": column.type_is_enum, "not_null": column.not_null,
             "default": column.default, "default_sql": column.default_sql}
            | ({"type_schema": config.schema} if column.type_is_enum else {}))
    for column in config.added_columns:
        if column.references:
            table = target[column.table]
            references_schema, references = locate(column.references)
            add("constraint", locate(column.table)[0], table, f"{table}_{column.name}_fkey",
                {"column": column.name, "references": target.get(column.references, references),
                 "references_schema": references_schema, "on_delete": column.on_delete, "on_update": column.on_update})
    for merge in config.merges:
        detail = {"key": merge.key, "columns": [[into, source, is_expression(source)] for into, source in merge.columns.items()],
                  "on_conflict": merge.on_conflict}
        if target[merge.source] in prepared:
            detail |= {"prepared": True, "capture_function": merges.capture_function(config.migration, target[merge.source])}
        add("merge", locate(merge.into)[0], target[merge.into], target[merge.source], detail)
    if config.compatibility_views:
        shown: dict[tuple[str, str], list[list[str]]] = {}
        for c in columns:
            if c["note"] is None:
                shown.setdefault((c["table_schema"], c["source_table"]), []).append([c["target_name"], c["object_name"]])
        for source, table in target.items():
            schema, name = locate(source)
            if (schema, name) in shown:  # a table that does not exist gets no view; preflight names it
                add("view", schema, table, name, {"columns": shown[(schema, name)]})
    return found


def recorded_status(conn: psycopg.Connection, migration: str) -> dict | None:
    """The history row of a migration, or None when it never ran (or pgrename was never installed)."""
    with conn.cursor(row_factory=dict_row) as cur:
        exists = cur.execute("SELECT to_regclass('pgrename.history') IS NOT NULL AS present").fetchone()
        row = None
        if exists["present"]:
            row = cur.execute("SELECT * FROM pgrename.history WHERE migration = %s", (migration,)).fetchone()
    return row


def from_history(conn: psycopg.Connection, config: Config, schema: str) -> Plan:
    """The plan exactly as the migration recorded it: what rollback must undo."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT ordinal, kind, table_schema, source_table, target_table, object_schema, object_name, target_name,"
            # verify reads what an older own schema recorded, before any upgrade: no at_contract there
            " coalesce((to_jsonb(r) ->> 'at_contract')::boolean, false) AS at_contract"
            " FROM pgrename.renamed_object AS r WHERE migration = %s ORDER BY ordinal", (config.migration,)).fetchall()
        added = cur.execute(
            "SELECT ordinal, kind, object_schema, table_name, object_name, detail"
            " FROM pgrename.added_object WHERE migration = %s ORDER BY ordinal", (config.migration,)).fetchall()
        contracted = cur.execute("SELECT contracted_at IS NOT NULL AS contracted FROM pgrename.history"
                                 " WHERE migration = %s", (config.migration,)).fetchone()
    return Plan(config.migration, schema, config.lock_timeout, config.statement_timeout, renames=rows,
                additions=added, contracted=bool(contracted and contracted["contracted"]))


def preflight_parts(plan: Plan) -> list[Part]:
    """Each check of sql/verify/preflight/ rendered on its own, for analyze to run (not to show)."""
    context = plan.context(direction="migrate")
    return [render(check, context, formatted=False) for check in context["preflight_checks"]]


def migrate_script(plan: Plan) -> Script:
    context = plan.context(direction="migrate")
    return Script((
        render("sql/header.sql.j2", context),
        render("sql/run_lock.sql.j2", context),
        render("sql/verify/preflight.sql.j2", context),
        render("sql/audit/own_schema_version.sql.j2", context),
        render("sql/lock_tables.sql.j2", context),
        render("sql/merge_prepare/stop_capture.sql.j2", context),
        render("sql/audit/migration_start.sql.j2", context),
        *(render(template, context) for template in steps("sql")),
        render("sql/verify/postcheck.sql.j2", context),
        render("sql/audit/migration_complete.sql.j2", context),
    ))


def rollback_script(plan: Plan) -> Script:
    context = plan.context("rollback")
    return Script((
        render("rollback/header.sql.j2", context),
        render("sql/run_lock.sql.j2", context),
        render("rollback/verify/preflight.sql.j2", context),
        render("sql/audit/own_schema_version.sql.j2", context),
        render("rollback/lock_tables.sql.j2", context),
        render("rollback/audit/rollback_start.sql.j2", context),
        *(render(template, context) for template in reversed(steps("rollback"))),
        render("rollback/verify/postcheck.sql.j2", context),
        render("rollback/audit/rollback_complete.sql.j2", context),
    ))


def validate_script(plan: Plan) -> Script | None:
    """After the commit: validate the foreign keys the migration added NOT VALID (none: nothing)."""
    if not any(a["kind"] == "constraint" for a in plan.additions):
        return None
    return Script((render("sql/verify/validate_foreign_keys.sql.j2", plan.context()),))


def verify_script(plan: Plan, status: str) -> list[Part]:
    """The checks that end a migrate (status applied) or a rollback (status rolled_back), alone."""
    if status == "applied":
        return [render("sql/verify/postcheck.sql.j2", plan.context(direction="migrate"))]
    return [render("rollback/verify/postcheck.sql.j2", plan.context("rollback"))]
