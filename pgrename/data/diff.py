"""Two data backups compared without a database: tables only in one, and per table the keys whose
rows were added, removed or changed."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import zstandard

from .archive import verify


def _lines(path: Path) -> list[bytes]:
    with path.open("rb") as handle, zstandard.ZstdDecompressor().stream_reader(handle) as data:
        return data.read().splitlines()


def _rows_by_key(directory: Path, entry: dict, columns: list[str], key: list[str]) -> dict[tuple, Counter]:
    """A table's rows (the given columns, as COPY text) grouped by their key's values."""
    fields = [entry["columns"].index(c) for c in columns]
    positions = [columns.index(c) for c in key]
    rows: dict[tuple, Counter] = {}
    for line in _lines(directory / entry["file"]):
        values = line.split(b"\t")
        row = tuple(values[i].decode() for i in fields)
        rows.setdefault(tuple(row[i] for i in positions), Counter())[row] += 1
    return rows


def _table_diff(old_dir: Path, old: dict, new_dir: Path, new: dict) -> dict:
    """The keys under which one table's rows were added, removed or changed from backup A to B,
    compared on the columns both have. A table without a primary key is keyed by its whole row."""
    common = [c for c in old["columns"] if c in new["columns"]]
    found = {"schema": old["schema"], "table": old["table"], "rows_a": old["rows"], "rows_b": new["rows"],
             "columns_added": [c for c in new["columns"] if c not in old["columns"]],
             "columns_removed": [c for c in old["columns"] if c not in new["columns"]]}
    if old["has_primary_key"] != new["has_primary_key"] or (
            old["has_primary_key"] and (old["order_by"] != new["order_by"] or
                                        not set(old["order_by"]) <= set(common))):
        return {**found, "note": "the primary key differs: rows not compared"}
    key = old["order_by"] if old["has_primary_key"] else common
    a_rows, b_rows = _rows_by_key(old_dir, old, common, key), _rows_by_key(new_dir, new, common, key)
    return {**found,
            "added": sorted(k for k in b_rows if k not in a_rows),
            "removed": sorted(k for k in a_rows if k not in b_rows),
            "changed": sorted(k for k in a_rows if k in b_rows and a_rows[k] != b_rows[k])}


def diff(a: Path, b: Path) -> dict:
    """Two verified backups compared: tables only in one, and per table the keys whose rows differ."""
    old, new = verify(a), verify(b)
    old_tables = {(e["schema"], e["table"]): e for e in old["tables"]}
    new_tables = {(e["schema"], e["table"]): e for e in new["tables"]}
    tables = [_table_diff(a, old_tables[name], b, new_tables[name]) for name in old_tables
              if name in new_tables and (old_tables[name]["sha256"] != new_tables[name]["sha256"]
                                         or old_tables[name]["columns"] != new_tables[name]["columns"])]
    return {"only_in_a": [".".join(name) for name in old_tables if name not in new_tables],
            "only_in_b": [".".join(name) for name in new_tables if name not in old_tables],
            "schema_differs": (old.get("schema") or {}).get("sha256") != (new.get("schema") or {}).get("sha256"),
            "tables": tables}
