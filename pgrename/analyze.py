"""The analyze report: each section is one query of sql/analysis/, run once for all tables."""
from __future__ import annotations

import re
from pathlib import Path

import psycopg
import yaml
from psycopg.rows import dict_row

from . import json_output
from . import plan as plans
from .config import Config
from .locations import SQL_ROOT
from .render import render_text

ANALYSIS = SQL_ROOT / "sql" / "analysis"
# A catalog-only rename, measured on the demo: well under a millisecond each; budgeted at one.
MS_PER_RENAME = 1.0
MS_FOR_CHECKS = 20.0
# A merged row, measured on the demo (15,000 legacy rows in 295-509 ms): budgeted at 40 us.
MS_PER_MERGED_ROW = 0.04


def _rows(conn: psycopg.Connection, query: str) -> list[dict]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute((ANALYSIS / query).read_text()).fetchall()


# Preflight's checks that judge the plan; analyze runs them as plan does. Not the two that judge
# the run (inside a transaction, not applied yet), nor the verdict: analyze reads the results.
PREFLIGHT_CHECKS_SKIPPED = ("000_in_a_transaction", "010_not_applied_yet", "990_verdict")


def preflight_problems(conn: psycopg.Connection, plan: plans.Plan) -> list[dict]:
    """Every problem plan's preflight would refuse, found by the same SQL files, read-only."""
    checks = [part for part in plans.preflight_parts(plan)
              if not part.template.rsplit("/", 1)[-1].startswith(PREFLIGHT_CHECKS_SKIPPED)]
    with conn.transaction(force_rollback=True), conn.cursor(row_factory=dict_row) as cur:
        for check in checks:
            # each file whole, in one round trip: splitting a large plan's statements costs more
            # than running them, and nothing here is reported statement by statement
            cur.execute(check.sql)
        return cur.execute("SELECT check_name AS check, problem FROM pgrename_check, unnest(problems) AS problem"
                           " ORDER BY ordinal").fetchall()


def collect(conn: psycopg.Connection, config: Config, exact_counts: bool) -> dict:
    """Every section of the report, as plain data with stable keys (the JSON format)."""
    plan = plans.from_catalog(conn, config)  # also sets the pgrename.* settings the queries below read
    preflight = preflight_problems(conn, plan) if plan.renames else []
    conn.execute("SELECT set_config('pgrename.include', %s, false), set_config('pgrename.exclude', %s, false),"
                 " set_config('pgrename.exact_counts', %s, false)",
                 (",".join(config.include), ",".join(config.exclude), "on" if exact_counts else "off"))
    discovery = _rows(conn, "discovery.sql")
    conflicts = _rows(conn, "conflicts.sql")
    # The other queries name a table as the map does (its key): schema-qualified outside config.schema.
    key = config.table_keys.key
    planned_names = {(key(r["table_schema"], r["source_table"]), r["object_name"]): r["target_name"]
                     for r in plan.renames}
    # the old names a view answers to
    viewed = {key(a["object_schema"], a["object_name"]) for a in plan.additions if a["kind"] == "view"}
    dependencies: dict[str, list[dict]] = {}
    conflict_targets: dict[tuple[str, str], str] = {}
    users_of_object_names: list[dict] = []
    for row in _rows(conn, "dependencies.sql"):
        row["planned_name"] = planned_names.get((row["source_table"], row["name"]))
        if row["conflict_target"] and row["kind"] != "function":
            conflict_targets[(row["source_table"], row["name"])] = row["conflict_target"]
        if row["kind"] == "function" and row["uses_kind"] != "table":
            use = object_name_use(config, planned_names, row["source_table"], row["uses_kind"], row["uses_name"],
                                  row["detail"], row["conflict_target"])
            row["breaks_at"], row["breaks_on_rename"] = use["breaks_at"], use["breaks_at"] == "rename"
            if use["breaks_at"]:
                users_of_object_names.append(use | {"client": "function", "who": row["name"]})
        else:
            # A function body resolves the old name at run time: a compatibility view of that name
            # answers it (old column names too) until contract drops the view.
            row["breaks_at"] = (None if not row["breaks_on_rename"]
                                else "contract" if row["source_table"] in viewed else "rename")
            row["breaks_on_rename"] = row["breaks_at"] == "rename"
        dependencies.setdefault(row.pop("source_table"), []).append(row)
    has_statements = conn.execute("SELECT to_regclass('pg_stat_statements') IS NOT NULL").fetchone()[0]
    statements = _rows(conn, "statements.sql") if has_statements else None
    for q in statements or []:
        if q["uses_kind"] != "table":
            use = object_name_use(config, planned_names, q["source_table"], q["uses_kind"], q["uses_name"],
                                  q["query"], conflict_targets.get((q["source_table"], q["uses_name"])))
            if use["breaks_at"]:
                users_of_object_names.append(use | {"client": "statement", "who": q["user_name"]})
    blockers = _rows(conn, "blockers.sql")
    volume = _rows(conn, "volume.sql")
    renames = plan.renames
    present = [t for t in discovery if t["status"] != "missing"]
    errors = [c for c in conflicts if c["severity"] == "error"]
    return {
        "database": {"name": conn.info.dbname, "server_version": conn.info.parameter_status("server_version"),
                     "schema": config.schema, "schemas": list(config.schemas)},
        "summary": {
            "tables": len(present),
            "matching": sum(t["rule_target"] != t["source_table"] for t in present),
            "mapped": sum(t["status"] == "mapped" for t in present),
            "proposed_by_rule": sum(t["status"] == "rule" for t in discovery),
            "excluded": sum(t["status"] == "excluded" for t in discovery),
            "missing": sum(t["status"] == "missing" for t in discovery),
            "conflicts": len(errors),
            "warnings": len(conflicts) - len(errors),
            "preflight_problems": len(preflight),
            "blockers": len(blockers),
            "object_name_users": len(users_of_object_names),
            "exact_counts": exact_counts,
        },
        "tables": discovery,
        "conflicts": conflicts,
        "preflight": preflight,
        "dependencies": dependencies,
        "volume": volume,
        "blockers": blockers,
        "statements": statements,
        "object_names_in_use": users_of_object_names,
        "plan": {"object_names": config.object_names, "rename_objects": config.rename_objects, "renames": renames, "left_alone": plan.left_alone,
                 "additions": plan.additions},
        "risk": risk(config, renames, blockers, [a for a in plan.additions if a["kind"] == "view"], volume),
        "natural_keys": natural_keys(conn, config),
    }


