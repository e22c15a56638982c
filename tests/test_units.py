"""Fast tests with no database and no subprocess: config loading, plan building, rendering, and
the command registry."""
import inspect
from pathlib import Path

import pytest

from pgrename import cli, config, plan, render
from pgrename.errors import ConfigError

DEMO_CONFIG = Path(__file__).resolve().parent.parent / "config.yaml"


def test_the_demo_config_loads_as_written():
    loaded = config.load_config(DEMO_CONFIG)
    assert loaded.migration == "assistant_snake_case" and loaded.schema == "public"
    assert loaded.tables["User"] == "users" and len(loaded.tables) == 6
    assert loaded.column_renames == {"AssistantChatSession": {"sessionName": "title", "lastActiveAt": "lastMessageAt"}}
    role = next(c for c in loaded.added_columns if c.name == "role")
    assert (role.type, role.type_is_enum, role.not_null, role.default) == ("UserRole", True, True, "USER")
    assert [m.source for m in loaded.merges] == ["AssistantConversation", "AssistantMessage"]
    assert loaded.profile.name == "development" and not loaded.profile.require_approval


def test_a_profile_from_the_command_line_wins(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("migration: m\ntables: {A: b}\nprofile: staging\n")
    assert config.load_config(path).profile.auto_backup is True
    assert config.load_config(path, "production").profile.require_approval is True
    with pytest.raises(ConfigError, match="profile 'nope' is not defined"):
        config.load_config(path, "nope")


def test_additions_come_in_the_order_they_are_made_with_what_rollback_needs():
    loaded = config.load_config(DEMO_CONFIG)
    columns = [{"kind": "column", "table_schema": "public", "source_table": "User", "object_name": "email", "target_name": "email",
                "note": None}]
    found = plan.additions(loaded, columns)
    assert [a["kind"] for a in found][:1] == ["type"] and found[0]["detail"] == {"values": ["USER", "ADMIN"]}
    assert [a["ordinal"] for a in found] == list(range(1, len(found) + 1))
    fkey = next(a for a in found if a["kind"] == "constraint")
    assert (fkey["table_name"], fkey["object_name"], fkey["detail"]["references"]) == \
        ("chat_sessions", "chat_sessions_folderId_fkey", "chat_folders")
    assert [a["object_name"] for a in found if a["kind"] == "view"] == ["User"]  # only tables whose columns are known


def a_plan() -> plan.Plan:
    renames = [{"ordinal": 1, "kind": "table", "table_schema": "public", "source_table": "User",
                "target_table": "users", "object_schema": "public", "object_name": "User", "target_name": "users",
                "at_contract": False},
               {"ordinal": 2, "kind": "constraint", "table_schema": "public", "source_table": "User",
                "target_table": "users", "object_schema": "public", "object_name": "User_pkey",
                "target_name": "users_pkey", "at_contract": False}]
    return plan.Plan("m", "public", "5s", "5min", renames=renames)


def test_the_migrate_script_is_sealed_and_ordered():
    script = plan.migrate_script(a_plan())
    templates = [part.template for part in script.parts]
    assert templates[:7] == ["sql/header.sql.j2", "sql/run_lock.sql.j2", "sql/verify/preflight.sql.j2",
                             "sql/audit/own_schema_version.sql.j2", "sql/lock_tables.sql.j2",
                             "sql/merge_prepare/stop_capture.sql.j2", "sql/audit/migration_start.sql.j2"]
    assert templates[-2:] == ["sql/verify/postcheck.sql.j2", "sql/audit/migration_complete.sql.j2"]
    assert render.sealed_sha256(script.text) == (script.sha256, script.sha256)
    assert 'ALTER TABLE "public"."User" RENAME TO "users";' in script.text
    assert 'RENAME CONSTRAINT "User_pkey" TO "users_pkey";' in script.text
    tampered = script.text.replace('RENAME TO "users"', 'RENAME TO "people"')
    stated, actual = render.sealed_sha256(tampered)
    assert stated == script.sha256 and actual != stated


def test_rollback_mirrors_every_step_in_reverse():
    migrate = [p.template for p in plan.migrate_script(a_plan()).parts if p.template[4:7].isdigit()]
    rollback = [p.template for p in plan.rollback_script(a_plan()).parts if p.template[9:12].isdigit()]
    assert [t.replace("sql/", "") for t in migrate] == [t.replace("rollback/", "") for t in reversed(rollback)]


def test_every_command_is_declared_once_and_its_handler_takes_exactly_its_options():
    names = [name for command in cli.COMMANDS for name in (command.name, *command.old_names)]
    assert len(names) == len(set(names))
    for command in cli.COMMANDS:
        parameters = list(inspect.signature(command.handler).parameters)
        assert parameters[0] == "ctx", command.name
        assert sorted(parameters[1:]) == sorted(o.dest for o in command.options), command.name


def test_the_runner_finds_no_command_by_building_a_name():
    source = "".join(path.read_text() for path in Path(cli.__file__).parent.rglob("*.py"))
    assert "getattr(commands" not in source and "inspect.signature" not in source


def test_the_analyze_json_schema_knows_every_kind_a_plan_holds():
    import json
    from pgrename import kinds
    schema = json.loads((Path(cli.__file__).parent / "reports" / "analyze.schema.json").read_text())
    # and the kinds only ever left alone, named after a table without being its own
    assert set(schema["$defs"]["planned"]["properties"]["kind"]["enum"]) == {*kinds.RENAMED, "partition", "view"}
    additions = schema["properties"]["plan"]["properties"]["additions"]["items"]
    assert set(additions["properties"]["kind"]["enum"]) == set(kinds.ADDED)


def test_an_unexpected_error_is_one_line_and_its_traceback_goes_to_the_log_only(tmp_path, monkeypatch, capsys):
    """A failure nobody foresaw (here: a command whose handler divides by zero) reaches the DBA as one line."""
    import dataclasses

    def broken(ctx, as_json, events):
        raise ZeroDivisionError("something pgrename did not foresee\nsecond line")

    commands = tuple(dataclasses.replace(c, handler=broken, needs_database=False) if c.name == "status" else c
                     for c in cli.COMMANDS)
    monkeypatch.setattr(cli, "BY_NAME", {name: c for c in commands for name in (c.name, *c.old_names)})
    monkeypatch.setattr(cli, "LOG_DIR", tmp_path)

    assert cli.main(["status"]) == 1

    shown = capsys.readouterr()
    [log_file] = tmp_path.glob("status-*.log")
    assert [line for line in (shown.out + shown.err).splitlines() if line.startswith("error:")] == [
        "error: internal error, ZeroDivisionError: something pgrename did not foresee; an open transaction, if "
        f"any, was rolled back. This is a bug in pgrename: the traceback is in {log_file}"]
    assert "Traceback" not in shown.out + shown.err
    assert "Traceback (most recent call last)" in log_file.read_text()
