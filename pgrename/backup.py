"""Backups before a migration, with pg_dump: free disk checked first, the dump verified by
pg_restore --list, its SHA-256 kept beside it (NAME.sha256) and in the audit trail. One
custom-format file, or with several jobs a directory dumped in parallel (its SHA-256 covers
every file in it, by name)."""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from . import embedded
from .json_output import iso_utc
from .errors import Failure
from .locations import WORK_DIR
from .render import ident

BACKUP_DIR = Path(os.environ.get("PGRENAME_BACKUP_DIR", WORK_DIR / "backups"))
HEADROOM = 1.2  # a custom-format dump is compressed, but leave room anyway


class BackupFailed(Failure):
    """No usable backup; the message says why. The migration does not run without it."""


@dataclass(frozen=True)
class Backup:
    path: Path
    sha256: str
    bytes: int

    def as_audit(self) -> dict:
        return {"path": str(self.path), "sha256": self.sha256, "bytes": self.bytes}


def client_tool(name: str) -> str:
    """A PostgreSQL client program (pg_dump, pg_restore, psql): the embedded server's own, else the one on PATH."""
    try:
        candidate = embedded.find_bindir() / name
        if candidate.exists():
            return str(candidate)
    except embedded.EmbeddedError:
        pass
    found = shutil.which(name)
    if not found:
        raise BackupFailed(f"{name} not found: install the PostgreSQL client (postgresql-client) or set PG_BINDIR")
    return found


def _connection_args(conninfo: str) -> tuple[list[str], dict]:
    """--dbname without the password, and an environment that carries it: never on a command line."""
    env = dict(os.environ)
    if not conninfo:
        return [], env
    params = conninfo_to_dict(conninfo)
    password = params.pop("password", None)
    if password:
        env["PGPASSWORD"] = password
    return ["--dbname", make_conninfo(**params)], env


def sha256_of(path: Path) -> str:
    """Of a dump file, or of a directory dump: each file's name and bytes, in name order."""
    digest = hashlib.sha256()
    for part in sorted(path.iterdir()) if path.is_dir() else [path]:
        digest.update(part.name.encode() if path.is_dir() else b"")
        with part.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def verify(path: Path) -> str:
    """The file's checksum, once pg_restore has read its table of contents and the checksum
    beside it agrees: a truncated or altered dump is refused."""
    checksum_file = path.with_name(path.name + ".sha256")
    if not path.exists():
        raise BackupFailed(f"{path}: no such backup")
    listing = subprocess.run([client_tool("pg_restore"), "--list", str(path)], capture_output=True, text=True)
    if listing.returncode != 0 or "TABLE" not in listing.stdout:
        raise BackupFailed(f"{path}: pg_restore cannot read it: {listing.stderr.strip() or 'no tables listed'}")
    checksum = sha256_of(path)
    if checksum_file.exists() and checksum_file.read_text().split()[0] != checksum:
        raise BackupFailed(f"{path}: its SHA-256 is {checksum}, not the {checksum_file.name} recorded when it was "
                           "taken: the file was changed or truncated")
    return checksum


TABLES_ONLY = "-tables"  # in the name of a dump of the migration's tables only (backup_scope: tables)


@dataclass(frozen=True)
class DumpContents:
    taken_at: str                 # ISO 8601 UTC, from the dump's own header
    schemas: frozenset[str]       # the schemas it holds objects of (pgrename's left out)
    created: frozenset[str]       # those of them it creates (CREATE SCHEMA); public is not one


