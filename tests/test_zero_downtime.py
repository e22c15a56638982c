"""Old clients (old table and column names) and new clients (the target schema) both keep
working: before, during and after migrate; merges and every phase undone exactly."""
import threading

import psycopg
import pytest

# What the user-management service sends: raw SQL with the old names, columns included.
OLD_CLIENT = [
    ('SELECT "sessionName", "lastActiveAt" FROM "AssistantChatSession" WHERE "userId" = %s', ("usr_000007",)),
    ('INSERT INTO "User" (id, email, "firstName") VALUES (%s, %s, %s) RETURNING id, "isActive"', None),
    ('UPDATE "AssistantChatSession" SET "sessionName" = %s WHERE id = %s RETURNING "sessionName"',
     ("renamed by an old client", "ses_000002")),
    ('SELECT count(*) FROM "AssistantChatMessage" AS m JOIN "AssistantChatSession" AS s ON s.id = m."sessionId"'
     ' WHERE s."userId" = %s', ("usr_000007",)),
    ('DELETE FROM "User" WHERE id = %s', None),
]


class Progress:
    """Statements the old clients completed, and a way to wait until there are enough: no sleeps."""

    def __init__(self):
        self.done: list[str] = []
        self.failures: list[str] = []
        self.changed = threading.Condition()

    def record(self, into: list, what: str) -> None:
        with self.changed:
            into.append(what)
            self.changed.notify_all()

    def wait_for(self, count: int) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.done) >= count or self.failures, timeout=60), \
                f"the old clients completed {len(self.done)} statements, not {count}"


def run_old_client(url: str, rounds: int | None, stop: threading.Event, progress: Progress) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        number = 0
        while (rounds is None and not stop.is_set()) or (rounds is not None and number < rounds):
            number += 1
            user_id = f"old_{threading.get_ident()}_{number}"
            for sql, params in OLD_CLIENT:
                if params is None:
                    params = (user_id, f"{user_id}@example.com", "Old") if sql.startswith("INSERT") else (user_id,)
                try:
                    conn.execute(sql, params).fetchall() if "RETURNING" in sql or sql.startswith("SELECT") \
                        else conn.execute(sql, params)
                    progress.record(progress.done, sql)
                except psycopg.Error as error:
                    progress.record(progress.failures, f"{sql}: {error}")


def test_old_client_works_before_during_and_after_migrate(demo_db):
    progress = Progress()
    run_old_client(demo_db.url, 3, threading.Event(), progress)  # before
    assert not progress.failures

    stop = threading.Event()
    clients = [threading.Thread(target=run_old_client, args=(demo_db.url, None, stop, progress)) for _ in range(3)]
    for client in clients:
        client.start()
    progress.wait_for(len(progress.done) + 3 * len(OLD_CLIENT))  # all three are under way
    before_migrate = len(progress.done)
    result = demo_db.runner("migrate")
    progress.wait_for(len(progress.done) + 3 * len(OLD_CLIENT))  # and go on after it
    stop.set()
    for client in clients:
        client.join(timeout=30)

    assert result.code == 0, result.text
    assert progress.failures == []
    assert len(progress.done) > before_migrate + 3 * len(OLD_CLIENT)  # the clients kept running through it
    run_old_client(demo_db.url, 3, threading.Event(), progress)  # after
    assert progress.failures == []
    assert demo_db.scalar("SELECT title FROM chat_sessions WHERE id = 'ses_000002'") == "renamed by an old client"


def test_new_client_uses_the_target_schema_after_migrate(demo_db):
    assert demo_db.runner("migrate").code == 0
    with demo_db.connect() as conn:
        conn.execute("INSERT INTO users (id, email, role) VALUES ('new_1', 'new@example.com', 'ADMIN')")
        conn.execute("INSERT INTO chat_folders (id, \"userId\", name, color) VALUES ('f_new', 'new_1', 'Mine', 'red')")
        conn.execute("INSERT INTO chat_sessions (id, \"userId\", \"folderId\", title) VALUES ('s_new', 'new_1', 'f_new', 'Hi')")
        conn.execute("INSERT INTO chat_messages (id, \"sessionId\", role, content, metadata)"
                     " VALUES ('m_new', 's_new', 'user', 'hello', '{\"k\": 1}')")
        row = conn.execute("SELECT u.role::text, u.\"isActive\", u.\"emailVerified\", f.\"isDefault\", f.\"sessionCount\","
                           " s.\"isActive\", s.\"lastMessageAt\" FROM users AS u JOIN chat_folders AS f ON f.\"userId\" = u.id"
                           " JOIN chat_sessions AS s ON s.\"folderId\" = f.id WHERE u.id = 'new_1'").fetchone()
        assert row == ("ADMIN", True, False, False, 0, True, None)
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            conn.execute("UPDATE chat_sessions SET \"folderId\" = 'no_such_folder' WHERE id = 's_new'")
        conn.execute("DELETE FROM chat_folders WHERE id = 'f_new'")  # ON DELETE SET NULL
        assert conn.execute("SELECT \"folderId\" FROM chat_sessions WHERE id = 's_new'").fetchone() == (None,)


