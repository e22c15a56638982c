"""The demo map end to end: what a DBA checks in psql after migrate, verify and rollback."""
from conftest import PROJECT_DIR, psql

TARGETS = {"User": "users", "AssistantFolder": "chat_folders", "AssistantChatSession": "chat_sessions",
           "AssistantChatMessage": "chat_messages", "AssistantConversation": "chat_sessions_temp",
           "AssistantMessage": "chat_messages_temp"}


def oids(db, names) -> dict[str, int]:
    return {name: db.scalar("SELECT to_regclass(%s)::oid", (f'public."{name}"',)) for name in names}


def row_counts(db, names: dict[str, str]) -> dict[str, int]:
    return {source: db.scalar(f'SELECT count(*) FROM public."{name}"') for source, name in names.items()}


def test_migrate_renames_tables_and_every_object_named_after_them(demo_db):
    counts_before = row_counts(demo_db, {t: t for t in TARGETS})
    oids_before = oids(demo_db, TARGETS)

    result = demo_db.runner("migrate")

    assert result.code == 0, result.text
    assert "verification passed" in result.out
    tables = demo_db.table_names()
    assert set(TARGETS.values()) <= tables and not set(TARGETS) & tables
    assert oids(demo_db, TARGETS.values()) == {TARGETS[s]: oid for s, oid in oids_before.items()}
    # Same rows everywhere, plus the legacy rows the config merges into the new chat tables.
    merged = {"AssistantChatSession": counts_before["AssistantConversation"],
              "AssistantChatMessage": counts_before["AssistantMessage"]}
    assert row_counts(demo_db, TARGETS) == {t: n + merged.get(t, 0) for t, n in counts_before.items()}
    constraints = {row[0] for row in demo_db.query("SELECT conname FROM pg_constraint")}
    assert {"users_pkey", "users_email_check", "chat_sessions_userId_fkey", "chat_messages_sessionId_fkey",
            "chat_messages_temp_conversationId_fkey"} <= constraints
    assert not [c for c in constraints if c.startswith(("User_", "Assistant"))]
    relations = {row[0] for row in demo_db.query(
        "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind <> 'v'")}
    views = {row[0] for row in demo_db.query(
        "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'v'")}
    assert views == set(TARGETS) | {"active_users"}  # the old names, as compatibility views
    assert {"users_pkey", "users_email_key", "users_username_key", "chat_messages_sessionId_idx",
            "chat_messages_temp_id_seq", "idx_recent_sessions"} <= relations
    assert not [r for r in relations if r.startswith(("User_", "Assistant"))]
    assert demo_db.scalar("SELECT tgname FROM pg_trigger WHERE tgrelid = 'chat_sessions'::regclass"
                          " AND NOT tgisinternal") == "chat_sessions_set_updated_at"
    # Other tables' foreign keys still point at "User", now users, under their own names.
    assert demo_db.scalar("SELECT count(*) FROM pg_constraint WHERE confrelid = 'users'::regclass") == 54
    assert demo_db.scalar("SELECT confrelid::regclass::text FROM pg_constraint"
                          " WHERE conname = 'Post_userId_fkey'") == "users"
    # The serial default still works through the renamed sequence.
    new_id = demo_db.scalar("INSERT INTO chat_messages_temp (\"conversationId\", role, content)"
                            " VALUES ('cnv_000001', 'user', 'hi') RETURNING id")
    assert new_id == 12001
    # The hand-named index is left alone and said so.
    assert 'index idx_recent_sessions on AssistantChatSession: name does not start with "AssistantChatSession_"' \
        in result.out


def test_verify_after_migrate_and_after_rollback(demo_db):
    assert demo_db.runner("verify").code == 3  # nothing has run yet
    assert demo_db.runner("migrate").code == 0
    verified = demo_db.runner("verify")
    assert verified.code == 0 and "matches migration assistant_snake_case (applied)" in verified.out
    assert demo_db.runner("rollback").code == 0
    verified = demo_db.runner("verify")
    assert verified.code == 0 and "(rolled back)" in verified.out
    assert "schema fingerprint equals" in verified.out


