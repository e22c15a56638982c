"""`pip install .` in a fresh virtualenv gives a `pgrename` command that carries its SQL, writes in
the DBA's directory, and exits with the documented codes (make, in between, would turn them to 2)."""
import subprocess
import sys

import pytest

from conftest import PROJECT_DIR


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    done = subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", str(PROJECT_DIR)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return venv / "bin" / "pgrename"


@pytest.mark.slow
def test_the_installed_command_plans_migrates_and_rolls_back_from_the_dbas_directory(installed, demo_db, tmp_path):
    version = subprocess.run([str(installed), "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.startswith("pgrename 0.")
    project = tmp_path / "dba_project"
    project.mkdir()
    (project / "config.yaml").write_text("migration: m\ntables:\n  User: users\n")
    environment = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}

    def pgrename(*args: str) -> subprocess.CompletedProcess:
        # global options after the command, as a pipeline would write them
        return subprocess.run([str(installed), *args, "--database-url", demo_db.url], cwd=project,
                              env=environment, capture_output=True, text=True, timeout=120)

    for command in ("plan", "migrate", "verify", "rollback"):
        done = pgrename(command)
        assert done.returncode == 0, done.stdout + done.stderr
    assert (project / "build" / "migrate.sql").exists() and list((project / "logs").glob("migrate-*.log"))
    assert "User" in demo_db.table_names()
    refused = pgrename("rollback", "--config", str(project / "missing.yaml"))
    assert refused.returncode == 2 and "missing.yaml: cannot read" in refused.stdout + refused.stderr
