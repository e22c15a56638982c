"""Lock waits are bounded and reported; unreachable databases and passwords never leak."""
import psycopg
import pytest

DEMO = {"AssistantFolder": "chat_folders", "User": "users"}
PASSWORD = "Sup3r-Secret-pw"


def test_a_session_holding_a_lock_makes_migrate_fail_cleanly(demo_db):
    config = demo_db.write_config(DEMO, lock_timeout="300ms", lock_retries=2, retry_wait="100ms")
    dump = demo_db.schema_dump()
    with psycopg.connect(demo_db.url, application_name="long_report") as blocker:
        blocker.execute('SELECT count(*) FROM "User"')  # ACCESS SHARE, held until the transaction ends
        blocker_pid = blocker.info.backend_pid

        result = demo_db.runner("migrate", config=config)

        assert result.code == 4, result.text
        assert "a lock was not granted within lock_timeout (300ms), 3 attempt(s); nothing was changed" in result.text
        assert "attempt 1 of 3" in result.text and "attempt 2 of 3" in result.text
        assert f"pid {blocker_pid} user postgres application 'long_report' state idle in transaction" \
            in result.text
        assert demo_db.schema_dump() == dump
        event, details = demo_db.query("SELECT event, details FROM pgrename.audit")[0]
        assert event == "migration_failed"
        assert details["sqlstate"] == "55P03" and details["attempts"] == 3
        assert [b["pid"] for b in details["blockers"]] == [str(blocker_pid)]
    assert demo_db.runner("migrate", config=config).code == 0  # the lock is gone


def test_unreachable_database_names_it_without_the_password(demo_db):
    url = f"postgresql://someone:{PASSWORD}@127.0.0.1:1/nowhere"
    result = demo_db.runner("migrate", url=url)
    assert result.code == 5
    assert "cannot connect to" in result.text and "host=127.0.0.1" in result.text
    assert "Connection refused" in result.text
    assert PASSWORD not in result.text + demo_db.logs()


def test_password_is_never_in_output_logs_or_audit(demo_db):
    url = demo_db.url.replace("postgres@", f"postgres:{PASSWORD}@")
    config = demo_db.write_config(DEMO, lock_timeout="200ms", lock_retries=0)
    outputs = []
    with psycopg.connect(demo_db.url) as blocker:
        blocker.execute('SELECT 1 FROM "User" LIMIT 1')
        outputs.append(demo_db.runner("migrate", config=config, url=url))  # fails on the lock
    for command in ("plan", "dry-run", "migrate", "verify", "status", "rollback"):
        outputs.append(demo_db.runner(command, config=config, url=url))
    assert [r.code for r in outputs] == [4, 0, 0, 0, 0, 0, 0]
    seen = "".join(r.text for r in outputs) + demo_db.logs()
    assert "Sup3r" not in seen
    audit = demo_db.scalar("SELECT string_agg(t::text, ' ') FROM pgrename.audit AS t")
    assert "Sup3r" not in audit


def test_migrate_succeeds_when_the_blocker_goes_away_between_retries(demo_db):
    import subprocess
    import sys
    from conftest import PROJECT_DIR
    config = demo_db.write_config(DEMO, lock_timeout="200ms", lock_retries=5, retry_wait="200ms")
    blocker = psycopg.connect(demo_db.url)
    blocker.execute('SELECT 1 FROM "User" LIMIT 1')
    environment = {"DATABASE_URL": demo_db.url, "PGRENAME_BUILD_DIR": str(demo_db.workdir / "build"),
                   "PGRENAME_LOG_DIR": str(demo_db.workdir / "logs"), "PATH": "/usr/bin:/bin"}
    migrate = subprocess.Popen([sys.executable, str(PROJECT_DIR / "runner.py"), "--config", str(config), "migrate"],
                               cwd=PROJECT_DIR, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    seen = []
    for line in migrate.stdout:  # the blocker ends its transaction once the first attempt has given up
        seen.append(line)
        if "attempt 1 of 6: a lock was not granted" in line:
            blocker.close()
            break
    seen += migrate.stdout.readlines()
    text = "".join(seen)

    assert migrate.wait(timeout=60) == 0, text
    assert "attempt 1 of 6: a lock was not granted" in text
    assert "attempt 6 of 6" not in text
    assert "users" in demo_db.table_names()


def test_old_blockers_are_terminated_when_configured(demo_db):
    config = demo_db.write_config(DEMO, lock_timeout="200ms", lock_retries=2, retry_wait="100ms",
                                  terminate_blockers_after="50ms")
    blocker = psycopg.connect(demo_db.url)
    blocker.execute('SELECT 1 FROM "User" LIMIT 1')
    pid = blocker.info.backend_pid
    result = demo_db.runner("migrate", config=config)
    assert result.code == 0, result.text
    assert f"terminated blocking session(s) {pid}" in result.text
    with pytest.raises(psycopg.OperationalError):
        blocker.execute("SELECT 1")


def test_connection_lost_mid_run_is_reported_and_changes_nothing(demo_db):
    """The connection is cut after preflight (by a hook, as a server restart would): a clear error."""
    cut = (f"psql '{demo_db.url}' -Xqc \"SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
           " WHERE application_name = 'pgrename'\"")
    config = demo_db.write_config(DEMO, profile="production", profiles={"production": {
        "auto_backup": False, "dry_run_default": False, "require_approval": False,
        "hooks": {"before_migrate": [cut]}}})
    dump = demo_db.schema_dump()
    result = demo_db.runner("migrate", config=config)
    assert result.code == 5, result.text
    assert "the database connection failed" in result.text and "Traceback" not in result.text
    assert demo_db.schema_dump() == dump


def test_a_service_name_shows_the_database_it_reaches_and_pgappname_is_kept(demo_db, tmp_path):
    services = tmp_path / "pg_service.conf"
    services.write_text(f"[legacy]\nhost={demo_db.cluster.socketdir}\nport={demo_db.cluster.port}\n"
                        f"dbname={demo_db.name}\nuser=postgres\n")
    env = {"PGSERVICEFILE": str(services), "PGAPPNAME": "nightly_rename"}
    result = demo_db.runner("migrate", config=demo_db.write_config(DEMO), url="service=legacy", env=env)
    assert result.code == 0, result.text
    assert result.out.splitlines()[0].endswith(f"database user=postgres dbname={demo_db.name} "
                                               f"host={demo_db.cluster.socketdir} port={demo_db.cluster.port}")
    assert {row[0] for row in demo_db.query("SELECT application FROM pgrename.audit")} == {"nightly_rename"}