ON_CONSTRAINT = re.compile(r"on\s+conflict\s+on\s+constraint", re.IGNORECASE)


def object_name_use(config: Config, planned_names: dict, table: str, kind: str, name: str, text: str,
                    conflict_target: str | None) -> dict:
    """A client's or function's use of a constraint's, index's or sequence's name: when it fails
    (None: the object keeps its name) and what it needs."""
    planned = planned_names.get((table, name))
    use = {"source_table": table, "uses_kind": kind, "uses_name": name, "planned_name": planned, "detail": text}
    if planned is None:
        return use | {"breaks_at": None, "needs": "nothing: the object keeps its name"}
    if ON_CONSTRAINT.search(text) and kind in ("constraint", "index"):
        # Through a view no constraint can be named: PostgreSQL looks it up on the view itself.
        columns = f"ON CONFLICT {conflict_target}" if conflict_target else "ON CONFLICT (the key's columns)"
        return use | {"breaks_at": "rename",
                      "needs": f"rewrite it as {columns}: ON CONFLICT ON CONSTRAINT fails through a compatibility "
                               "view whatever the constraint is called (a view has no constraints); the columns "
                               "work on the table now and through the view after migrate"}
    if config.rename_objects == "at_contract":
        return use | {"breaks_at": "contract",
                      "needs": f"nothing until make contract (rename_objects: at_contract keeps {name}); "
                               f"then it must name {planned}"}
    return use | {"breaks_at": "rename",
                  "needs": f"rename_objects: at_contract (keeps {name} until make contract), or name {planned} "
                           "in the client before migrate"}


def natural_keys(conn: psycopg.Connection, config: Config) -> list[dict]:
    """Per table of the schema, the natural key sync: could use (sql/analysis/natural_keys.sql), and
    the one the config's sync: tables names, if any."""
    conn.execute("SELECT set_config('pgrename.schemas', %s, false)", (config.schema,))
    configured = {name: list(table.key) for name, table in config.sync.tables.items()} if config.sync else {}
    return [dict(row, configured_key=configured.get(row["table_name"])) for row in _rows(conn, "natural_keys.sql")]