def test_verify_finds_an_object_renamed_behind_its_back(demo_db):
    assert demo_db.runner("migrate").code == 0
    demo_db.execute("ALTER INDEX users_email_key RENAME TO some_other_name")

    result = demo_db.runner("verify")

    assert result.code == 3
    assert 'should be named users_email_key but is named some_other_name' in result.text


def test_rollback_restores_the_schema_exactly(demo_db):
    dump_before = demo_db.schema_dump()
    oids_before = oids(demo_db, TARGETS)
    counts_before = row_counts(demo_db, {t: t for t in TARGETS})

    assert demo_db.runner("migrate").code == 0
    result = demo_db.runner("rollback")

    assert result.code == 0, result.text
    assert "schema fingerprint equals the one recorded before the migration" in result.out
    assert demo_db.schema_dump() == dump_before
    assert oids(demo_db, TARGETS) == oids_before
    assert row_counts(demo_db, {t: t for t in TARGETS}) == counts_before


def test_migrate_again_after_rollback(demo_db):
    for command in ("migrate", "rollback", "migrate"):
        assert demo_db.runner(command).code == 0
    assert "users" in demo_db.table_names()
    assert demo_db.scalar("SELECT status FROM pgrename.history") == "applied"


def test_migrate_twice_says_already_applied_and_changes_nothing(demo_db):
    assert demo_db.runner("migrate").code == 0
    dump = demo_db.schema_dump()
    events = demo_db.scalar("SELECT count(*) FROM pgrename.audit")

    again = demo_db.runner("migrate")

    assert again.code == 0
    assert "already applied" in again.out and "nothing to do" in again.out
    assert demo_db.schema_dump() == dump
    assert demo_db.scalar("SELECT count(*) FROM pgrename.audit") == events


def test_rollback_with_nothing_applied_says_so(demo_db):
    dump = demo_db.schema_dump()
    result = demo_db.runner("rollback")
    assert result.code == 0
    assert "is not applied; nothing to roll back" in result.out
    assert demo_db.schema_dump() == dump


def test_rollback_refuses_when_the_schema_changed_since_migrate(demo_db):
    assert demo_db.runner("migrate").code == 0
    demo_db.execute('ALTER TABLE users ADD COLUMN "nickname" text')
    dump = demo_db.schema_dump()

    result = demo_db.runner("rollback")

    assert result.code == 3
    assert "schema fingerprint is" in result.text and "before the migration" in result.text
    assert demo_db.schema_dump() == dump  # the rollback rolled itself back
    assert demo_db.scalar("SELECT status FROM pgrename.history") == "applied"
    assert demo_db.scalar("SELECT event FROM pgrename.audit ORDER BY id DESC LIMIT 1") == "rollback_failed"


def test_dry_run_reports_every_check_and_changes_nothing(demo_db):
    dump = demo_db.schema_dump()
    result = demo_db.runner("dry-run")
    assert result.code == 0, result.text
    for check in ("every table to rename exists", "every new name is free", "no old name remains",
                  "foreign keys valid (56 of 56)"):
        assert f"check passed: {check}" in result.out
    assert "sql/010_rename_tables.sql.j2" in result.out
    assert demo_db.schema_dump() == dump
    assert demo_db.query("SELECT event, details->>'result' FROM pgrename.audit") == [("dry_run", "passed")]
    assert demo_db.query("SELECT count(*) FROM pgrename.history") == [(0,)]


def test_audit_trail_of_a_full_cycle(demo_db):
    for command in ("dry-run", "migrate", "rollback"):
        assert demo_db.runner(command).code == 0
    rows = demo_db.query("SELECT event, migration, db_user, application, sql_checksum IS NOT NULL"
                         " FROM pgrename.audit ORDER BY id")
    assert [r[0] for r in rows] == ["dry_run", "migration_start", "migration_complete",
                                    "rollback_start", "rollback_complete"]
    assert all(r[1] == "assistant_snake_case" and r[2] == "postgres" and r[4] for r in rows)
    assert rows[1][3] == "pgrename"
    status = demo_db.runner("status")
    assert "rollback_complete" in status.out and "rolled_back" in status.out


