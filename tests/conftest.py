"""The suite's own PostgreSQL: one throwaway cluster, the demo loaded once into a template, and a
fresh database cloned from it for each test. Tests drive runner.py as a DBA would, in a
process of its own (tests/runner_process.py), and check the database with their own connection."""
from __future__ import annotations

import itertools
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from pgrename.embedded import Cluster
from runner_process import run_runner

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEMO_TEMPLATE = "demo_template"
_numbers = itertools.count()


@pytest.fixture(scope="session")
def cluster():
    # Under /tmp and open to others: when run as root the server runs as `postgres`.
    base = Path(tempfile.mkdtemp(prefix="pgrename-test-", dir="/tmp"))
    base.chmod(0o755)
    test_cluster = Cluster(base, port=54339)
    test_cluster.start()
    try:
        with psycopg.connect(test_cluster.url("postgres"), autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {DEMO_TEMPLATE}")
        psql(test_cluster.url(DEMO_TEMPLATE), "-f", str(PROJECT_DIR / "sql" / "demo" / "legacy.sql"))
        yield test_cluster
    finally:
        test_cluster.destroy()


def psql(url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["psql", url, "-X", "-q", "-v", "ON_ERROR_STOP=1", *args],
                          capture_output=True, text=True, check=check)


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


@dataclass
class Database:
    """A fresh database for one test, and the means to run pgrename against it."""
    cluster: Cluster
    name: str
    workdir: Path

    @property
    def url(self) -> str:
        return self.cluster.url(self.name)

    def connect(self, **kwargs) -> psycopg.Connection:
        return psycopg.connect(self.url, autocommit=True, **kwargs)

    def query(self, sql: str, params=None) -> list[tuple]:
        with self.connect() as conn:
            return conn.execute(sql, params).fetchall()

    def execute(self, sql: str, params=None) -> None:
        with self.connect() as conn:
            conn.execute(sql, params)

    def scalar(self, sql: str, params=None):
        return self.query(sql, params)[0][0]

    def write_config(self, tables: dict[str, str], **settings) -> Path:
        """A rename config: a migration name, the tables it maps, and any other keys given."""
        return self.write_yaml({"migration": "test_migration", "schema": "public", "lock_timeout": "2s", **settings,
                                "tables": tables})

    def write_yaml(self, body: dict) -> Path:
        """A config file holding exactly body."""
        import yaml
        path = self.workdir / f"config-{next(_numbers)}.yaml"
        path.write_text(yaml.safe_dump(body, allow_unicode=True, sort_keys=False))
        return path

    def runner(self, *args: str, config: Path | None = None, url: str | None = None,
               env: dict | None = None) -> Result:
        arguments = (["--config", str(config)] if config is not None else []) + list(args)
        environment = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
        environment.update(DATABASE_URL=url or self.url, PGRENAME_BUILD_DIR=str(self.workdir / "build"),
                           PGRENAME_LOG_DIR=str(self.workdir / "logs"), **(env or {}))
        return Result(*run_runner(arguments, environment, PROJECT_DIR, timeout=120))

    def refused_by_preflight(self, config: Path, *messages: str, command: str = "migrate") -> Result:
        """The command refused by preflight (exit 3), naming each message, the user schema untouched."""
        dump = self.schema_dump()
        result = self.runner(command, config=config)
        assert result.code == 3, result.text
        assert "pgrename preflight failed" in result.text, result.text
        for message in messages:
            assert message in result.text, result.text
        assert self.schema_dump() == dump
        return result

    def schema_dump(self) -> str:
        """pg_dump of the user schema, pgrename's own schema left out: what a DBA would diff."""
        done = subprocess.run(["pg_dump", "--schema-only", "--no-owner", "--exclude-schema=pgrename", self.url],
                              capture_output=True, text=True, check=True)
        # \restrict and \unrestrict carry a random key per dump (pg_dump's psql guard).
        return "".join(line for line in done.stdout.splitlines(keepends=True)
                       if not line.startswith(("\\restrict", "\\unrestrict")))

    def table_names(self) -> set[str]:
        return {row[0] for row in self.query(
            "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p')")}

    def logs(self) -> str:
        return "".join(p.read_text() for p in sorted((self.workdir / "logs").glob("*.log")))


def _fresh_database(cluster: Cluster, tmp_path: Path, template: str):
    name = f"t{os.getpid()}_{next(_numbers)}"
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    yield Database(cluster, name, tmp_path)
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture
def demo_db(cluster, tmp_path):
    """A fresh copy of the legacy demo database."""
    yield from _fresh_database(cluster, tmp_path, DEMO_TEMPLATE)


@pytest.fixture
def empty_db(cluster, tmp_path):
    """A fresh empty database."""
    yield from _fresh_database(cluster, tmp_path, "template1")


@pytest.fixture
def restore_target(cluster, tmp_path):
    """A second fresh empty database, for a backup to be restored into."""
    yield from _fresh_database(cluster, tmp_path, "template1")
