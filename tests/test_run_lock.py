"""One writing run at a time per database: the second waits at most lock_timeout, then names the first."""
import psycopg
import pytest

from conftest import PROJECT_DIR
from runner_process import RunnerProcess

DEMO = {"AssistantFolder": "chat_folders", "User": "users"}
RUN_LOCK = (1885827685, 1)


def test_a_run_in_progress_is_named_and_nothing_changes(demo_db):
    config = demo_db.write_config(DEMO, lock_timeout="300ms")
    dump = demo_db.schema_dump()
    with psycopg.connect(demo_db.url, autocommit=True, application_name="other_run") as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", RUN_LOCK)
        for command in ("migrate", "dry-run", "schema-upgrade"):
            result = demo_db.runner(command, config=config)
            assert result.code == 4, result.text
            assert (f"another pgrename run holds this database (pid {other.info.backend_pid}, user postgres, "
                    "application 'other_run', connected since") in result.text
            assert f"{command} changed nothing" in result.text
    assert demo_db.schema_dump() == dump
    assert demo_db.scalar("SELECT to_regnamespace('pgrename')") is None


def test_the_rendered_script_waits_for_a_run_in_progress_too(demo_db):
    from conftest import psql
    assert demo_db.runner("schema-upgrade").code == 0
    assert demo_db.runner("plan", config=demo_db.write_config(DEMO, lock_timeout="300ms")).code == 0
    with psycopg.connect(demo_db.url, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", RUN_LOCK)
        done = psql(demo_db.url, "--single-transaction", "-f", str(demo_db.workdir / "build" / "migrate.sql"),
                    check=False)
    assert done.returncode != 0 and "lock timeout" in done.stderr
    assert "User" in demo_db.table_names()


@pytest.mark.slow
def test_two_migrates_started_together_apply_once(demo_db):
    config = demo_db.write_config(DEMO, lock_timeout="100ms")
    for round_number in range(10):
        environment = {"DATABASE_URL": demo_db.url, "PGRENAME_BUILD_DIR": str(demo_db.workdir / f"build{round_number}"),
                       "PGRENAME_LOG_DIR": str(demo_db.workdir / "logs"), "PATH": "/usr/bin:/bin"}
        runs = [RunnerProcess(["--config", str(config), "migrate"], environment, PROJECT_DIR) for _ in range(2)]
        outputs = [(code, out + err) for code, out, err in (run.wait(timeout=120) for run in runs)]
        applied = [out for code, out in outputs if code == 0 and "applied in" in out]
        others = [out for code, out in outputs if "applied in" not in out]
        assert len(applied) == 1, outputs
        assert ("another pgrename run holds this database" in others[0] or "is already applied" in others[0]), outputs
        assert demo_db.scalar("SELECT count(*) FROM pgrename.audit WHERE event = 'migration_complete'") == 1
        assert demo_db.runner("rollback", config=config).code == 0
        demo_db.execute("DELETE FROM pgrename.audit")
