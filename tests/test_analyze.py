"""analyze: each section of the report on a real database, its exit codes, JSON shape, and the
starter config it writes."""
import json

import jsonschema
import psycopg
import pytest
from conftest import PROJECT_DIR

SCHEMA = json.loads((PROJECT_DIR / "pgrename" / "reports" / "analyze.schema.json").read_text())
DEMO = {"User": "users", "AssistantFolder": "chat_folders"}


def analyze_json(db, tables=None, *args, **settings):
    config = db.write_config(tables if tables is not None else DEMO, **settings)
    result = db.runner("analyze", "--format", "json", *args, config=config)
    report = json.loads(result.out)
    jsonschema.validate(report, SCHEMA)
    return result.code, report


def test_demo_report_sections_and_json_shape(demo_db):
    code, report = analyze_json(demo_db)
    assert code == 0
    summary = report["summary"]
    assert (summary["tables"], summary["matching"], summary["mapped"], summary["conflicts"]) == (57, 57, 2, 0)
    statuses = {t["source_table"]: (t["status"], t["target_table"]) for t in report["tables"]}
    assert statuses["User"] == ("mapped", "users")
    assert statuses["AssistantChatSession"] == ("rule", "assistant_chat_session")
    user = {(d["kind"], d["name"]): d for d in report["dependencies"]["User"]}
    assert user[("constraint", "User_pkey")]["planned_name"] == "users_pkey"
    assert user[("index", "User_email_key")]["planned_name"] == "users_email_key"
    assert user[("view", "active_users")]["breaks_on_rename"] is False
    assert sum(kind == "foreign key in" for kind, _ in user) == 54
    assert user[("foreign key in", "Post_userId_fkey")]["planned_name"] is None
    volume = {v["source_table"]: v for v in report["volume"]}
    assert volume["User"]["estimated_rows"] == 5000 and volume["User"]["exact_rows"] is None
    assert volume["User"]["total_bytes"] > 0
    assert [r["object_name"] for r in report["plan"]["renames"] if r["kind"] == "table"] == \
        ["AssistantFolder", "User"]
    assert 0 < report["risk"]["estimated_lock_ms"] < 1000
    assert "whatever the tables hold" in report["risk"]["explanation"]


def test_function_whose_source_names_a_table_is_found_with_its_line(demo_db):
    demo_db.execute('CREATE FUNCTION folder_names() RETURNS SETOF text LANGUAGE sql'
                    ' AS $$\n-- names from "AssistantFolder"\n/* "AssistantFolder"\n "User" */ SELECT name -- "User"\nFROM "AssistantFolder"\n$$;'
                    " CREATE FUNCTION unrelated() RETURNS text LANGUAGE sql AS $$ SELECT 'the user' $$;"
                    ' CREATE FUNCTION commented() RETURNS int LANGUAGE sql AS $$ /* was: FROM "User" */ SELECT 1 $$')
    code, report = analyze_json(demo_db, compatibility_views=False)
    broken = {(table, d["name"]): d["detail"] for table, deps in report["dependencies"].items()
              for d in deps if d["breaks_on_rename"]}
    assert broken == {
        ("User", "active_user_count()"): 'line 3: RETURN (SELECT count(*) FROM "User" WHERE "isActive");',
        ("AssistantFolder", "folder_names()"): 'line 5: FROM "AssistantFolder"',
    }  # not the comment lines before it; and commented() names "User" only in a comment
    # With compatibility views the old names answer until contract: that is when they break.
    code, report = analyze_json(demo_db)
    assert {(table, d["name"], d["breaks_at"]) for table, deps in report["dependencies"].items()
            for d in deps if d["breaks_at"]} == {("User", "active_user_count()", "contract"),
                                                 ("AssistantFolder", "folder_names()", "contract")}


