"""make merge-prepare: the merges' legacy rows copied ahead in batches, the changes since applied
inside migrate's lock; the result is what a merge inside the lock gives, rollback removes exactly
the merged rows, a copy stopped part way goes on, and cancelling it leaves nothing behind."""
import pytest

from conftest import DEMO_TEMPLATE, _fresh_database
from test_json_outputs import answer

# What clients do to the legacy tables between the copy ahead and the migration.
CHANGES_SINCE = """
    INSERT INTO "AssistantConversation" (id, "userId", title, "createdAt")
    VALUES ('conv_new_1', 'usr_000001', 'new since', '2024-07-01');
    UPDATE "AssistantConversation" SET title = 'changed since' WHERE id = (SELECT min(id) FROM "AssistantConversation");
    DELETE FROM "AssistantConversation"
    WHERE id = (SELECT max(id) FROM "AssistantConversation" WHERE id <> 'conv_new_1');  -- its messages go too
    INSERT INTO "AssistantMessage" ("conversationId", role, content, "createdAt")
    VALUES ('conv_new_1', 'user', 'hello', '2024-07-01');
    UPDATE "AssistantMessage" SET content = 'edited since' WHERE id = 1;
    UPDATE "AssistantMessage" SET id = 900001 WHERE id = 2;  -- its key moves: the old copy goes, a new one comes
"""
MERGED = {
    "sessions": 'SELECT id, "userId", title, "lastMessageAt", "createdAt", "folderId", "isActive"'
                " FROM chat_sessions ORDER BY id",
    "messages": 'SELECT id, "sessionId", role, content, metadata, "createdAt" FROM chat_messages ORDER BY id',
}


@pytest.fixture
def control_db(cluster, tmp_path_factory):
    """A second copy of the demo, where the merge runs inside the lock as before."""
    yield from _fresh_database(cluster, tmp_path_factory.mktemp("control"), DEMO_TEMPLATE)


def test_a_merge_copied_ahead_ends_as_one_inside_the_lock_and_rolls_back_exactly(demo_db, control_db):
    dump, sessions, messages = demo_db.schema_dump(), demo_db.query(MERGED["sessions"].replace(
        "chat_sessions", '"AssistantChatSession"').replace('"lastMessageAt"', '"lastActiveAt"').replace(
        'title, ', '"sessionName", ').replace(', "folderId", "isActive"', '')), demo_db.scalar(
        'SELECT count(*) FROM "AssistantChatMessage"')

    report = answer(demo_db.runner("merge-prepare", "--batch-size", "1000", "--json"), "merge-prepare")["merges"]
    assert [(m["merged_from"], m["rows_read"], m["rows_copied"], m["finished"]) for m in report] == [
        ("AssistantConversation", 3000, 3000, True), ("AssistantMessage", 12000, 12000, True)]
    assert report[1]["batches"] > 1
    assert demo_db.scalar('SELECT count(*) FROM "AssistantChatMessage"') == messages + 12000

    demo_db.execute(CHANGES_SINCE)
    control_db.execute(CHANGES_SINCE)
    migrated = demo_db.runner("migrate")
    assert migrated.code == 0, migrated.text
    assert ("merged chat_sessions_temp into chat_sessions: 2999 row(s) copied ahead (2 changed since: 1 updated, "
            "1 removed), 1 inserted in the lock, 0 left as they were") in migrated.out
    assert "Destructive, for the merges copied ahead by make merge-prepare" in \
        (demo_db.workdir / "build" / "migrate.sql").read_text()
    assert control_db.runner("migrate").code == 0
    for query in MERGED.values():
        assert demo_db.query(query) == control_db.query(query)
    assert demo_db.scalar("SELECT count(*) FROM pg_trigger WHERE tgname = 'pgrename_merge_capture'") == 0
    assert demo_db.scalar("SELECT count(*) FROM pgrename.merge_change") == 0
    assert demo_db.runner("verify").code == 0

    rolled_back = demo_db.runner("rollback")
    assert rolled_back.code == 0, rolled_back.text
    assert demo_db.schema_dump() == dump
    assert demo_db.scalar('SELECT count(*) FROM "AssistantChatMessage"') == messages
    assert demo_db.scalar("SELECT count(*) FROM pgrename.merge_prepared_row") == 0
    assert demo_db.query('SELECT id, "userId", "sessionName", "lastActiveAt", "createdAt"'
                         ' FROM "AssistantChatSession" ORDER BY id') == sessions


