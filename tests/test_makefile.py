"""The Makefile passes what a DBA types to the runner as one argument, whatever it holds."""
import os
import subprocess

from conftest import PROJECT_DIR


def make(*args: str, db) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    environment.update(PGRENAME_LOG_DIR=str(db.workdir / "logs"), PGRENAME_BUILD_DIR=str(db.workdir / "build"))
    environment.pop("DATABASE_URL", None)
    return subprocess.run(["make", "-s", "--no-print-directory", *args], cwd=PROJECT_DIR, env=environment,
                          capture_output=True, text=True, timeout=120)


def test_a_target_url_with_an_ampersand_and_a_path_with_a_space(demo_db, restore_target, tmp_path):
    backup = tmp_path / "a backup"
    config = demo_db.write_config({})
    assert demo_db.runner("backup", "--to", str(backup), "--data-only", config=config).code == 0
    assert "&" in restore_target.url  # the embedded server's URL form: ?host=...&port=...
    restore_target.execute('CREATE TABLE "User" (id text PRIMARY KEY)')  # a table to restore into
    done = make("backup-verify", f"FROM={backup}", db=demo_db)
    assert done.returncode == 0, done.stdout + done.stderr
    done = make("restore", f"FROM={backup}", f"TARGET={restore_target.url}", f"CONFIG={config}", db=demo_db)
    assert "not found" not in done.stderr  # the shell never ran part of the URL as a command
    assert "the target lacks tables" in done.stdout + done.stderr  # it reached the database named