def test_policies_publications_and_grants_are_listed(demo_db):
    role = f"reader_{demo_db.name}"
    demo_db.execute(f'CREATE ROLE {role}; GRANT SELECT, UPDATE ON "User" TO {role};'
                    ' CREATE POLICY own_rows ON "User" USING (id = current_user);'
                    ' CREATE PUBLICATION users_pub FOR TABLE "User"')
    _, report = analyze_json(demo_db)
    user = {(d["kind"], d["name"]): d["detail"] for d in report["dependencies"]["User"]}
    assert user[("grant", role)] == "SELECT, UPDATE"
    assert user[("policy", "own_rows")] == "ALL for (id = CURRENT_USER)"
    assert user[("publication", "users_pub")] == "lists the table"


@pytest.mark.parametrize("tables, setup, kind, detail", [
    ({"Nope": "nope"}, "", "source_missing", 'table public."Nope" does not exist'),
    ({"User": "users"}, "CREATE TABLE users (id int)", "target_exists", "table users already exists with about 0 rows"),
    ({"AssistantFolder": "chat_folders"},
     'CREATE TABLE chat_folders (LIKE "AssistantFolder")', "target_exists",
     "it is empty and has the same columns: drop it, or merge into it, then rename"),
    ({"User": "users", "Account": "users"}, "", "duplicate_target", "2 tables are mapped to users"),
    ({"Account": "order"}, "", "case_collision", '"order" differs from "Order" only by case'),
    ({"User": "u" * 64}, "", "too_long", "is 64 bytes; PostgreSQL would truncate it to 63"),
    ({"User": "x" * 63 + "a", "Account": "x" * 63 + "b"}, "", "truncation_collision", "are the same name"),
    ({"User": "AuditLog", "AuditLog": "User"}, "", "swap", "no order works"),
    ({"AuditLog": "User", "User": "users"}, "", "chain", '"User" is itself renamed (to users) first'),
    ({"User": "select"}, "", "reserved_word", '"select" is a reserved word'),
    ({"User": "ilike"}, "", "reserved_word", '"ilike" is a reserved word'),
    ({"User": "verbose"}, "", "reserved_word", '"verbose" is a reserved word'),
])
def test_each_kind_of_conflict(demo_db, tables, setup, kind, detail):
    if setup:
        demo_db.execute(setup)
    code, report = analyze_json(demo_db, tables)
    found = [c for c in report["conflicts"] if c["kind"] == kind]
    assert found and detail in found[0]["detail"], report["conflicts"]
    severity = found[0]["severity"]
    assert code == (6 if severity == "error" or report["preflight"] else 0)
    if kind == "chain":  # "User" moves on, but its compatibility view would want the name AuditLog takes
        assert report["preflight"] == [{"check": "every type, column, foreign key and view to add can be added",
                                        "problem": 'compatibility view "User" cannot be created: another table '
                                                   'takes that name'}]
    assert severity == ("warning" if kind in ("chain", "reserved_word") else "error")


def test_a_blocker_session_is_shown_and_sets_the_exit_code(demo_db):
    with psycopg.connect(demo_db.url, application_name="nightly_export") as blocker:
        blocker.execute('SELECT count(*) FROM "User"')
        pid = blocker.info.backend_pid
        code, report = analyze_json(demo_db)
        text = demo_db.runner("analyze", config=demo_db.write_config(DEMO))
    assert code == 7
    [session] = report["blockers"]
    assert (session["pid"], session["application_name"], session["locked_table"], session["mode"]) == \
        (pid, "nightly_export", '"User"', "AccessShareLock")
    assert session["state"] == "idle in transaction"
    assert f"pid {pid} user postgres application 'nightly_export'" in text.out
    assert "would wait for them up to lock_timeout" in report["risk"]["explanation"]


def test_discovery_include_exclude_and_missing(demo_db):
    _, report = analyze_json(demo_db, {"User": "users", "Gone": "gone"},
                             include=["Assistant*", "User", "Audit?og"], exclude=["*Message"])
    statuses = {t["source_table"]: t["status"] for t in report["tables"]}
    assert statuses["User"] == "mapped"
    assert statuses["AssistantFolder"] == "rule" and statuses["AuditLog"] == "rule"
    assert statuses["AssistantChatMessage"] == "excluded" and statuses["Post"] == "excluded"
    assert statuses["Gone"] == "missing"
    assert report["summary"]["missing"] == 1