def test_status_as_json(demo_db):
    import json
    assert demo_db.runner("migrate").code == 0
    result = demo_db.runner("status", "--json")
    assert result.code == 0
    data = json.loads(result.out)
    assert data["history"][0]["status"] == "applied"
    assert [a["event"] for a in data["audit"]] == ["migration_start", "migration_complete"]


def test_plan_writes_scripts_that_psql_runs_with_the_runners_result(demo_db, cluster, tmp_path):
    plan = demo_db.runner("plan")
    assert plan.code == 0, plan.text
    migrate_sql = demo_db.workdir / "build" / "migrate.sql"
    rollback_sql = demo_db.workdir / "build" / "rollback.sql"
    dump_before = demo_db.schema_dump()

    # Without pgrename's own schema the script says how to get it, and changes nothing.
    refused = psql(demo_db.url, "--single-transaction", "-f", str(migrate_sql), check=False)
    assert refused.returncode != 0 and "its own schema here is at version 0, this script needs version" in refused.stderr
    assert "make schema-upgrade" in refused.stderr and demo_db.schema_dump() == dump_before
    assert demo_db.runner("schema-upgrade").code == 0

    psql(demo_db.url, "--single-transaction", "-f", str(migrate_sql))
    psql(demo_db.url, "--single-transaction", "-f", str(migrate_sql.with_name("validate.sql")))
    by_psql = demo_db.schema_dump()
    assert demo_db.runner("verify").code == 0

    psql(demo_db.url, "--single-transaction", "-f", str(rollback_sql))
    assert demo_db.schema_dump() == dump_before
    assert demo_db.runner("migrate").code == 0
    assert demo_db.schema_dump() == by_psql  # the runner and psql give the same schema


def test_psql_refuses_the_script_outside_one_transaction(demo_db):
    assert demo_db.runner("plan").code == 0
    dump = demo_db.schema_dump()
    done = psql(demo_db.url, "-f", str(demo_db.workdir / "build" / "migrate.sql"), check=False)
    assert done.returncode != 0
    assert "not inside a transaction" in done.stderr
    assert demo_db.schema_dump() == dump


def test_plan_is_deterministic_and_its_rollback_is_what_rollback_runs(demo_db):
    assert demo_db.runner("plan").code == 0
    build = demo_db.workdir / "build"
    first = (build / "migrate.sql").read_text(), (build / "rollback.sql").read_text()
    assert demo_db.runner("plan").code == 0
    assert ((build / "migrate.sql").read_text(), (build / "rollback.sql").read_text()) == first
    # migrate writes the rollback again, rendered from what it recorded: the same file.
    assert demo_db.runner("migrate").code == 0
    assert (build / "rollback.sql").read_text() == first[1]


def test_rendered_scripts_are_commented_and_quote_every_name(demo_db):
    assert demo_db.runner("plan").code == 0
    text = (demo_db.workdir / "build" / "migrate.sql").read_text()
    assert 'ALTER TABLE "public"."User" RENAME TO "users";' in text
    assert 'ALTER TABLE "public"."chat_sessions" RENAME CONSTRAINT "AssistantChatSession_userId_fkey"' \
           ' TO "chat_sessions_userId_fkey";' in text
    assert "-- left alone: index \"idx_recent_sessions\"" in text
    for line in text.splitlines():
        if line.startswith("ALTER "):
            assert all(part.startswith('"') for part in line.split()[2:3]), line
    # Every step is under a banner naming its template, and starts with a comment saying why.
    for template in ("sql/010_rename_tables.sql.j2", "sql/verify/preflight.sql.j2"):
        banner = text.index(f"-- ==== {template}\n")
        assert text[banner:].splitlines()[1].startswith("-- ")


def test_the_demo_loads_as_the_spec_describes(demo_db):
    tables = demo_db.table_names()
    assert {"User", "AuditLog", *TARGETS} <= tables and len(tables) >= 56
    assert demo_db.scalar("SELECT count(*) FROM pg_constraint WHERE confrelid = '\"User\"'::regclass") >= 50
    total = demo_db.scalar("SELECT sum(reltuples) FROM pg_class WHERE relnamespace = 'public'::regnamespace"
                          " AND relkind = 'r'")
    assert total > 20000
    assert (PROJECT_DIR / "config.yaml").exists()


