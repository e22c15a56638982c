"""Numbered migration sets: the files of migration_sets.directory, read and checked before
anything connects.

    NNN_slug.sql (or .sql.j2)     the migration; NNN, its number, is its identity
    rollback/NNN_slug.sql         its mirror, newest first on rollback (none: irreversible)
    verify/NNN_slug.sql           optional: raises if the migration did not do its work
    NNN_slug.yaml                 a rename step: a rename config (config.yaml's shape), planned
                                  from the catalog when its turn comes and applied as make migrate
                                  does (recorded in pgrename.history too); rolled back from what
                                  it recorded, so it needs no rollback file

Directives, in a comment among the first lines of a migration:

    -- pgrename: manual-only        a plain sets-migrate leaves it out; ONLY=NNN runs it
    -- pgrename: irreversible       it has no rollback; a rollback over it is refused
    -- pgrename: repeatable         it runs again whenever its file changes (a view, a function):
                                    a changed file is not an edit but a migration to apply
    -- pgrename: no-transaction     it runs alone, outside a transaction, statement by statement
                                    (CREATE INDEX CONCURRENTLY); its rollback file runs in the
                                    rollback's transaction as any other

A file's checksum is taken on its bytes without a BOM and with CRLF and CR as LF (sha256-lf), so
that a checkout with other line endings is not an edit.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg

from . import plan as plans
from .config import Config, MigrationSets, load_config
from .errors import UsageError
from .render import Part, Script, render, render_source

CHECKSUM_ALGORITHM = "sha256-lf"
FILE_NAME = re.compile(r"^(\d{3,})_([A-Za-z0-9_-]+)\.(sql|sql\.j2|yaml)$")
DIRECTIVE = re.compile(r"^--\s*pgrename:\s*(.+)$")
DIRECTIVES = {"manual-only", "irreversible", "no-transaction", "repeatable"}


class SetError(UsageError):
    """The migration files, or what was asked of them, cannot be used; nothing connected."""


@dataclass(frozen=True)
class Migration:
    number: int
    name: str                 # the file's name
    package: str
    path: Path
    sql: str                  # as it runs: rendered, for .sql.j2
    source_sha256: str
    rollback: Path | None
    verify: Path | None
    manual: bool
    irreversible: bool
    no_transaction: bool = False
    repeatable: bool = False
    rename: Config | None = None  # a rename step's config

    @property
    def kind(self) -> str:
        return "rename" if self.rename else "sql"

    @property
    def rendered_sha256(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    @property
    def rollback_sql(self) -> str | None:
        return read(self.rollback) if self.rollback else None

    @property
    def rollback_sha256(self) -> str | None:
        return source_sha256(self.rollback) if self.rollback else None

    @property
    def verify_sql(self) -> str | None:
        return read(self.verify) if self.verify else None

    def recorded(self) -> dict:
        """What pgrename.set_migration records of it, and sql/analysis/sets_status.sql compares."""
        return {"number": self.number, "name": self.name, "package": self.package,
                "source_sha256": self.source_sha256, "rendered_sha256": self.rendered_sha256,
                "rollback_sha256": self.rollback_sha256, "manual": self.manual, "irreversible": self.irreversible,
                "repeatable": self.repeatable, "kind": self.kind}


def normalised(data: bytes) -> bytes:
    return data.removeprefix(b"\xef\xbb\xbf").replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def source_sha256(path: Path) -> str:
    return hashlib.sha256(normalised(path.read_bytes())).hexdigest()


def read(path: Path) -> str:
    try:
        return normalised(path.read_bytes()).decode("utf-8")
    except UnicodeDecodeError as error:
        raise SetError(f"{path}: not UTF-8 text ({error.reason})") from None


def discover(sets: MigrationSets) -> list[Migration]:
    """Every migration of the directory, in number order, each in its package, checked."""
    if not sets.directory.is_dir():
        raise SetError(f"migration_sets: directory {sets.directory} does not exist")
    by_number: dict[int, Path] = {}
    for path in sorted(sets.directory.iterdir()):
        if path.is_dir() or path.name.startswith("."):
            continue
        match = FILE_NAME.match(path.name)
        if not match:
            raise SetError(f"{path}: not a migration file name (NNN_slug.sql, NNN_slug.sql.j2 or NNN_slug.yaml)")
        number = int(match.group(1))
        if number in by_number:
            raise SetError(f"{by_number[number].name} and {path.name} have the same number {number}: "
                           "a number is a migration's identity")
        by_number[number] = path
    return [_migration(number, path, sets) for number, path in sorted(by_number.items())]


def _migration(number: int, path: Path, sets: MigrationSets) -> Migration:
    package = next((name for name, (first, last) in sets.packages.items() if first <= number <= last), None)
    if package is None:
        raise SetError(f"{path.name}: number {number} is in no package of migration_sets.packages "
                       f"({', '.join(f'{name} {first:03d}-{last:03d}' for name, (first, last) in sets.packages.items())})")
    text = read(path)
    if path.suffix == ".yaml":
        rename = load_config(path)
        if not rename.tables:
            raise SetError(f"{path.name}: a rename step maps no tables")
        if rename.migration is None:
            raise SetError(f"{path.name}: a rename step names no migration (migration: its name in pgrename.history)")
        return Migration(number, path.name, package, path, "", source_sha256(path), None,
                         _beside(sets.directory / "verify", path.with_suffix(".sql").name), False, False,
                         rename=rename)
    directives = {word.strip() for line in text.splitlines()[:10] if (found := DIRECTIVE.match(line.strip()))
                  for word in found.group(1).split(",")}
    unknown = sorted(directives - DIRECTIVES)
    if unknown:
        raise SetError(f"{path.name}: unknown directive {unknown[0]!r}; known: {', '.join(sorted(DIRECTIVES))}")
    rollback = _beside(sets.directory / "rollback", path.name)
    if "irreversible" in directives and rollback:
        raise SetError(f"{path.name} says it is irreversible but has a rollback file {rollback}")
    if "irreversible" not in directives and not rollback:
        raise SetError(f"{path.name} has no rollback file (rollback/{path.name}); write one, or mark it "
                       "'-- pgrename: irreversible'")
    sql = render_source(text, str(path), {"number": number}) if path.name.endswith(".j2") else text
    return Migration(number, path.name, package, path, sql, source_sha256(path), rollback,
                     _beside(sets.directory / "verify", path.name), "manual-only" in directives,
                     "irreversible" in directives, "no-transaction" in directives, "repeatable" in directives)


def _beside(folder: Path, name: str) -> Path | None:
    """rollback/ or verify/'s file of a migration: the same name, .sql or .sql.j2."""
    stem = name.removesuffix(".j2")
    return next((p for p in (folder / stem, folder / f"{stem}.j2") if p.is_file()), None)