def test_grants_of_a_table_reach_its_compatibility_view(demo_db):
    role = f"usermgmt_{demo_db.name}"
    demo_db.execute(f'CREATE ROLE {role}; GRANT SELECT, UPDATE ON "User" TO {role}')
    assert demo_db.runner("migrate").code == 0
    with demo_db.connect() as conn:
        conn.execute(f"SET ROLE {role}")
        assert conn.execute('SELECT count(*) FROM "User"').fetchone()[0] == 5000
        conn.execute('UPDATE "User" SET "firstName" = %s WHERE id = %s', ("Via view", "usr_000001"))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute('DELETE FROM "User" WHERE id = %s', ("usr_000001",))


def test_merges_are_counted_and_undone_exactly(demo_db):
    sessions_before = demo_db.scalar('SELECT count(*) FROM "AssistantChatSession"')
    # A legacy conversation whose id a chat session already has: skip keeps the session as it is.
    demo_db.execute("INSERT INTO \"AssistantConversation\" (id, \"userId\", title) VALUES ('ses_000003', 'usr_000001', 'dup')")
    dump = demo_db.schema_dump()
    result = demo_db.runner("migrate")
    assert result.code == 0, result.text
    assert "merged chat_sessions_temp into chat_sessions: 3000 row(s) inserted, 0 updated, 1 left as they were" \
        in result.out
    assert demo_db.scalar("SELECT title FROM chat_sessions WHERE id = 'ses_000003'") != "dup"
    assert demo_db.scalar("SELECT count(*) FROM pgrename.merged_row") == 15000

    assert demo_db.runner("rollback").code == 0
    assert demo_db.scalar('SELECT count(*) FROM "AssistantChatSession"') == sessions_before
    assert demo_db.scalar('SELECT count(*) FROM "AssistantChatMessage"') == 40000
    assert demo_db.schema_dump() == dump


def test_merge_with_update_puts_back_the_rows_it_overwrote(demo_db):
    tables = {"AssistantConversation": "chat_sessions_temp", "AssistantChatSession": "chat_sessions"}
    config = demo_db.write_config(tables, merges=[{
        "from": "AssistantConversation", "into": "AssistantChatSession", "key": "id", "on_conflict": "update",
        "columns": {"id": "id", "userId": "userId", "sessionName": "title"}}])
    demo_db.execute("INSERT INTO \"AssistantConversation\" (id, \"userId\", title) VALUES ('ses_000003', 'usr_000001', 'new title')")
    original = demo_db.query('SELECT * FROM "AssistantChatSession" WHERE id = \'ses_000003\'')

    result = demo_db.runner("migrate", config=config)
    assert result.code == 0, result.text
    assert "3000 row(s) inserted, 1 updated, 0 left as they were" in result.out
    assert demo_db.query("SELECT \"sessionName\", \"userId\" FROM chat_sessions WHERE id = 'ses_000003'") == \
        [("new title", "usr_000001")]

    assert demo_db.runner("rollback", config=config).code == 0
    restored = demo_db.query('SELECT * FROM "AssistantChatSession" WHERE id = \'ses_000003\'')
    # Every column the merge wrote is back. "updatedAt" is stamped by the table's own trigger on
    # the restoring UPDATE, as on any update: triggers are never switched off.
    assert restored[0][:5] == original[0][:5] and restored[0][5] > original[0][5]
    assert demo_db.scalar('SELECT count(*) FROM "AssistantChatSession"') == 10000


def test_rollback_after_contract_and_after_undoing_it(demo_db):
    dump = demo_db.schema_dump()
    for commands in (["migrate", "contract", "rollback"], ["migrate", "contract", "contract --undo", "rollback"]):
        for command in commands:
            result = demo_db.runner(*command.split())
            assert result.code == 0, result.text
        assert demo_db.schema_dump() == dump
    events = [row[0] for row in demo_db.query("SELECT event FROM pgrename.audit ORDER BY id")]
    assert events.count("contract_complete") == 2 and events.count("contract_undone") == 1


def test_contract_drops_the_views_and_verify_agrees(demo_db):
    assert demo_db.runner("migrate").code == 0
    result = demo_db.runner("contract")
    assert result.code == 0, result.text
    assert demo_db.scalar("SELECT count(*) FROM pg_views WHERE schemaname = 'public' AND viewname LIKE 'Assistant%'") == 0
    with pytest.raises(psycopg.errors.UndefinedTable):
        demo_db.query('SELECT 1 FROM "User"')
    assert demo_db.runner("verify").code == 0
    again = demo_db.runner("contract")
    assert again.code == 0 and "contracted already; nothing to contract" in again.out


def test_rollback_warns_about_data_in_added_columns(demo_db):
    assert demo_db.runner("migrate").code == 0
    demo_db.execute("UPDATE users SET role = 'ADMIN' WHERE id IN ('usr_000001', 'usr_000002')")
    result = demo_db.runner("rollback")
    assert result.code == 0
    assert "column users.role holds other than its default in 2 row(s); it is dropped with them" in result.text


