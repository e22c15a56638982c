"""The integrity suite, generated from the catalog: each file of sql/validate/ is a query that
lists checks (name, description, and the query that counts a check's violations), so the suite
writes itself for whatever tables, keys and constraints the database has; the user's checks (a
folder of SQL files, each returning the rows that violate it) join them. The generated suite is
kept as one psql-runnable file; its results come as text, TAP or JSON."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import psycopg

from ..config import Sync
from ..locations import SQL_ROOT
from ..render import Part, render
from .shape import Shape, SyncError

GENERATORS = SQL_ROOT / "sql" / "validate"
NATURAL_KEYS = GENERATORS / "010_natural_keys.sql"


@dataclass(frozen=True)
class Check:
    name: str
    description: str
    query: str          # returns one row: (violations, example)


@dataclass(frozen=True)
class Result:
    check: Check
    violations: int
    example: str | None

    @property
    def ok(self) -> bool:
        return self.violations == 0


def settings(conn: psycopg.Connection, schema: str, shapes: list[Shape]) -> None:
    """What the generators read: the schemas, and the synced tables' keys and references by value."""
    keys = {shape.name: shape.key_columns for shape in shapes}
    references = [{"table": shape.name, "column": ref["column"], "parent": ref["parent_name"],
                   "parent_column": ref["parent_column"]} for shape in shapes for ref in shape.logical]
    conn.execute("SELECT set_config('pgrename.schemas', %s, false), set_config('pgrename.sync_keys', %s, false),"
                 " set_config('pgrename.sync_references', %s, false)",
                 (schema, json.dumps(keys), json.dumps(references)))


def listed(conn: psycopg.Connection, generator: str) -> list[Check]:
    """The checks a generator query lists."""
    return [Check(*row) for row in conn.execute(generator).fetchall()]


def generated(conn: psycopg.Connection) -> list[Check]:
    return [check for path in sorted(GENERATORS.glob("*.sql")) for check in listed(conn, path.read_text())]


def user_checks(sync: Sync | None) -> list[Check]:
    """Each SQL file of sync.checks returns the rows that violate it; none is a pass."""
    if sync is None or sync.checks is None:
        return []
    if not sync.checks.is_dir():
        raise SyncError(f"sync: checks: {sync.checks} is not a folder of SQL files")
    checks = []
    for path in sorted(sync.checks.glob("*.sql")):
        query = path.read_text().strip().rstrip(";").strip()
        if not query:
            raise SyncError(f"{path}: empty; a check is a query returning the rows that violate it")
        first = next((line for line in query.splitlines() if line.startswith("--")), f"-- {path.stem}")
        checks.append(Check(f"user check {path.stem}", first.lstrip("- ").strip(),
                            render("sql/validate/user_check.sql.j2", {"query": query}).sql.strip()))
    return checks


def suite(checks: list[Check], database: str) -> Part:
    """The suite as one file psql runs as is: each check's query under its name and description."""
    return render("sql/validate/suite.sql.j2", {"checks": checks, "database": database})


def run(conn: psycopg.Connection, checks: list[Check]) -> list[Result]:
    results = []
    for check in checks:
        try:
            with conn.transaction():
                violations, example = conn.execute(check.query).fetchone()
        except psycopg.Error as error:
            raise SyncError(f"{check.name}: its query failed: {str(error).strip()}") from None
        results.append(Result(check, violations, example))
    return results


def tap(results: list[Result]) -> str:
    """Test Anything Protocol, as pg_prove prints it."""
    lines = [f"1..{len(results)}"]
    for number, result in enumerate(results, start=1):
        lines.append(f"{'ok' if result.ok else 'not ok'} {number} - {result.check.description}")
        if not result.ok:
            lines.append(f"# {result.violations} violation(s), e.g. {result.example}")
    return "\n".join(lines) + "\n"


def as_json(results: list[Result]) -> list[dict]:
    return [{"name": r.check.name, "description": r.check.description, "ok": r.ok, "violations": r.violations,
             "example": r.example} for r in results]