def package_range(sets: MigrationSets, name: str) -> tuple[int, int]:
    if name not in sets.packages:
        raise SetError(f"unknown package {name!r}; packages: {', '.join(sets.packages)}")
    return sets.packages[name]


def selected(migrations: list[Migration], sets: MigrationSets, start: str | None, end: str | None,
             to: int | None, only: int | None) -> list[Migration]:
    """The migrations a run covers: START..END packages (or numbers up TO one), manual-only ones
    left out; or ONLY the one numbered."""
    if only is not None:
        found = [m for m in migrations if m.number == only]
        if not found:
            raise SetError(f"no migration numbered {only:03d} in {sets.directory}")
        return found
    first = package_range(sets, start)[0] if start else 0
    last = package_range(sets, end)[1] if end else 10 ** 9
    if to is not None:
        last = min(last, to)
    if first > last:
        raise SetError(f"the start ({start or first}) comes after the end ({end or last})")
    return [m for m in migrations if first <= m.number <= last and not m.manual]


def _context_of(m: Migration) -> dict:
    return {**m.recorded(), "name": m.name}


def runs(migrations: list[Migration]) -> list[list[Migration]]:
    """The migrations in the runs they apply in: consecutive ones share a transaction; a
    no-transaction one runs alone, and so does a rename step, which is planned from the catalog
    as the migrations before it left it."""
    grouped: list[list[Migration]] = []
    for m in migrations:
        alone = m.no_transaction or m.rename is not None
        if alone or not grouped or grouped[-1][0].no_transaction or grouped[-1][0].rename is not None:
            grouped.append([m])
        else:
            grouped[-1].append(m)
    return grouped


