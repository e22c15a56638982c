"""Merges whose columns are SQL expressions over the legacy row (a legacy integer key merged into a
text-keyed table, as the demo's messages are), and the preflight that refuses, before any lock, a
merge that could not run: a key copied across types, a key or column that does not exist, an
expression that does not type-check."""
import pytest

MESSAGES = {"AssistantMessage": "chat_messages_temp", "AssistantChatMessage": "chat_messages"}
COLUMNS = {"id": "'legacy_msg_' || id", "sessionId": "conversationId", "role": "role", "content": "content"}


def merge_config(db, key="id", **columns):
    return db.write_config(MESSAGES, merges=[{"from": "AssistantMessage", "into": "AssistantChatMessage",
                                             "key": key, "on_conflict": "skip", "columns": {**COLUMNS, **columns}}])


def test_a_legacy_integer_key_merges_through_an_expression_and_rolls_back_exactly(demo_db):
    dump = demo_db.schema_dump()
    result = demo_db.runner("migrate")  # the demo's config maps the messages' ids by an expression
    assert result.code == 0, result.text
    assert "merged chat_messages_temp into chat_messages: 12000 row(s) inserted" in result.out
    assert demo_db.scalar("SELECT count(*) FROM chat_messages WHERE id LIKE 'legacy\\_msg\\_%'") == 12000
    assert demo_db.scalar("SELECT \"sessionId\" FROM chat_messages WHERE id = 'legacy_msg_5'") == "cnv_000002"
    migrate_sql = (demo_db.workdir / "build" / "migrate.sql").read_text()
    assert "SELECT ('legacy_msg_' || id) AS \"id\",\n" in migrate_sql  # readable, beside the target column

    assert demo_db.runner("rollback").code == 0
    assert demo_db.scalar('SELECT count(*) FROM "AssistantChatMessage"') == 40000
    assert demo_db.schema_dump() == dump


@pytest.mark.parametrize("settings, message", [
    ({"id": "id"},
     "merge AssistantMessage into AssistantChatMessage: key id is integer in AssistantMessage and text in "
     "AssistantChatMessage: copied as it is, its values would not meet the target's; map it with an expression "
     "of the target's type, e.g. id: \"'legacy_' || id\""),
    ({"createdAt": "content || '!'"},
     'merge AssistantMessage into AssistantChatMessage: column "createdAt" is of type timestamp without time '
     "zone but expression is of type text"),
    ({"key": "uuid", "uuid": "'x' || id"},
     "merge AssistantMessage into AssistantChatMessage: key uuid is not a column of chat_messages (after the renames)"),
    ({"content": "body"},
     "merge AssistantMessage into AssistantChatMessage: column body of chat_messages_temp (after the renames) does "
     "not exist"),
])
def test_a_merge_that_cannot_run_is_refused_by_preflight(demo_db, settings, message):
    key = settings.pop("key", "id")
    demo_db.refused_by_preflight(merge_config(demo_db, key=key, **settings), message)
    assert demo_db.scalar("SELECT count(*) FROM pgrename.history") == 0


def test_an_expression_is_one_expression(demo_db):
    result = demo_db.runner("plan", config=merge_config(demo_db, id="'x' || id; DROP TABLE \"User\""))
    assert result.code == 2, result.text
    assert "merge 1: columns: id: an expression is one SQL expression; ';' is refused" in result.text
