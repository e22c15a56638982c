"""Merges copied ahead of the migration (make merge-prepare): what each prepared merge's templates
need, under the names the tables and columns have before the migration, and why a merge cannot be
prepared. The SQL is in sql/merge_prepare/ (capture, one batch) and rollback/merge_prepare/ (cancel);
migrate applies what changed since inside its lock (sql/merge_prepare/catch_up.sql.j2, from 090)."""
from __future__ import annotations

import hashlib

import psycopg
from psycopg.rows import dict_row

from .config import Config, Merge, is_expression
from .errors import UsageError

CAPTURE_TRIGGER = "pgrename_merge_capture"


def capture_function(migration: str, merged_from: str) -> str:
    """The capture trigger's function, in schema pgrename: one per migration and legacy table."""
    return "merge_capture_" + hashlib.sha256(f"{migration}/{merged_from}".encode()).hexdigest()[:12]


def refusal(config: Config, merge: Merge, renamed_columns: dict[tuple[str, str], str]) -> str | None:
    """Why this merge cannot be copied ahead, or None."""
    where = f"merge of {merge.source} into {merge.into}"
    if merge.on_conflict != "skip":
        return (f"{where} overwrites rows (on_conflict: update): copied ahead, clients would see rows overwritten "
                "before the migration; it can only run inside migrate's lock")
    legacy_renamed = sorted(old for (table, _), old in renamed_columns.items() if table == merge.source)
    if legacy_renamed:
        return (f"{where}: the migration renames columns of {merge.source} ({', '.join(legacy_renamed)}), which its "
                "columns read by their new names; copied ahead, they do not exist yet")
    added = sorted(c.name for c in config.added_columns if c.table == merge.into and c.name in merge.columns)
    if added:
        return f"{where} fills {', '.join(added)}, which the migration adds to {merge.into}: not there yet"
    return None


def contexts(config: Config, renames: list[dict]) -> list[dict]:
    """Each merge as the prepare templates see it, or UsageError naming every merge that cannot be
    prepared. Table names before and after the migration; the target's columns by the names they
    have now (a column the migration renames by its old name); keys by their names after."""
    key = config.table_keys.key
    renamed_columns = {(key(r["table_schema"], r["source_table"]), r["target_name"]): r["object_name"]
                       for r in renames if r["kind"] == "column"}
    refused = [reason for merge in config.merges if (reason := refusal(config, merge, renamed_columns))]
    if refused:
        raise UsageError("cannot copy ahead: " + "; ".join(refused))
    prepared = []
    for merge in config.merges:
        def now(column: str, merge: Merge = merge) -> str:
            return renamed_columns.get((merge.into, column), column)
        merged_from = config.tables[merge.source]
        schema, source = config.table_keys.locate(merge.source)
        prepared.append({
            "schema": schema, "source": source, "into": config.table_keys.locate(merge.into)[1],
            "merged_from": merged_from, "into_after": config.tables[merge.into],
            "capture_function": capture_function(config.migration, merged_from),
            "columns": [[now(into), value, is_expression(value)] for into, value in merge.columns.items()],
            "key": [{"now": now(column), "after": column} for column in merge.key],
            "key_values": [[column, merge.columns[column], is_expression(merge.columns[column])] for column in merge.key],
        })
    return prepared


def progress(conn: psycopg.Connection, migration: str) -> dict[str, dict]:
    """Each merge's preparation so far, by legacy table (its name after the migration); none
    before pgrename's own schema has the table (version 9)."""
    if not conn.execute("SELECT to_regclass('pgrename.merge_progress') IS NOT NULL").fetchone()[0]:
        return {}
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute("SELECT * FROM pgrename.merge_progress WHERE migration = %s", (migration,)).fetchall()
    return {row["merged_from"]: row for row in rows}