@pytest.mark.parametrize("name, snake", [
    ("User", "user"), ("AssistantChatSession", "assistant_chat_session"), ("HTTPRequestLog", "http_request_log"),
    ("UserID", "user_id"), ("OAuth2Token", "o_auth2_token"), ("Table2Go", "table2_go"),
    ("already_snake", "already_snake"),
])
def test_naming_rule(empty_db, name, snake):
    empty_db.execute(f'CREATE TABLE "{name}" (id int)')
    _, report = analyze_json(empty_db, {})
    [table] = report["tables"]
    assert table["rule_target"] == snake
    assert table["status"] == ("snake_case" if name == snake else "rule")


def test_exact_counts(demo_db):
    demo_db.execute('INSERT INTO "AssistantFolder" (id, "userId", name) VALUES (\'new\', \'usr_000001\', \'x\')')
    _, report = analyze_json(demo_db, DEMO, "--exact")
    volume = {v["source_table"]: v for v in report["volume"]}
    assert volume["AssistantFolder"]["exact_rows"] == 4001
    assert report["summary"]["exact_counts"] is True


def test_recent_statements_using_old_names(demo_db):
    """A client's queries, one line each; not the loader's DDL, nor pgrename's own statements."""
    demo_db.execute("CREATE EXTENSION pg_stat_statements")
    demo_db.execute('COMMENT ON TABLE "User" IS \'loaded\'; CREATE INDEX user_note ON "User" (email)')
    for _ in range(3):
        demo_db.query('SELECT email\n  FROM "User"\n WHERE id = %s', ("usr_000001",))
    assert demo_db.runner("dry-run", config=demo_db.write_config(DEMO)).code == 0   # pgrename's LOCK, ALTER, VIEW...
    _, report = analyze_json(demo_db)
    found = [s for s in report["statements"] if s["source_table"] == "User"]
    assert [(s["query"], s["calls"]) for s in found] == [('SELECT email FROM "User" WHERE id = $1', 3)]
    markdown = demo_db.runner("analyze", "--format", "markdown", config=demo_db.write_config(DEMO)).out
    assert '| `User` | 3 | 3 |' in markdown and '`SELECT email FROM "User" WHERE id = $1` |' in markdown


def test_text_and_markdown_reports(demo_db):
    config = demo_db.write_config(DEMO)
    text = demo_db.runner("analyze", config=config)
    assert text.code == 0
    assert "57 of 57 tables match the naming rule; 2 mapped; 0 conflict(s); 0 blocking session(s)" in text.out
    assert "BREAKS AT CONTRACT  function active_user_count(): line 3" in text.out
    assert "The 2 merge(s)" not in text.out  # this config merges nothing; the demo's does (below)
    markdown = demo_db.runner("analyze", "--format", "markdown", config=config)
    assert markdown.code == 0
    assert markdown.out.startswith("## pgrename analyze:")  # the document alone: no log lines around it
    assert not any(line.startswith(("log: ", "pgrename analyze: migration")) for line in markdown.out.splitlines())
    assert "| kind | name | new name (object_names: table_prefix) | with object_names: postgres_defaults |" in markdown.out
    assert "| constraint | `User_pkey` | `users_pkey` | same |" in markdown.out


def test_written_config_round_trips_through_plan_and_migrate(demo_db):
    starter = demo_db.workdir / "starter.yaml"
    config = demo_db.write_config(DEMO, exclude=["AuditLog"])
    result = demo_db.runner("analyze", "--write-config", str(starter), config=config)
    assert result.code == 0, result.text
    text = starter.read_text()
    assert "User: users" in text and "AssistantChatSession: assistant_chat_session" in text
    assert "AuditLog" not in text.split("tables:")[1]
    assert demo_db.runner("plan", config=starter).code == 0
    assert demo_db.runner("migrate", config=starter).code == 0
    assert {"users", "assistant_chat_session", "o_auth_token", "AuditLog"} <= demo_db.table_names()


