"""The analysis queries run as is in psql, fed by SET, without the runner."""
from conftest import PROJECT_DIR, psql

ANALYSIS = PROJECT_DIR / "sql" / "analysis"


def rows(db, query_file: str, *settings: str) -> list[list[str]]:
    args = [arg for setting in settings for arg in ("-c", setting)]
    done = psql(db.url, "-At", "-F", "\t", *args, "-f", str(ANALYSIS / query_file))
    return [line.split("\t") for line in done.stdout.splitlines() if "\t" in line]


def test_rename_plan_with_a_map(demo_db):
    plan = rows(demo_db, "rename_plan.sql", """SET pgrename.map = '{"User": "users"}'""")
    renamed = {(r[1], r[6]): r[7] for r in plan}
    assert renamed[("table", "User")] == "users"
    assert renamed[("constraint", "User_pkey")] == "users_pkey"
    assert renamed[("index", "User_email_key")] == "users_email_key"
    assert sum(r[1] != "column" for r in plan) == 5
    assert [r[6] for r in plan if r[1] == "column"][:2] == ["id", "email"]  # every column, in table order


def test_discovery_proposes_names_by_the_naming_rule(empty_db):
    empty_db.execute('CREATE TABLE "HTTPRequestLog" (id int); CREATE TABLE "UserID" (id int);'
                     ' CREATE TABLE "OAuth2Token" (id int); CREATE TABLE already_snake (id int)')
    found = rows(empty_db, "discovery.sql", "SET pgrename.exclude = 'User*'")
    assert {r[1]: (r[0], r[2], r[3]) for r in found} == {
        "HTTPRequestLog": ("public", "rule", "http_request_log"), "UserID": ("public", "excluded", ""),
        "OAuth2Token": ("public", "rule", "o_auth2_token"), "already_snake": ("public", "snake_case", "")}


def test_every_analysis_query_runs_as_is_in_psql(demo_db):
    for script in sorted((PROJECT_DIR / "sql" / "install").glob("[0-9][0-9][0-9]_*.sql")):  # sets_status reads its history
        psql(demo_db.url, "--single-transaction", "-f", str(script))
    for query in sorted(ANALYSIS.glob("*.sql")):
        if query.name != "statements.sql":  # needs the pg_stat_statements extension
            rows(demo_db, query.name, """SET pgrename.map = '{"User": "users"}'""")


def test_blockers_lists_sessions_holding_locks(demo_db):
    import psycopg
    with psycopg.connect(demo_db.url, application_name="report") as holder:
        holder.execute('SELECT 1 FROM "User" LIMIT 1')
        found = rows(demo_db, "blockers.sql", """SET pgrename.map = '{"User": "users"}'""")
        assert [(r[0], r[2], r[5], r[6]) for r in found] == [
            (str(holder.info.backend_pid), "report", '"User"', "AccessShareLock")]


def test_schema_fingerprint_is_stable_and_sees_changes(demo_db):
    for script in sorted((PROJECT_DIR / "sql" / "install").glob("[0-9][0-9][0-9]_*.sql")):
        psql(demo_db.url, "--single-transaction", "-f", str(script))
    first = demo_db.scalar("SELECT pgrename.schema_fingerprint()")
    assert demo_db.scalar("SELECT pgrename.schema_fingerprint()") == first
    demo_db.execute('ALTER TABLE "User" ALTER COLUMN "firstName" SET DEFAULT \'x\'')
    assert demo_db.scalar("SELECT pgrename.schema_fingerprint()") != first


