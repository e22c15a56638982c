"""rename_objects: at_contract: old clients that name a sequence keep working through migrate and
until contract, which renames the objects; verify, contract's undo and rollback are right in both
phases. And what no choice of names can save: ON CONFLICT ON CONSTRAINT through a view."""
import json
import threading

import psycopg
import pytest
import yaml

from conftest import PROJECT_DIR, psql
from test_zero_downtime import OLD_CLIENT, Progress, run_old_client

# The user-management service also draws ids from a legacy table's sequence by its name.
SEQUENCE_CLIENT = [("SELECT nextval('\"AssistantMessage_id_seq\"')", ()),
                   ("SELECT currval('\"AssistantMessage_id_seq\"')", ())]


def demo_config(demo_db, **changes):
    """The demo's own config.yaml, with changes, in the test's folder."""
    body = yaml.safe_load((PROJECT_DIR / "config.yaml").read_text())
    body.pop("contract")
    body.update(changes)
    return demo_db.write_yaml(body)


def object_names(demo_db):
    return demo_db.query("SELECT relname FROM pg_class WHERE relname IN "
                         "('AssistantMessage_id_seq', 'chat_messages_temp_id_seq', 'User_pkey', 'users_pkey',"
                         " 'User_email_key', 'users_email_key') ORDER BY relname")


def test_old_clients_naming_a_sequence_work_through_migrate_and_until_contract(demo_db, monkeypatch):
    monkeypatch.setattr("test_zero_downtime.OLD_CLIENT", OLD_CLIENT + SEQUENCE_CLIENT)
    config = demo_config(demo_db, rename_objects="at_contract")
    dump = demo_db.schema_dump()
    progress = Progress()
    stop = threading.Event()
    clients = [threading.Thread(target=run_old_client, args=(demo_db.url, None, stop, progress)) for _ in range(3)]
    for client in clients:
        client.start()
    progress.wait_for(3 * len(OLD_CLIENT + SEQUENCE_CLIENT))
    migrated = demo_db.runner("migrate", config=config)
    progress.wait_for(len(progress.done) + 3 * len(OLD_CLIENT + SEQUENCE_CLIENT))
    stop.set()
    for client in clients:
        client.join(timeout=30)

    assert migrated.code == 0, migrated.text
    assert progress.failures == []
    assert "kept until make contract (rename_objects: at_contract)" in (demo_db.workdir / "build" / "migrate.sql").read_text()
    assert object_names(demo_db) == [("AssistantMessage_id_seq",), ("User_email_key",), ("User_pkey",)]
    assert demo_db.table_names() >= {"users", "chat_messages_temp"}
    verified = demo_db.runner("verify", config=config)
    assert verified.code == 0, verified.text

    contracted = demo_db.runner("contract", config=config)
    assert contracted.code == 0, contracted.text
    assert "renaming the objects left to the contract (rename_objects: at_contract)" in contracted.out
    assert object_names(demo_db) == [("chat_messages_temp_id_seq",), ("users_email_key",), ("users_pkey",)]
    with pytest.raises(psycopg.errors.UndefinedTable):
        demo_db.query("SELECT nextval('\"AssistantMessage_id_seq\"')")
    assert demo_db.runner("verify", config=config).code == 0
    details = demo_db.scalar("SELECT details FROM pgrename.audit WHERE event = 'contract_complete'")
    assert details == {"views_dropped": 6, "objects_renamed": 21}

    undone = demo_db.runner("contract", "--undo", config=config)
    assert undone.code == 0, undone.text
    assert object_names(demo_db) == [("AssistantMessage_id_seq",), ("User_email_key",), ("User_pkey",)]
    assert demo_db.runner("verify", config=config).code == 0

    assert demo_db.runner("rollback", config=config).code == 0
    assert demo_db.schema_dump() == dump


def test_rollback_after_contract_gives_every_object_its_old_name(demo_db):
    config = demo_config(demo_db, rename_objects="at_contract")
    dump = demo_db.schema_dump()
    for command in ("migrate", "contract", "rollback", "verify"):
        result = demo_db.runner(command, config=config)
        assert result.code == 0, f"{command}: {result.text}"
    assert demo_db.schema_dump() == dump


def test_a_rollback_written_before_contract_refuses_to_run_after_it(demo_db):
    config = demo_config(demo_db, rename_objects="at_contract")
    assert demo_db.runner("migrate", config=config).code == 0
    assert demo_db.runner("plan", config=config).code == 0  # writes build/rollback.sql, not contracted yet
    written_before = (demo_db.workdir / "build" / "rollback.sql").read_text()
    assert demo_db.runner("contract", config=config).code == 0
    stale = demo_db.workdir / "stale-rollback.sql"
    stale.write_text(written_before)
    done = psql(demo_db.url, "--single-transaction", "-f", str(stale), check=False)
    assert done.returncode != 0
    assert "is contracted now, not as when this rollback was written" in done.stderr
    assert object_names(demo_db) == [("chat_messages_temp_id_seq",), ("users_email_key",), ("users_pkey",)]