def no_transaction_script(m: Migration, context: dict) -> Script:
    """A no-transaction migration: recorded as failed, its statements one by one, then applied."""
    item = {**context, "m": _context_of(m) | {"sql": m.sql}, "algorithm": CHECKSUM_ALGORITHM}
    return Script((render("sql/sets/no_transaction.sql.j2", item | {"part": "start"}),
                   Part(m.name, m.sql.strip() + "\n"),
                   render("sql/sets/no_transaction.sql.j2", item | {"part": "done"})))


def rename_script(m: Migration, conn: psycopg.Connection, context: dict) -> Script:
    """A rename step in one transaction: the rename as make migrate renders it now (its audit and
    pgrename.history rows included), then its row in the set's history."""
    rename = plans.migrate_script(plans.from_catalog(conn, m.rename))
    item = {**context, "m": _context_of(m) | {"rendered_sha256": rename.sha256}, "algorithm": CHECKSUM_ALGORITHM}
    listed = {**context, "migrations": [_context_of(m)]}
    return Script((render("sql/sets/header.sql.j2", listed), *rename.parts,
                   render("sql/sets/after_migration.sql.j2", item), render("sql/sets/audit.sql.j2", listed)))


def apply_script(migrations: list[Migration], context: dict) -> Script:
    """One transaction: each migration as its file says (verbatim), its verify script, its history row."""
    parts = [render("sql/sets/header.sql.j2", {**context, "migrations": [_context_of(m) for m in migrations]})]
    for m in migrations:
        item = {**context, "m": _context_of(m), "algorithm": CHECKSUM_ALGORITHM}
        verify = (f"-- verify/{m.verify.name}: raises if {m.name} did not do its work.\n{m.verify_sql.strip()}\n\n"
                  if m.verify else "")
        parts.append(Part(m.name, f"{m.sql.strip()}\n\n{verify}{render('sql/sets/after_migration.sql.j2', item).sql}"))
    parts.append(render("sql/sets/audit.sql.j2", {**context, "migrations": [_context_of(m) for m in migrations]}))
    return Script(tuple(parts))


def rollback_script(migrations: list[Migration], conn: psycopg.Connection, context: dict) -> Script:
    """One transaction: the rollback files newest first (a rename step's rollback as make rollback
    renders it from what it recorded), the history rows, then the proof that the schema is what it
    was before the oldest of them ran."""
    newest_first = sorted(migrations, key=lambda m: m.number, reverse=True)
    listed = {**context, "migrations": [_context_of(m) for m in newest_first]}
    parts = [render("rollback/sets/header.sql.j2", listed)]
    for m in newest_first:
        after = render("rollback/sets/after_migration.sql.j2", {**context, "m": _context_of(m)})
        if m.rename:
            recorded = plans.recorded_status(conn, m.rename.migration)
            rename = plans.rollback_script(plans.from_history(conn, m.rename, recorded["table_schema"]))
            parts += [*rename.parts, after]
        else:
            parts.append(Part(f"rollback/{m.rollback.name}", f"{m.rollback_sql.strip()}\n\n{after.sql}"))
    parts += [render("rollback/sets/prove.sql.j2", listed), render("rollback/sets/audit.sql.j2", listed)]
    return Script(tuple(parts))