def test_column_rule_and_table_rule_are_the_same_rule(empty_db):
    names = ["User", "AssistantChatSession", "HTTPRequestLog", "UserID", "OAuth2Token", "Table2Go", "already_snake",
             "lastMessageAt", "isActive", "XMLHttpRequest", "User Profile", "Order-Item", "legacy.Thing", "Two  Spaces"]
    empty_db.execute(" ".join(f'CREATE TABLE "{n}" ("{n}" int);' for n in names))
    tables = {r[1]: r[4] for r in rows(empty_db, "discovery.sql")}
    plan = rows(empty_db, "rename_plan.sql", "SET pgrename.column_rule = 'snake_case'",
                "SET pgrename.map = '" + "{" + ", ".join(f'"{n}": "t{i}"' for i, n in enumerate(names)) + "}'")
    columns = {r[6]: r[7] for r in plan if r[1] == "column"}
    assert columns == tables
    assert columns["lastMessageAt"] == "last_message_at" and columns["XMLHttpRequest"] == "xml_http_request"
    assert {name: columns[name] for name in ("HTTPRequestLog", "UserID", "OAuth2Token", "Table2Go", "User Profile",
                                             "Order-Item", "legacy.Thing", "Two  Spaces")} == {
        "HTTPRequestLog": "http_request_log", "UserID": "user_id", "OAuth2Token": "o_auth2_token",
        "Table2Go": "table2_go", "User Profile": "user_profile", "Order-Item": "order_item",
        "legacy.Thing": "legacy_thing", "Two  Spaces": "two_spaces"}


def test_column_rule_renames_columns_and_views_keep_the_old_names(demo_db):
    config = demo_db.write_config({"AssistantFolder": "chat_folders"}, column_rule="snake_case")
    result = demo_db.runner("migrate", config=config)
    assert result.code == 0, result.text
    assert {r[0] for r in demo_db.query("SELECT attname FROM pg_attribute WHERE attrelid = 'chat_folders'::regclass"
                                       " AND attnum > 0")} == {"id", "user_id", "name", "created_at"}
    assert demo_db.scalar('SELECT "userId" FROM "AssistantFolder" WHERE id = \'fld_000001\'') == "usr_000001"
    assert demo_db.runner("rollback", config=config).code == 0


def test_restore_queries_run_as_is_in_psql(empty_db):
    empty_db.execute('''CREATE TABLE "Team" (id int PRIMARY KEY, captain int);
                        CREATE TABLE "Player" (id int PRIMARY KEY, team int REFERENCES "Team");
                        ALTER TABLE "Team" ADD FOREIGN KEY (captain) REFERENCES "Player"''')
    restore = PROJECT_DIR / "sql" / "restore"
    order = """SET pgrename.restored_tables = '["public.\\"Team\\"", "public.\\"Player\\""]'"""
    late = psql(empty_db.url, "-At", "-F", "\t", "-c", order, "-f", str(restore / "late_bound_foreign_keys.sql"))
    assert late.stdout.splitlines() == ["public\tTeam\tTeam_captain_fkey\t{captain}\tt\tf\tf"]

    # One good row and one whose captain does not exist: the bad one is set aside with its error.
    done = psql(empty_db.url, "--single-transaction", "-At", "-F", "\t",
                "-c", "CREATE TEMPORARY TABLE staged (id int, captain int); INSERT INTO staged VALUES (1, NULL), (2, 99)",
                "-f", str(restore / "row_by_row.sql"),
                "-c", """SELECT pg_temp.pgrename_row_by_row('public."Team"', 'staged',
                                'INSERT INTO "Team" SELECT * FROM staged AS s WHERE s.ctid = $1')""",
                "-c", "SELECT table_name, row_data, sqlstate FROM pgrename_restore_error")
    assert done.stdout.split("\n")[:2] == ["1", 'public."Team"\t{"id": 2, "captain": 99}\t23503']
    assert empty_db.query('SELECT id FROM "Team"') == [(1,)]


def test_restore_order_estimates_rows_for_the_progress_bar(empty_db):
    empty_db.execute("CREATE TABLE log (at date NOT NULL) PARTITION BY RANGE (at);"
                     " CREATE TABLE log_2025 PARTITION OF log FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');"
                     " CREATE TABLE log_2026 PARTITION OF log FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');"
                     " CREATE TABLE never_analyzed (id int);"
                     " INSERT INTO log SELECT date '2025-06-01' + i % 300 FROM generate_series(1, 1000) AS i;"
                     " ANALYZE log")
    found = {r[1]: r[-1] for r in rows(empty_db, "restore_order.sql")}
    assert found == {"log": "1000", "never_analyzed": ""}   # partitions counted with their table