def risk(config: Config, renames: list[dict], blockers: list[dict], views: list[dict], volume: list[dict]) -> dict:
    rows_by_table = {v["source_table"]: v["exact_rows"] if v["exact_rows"] is not None else v["estimated_rows"] or 0
                     for v in volume}
    merged_rows = sum(rows_by_table.get(merge.source, 0) for merge in config.merges)
    merge_ms = round(merged_rows * MS_PER_MERGED_ROW)
    estimated_ms = round(len(renames) * MS_PER_RENAME + MS_FOR_CHECKS) + merge_ms
    tables = sum(r["kind"] == "table" for r in renames)
    lines = [
        f"The migration renames {len(renames)} objects of {tables} tables in one transaction. Renames change "
        f"catalog rows only: they take milliseconds whatever the tables hold.",
    ]
    if config.merges:
        lines.append(f"The {len(config.merges)} merge(s) copy about {merged_rows:,} legacy rows inside that "
                     f"transaction, about {merge_ms:,} ms: unlike the renames, this grows with the legacy tables "
                     "(`make rehearse WITH_DATA=1` measures it).")
    lines += [
        f"In all, about {estimated_ms:,} ms. Each table is locked ACCESS EXCLUSIVE from its rename until the commit: "
        "queries on it wait that long, no longer.",
    ]
    if blockers:
        lines.append(f"{len(blockers)} session(s) hold locks on these tables or sit idle in a transaction: the "
                     f"migration would wait for them up to lock_timeout ({config.lock_timeout}), blocking the "
                     "tables meanwhile, then give up and change nothing. End or wait out those sessions first.")
    if views:
        lines.append(f"After the commit, clients that use the new names work at once; clients that still use the "
                     f"old table and column names keep working through the {len(views)} compatibility view(s) "
                     "of the plan until `make contract` drops them. So do functions that name an old table (listed "
                     "as breaking at contract): edit them before contracting.")
    else:
        lines.append("After the commit, clients that use the new names work at once; clients that still use the "
                     "old names fail until they change (compatibility_views is false), and so do the functions "
                     "listed as breaking on rename.")
    return {"statements": len(renames), "estimated_lock_ms": estimated_ms, "merged_rows": merged_rows,
            "estimated_merge_ms": merge_ms, "lock_timeout": config.lock_timeout, "blockers": len(blockers),
            "explanation": " ".join(lines)}


def as_json(report: dict) -> str:
    return json_output.document("analyze", report)


def as_text(report: dict, markdown: bool = False) -> str:
    template = "pgrename/reports/analyze.md.j2" if markdown else "pgrename/reports/analyze.txt.j2"
    return render_text(template, {"r": report})


def starter_config(report: dict, config: Config) -> str:
    """A config whose tables are the map's entries plus the rule's proposals: review before use."""
    key = config.table_keys.key
    tables = {key(t["table_schema"], t["source_table"]): t["target_table"] for t in report["tables"]
              if t["status"] in ("mapped", "rule")}
    body = {"migration": config.migration or f"rename_{report['database']['name']}", "schema": config.schema,
            "lock_timeout": config.lock_timeout}
    if len(config.schemas) > 1:
        body["schemas"] = list(config.schemas)
    if config.include:
        body["include"] = config.include
    if config.exclude:
        body["exclude"] = config.exclude
    header = (f"# Starter config written by `runner.py analyze --write-config` from database "
              f"{report['database']['name']}.\n# Review every line: the targets come from the naming rule "
              f"(sql/analysis/discovery.sql) where the map had none.\n")
    return (header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True)
            + _tables_section(report, tables, config) + _sync_section(report))


def _sync_section(report: dict) -> str:
    """The natural keys analyze proposes, as a sync: section left commented out: syncing is a choice."""
    lines = ["# Natural-key sync (make export / make import), if these tables move between machines: the",
             "# keys below come from NOT NULL unique keys without a surrogate (sql/analysis/natural_keys.sql).",
             "# sync:", "#   namespace: " + report["database"]["name"], "#   tables:"]
    for row in report["natural_keys"]:
        if row["proposed_key"]:
            through = (f"  # {', '.join(row['through_parent'])}: written as the parent's key"
                       if row["through_parent"] else "")
            lines.append(f"#     {row['table_name']}: [{', '.join(row['proposed_key'])}]{through}")
        else:
            lines.append(f"#     # {row['table_name']}: no NOT NULL unique key without a surrogate: name one, "
                         "or leave it out")
    return "\n".join(lines) + "\n"


def _tables_section(report: dict, tables: dict[str, str], config: Config) -> str:
    """The map, a line a table, each with analyze's conflicts about it as a comment beside it."""
    if not tables:
        schemas = report["database"]["schemas"]
        return (f"# Nothing matched: no table of schema{'s' if len(schemas) > 1 else ''} {', '.join(schemas)} "
                "is mapped or proposed by the naming rule\n# (every name is snake_case already, or include/exclude "
                "left it out). Map tables here by hand,\n# one a line: CurrentName: target_name.\ntables: {}\n")
    said: dict[str, list[str]] = {}
    for c in (c for c in report["conflicts"] if c["source_table"] is not None):  # not schema_missing
        said.setdefault(config.table_keys.key(c["table_schema"], c["source_table"]), []).append(
            f"{c['severity'].upper()} {c['kind']}: {c['detail']}")
    lines = ["tables:"]
    for source, target in tables.items():
        entry = yaml.safe_dump({source: target}, allow_unicode=True, default_flow_style=False).rstrip("\n")
        comment = "; ".join(said.get(source, []))
        lines.append(f"  {entry}" + (f"  # {' '.join(comment.split())}" if comment else ""))
    return "\n".join(lines) + "\n"


def write_config(path: Path, text: str) -> None:
    """Create the file; an existing one is never overwritten."""
    with path.open("x", encoding="utf-8") as handle:
        handle.write(text)