def test_a_copy_stopped_part_way_is_refused_by_migrate_and_goes_on(demo_db):
    partial = demo_db.runner("merge-prepare", "--batch-size", "500", "--batches", "1")
    assert partial.code == 0, partial.text
    assert "stopped after --batches" in partial.out
    refused = demo_db.runner("migrate")
    assert refused.code == 3, refused.text
    assert "merge of chat_sessions_temp into chat_sessions is copied ahead only in part" in refused.text
    assert "finish it with make merge-prepare, or cancel it with make merge-prepare UNDO=1" in refused.text
    assert "AssistantChatSession" in demo_db.table_names()

    finished = demo_db.runner("merge-prepare", "--batch-size", "500")
    assert finished.code == 0, finished.text
    assert "AssistantConversation into AssistantChatSession: 3,000 legacy row(s) read, 3,000 copied" in finished.out
    assert demo_db.runner("migrate").code == 0
    assert demo_db.scalar("SELECT count(*) FROM chat_sessions") == 13000


def test_cancelling_the_copy_leaves_the_database_as_it_was(demo_db):
    dump = demo_db.schema_dump()
    counts = demo_db.query('SELECT (SELECT count(*) FROM "AssistantChatSession"), (SELECT count(*) FROM "AssistantChatMessage")')
    assert demo_db.runner("merge-prepare").code == 0
    demo_db.execute(CHANGES_SINCE)
    cancelled = demo_db.runner("merge-prepare", "--undo")
    assert cancelled.code == 0, cancelled.text
    assert demo_db.schema_dump() == dump
    assert demo_db.query('SELECT (SELECT count(*) FROM "AssistantChatSession"), (SELECT count(*) FROM "AssistantChatMessage")') \
        == counts
    assert demo_db.scalar("SELECT count(*) FROM pgrename.merge_progress") == 0
    assert demo_db.scalar("SELECT count(*) FROM pgrename.audit WHERE event = 'merge_prepare_cancelled'") == 1
    assert "nothing to cancel" in demo_db.runner("merge-prepare", "--undo").out


def test_a_client_with_no_right_on_pgrename_writes_the_legacy_table_during_the_copy(demo_db):
    role = f"legacy_writer_{demo_db.name}"
    demo_db.execute(f'CREATE ROLE {role}; GRANT INSERT, UPDATE, SELECT ON "AssistantConversation" TO {role}')
    assert demo_db.runner("merge-prepare").code == 0
    with demo_db.connect() as conn:
        conn.execute(f"SET ROLE {role}")
        conn.execute("""INSERT INTO "AssistantConversation" (id, "userId", title) VALUES ('conv_role', 'usr_000002', 'x')""")
    assert demo_db.query("SELECT row_key FROM pgrename.merge_change") == [({"id": "conv_role"},)]


@pytest.mark.parametrize("merges, message", [
    ([{"from": "AssistantConversation", "into": "AssistantChatSession", "key": "id", "on_conflict": "update",
       "columns": {"id": "id", "userId": "userId"}}],
     "merge of AssistantConversation into AssistantChatSession overwrites rows (on_conflict: update)"),
    ([{"from": "AssistantConversation", "into": "AssistantChatSession", "key": "id",
       "columns": {"id": "id", "userId": "userId", "isActive": "true"}}],
     "fills isActive, which the migration adds to AssistantChatSession: not there yet"),
    (None, "has no merges: nothing to copy ahead"),
])
def test_a_merge_that_cannot_be_copied_ahead_is_refused_with_nothing_changed(demo_db, merges, message):
    tables = {"AssistantConversation": "chat_sessions_temp", "AssistantChatSession": "chat_sessions"}
    settings = {"columns": {"AssistantChatSession": {"add": {"isActive": {"type": "boolean", "default": True}}}}}
    config = demo_db.write_config(tables, **settings, **({"merges": merges} if merges else {}))
    dump = demo_db.schema_dump()
    result = demo_db.runner("merge-prepare", config=config)
    assert result.code == 2, result.text
    assert message in result.text
    assert demo_db.schema_dump() == dump


def test_after_migrate_there_is_nothing_to_copy_ahead(demo_db):
    assert demo_db.runner("migrate").code == 0
    result = demo_db.runner("merge-prepare")
    assert result.code == 0 and "its merges ran inside it" in result.out