def test_plan_as_json(demo_db):
    import json
    result = demo_db.runner("plan", "--json")
    assert result.code == 0, result.err
    plan = json.loads(result.out)
    assert plan["migration"] == "assistant_snake_case"
    kinds = {(r["kind"], r["object_name"]): r["target_name"] for r in plan["renames"]}
    assert kinds[("sequence", "AssistantMessage_id_seq")] == "chat_messages_temp_id_seq"
    assert [r["object_name"] for r in plan["left_alone"]] == ["idx_recent_sessions"]
    assert plan["scripts"]["migrate"]["path"].endswith("build/migrate.sql")


def test_rollback_header_counts_right_and_announces_every_destructive_step(demo_db):
    assert demo_db.runner("plan").code == 0
    header = (demo_db.workdir / "build" / "rollback.sql").read_text().split("-- Everything below")[0]
    assert "give 6 table(s) in schema\n-- \"public\", the 21 object(s) named after them and 2 column(s)" in header
    for step in ('DROP COLUMN "users"."role"', 'DROP CONSTRAINT "chat_sessions_folderId_fkey"',
                 'DROP TYPE "UserRole"', 'DROP VIEW "AssistantMessage"',
                 'DELETE FROM "chat_messages" the rows merged from "chat_messages_temp"'):
        assert step in header, step
    assert header.count("DROP COLUMN") == 8


def test_rollback_proves_the_migrations_tables_and_reports_changes_elsewhere(demo_db):
    assert demo_db.runner("migrate").code == 0
    demo_db.execute("CREATE SCHEMA other; CREATE TABLE other.unrelated (id int); CREATE TABLE public.newcomer (id int)")
    dump = demo_db.schema_dump()

    result = demo_db.runner("rollback")

    assert result.code == 0, result.text
    assert "schema fingerprint equals the one recorded before the migration, for its tables" in result.out
    assert "the schema changed elsewhere since the migration" in result.text
    assert {"User", "newcomer"} <= demo_db.table_names()
    verified = demo_db.runner("verify")
    assert verified.code == 0 and "the schema changed elsewhere since the migration" in verified.text
    assert dump != demo_db.schema_dump()  # the rollback did its work; the unrelated tables stayed


def test_migrations_in_two_schemas_roll_back_in_any_order(demo_db):
    demo_db.execute('CREATE SCHEMA sales; CREATE TABLE sales."Invoice" (id int CONSTRAINT "Invoice_pkey" PRIMARY KEY)')
    first = demo_db.write_config({"AssistantFolder": "chat_folders"}, migration="first")
    second = demo_db.write_config({"Invoice": "invoices"}, migration="second", schema="sales")
    assert demo_db.runner("migrate", config=first).code == 0
    assert demo_db.runner("migrate", config=second).code == 0
    rolled_back = demo_db.runner("rollback", config=first)  # while the second is applied
    assert rolled_back.code == 0, rolled_back.text
    assert demo_db.runner("verify", config=first).code == 0
    assert demo_db.runner("rollback", config=second).code == 0
    assert demo_db.runner("verify", config=second).code == 0
    assert demo_db.scalar("SELECT to_regclass('sales.\"Invoice\"') IS NOT NULL")


def test_objects_named_after_a_table_but_not_its_own_are_listed_as_left_alone(demo_db):
    demo_db.execute('CREATE SEQUENCE "User_legacy_seq"; ALTER TABLE "User" ADD COLUMN legacy int'
                    ' DEFAULT nextval(\'"User_legacy_seq"\'); CREATE VIEW "User_summary" AS SELECT id FROM "User"')
    result = demo_db.runner("plan", "--json", config=demo_db.write_config({"User": "users"}))
    assert result.code == 0, result.text
    import json
    left = {(r["kind"], r["object_name"]): r["note"] for r in json.loads(result.out)["left_alone"]}
    assert left[("sequence", "User_legacy_seq")].startswith("used by a column default but not owned by the table")
    assert left[("view", "User_summary")].startswith("a view over the table")
    assert demo_db.runner("migrate", config=demo_db.write_config({"User": "users"})).code == 0
    assert demo_db.scalar("SELECT to_regclass('\"User_legacy_seq\"') IS NOT NULL")

