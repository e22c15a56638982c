"""pgrename's own schema: numbered install scripts, a database of release 0.5 upgraded in place with
its history and audit, every table and column described."""
import json
import re

from conftest import PROJECT_DIR, psql
from pgrename.own_schema import REQUIRED_VERSION as LATEST

RELEASE_0_5_MIGRATE = PROJECT_DIR / "tests" / "fixtures" / "release_0_5" / "migrate.sql"


def test_a_database_migrated_by_release_0_5_upgrades_in_place_and_rolls_back(demo_db):
    # Release 0.5 carried its bootstrap inside every migrate script: this is the demo's, as it rendered it.
    psql(demo_db.url, "--single-transaction", "-f", str(RELEASE_0_5_MIGRATE))
    before = demo_db.query("SELECT id, event, migration, sql_checksum, details FROM pgrename.audit ORDER BY id")
    history = demo_db.query("SELECT migration, status, sql_checksum, fingerprint_before FROM pgrename.history")
    # What 0.5 recorded, column by column (later versions add columns of their own).
    recorded = ", ".join(row[0] for row in demo_db.query(
        "SELECT attname FROM pg_attribute WHERE attrelid = 'pgrename.renamed_object'::regclass AND attnum > 0"
        " AND NOT attisdropped ORDER BY attnum"))
    renamed = demo_db.query(f"SELECT {recorded} FROM pgrename.renamed_object ORDER BY ordinal")
    assert [row[1] for row in before] == ["migration_start", "migration_complete"]

    status = demo_db.runner("status", "--json")
    assert json.loads(status.out)["schema_version"] == 0
    assert "of release 0.5, before versions" in demo_db.runner("status").out
    verified = demo_db.runner("verify")  # reads what 0.5 recorded, changes nothing
    assert "verified: the database matches migration assistant_snake_case (applied)" in verified.out, verified.text
    # 0.5 added the folderId foreign key without ON UPDATE CASCADE, which the Prisma contract wants.
    assert verified.code == 3 and "ERROR referential_action_mismatch chat_sessions.folderId" in verified.out
    assert demo_db.scalar("SELECT to_regclass('pgrename.schema_version')") is None

    rolled_back = demo_db.runner("rollback")

    assert rolled_back.code == 0, rolled_back.text
    assert f"set up by release 0.5 (no versions yet), adopted as it is, upgrading to version {LATEST}" in rolled_back.out
    assert demo_db.query("SELECT version, script FROM pgrename.schema_version ORDER BY version") == [
        (int(script.name[:3]), f"sql/install/{script.name}")
        for script in sorted((PROJECT_DIR / "sql" / "install").glob("[0-9][0-9][0-9]_*.sql"))]
    assert LATEST >= 4
    after = demo_db.query("SELECT id, event, migration, sql_checksum, details FROM pgrename.audit ORDER BY id")
    assert after[:2] == before and [row[1] for row in after[2:]] == ["rollback_start", "rollback_complete"]
    assert demo_db.query("SELECT migration, 'applied', sql_checksum, fingerprint_before FROM pgrename.history") \
        == history
    assert demo_db.query(f"SELECT {recorded} FROM pgrename.renamed_object ORDER BY ordinal") == renamed
    assert "User" in demo_db.table_names()  # the fingerprint 0.5 recorded matched: the proof held


def test_install_scripts_run_once_each_and_refuse_out_of_order(empty_db):
    assert empty_db.runner("schema-upgrade").code == 0
    again = empty_db.runner("schema-upgrade")
    assert again.code == 0 and f"is at version {LATEST}" in again.out
    assert empty_db.scalar("SELECT count(*) FROM pgrename.schema_version") == LATEST
    twice = psql(empty_db.url, "--single-transaction", "-f",
                 str(PROJECT_DIR / "sql" / "install" / "002_lookup_tables_and_comments.sql"), check=False)
    assert twice.returncode != 0 and f"upgrades its own schema from version 1 to 2; it is at version {LATEST}" in twice.stderr
    again = psql(empty_db.url, "--single-transaction", "-f",
                 str(PROJECT_DIR / "sql" / "install" / "003_merged_row_source.sql"), check=False)
    assert again.returncode != 0 and f"upgrades its own schema from version 2 to 3; it is at version {LATEST}" in again.stderr


def test_every_table_column_and_function_of_the_own_schema_says_what_it_holds(empty_db):
    assert empty_db.runner("schema-upgrade").code == 0
    undescribed = empty_db.query("""
        SELECT c.relname || coalesce('.' || a.attname, '')
        FROM pg_class AS c
        LEFT JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE c.relnamespace = 'pgrename'::regnamespace AND c.relkind = 'r'
          AND (col_description(c.oid, a.attnum) IS NULL OR obj_description(c.oid, 'pg_class') IS NULL)
        UNION ALL
        SELECT p.proname FROM pg_proc AS p
        WHERE p.pronamespace = 'pgrename'::regnamespace AND obj_description(p.oid, 'pg_proc') IS NULL""")
    assert undescribed == []
    # Every event a script or the runner writes is described, and nothing else is.
    written = {match for folder in ("sql", "rollback") for path in (PROJECT_DIR / folder).rglob("*.j2")
               for match in re.findall(r"INSERT INTO pgrename\.audit \(event[^)]*\)\s*(?:SELECT|VALUES \()\s*'(\w+)'",
                                       path.read_text())}
    written |= {match for path in (PROJECT_DIR / "pgrename").rglob("*.py")
                for match in re.findall(r'(?:record\(ctx\.conn|apply\(ctx, \w+), "(\w+)"', path.read_text())}
    assert {row[0] for row in empty_db.query("SELECT event FROM pgrename.audit_event")} == written


def test_an_event_nobody_described_cannot_be_audited(empty_db):
    import psycopg
    import pytest
    assert empty_db.runner("schema-upgrade").code == 0
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        empty_db.execute("INSERT INTO pgrename.audit (event, migration) VALUES ('made_up', 'x')")


def test_a_newer_own_schema_is_refused(demo_db):
    assert demo_db.runner("schema-upgrade").code == 0
    demo_db.execute("INSERT INTO pgrename.schema_version (version, script) VALUES (99, 'sql/install/099_future.sql')")
    dump = demo_db.schema_dump()
    result = demo_db.runner("migrate")
    assert result.code == 3
    assert f"at version 99, newer than this pgrename knows ({LATEST})" in result.text
    assert demo_db.schema_dump() == dump


def test_the_kinds_the_templates_describe_are_the_kinds_the_records_accept(empty_db):
    from pgrename import kinds
    assert empty_db.runner("schema-upgrade").code == 0
    assert set(empty_db.scalar("SELECT array_agg(kind) FROM pgrename.object_kind WHERE renamed")) == set(kinds.RENAMED)
    assert set(empty_db.scalar("SELECT array_agg(kind) FROM pgrename.object_kind WHERE added")) == set(kinds.ADDED)
