"""Every script the demo renders passes squawk, the PostgreSQL migration linter.

Excluded, everywhere: renaming-table, renaming-column, renaming-object. Renaming is the job,
and the compatibility views answer what those rules guard against (old clients breaking).
Every other exception is a `-- squawk-ignore` line on the one statement it covers, with the
reason in the comment above it (rollback dropping what the migration added; a column type the
target schema fixes)."""
import shutil
import subprocess
import sys
from pathlib import Path


SQUAWK = shutil.which("squawk") or str(Path(sys.executable).parent / "squawk")
EXCLUDED = "renaming-table,renaming-column,renaming-object"


def lint(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([SQUAWK, "--reporter", "gcc", "--assume-in-transaction", "--exclude", EXCLUDED, str(path)],
                          capture_output=True, text=True)


def test_every_script_the_demo_renders_passes_squawk(demo_db):
    """What plan, migrate, contract, contract --undo and rollback write to build/, each linted."""
    for command in (("migrate",), ("contract",), ("contract", "--undo"), ("rollback",)):
        assert demo_db.runner(*command).code == 0, command
    build = demo_db.workdir / "build"
    written = sorted(path.name for path in build.glob("*.sql"))
    assert written == ["contract.sql", "migrate.sql", "rollback.sql", "uncontract.sql", "validate.sql"]
    for name in written:
        linted = lint(build / name)
        assert linted.returncode == 0, f"{name}: {linted.stdout}{linted.stderr}"


def test_squawk_would_catch_a_missing_lock_timeout(tmp_path):
    """The lint is real: the same call fails on a script without the header's timeouts."""
    bad = tmp_path / "bad.sql"
    bad.write_text('ALTER TABLE "User" ADD COLUMN x int;\n')
    linted = lint(bad)
    assert linted.returncode != 0 and "require-lock-timeout" in linted.stdout