def test_write_config_never_overwrites(demo_db):
    existing = demo_db.workdir / "mine.yaml"
    existing.write_text("# mine\n")
    result = demo_db.runner("analyze", "--write-config", str(existing), config=demo_db.write_config(DEMO))
    assert result.code == 2
    assert "exists already" in result.text
    assert existing.read_text() == "# mine\n"


def test_plan_refuses_a_config_without_tables(demo_db):
    result = demo_db.runner("plan", config=demo_db.write_config({}))
    assert result.code == 2
    assert "maps no tables" in result.text


def test_what_old_clients_meet_follows_compatibility_views(demo_db):
    _, with_views = analyze_json(demo_db)
    assert "keep working through the 2 compatibility view(s)" in with_views["risk"]["explanation"]
    assert "fail until they change" not in with_views["risk"]["explanation"]
    _, without = analyze_json(demo_db, compatibility_views=False)
    assert "old names fail until they change (compatibility_views is false)" in without["risk"]["explanation"]


@pytest.mark.parametrize("tables, settings, setup, problem", [
    ({"User": "u" * 59, "AssistantFolder": "f" * 59}, {}, "", "constraint name " + "u" * 59 + "_pkey is 64 bytes"),
    ({"User": "users"}, {"column_rule": "snake_case"}, 'ALTER TABLE "User" ADD COLUMN created_at timestamp',
     'table "User" would have 2 columns named created_at'),
])
def test_analyze_reports_what_plan_refuses(demo_db, tables, settings, setup, problem):
    if setup:
        demo_db.execute(setup)
    code, report = analyze_json(demo_db, tables, **settings)
    assert code == 6 and report["summary"]["preflight_problems"] >= 1
    assert any(problem in p["problem"] for p in report["preflight"]), report["preflight"]
    planned = demo_db.runner("plan", config=demo_db.write_config(tables, **settings))
    assert planned.code == 3 and problem in planned.text


def test_the_starter_config_says_each_warning_beside_its_line_and_when_nothing_matched(demo_db, empty_db, tmp_path):
    from pgrename.config import load_config
    starter = tmp_path / "starter.yaml"
    result = demo_db.runner("analyze", "--write-config", str(starter), config=demo_db.write_config({"User": "user"}))
    assert result.code == 0, result.text
    line = next(line for line in starter.read_text().splitlines() if line.startswith("  User:"))
    assert line.startswith("  User: user  # WARNING reserved_word: ") and '"user" is a reserved word' in line
    assert load_config(starter).tables["User"] == "user"

    empty_db.execute("CREATE TABLE already_snake (id int)")
    nothing = tmp_path / "nothing.yaml"
    assert empty_db.runner("analyze", "--write-config", str(nothing), config=empty_db.write_config({})).code == 0
    assert "# Nothing matched: no table of schema public is mapped or proposed" in nothing.read_text()
    assert load_config(nothing).tables == {}


def test_the_lock_estimate_counts_the_merges_rows(demo_db):
    """The demo's merges copy ~15,000 legacy rows: the estimate says so, and that it grows with them."""
    demo_db.execute('ANALYZE "AssistantConversation", "AssistantMessage"')
    result = demo_db.runner("analyze", "--format", "json", config=PROJECT_DIR / "config.yaml")
    risk = json.loads(result.out)["risk"]
    legacy = demo_db.scalar('SELECT (SELECT count(*) FROM "AssistantConversation")'
                            ' + (SELECT count(*) FROM "AssistantMessage")')
    assert risk["merged_rows"] == legacy > 10_000
    assert risk["estimated_lock_ms"] > risk["estimated_merge_ms"] > 100
    assert "grows with the legacy tables" in risk["explanation"]
