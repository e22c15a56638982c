"""Lock waits are bounded and reported; unreachable databases and passwords never leak."""
import psycopg

DEMO = {"AssistantFolder": "chat_folders", "User": "users"}
PASSWORD = "Sup3r-Secret-pw"


def test_a_session_holding_a_lock_makes_migrate_fail_cleanly(demo_db):
    config = demo_db.write_config(DEMO, lock_timeout="300ms")
    dump = demo_db.schema_dump()
    with psycopg.connect(demo_db.url, application_name="long_report") as blocker:
        blocker.execute('SELECT count(*) FROM "User"')  # ACCESS SHARE, held until the transaction ends
        blocker_pid = blocker.info.backend_pid

        result = demo_db.runner("migrate", config=config)

        assert result.code == 4, result.text
        assert "a lock was not granted within lock_timeout (300ms); nothing was changed" in result.text
        assert f"pid {blocker_pid} user postgres application 'long_report' state idle in transaction" \
            in result.text
        assert demo_db.schema_dump() == dump
        event, details = demo_db.query("SELECT event, details FROM pgrename.audit")[0]
        assert event == "migration_failed"
        assert details["sqlstate"] == "55P03"
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
    config = demo_db.write_config(DEMO, lock_timeout="200ms")
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
