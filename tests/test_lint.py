"""The demo's rendered migrate and rollback SQL pass squawk, the PostgreSQL migration linter.

Excluded, everywhere: renaming-table, renaming-column, renaming-object. Renaming is the job,
and the compatibility views answer what those rules guard against (old clients breaking).
Every other exception is a `-- squawk-ignore` line on the one statement it covers, with the
reason in the comment above it (rollback dropping what the migration added; a column type the
target schema fixes)."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SQUAWK = shutil.which("squawk") or str(Path(sys.executable).parent / "squawk")
EXCLUDED = "renaming-table,renaming-column,renaming-object"


@pytest.mark.parametrize("script", ["migrate.sql", "rollback.sql"])
def test_rendered_demo_sql_passes_squawk(demo_db, script):
    assert demo_db.runner("plan").code == 0
    lint = subprocess.run([SQUAWK, "--reporter", "gcc", "--assume-in-transaction", "--exclude", EXCLUDED,
                           str(demo_db.workdir / "build" / script)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_squawk_would_catch_a_missing_lock_timeout(tmp_path):
    """The lint is real: the same call fails on a script without the header's timeouts."""
    bad = tmp_path / "bad.sql"
    bad.write_text('ALTER TABLE "User" ADD COLUMN x int;\n')
    lint = subprocess.run([SQUAWK, "--reporter", "gcc", "--assume-in-transaction", "--exclude", EXCLUDED, str(bad)],
                          capture_output=True, text=True)
    assert lint.returncode != 0 and "require-lock-timeout" in lint.stdout
