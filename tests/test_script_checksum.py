"""One checksum: the SHA-256 of the script in build/, as its first line states, is what the log, the
audit and the history record, for migrate, dry run, failure and rollback; verify --script tells
whether a file is the one applied."""
import hashlib

import psycopg

DEMO = {"AssistantFolder": "chat_folders", "User": "users"}


def sealed(path) -> str:
    """What a DBA runs: tail -n +3 FILE | sha256sum, after checking the first line says the same."""
    text = path.read_text()
    digest = hashlib.sha256(text.split("\n", 2)[2].encode()).hexdigest()
    assert text.startswith(f"-- pgrename script, sha256 {digest} ")
    return digest


def test_migrate_and_rollback_record_the_sha256_of_the_files_in_build(demo_db):
    build = demo_db.workdir / "build"
    migrated = demo_db.runner("migrate")
    assert migrated.code == 0, migrated.text
    migrate_sha = sealed(build / "migrate.sql")
    assert f"sha256 {migrate_sha}" in migrated.out
    assert demo_db.query("SELECT DISTINCT sql_checksum FROM pgrename.audit") == [(migrate_sha,)]
    assert demo_db.scalar("SELECT sql_checksum FROM pgrename.history") == migrate_sha

    rolled_back = demo_db.runner("rollback")
    assert rolled_back.code == 0, rolled_back.text
    rollback_sha = sealed(build / "rollback.sql")
    assert f"sha256 {rollback_sha}" in rolled_back.out
    assert demo_db.query("SELECT DISTINCT sql_checksum FROM pgrename.audit WHERE event LIKE 'rollback%'") \
        == [(rollback_sha,)]


def test_dry_run_and_a_failed_migrate_record_the_sha256_of_the_file_in_build(demo_db):
    config = demo_db.write_config(DEMO, lock_timeout="200ms", lock_retries=0)
    assert demo_db.runner("dry-run", config=config).code == 0
    dry_run_sha = sealed(demo_db.workdir / "build" / "migrate.sql")
    with psycopg.connect(demo_db.url) as blocker:
        blocker.execute('SELECT 1 FROM "User" LIMIT 1')
        assert demo_db.runner("migrate", config=config).code == 4
    assert demo_db.query("SELECT event, sql_checksum FROM pgrename.audit ORDER BY id") == [
        ("dry_run", dry_run_sha), ("migration_failed", sealed(demo_db.workdir / "build" / "migrate.sql"))]


def test_verify_tells_whether_a_script_is_the_one_applied(demo_db, tmp_path):
    config = demo_db.write_config(DEMO)
    assert demo_db.runner("migrate", config=config).code == 0
    applied = demo_db.workdir / "build" / "migrate.sql"
    same = demo_db.runner("verify", "--script", str(applied), config=config)
    assert same.code == 0 and "is the script that was applied" in same.out

    edited = tmp_path / "edited.sql"
    edited.write_text(applied.read_text().replace("RENAME TO", "RENAME  TO", 1))
    result = demo_db.runner("verify", "--script", str(edited), config=config)
    assert result.code == 3 and "was edited after pgrename wrote it" in result.text

    other = tmp_path / "other.sql"
    assert demo_db.runner("plan", config=demo_db.write_config({"AuditLog": "audit_log"}, migration="another")).code == 0
    other.write_text(applied.read_text())  # the plan above rewrote build/migrate.sql
    result = demo_db.runner("verify", "--script", str(other), config=config)
    assert result.code == 3 and "is not the script that was applied" in result.text