def contents(path: Path) -> DumpContents:
    """What a dump holds, from its table of contents (pg_restore --list)."""
    listing = subprocess.run([client_tool("pg_restore"), "--list", str(path)], capture_output=True, text=True,
                             check=True).stdout
    taken = re.search(r"^; Archive created at (.+)$", listing, re.MULTILINE)
    entries = [match.groups() for match in re.finditer(r"^\d+; \d+ \d+ ((?:[A-Z]+ )+)(\S+) (\S+)", listing,
                                                         re.MULTILINE)]
    schemas = {schema for _, schema, _ in entries} - {"-", "pgrename", "pg_catalog"}
    created = {name for kind, schema, name in entries if kind == "SCHEMA " and schema == "-"} - {"pgrename"}
    taken_at = (datetime.strptime(taken.group(1).replace(" UTC", ""), "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
                if taken and taken.group(1).endswith(" UTC") else datetime.fromtimestamp(path.stat().st_mtime, timezone.utc))
    return DumpContents(iso_utc(taken_at), frozenset(schemas | created), frozenset(created))


def restore_script_from(path: Path, target: Path) -> None:
    """The dump as the SQL pg_restore would run, into a file, pgrename's own schema left out (its
    objects, and the schema itself, which --exclude-schema would still create)."""
    listing = subprocess.run([client_tool("pg_restore"), "--list", str(path)], capture_output=True, text=True,
                             check=True).stdout
    own = re.compile(r"^\d+; \d+ \d+ (?:[A-Z]+ )+(?:pgrename \S+|- pgrename) ")
    chosen = target.with_suffix(".list")
    chosen.write_text("".join(line for line in listing.splitlines(keepends=True) if not own.match(line)))
    done = subprocess.run([client_tool("pg_restore"), "--use-list", str(chosen), "--file", str(target), str(path)],
                          capture_output=True, text=True)
    chosen.unlink()
    if done.returncode != 0:
        raise BackupFailed(f"pg_restore cannot write {path} as SQL: {done.stderr.strip()}")


def run_psql(conninfo: str, script: Path) -> None:
    """A script in one transaction with psql, the password in the environment only."""
    connection, env = _connection_args(conninfo)
    env["PGOPTIONS"] = f"{env.get('PGOPTIONS', '')} -c client_min_messages=warning".strip()
    done = subprocess.run([client_tool("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction",
                           "-f", str(script), *connection], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        said = [line for line in done.stderr.splitlines() if re.search(r"\b(ERROR|FATAL|DETAIL|HINT):", line)]
        raise BackupFailed("; ".join(said) or done.stderr.strip() or f"psql exited with {done.returncode}")


def take(conn: psycopg.Connection, conninfo: str, tables: list[tuple[str, str]] | None, jobs: int = 1) -> Backup:
    """A verified dump of the database, or of only the given tables (schema, name): custom format,
    or with jobs > 1 directory format dumped by that many parallel workers."""
    if tables:
        size = conn.execute("SELECT coalesce(sum(pg_total_relation_size(to_regclass(format('%%I.%%I', s, t)))), 0)"
                            "::bigint FROM unnest(%s::text[], %s::text[]) AS d (s, t)",
                            ([s for s, _ in tables], [t for _, t in tables])).fetchone()[0]
    else:
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    BACKUP_DIR.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(BACKUP_DIR).free
    if free < size * HEADROOM:
        raise BackupFailed(f"not enough free disk for the backup in {BACKUP_DIR}: {free:,} bytes free, "
                           f"the data takes {size:,}")
    scope = TABLES_ONLY if tables else ""
    path = BACKUP_DIR / f"{conn.info.dbname}-{time.strftime('%Y%m%d-%H%M%S')}{scope}.dump"
    connection, env = _connection_args(conninfo)
    # A pg_dump pattern in double quotes matches the name literally, a doubled " as one: ident's quoting.
    selection = [arg for schema, table in tables or [] for arg in ("--table", f"{ident(schema)}.{ident(table)}")]
    layout = ["--format=directory", f"--jobs={jobs}"] if jobs > 1 else ["--format=custom"]
    dump = subprocess.run([client_tool("pg_dump"), *layout, "--no-password", "--file", str(path),
                           *selection, *connection], capture_output=True, text=True, env=env)
    if dump.returncode != 0:
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
        raise BackupFailed(f"pg_dump failed: {dump.stderr.strip()}")
    checksum = sha256_of(path)
    path.with_name(path.name + ".sha256").write_text(f"{checksum}  {path.name}\n")
    verify(path)
    size_on_disk = sum(p.stat().st_size for p in path.iterdir()) if path.is_dir() else path.stat().st_size
    return Backup(path, checksum, size_on_disk)


# pg_dump writes this comment-only entry when the public schema's grants differ from initdb's.
# Without privileges it creates nothing, and a database restored from the file has the default
# grants, so it would not get it: the same schema would back up to different files.
PUBLIC_SCHEMA_NOTE = ("--\n-- Name: public; Type: SCHEMA; Schema: -; Owner: -\n--\n\n"
                      "-- *not* creating schema, since initdb creates it\n\n\n")


def schema_script(conninfo: str, snapshot: str) -> str:
    """The database's schema as SQL (pg_dump --schema-only, from the given exported snapshot),
    pgrename's own schema left out, owners and grants too (the target's roles may differ).
    pg_dump's \\restrict lines carry a new random key each time (the script runs through a connection,
    not psql), and the comment-only entry of PUBLIC_SCHEMA_NOTE depends on grants left out: both are
    dropped, so the same schema always gives the same file."""
    connection, env = _connection_args(conninfo)
    dump = subprocess.run([client_tool("pg_dump"), "--schema-only", "--no-owner", "--no-privileges",
                           "--exclude-schema=pgrename", f"--snapshot={snapshot}", "--no-password", *connection],
                          capture_output=True, text=True, env=env)
    if dump.returncode != 0:
        raise BackupFailed(f"pg_dump --schema-only failed: {dump.stderr.strip()}")
    script = "".join(line for line in dump.stdout.splitlines(keepends=True)
                     if not line.startswith(("\\restrict ", "\\unrestrict ")))
    return script.replace(PUBLIC_SCHEMA_NOTE, "")


def listing() -> list[dict]:
    """The pg_dump backups in backups/, by name (which starts with the time they were taken)."""
    return [{"kind": "pg_dump", "path": str(p), "bytes": size_of(p), "taken": iso_utc(p.stat().st_mtime),
             "sha256": (p.with_name(p.name + ".sha256").read_text().split()[0]
                        if p.with_name(p.name + ".sha256").exists() else None)}
            for p in sorted(BACKUP_DIR.glob("*.dump"))]


def size_of(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else path.stat().st_size


def conninfo_for(conninfo: str, database: str) -> str:
    """The same server and user, another database."""
    params = conninfo_to_dict(conninfo) if conninfo else {}
    return make_conninfo(**{**params, "dbname": database})


def copy_database(conn: psycopg.Connection, conninfo: str, database: str, with_data: bool) -> None:
    """A new database with this one's schema (and rows, with_data), through pg_dump | pg_restore.
    pgrename's own schema stays behind: the copy gets a fresh one, with no history to confuse."""
    conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(database)))
    source, env = _connection_args(conninfo)
    target, _ = _connection_args(conninfo_for(conninfo, database))
    dump = subprocess.Popen([client_tool("pg_dump"), "--format=custom", "--no-password", "--exclude-schema=pgrename",
                             *([] if with_data else ["--schema-only"]), *source],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    load = subprocess.run([client_tool("pg_restore"), "--no-password", "--exit-on-error", *target],
                          stdin=dump.stdout, capture_output=True, text=True, env=env)
    dump.stdout.close()
    dump_error = dump.stderr.read().decode().strip()
    if dump.wait() != 0 or load.returncode != 0:
        raise BackupFailed(dump_error or load.stderr.strip())


def restore(conn: psycopg.Connection, conninfo: str, path: Path, database: str) -> None:
    """Restore a verified backup into `database`, a new one (created here)."""
    verify(path)
    connection, env = _connection_args(conninfo_for(conninfo, database))
    conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(database)))
    done = subprocess.run([client_tool("pg_restore"), "--no-password", "--exit-on-error", "--single-transaction",
                           *connection, str(path)], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise BackupFailed(f"pg_restore into {database} failed: {done.stderr.strip()}")