def test_views_carry_their_tables_column_defaults(demo_db):
    assert demo_db.runner("migrate").code == 0
    defaults = dict(demo_db.query("SELECT column_name, column_default FROM information_schema.columns"
                                  " WHERE table_name = 'AssistantMessage' AND column_default IS NOT NULL"))
    assert defaults["id"] == "nextval('chat_messages_temp_id_seq'::regclass)"
    assert demo_db.query("SELECT column_default FROM information_schema.columns"
                         " WHERE table_name = 'AssistantChatSession' AND column_name = 'createdAt'") == [("CURRENT_TIMESTAMP",)]


def test_on_conflict_on_constraint_fails_through_any_view_and_analyze_names_the_fix(demo_db):
    demo_db.execute("""
        CREATE FUNCTION upsert_user(p_id text, p_email text) RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO "User" (id, email) VALUES (p_id, p_email)
            ON CONFLICT ON CONSTRAINT "User_pkey" DO UPDATE SET email = excluded.email;
        END $$;
        CREATE FUNCTION next_legacy_message_id() RETURNS bigint LANGUAGE sql AS
            $$ SELECT nextval('"AssistantMessage_id_seq"') $$;""")
    analyzed = demo_db.runner("analyze", "--format", "json")
    assert analyzed.code == 0, analyzed.text
    report = json.loads(analyzed.out)
    uses = {(u["who"], u["uses_name"]): u for u in report["object_names_in_use"]}
    upsert = uses[("upsert_user(text,text)", "User_pkey")]
    assert upsert["breaks_at"] == "rename" and "rewrite it as ON CONFLICT (id)" in upsert["needs"]
    sequence = uses[("next_legacy_message_id()", "AssistantMessage_id_seq")]
    assert sequence["breaks_at"] == "rename" and sequence["needs"].startswith("rename_objects: at_contract")
    assert report["summary"]["object_name_users"] == 2
    text = demo_db.runner("analyze").out
    assert "function next_legacy_message_id() names sequence AssistantMessage_id_seq (-> chat_messages_temp_id_seq)" in text

    config = demo_config(demo_db, rename_objects="at_contract")
    later = json.loads(demo_db.runner("analyze", "--format", "json", config=config).out)
    later_uses = {(u["who"], u["uses_name"]): u for u in later["object_names_in_use"]}
    assert later_uses[("next_legacy_message_id()", "AssistantMessage_id_seq")]["breaks_at"] == "contract"
    assert later_uses[("upsert_user(text,text)", "User_pkey")]["breaks_at"] == "rename"

    # Prisma makes "User_email_key" a unique index, not a constraint: ON CONSTRAINT cannot name it
    # even on the table, before any migration; the columns can.
    with pytest.raises(psycopg.errors.UndefinedObject, match='constraint "User_email_key" for table "User" does not exist'):
        demo_db.execute("""INSERT INTO "User" (id, email) VALUES ('usr_000001', 'x@example.com')
                           ON CONFLICT ON CONSTRAINT "User_email_key" DO NOTHING""")
    demo_db.execute("""INSERT INTO "User" (id, email) VALUES ('usr_new', 'user1@example.com')
                       ON CONFLICT (email) DO NOTHING""")
    assert demo_db.scalar("""SELECT count(*) FROM "User" WHERE id = 'usr_new'""") == 0

    # What analyze says, as PostgreSQL does it: through the view the constraint is looked up on
    # the view, which has none, even with its old name kept; the columns work before and after.
    assert demo_db.runner("migrate", config=config).code == 0
    with pytest.raises(psycopg.errors.UndefinedObject, match='constraint "User_pkey" for table "User" does not exist'):
        demo_db.execute("SELECT upsert_user('usr_000001', 'changed@example.com')")
    demo_db.execute("""INSERT INTO "User" (id, email) VALUES ('usr_000001', 'changed@example.com')
                       ON CONFLICT (id) DO UPDATE SET email = excluded.email""")
    assert demo_db.scalar("SELECT email FROM users WHERE id = 'usr_000001'") == "changed@example.com"
    assert demo_db.scalar("SELECT next_legacy_message_id()") > 0


@pytest.mark.parametrize("settings, message", [
    ({"rename_objects": "at_contract", "compatibility_views": False},
     "rename_objects: at_contract keeps the old object names for old clients, which reach the tables through the "
     "compatibility views; with compatibility_views: false nothing would use them"),
    ({"object_names": "at_contract"}, "when they are renamed is rename_objects: at_contract"),
    ({"rename_objects": "later"}, "rename_objects must be now or at_contract, got 'later'"),
])
def test_bad_rename_objects_settings_are_refused_before_connecting(demo_db, settings, message):
    dump = demo_db.schema_dump()
    result = demo_db.runner("migrate", config=demo_db.write_config({"User": "users"}, **settings))
    assert result.code == 2, result.text
    assert message in result.text
    assert demo_db.schema_dump() == dump