@pytest.mark.parametrize("columns, message", [
    ({"User": {"add": {"nickname": {"type": "text", "not_null": True}}}},
     'column users.nickname is NOT NULL without a default'),
    ({"User": {"rename": {"nope": "still_nope"}}}, 'column nope of table "User" does not exist'),
    ({"User": {"add": {"score": {"type": "no_such_type"}}}}, "column users.score: type no_such_type does not exist"),
    ({"User": {"rename": {"firstName": "lastName"}}}, 'would have 2 columns named "lastName"'),
    ({"User": {"add": {"email": {"type": "text"}}}}, 'would have 2 columns named email'),
])
def test_bad_column_changes_are_refused_by_preflight(demo_db, columns, message):
    dump = demo_db.schema_dump()
    result = demo_db.runner("migrate", config=demo_db.write_config({"User": "users"}, columns=columns))
    assert result.code == 3, result.text
    assert message in result.text
    assert demo_db.schema_dump() == dump


@pytest.mark.parametrize("columns, message", [
    ({"Nope": {"add": {"x": {"type": "text"}}}}, "columns: table 'Nope' is not in tables"),
    ({"User": {"add": {"x": {"type": "text; DROP TABLE x"}}}}, "is neither an enum of this config nor a plain type"),
    ({"User": {"add": {"x": {"type": "text", "default_sql": "now(); DROP TABLE x"}}}}, "default_sql must be a bare"),
    ({"User": {"add": {"x": {"type": "text", "colour": "red"}}}}, "unknown key 'colour'"),
])
def test_bad_column_config_is_refused_before_connecting(demo_db, columns, message):
    result = demo_db.runner("plan", config=demo_db.write_config({"User": "users"}, columns=columns))
    assert result.code == 2
    assert message in result.text


def test_two_merges_into_one_table_each_report_and_undo_their_own_rows(demo_db):
    demo_db.execute('CREATE TABLE "LegacyChat" (id text PRIMARY KEY, "userId" text NOT NULL, name text);'
                    "INSERT INTO \"LegacyChat\" VALUES ('leg_1', 'usr_000001', 'a'), ('leg_2', 'usr_000002', 'b'),"
                    " ('leg_3', 'usr_000003', 'c'), ('ses_000001', 'usr_000001', 'taken')")
    tables = {"AssistantConversation": "chat_sessions_temp", "LegacyChat": "legacy_chat",
              "AssistantChatSession": "chat_sessions"}
    config = demo_db.write_config(tables, merges=[
        {"from": "AssistantConversation", "into": "AssistantChatSession", "key": "id", "on_conflict": "skip",
         "columns": {"id": "id", "userId": "userId", "sessionName": "title"}},
        {"from": "LegacyChat", "into": "AssistantChatSession", "key": "id", "on_conflict": "skip",
         "columns": {"id": "id", "userId": "userId", "sessionName": "name"}}])
    sessions_before = demo_db.scalar('SELECT count(*) FROM "AssistantChatSession"')
    dump = demo_db.schema_dump()

    result = demo_db.runner("migrate", config=config)

    assert result.code == 0, result.text
    assert "merged chat_sessions_temp into chat_sessions: 3000 row(s) inserted, 0 updated, 0 left" in result.out
    assert "merged legacy_chat into chat_sessions: 3 row(s) inserted, 0 updated, 1 left as they were" in result.out
    assert demo_db.query("SELECT merged_from, count(*) FROM pgrename.merged_row GROUP BY 1 ORDER BY 1") == [
        ("chat_sessions_temp", 3000), ("legacy_chat", 3)]
    assert demo_db.runner("rollback", config=config).code == 0
    assert demo_db.scalar('SELECT count(*) FROM "AssistantChatSession"') == sessions_before
    assert demo_db.schema_dump() == dump


def test_rollback_warns_only_about_rows_written_into_an_expression_default_column(demo_db):
    config = demo_db.write_config({"User": "users"}, columns={"User": {"add": {
        "joinedAt": {"type": "timestamptz", "not_null": True, "default_sql": "CURRENT_TIMESTAMP"}}}})
    assert demo_db.runner("migrate", config=config).code == 0
    untouched = demo_db.runner("rollback", config=config)
    assert untouched.code == 0 and "holds other than its default" not in untouched.text

    assert demo_db.runner("migrate", config=config).code == 0
    demo_db.execute("""UPDATE users SET "joinedAt" = '2020-01-01' WHERE id = 'usr_000001'""")
    demo_db.execute("INSERT INTO users (id, email) VALUES ('new_1', 'new_1@example.com')")  # a later timestamp
    written = demo_db.runner("rollback", config=config)
    assert written.code == 0
    assert "column users.joinedAt holds other than its default in 2 row(s)" in written.text


def test_verify_after_contract_still_sees_an_old_name_taken_again(demo_db):
    assert demo_db.runner("migrate").code == 0
    assert demo_db.runner("contract").code == 0
    assert demo_db.runner("verify").code == 0
    demo_db.execute('CREATE TABLE "AssistantFolder" (id int)')  # a name the views no longer hold
    result = demo_db.runner("verify")
    assert result.code == 3 and 'relation public."AssistantFolder" still exists' in result.text
