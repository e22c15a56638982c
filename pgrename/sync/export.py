"""An export: every synced table's natural rows (sql/sync/export_table.sql.j2) from one REPEATABLE
READ snapshot, zstd COPY files in natural-key order, the script that wrote them, and a manifest
with counts, checksums and each table's content hash, written last."""
from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import psycopg

from .. import VERSION
from ..backup import sha256_of
from ..config import Sync
from ..data.archive import MANIFEST
from ..data.take import write_copy
from ..json_output import iso_utc
from ..render import Script, render
from . import validation
from .shape import Shape, SyncError, shapes

FORMAT = "pgrename-sync"
FORMAT_VERSION = 1
SCRIPT_FILE = "export.sql"

log = logging.getLogger("pgrename")


def export(conn: psycopg.Connection, sync: Sync, schema: str, directory: Path) -> dict:
    """Write the export into `directory` (which must not exist); on any failure nothing is left."""
    try:
        directory.mkdir(parents=True)
    except FileExistsError:
        raise SyncError(f"{directory} exists already; an export never overwrites") from None
    try:
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            tables = shapes(conn, sync, schema)
            _refuse_duplicate_keys(conn, schema, tables)
            script = Script((render("sql/sync/settings.sql.j2", {}),
                             *(render("sql/sync/export_table.sql.j2", {"table": t.context()}) for t in tables)))
            conn.execute(script.parts[0].sql)  # the settings
            (directory / SCRIPT_FILE).write_text(script.body)
            entries = [_table(conn, directory, number, table, part.sql)
                       for number, (table, part) in enumerate(zip(tables, script.parts[1:]), start=1)]
    except BaseException:
        shutil.rmtree(directory)
        raise
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "tool": "pgrename", "tool_version": VERSION,
                "namespace": sync.namespace, "database": conn.info.dbname,
                "server_version": conn.info.parameter_status("server_version"), "source_schema": schema,
                "taken_at": iso_utc(), "script": {"file": SCRIPT_FILE, "sha256": sha256_of(directory / SCRIPT_FILE)},
                "tables": entries}
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def _refuse_duplicate_keys(conn: psycopg.Connection, schema: str, tables: list[Shape]) -> None:
    """A key two rows share here would name neither of them elsewhere: refused before any file is written."""
    validation.settings(conn, schema, tables)
    found = [r for r in validation.run(conn, validation.listed(conn, validation.NATURAL_KEYS.read_text())) if not r.ok]
    if found:
        raise SyncError(f"{found[0].check.description}: false here, {found[0].violations} key(s) shared or NULL, "
                        f"e.g. {found[0].example}; no export was written")


def _table(conn: psycopg.Connection, directory: Path, number: int, table: Shape, query: str) -> dict:
    path = directory / f"{number:04d}.copy.zst"
    rows, raw_bytes = write_copy(conn, query.rstrip().rstrip(";"), path, table.label, None)
    content = conn.execute(render("sql/sync/content_hash.sql.j2", {"table": table.context()}).sql).fetchone()[0]
    log.info("  %-40s %10d rows  key %s%s", table.label, rows, ", ".join(table.key),
             f"; left out: {', '.join(table.dropped)}" if table.dropped else "")
    return {"schema": table.schema, "table": table.table, "file": path.name, "rows": rows, "bytes": raw_bytes,
            "sha256": sha256_of(path), "content_md5": content, "key": table.key,
            "columns": [{"name": c["name"], "type": c["type"]} for c in table.columns]}
