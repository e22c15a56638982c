"""Every --json output: the shared envelope (format_version, command), its JSON Schema in
pgrename/reports/, ISO 8601 UTC timestamps, and an error object in place of the answer on failure."""
import json

import jsonschema
import pytest

from conftest import PROJECT_DIR
from pgrename import cli

REPORTS = PROJECT_DIR / "pgrename" / "reports"
DEMO = {"User": "users", "AssistantFolder": "chat_folders"}


def answer(result, command: str, exit_code: int = 0) -> dict:
    """The JSON a command printed, checked against the schema of what it says."""
    assert result.code == exit_code, result.text
    document = json.loads(result.out)
    assert document["format_version"] == 1 and document["command"] == command
    schema = "error" if "error" in document else "already_applied" if "already_applied" in document else command
    jsonschema.validate(document, json.loads((REPORTS / f"{schema}.schema.json").read_text()))
    return document


def test_every_command_with_json_output_has_its_schema():
    with_json = {c.name for c in cli.COMMANDS if any("--json" in o.flags for o in c.options)} | {"analyze", "validate"}
    assert with_json == {"analyze", "plan", "status", "dumps", "backup", "backup-verify", "backup-diff", "restore",
                         "sets-status", "sets-validate", "export", "import", "validate", "merge-prepare"}
    assert all((REPORTS / f"{name}.schema.json").exists() for name in with_json)


def test_plan_status_and_backups_answer_in_their_schemas(demo_db, restore_target, tmp_path):
    config = demo_db.write_config(DEMO, columns={"User": {"add": {"note": {"type": "text", "references": "User"}}}})
    env = {"PGRENAME_BACKUP_DIR": str(tmp_path / "backups")}

    plan = answer(demo_db.runner("plan", "--json", config=config), "plan")
    assert {a["kind"] for a in plan["additions"]} == {"column", "constraint", "view"}
    assert set(plan["scripts"]) == {"migrate", "rollback", "validate"}

    answer(demo_db.runner("backup", "--to", str(tmp_path / "backups" / "one"), "--json", config=config), "backup")
    answer(demo_db.runner("backup", "--to", str(tmp_path / "backups" / "two"), "--archive", "--json", config=config),
           "backup")
    verified = answer(demo_db.runner("backup-verify", str(tmp_path / "backups" / "one"), "--json"), "backup-verify")
    assert verified["taken_at"].endswith("Z")
    answer(demo_db.runner("backup-diff", str(tmp_path / "backups" / "one"), str(tmp_path / "backups" / "two.tar"),
                          "--json"), "backup-diff")
    listed = answer(demo_db.runner("dumps", "--json", env=env), "dumps")
    assert [(b["kind"], b["path"].rsplit("/", 1)[-1]) for b in listed["backups"]] == [("data", "one"), ("data", "two.tar")]
    answer(restore_target.runner("restore", str(tmp_path / "backups" / "one"), "--schema", "--json", config=config),
           "restore")

    assert demo_db.runner("migrate", config=config).code == 0
    status = answer(demo_db.runner("status", "--json"), "status")
    assert [h["migration"] for h in status["history"]] == ["test_migration"]
    assert all(event["logged_at"].endswith("Z") for event in status["audit"])


def test_an_applied_migration_gets_one_answer_from_every_command(demo_db):
    config = demo_db.write_config(DEMO)
    assert demo_db.runner("migrate", config=config).code == 0
    for command in ("analyze", "plan", "dry-run", "migrate", "rehearse"):
        result = demo_db.runner(command, config=config)
        assert result.code == 0, (command, result.text)
        assert "migration test_migration is already applied" in result.out and "nothing to do" in result.out
        assert "`make rollback` undoes it" in result.out
    answer(demo_db.runner("plan", "--json", config=config), "plan")
    applied = answer(demo_db.runner("analyze", "--format", "json", config=config), "analyze")
    assert applied["already_applied"]["migration"] == "test_migration"
    assert applied["already_applied"]["applied_at"].endswith("Z")


@pytest.mark.parametrize("command", [("plan", "--json"), ("analyze", "--format", "json")])
def test_a_failing_command_answers_with_an_error_object(demo_db, command):
    config = demo_db.write_config({"NoSuchTable": "x"}, lock_timeout="nonsense")
    failed = answer(demo_db.runner(*command, config=config), command[0], exit_code=2)
    assert failed["error"] == {"exit_code": 2, "message": failed["error"]["message"]}
    assert "lock_timeout must be a duration" in failed["error"]["message"]
    config = demo_db.write_config({"NoSuchTable": "x"})
    if command[0] == "plan":
        failed = answer(demo_db.runner(*command, config=config), "plan", exit_code=3)
        assert "NoSuchTable" in failed["error"]["message"]
