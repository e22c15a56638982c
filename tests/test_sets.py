"""Numbered migration sets on a real database: the demo set applied by package, rolled back with
proof, applied again; edited, missing, misplaced and failing files refused with nothing changed."""
import json
import shutil

import jsonschema
import psycopg
import pytest

from conftest import PROJECT_DIR, psql

DEMO_SET = PROJECT_DIR / "sql" / "demo" / "sets"
PACKAGES = {"A": "000-018", "B": "019-020", "seed": "021-021", "C": "022-029", "D": "030-039"}


@pytest.fixture
def migrations(tmp_path):
    """A copy of the demo set, free to edit."""
    directory = tmp_path / "sets"
    shutil.copytree(DEMO_SET, directory)
    return directory


def sets_config(db, directory, packages=None):
    return db.write_config({}, migration_sets={"directory": str(directory), "packages": packages or PACKAGES})


def state(db, config) -> dict[str, str]:
    """What sets-status --json says of each migration, checked against its JSON Schema."""
    result = db.runner("sets-status", "--json", config=config)
    assert result.code == 0, result.text
    answer = json.loads(result.out)
    jsonschema.validate(answer, json.loads((PROJECT_DIR / "pgrename" / "reports" / "sets-status.schema.json").read_text()))
    return {m["name"]: m["state"] for m in answer["migrations"]}


def test_the_demo_set_applies_by_package_rolls_back_with_proof_and_applies_again(empty_db, migrations):
    config = sets_config(empty_db, migrations)
    assert set(state(empty_db, config).values()) == {"pending", "manual"}

    applied = empty_db.runner("sets-migrate", "--end", "A", config=config)
    assert applied.code == 0, applied.text
    after_a = empty_db.schema_dump()
    assert empty_db.table_names() == {"locations", "projects", "events", "participants"}
    applied = empty_db.runner("sets-migrate", "--start", "A", "--end", "B", config=config,
                              env={"DB_MIGRATION_STARTWITH": "B"})
    assert applied.code == 0, applied.text
    assert "applied 2 migration(s): 019_posts_and_status.sql, 020_tags.sql.j2" in applied.out
    assert state(empty_db, config) == {
        "000_locations.sql": "applied", "001_events.sql": "applied", "002_participants.sql": "applied",
        "003_events_starts_at_index.sql": "applied", "019_posts_and_status.sql": "applied",
        "020_tags.sql.j2": "applied", "021_seed_demo_rows.sql": "manual", "030_event_participants.yaml": "pending"}

    rolled_back = empty_db.runner("sets-rollback", "--to", "18", config=config)
    assert rolled_back.code == 0, rolled_back.text
    assert "020_tags.sql.j2, 019_posts_and_status.sql" in rolled_back.out
    assert empty_db.schema_dump() == after_a
    assert empty_db.runner("sets-migrate", "--end", "B", config=config).code == 0  # B again
    assert empty_db.runner("sets-validate", config=config).code == 0
    events = [row[0] for row in empty_db.query("SELECT event FROM pgrename.audit ORDER BY id")]
    assert events == ["sets_migrate", "sets_migrate", "sets_migrate", "sets_rollback", "sets_migrate"]  # 003 alone
    assert empty_db.scalar("SELECT count(*) FROM pgrename.set_migration WHERE status = 'applied'") == 6


def test_a_rename_step_is_a_numbered_migration_with_its_history_and_rollback(empty_db, migrations):
    config = sets_config(empty_db, migrations)
    assert empty_db.runner("sets-migrate", "--end", "B", config=config).code == 0
    before = empty_db.schema_dump()
    renamed = empty_db.runner("sets-migrate", config=config)
    assert renamed.code == 0, renamed.text
    assert "030_event_participants.yaml (one transaction)" in renamed.out
    assert "event_participants" in empty_db.table_names()
    assert empty_db.scalar("SELECT count(*) FROM participants") == 0  # the compatibility view
    assert empty_db.query("SELECT kind, status FROM pgrename.set_migration WHERE number = 30") == [("rename", "applied")]
    assert empty_db.query("SELECT migration, status FROM pgrename.history") == [("sets_030_event_participants", "applied")]
    assert empty_db.runner("verify", config=migrations / "030_event_participants.yaml").code == 0

    rolled_back = empty_db.runner("sets-rollback", "--to", "20", config=config)
    assert rolled_back.code == 0, rolled_back.text
    assert empty_db.schema_dump() == before
    assert empty_db.query("SELECT status FROM pgrename.history") == [("rolled_back",)]
    assert state(empty_db, config)["030_event_participants.yaml"] == "pending"


def test_the_environment_chooses_the_packages(empty_db, migrations):
    config = sets_config(empty_db, migrations)
    applied = empty_db.runner("sets-migrate", config=config, env={"DB_MIGRATION_ENDWITH": "A"})
    assert applied.code == 0, applied.text
    assert empty_db.table_names() == {"locations", "projects", "events", "participants"}


def test_a_manual_migration_runs_only_by_its_number(empty_db, migrations):
    config = sets_config(empty_db, migrations)
    assert empty_db.runner("sets-migrate", config=config).code == 0
    assert empty_db.scalar("SELECT count(*) FROM locations") == 0
    seeded = empty_db.runner("sets-migrate", "--only", "21", config=config)
    assert seeded.code == 0, seeded.text
    assert empty_db.scalar("SELECT count(*) FROM locations") == 2


def test_an_edited_applied_file_is_refused_until_accepted_and_line_endings_are_no_edit(empty_db, migrations):
    config = sets_config(empty_db, migrations)
    assert empty_db.runner("sets-migrate", "--end", "A", config=config).code == 0
    events = migrations / "001_events.sql"
    events.write_bytes(b"\xef\xbb\xbf" + events.read_bytes().replace(b"\n", b"\r\n"))  # a BOM and CRLF: no edit
    assert empty_db.runner("sets-validate", config=config).code == 0

    events.write_text(events.read_text().replace("title text NOT NULL", "title text"))
    dump = empty_db.schema_dump()
    validated = empty_db.runner("sets-validate", config=config)
    assert validated.code == 3 and "001_events.sql (edited)" in validated.text
    refused = empty_db.runner("sets-migrate", config=config)
    assert refused.code == 3 and "001_events.sql is edited" in refused.text
    assert empty_db.schema_dump() == dump

    accepted = empty_db.runner("sets-repair", "--accept", "1", config=config)
    assert accepted.code == 0, accepted.text
    assert empty_db.runner("sets-validate", config=config).code == 0
    repaired = empty_db.scalar("SELECT details FROM pgrename.audit WHERE event = 'sets_repair'")
    assert repaired["number"] == 1 and repaired["sha256_before"] != repaired["sha256_now"]


def test_a_missing_applied_file_is_refused(empty_db, migrations):
    config = sets_config(empty_db, migrations)
    assert empty_db.runner("sets-migrate", "--end", "A", config=config).code == 0
    (migrations / "002_participants.sql").unlink()
    (migrations / "rollback" / "002_participants.sql").unlink()
    validated = empty_db.runner("sets-validate", config=config)
    assert validated.code == 3 and "002_participants.sql (missing)" in validated.text
    as_json = empty_db.runner("sets-validate", "--json", config=config)
    answer = json.loads(as_json.out)
    jsonschema.validate(answer, json.loads((PROJECT_DIR / "pgrename" / "reports" / "sets-validate.schema.json").read_text()))
    assert as_json.code == 3 and [(p["number"], p["state"]) for p in answer["problems"]] == [(2, "missing")]


def test_a_file_below_the_applied_maximum_runs_only_when_allowed(empty_db, migrations):
    config = sets_config(empty_db, migrations)
    assert empty_db.runner("sets-migrate", config=config).code == 0
    (migrations / "010_notes.sql").write_text("CREATE TABLE notes (id int);\n")
    (migrations / "rollback" / "010_notes.sql").write_text("DROP TABLE notes;\n")
    assert state(empty_db, config)["010_notes.sql"] == "out_of_order"
    refused = empty_db.runner("sets-migrate", config=config)
    assert refused.code == 3 and "010_notes.sql would run below the applied 030_event_participants.yaml" in refused.text
    assert "notes" not in empty_db.table_names()
    allowed = empty_db.runner("sets-migrate", "--allow-out-of-order", config=config)
    assert allowed.code == 0, allowed.text
    assert empty_db.scalar("SELECT out_of_order FROM pgrename.set_migration WHERE number = 10") is True


def test_a_failing_migration_names_its_file_and_changes_nothing(empty_db, migrations):
    config = sets_config(empty_db, migrations)
    (migrations / "002_participants.sql").write_text("CREATE TABLE participants (id int);\nSELECT 1 / 0;\n")
    dump = empty_db.schema_dump()
    failed = empty_db.runner("sets-migrate", config=config)
    assert failed.code == 1
    assert "002_participants.sql" in failed.text and "division by zero" in failed.text
    assert empty_db.schema_dump() == dump  # 000 and 001 rolled back with it: one transaction
    assert empty_db.scalar("SELECT count(*) FROM pgrename.set_migration") == 0
    assert empty_db.scalar("SELECT count(*) FROM pgrename.audit WHERE event = 'sets_failed'") == 1


def test_a_rollback_over_an_irreversible_migration_is_refused(empty_db, migrations):
    config = sets_config(empty_db, migrations)
    (migrations / "rollback" / "020_tags.sql").unlink()
    tags = migrations / "020_tags.sql.j2"
    tags.write_text("-- pgrename: irreversible\n" + tags.read_text())
    assert empty_db.runner("sets-migrate", config=config).code == 0
    dump = empty_db.schema_dump()
    refused = empty_db.runner("sets-rollback", "--to", "2", config=config)
    assert refused.code == 3 and "020_tags.sql.j2 is irreversible" in refused.text
    assert empty_db.schema_dump() == dump


def test_baseline_adopts_a_database_built_without_pgrename(empty_db, migrations):
    for name in ("000_locations.sql", "001_events.sql", "002_participants.sql"):
        psql(empty_db.url, "-f", str(migrations / name))
    config = sets_config(empty_db, migrations)
    baselined = empty_db.runner("sets-baseline", "--at", "18", config=config)
    assert baselined.code == 0, baselined.text
    assert state(empty_db, config)["002_participants.sql"] == "baselined"
    assert empty_db.runner("sets-migrate", config=config).code == 0
    assert "posts" in empty_db.table_names()
    again = empty_db.runner("sets-baseline", "--at", "18", config=config)
    assert again.code == 3 and "recorded here already" in again.text


def test_the_plan_runs_as_is_in_psql(empty_db, migrations):
    """Three scripts: 000-002 in one transaction, 003 (CREATE INDEX CONCURRENTLY) outside one, 019-020;
    then the rename step 030, planned once the tables it renames exist."""
    config = sets_config(empty_db, migrations)
    assert empty_db.runner("schema-upgrade").code == 0
    planned = empty_db.runner("sets-plan", config=config)
    assert planned.code == 0, planned.text
    assert "sets-migrate-2.sql: outside a transaction (psql without --single-transaction)" in planned.out
    build = empty_db.workdir / "build"
    psql(empty_db.url, "--single-transaction", "-f", str(build / "sets-migrate-1.sql"))
    psql(empty_db.url, "-f", str(build / "sets-migrate-2.sql"))
    psql(empty_db.url, "--single-transaction", "-f", str(build / "sets-migrate-3.sql"))
    assert "the rename step after it is planned from the catalog once the scripts before it have run" in planned.out
    assert state(empty_db, config)["030_event_participants.yaml"] == "pending"
    planned_rename = empty_db.runner("sets-plan", config=config)
    assert planned_rename.code == 0, planned_rename.text
    psql(empty_db.url, "--single-transaction", "-f", str(build / "sets-migrate.sql"))
    assert set(state(empty_db, config).values()) == {"applied", "manual"}
    assert "event_participants" in empty_db.table_names()
    assert empty_db.scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = 'events_starts_at_idx'::regclass")


def test_a_no_transaction_migration_that_fails_half_way_is_reported_repaired_and_run_again(empty_db, migrations):
    config = sets_config(empty_db, migrations)
    assert empty_db.runner("sets-migrate", "--to", "2", config=config).code == 0
    empty_db.execute("INSERT INTO locations (xmlid, name) VALUES ('a', 'Hall'), ('b', 'Hall')")
    (migrations / "004_unique_names.sql").write_text(
        "-- pgrename: no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY locations_name_key ON locations (name);\n")
    (migrations / "rollback" / "004_unique_names.sql").write_text("DROP INDEX locations_name_key;\n")

    failed = empty_db.runner("sets-migrate", config=config)
    assert failed.code == 1
    assert "004_unique_names.sql" in failed.text and "could not create unique index" in failed.text
    assert "invalid index public.locations_name_key on locations" in failed.text
    assert state(empty_db, config)["004_unique_names.sql"] == "failed"
    assert empty_db.runner("sets-migrate", config=config).code == 3  # refused while it is failed

    assert empty_db.runner("sets-repair", "--accept", "4", config=config).code == 0
    empty_db.execute("UPDATE locations SET name = 'Garden' WHERE xmlid = 'b'")
    again = empty_db.runner("sets-migrate", config=config)
    assert again.code == 0, again.text
    assert "dropping the invalid index public.locations_name_key" in again.text
    assert empty_db.scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = 'locations_name_key'::regclass")
    assert state(empty_db, config)["004_unique_names.sql"] == "applied"


@pytest.mark.parametrize("change, message", [
    (lambda d: (d / "002_again.sql").write_text("SELECT 1;\n"),
     "002_again.sql and 002_participants.sql have the same number 2"),
    (lambda d: (d / "050_late.sql").write_text("SELECT 1;\n"), "050_late.sql: number 50 is in no package"),
    (lambda d: (d / "rollback" / "001_events.sql").unlink(), "001_events.sql has no rollback file"),
    (lambda d: (d / "notes.txt").write_text("x"), "notes.txt: not a migration file name"),
    (lambda d: (d / "031_rename.yaml").write_text("migration: m\ntabels: {a: b}\n"), "unknown key 'tabels'"),
    (lambda d: (d / "031_rename.yaml").write_text("tables: {events: happenings}\n"),
     "031_rename.yaml: a rename step names no migration"),
])
def test_bad_files_are_refused_before_anything_connects(empty_db, migrations, change, message):
    change(migrations)
    result = empty_db.runner("sets-status", config=sets_config(empty_db, migrations))
    assert result.code == 2 and message in result.text, result.text


@pytest.mark.parametrize("args, message", [
    (("--start", "B", "--end", "A"), "the start (B) comes after the end (A)"),
    (("--end", "Z"), "unknown package 'Z'; packages: A, B, seed, C, D"),
])
def test_a_bad_range_is_refused(empty_db, migrations, args, message):
    result = empty_db.runner("sets-migrate", *args, config=sets_config(empty_db, migrations))
    assert result.code == 2 and message in result.text, result.text


@pytest.mark.parametrize("packages, message", [
    ({"A": "000-018", "B": "010-020"}, "packages 'A' and 'B' overlap at 10"),
    ({"A": "018-000"}, "package 'A' starts at 18, after its end 0"),
    ({"A": "first"}, "package 'A': 'first' is not a range"),
])
def test_bad_packages_are_refused(empty_db, migrations, packages, message):
    result = empty_db.runner("sets-status", config=sets_config(empty_db, migrations, packages))
    assert result.code == 2 and message in result.text, result.text


def test_rehearse_runs_the_range_and_its_rollback_on_a_copy(empty_db, migrations):
    config = sets_config(empty_db, migrations)
    assert empty_db.runner("sets-migrate", "--end", "A", config=config).code == 0
    dump = empty_db.schema_dump()
    rehearsed = empty_db.runner("sets-rehearse", config=config)
    assert rehearsed.code == 0, rehearsed.text
    assert "sets-rollback to 018" in rehearsed.out and "rehearsal passed" in rehearsed.out
    assert empty_db.schema_dump() == dump and state(empty_db, config)["019_posts_and_status.sql"] == "pending"

    (migrations / "rollback" / "019_posts_and_status.sql").write_text("DROP TABLE posts;\n")  # forgets the column
    failed = empty_db.runner("sets-rehearse", config=config)
    assert failed.code == 3 and "rehearsal failed at sets-rollback to 018" in failed.text
    assert "the schema is not what it was before 019_posts_and_status.sql ran" in failed.text
    assert empty_db.schema_dump() == dump
    assert not empty_db.scalar("SELECT count(*) FROM pg_database WHERE datname LIKE %s", (f"{empty_db.name}_rehearsal%",))


def test_a_set_run_waits_for_another_run_then_changes_nothing(empty_db, migrations):
    config = empty_db.write_config({}, lock_timeout="300ms",
                                   migration_sets={"directory": str(migrations), "packages": PACKAGES})
    with psycopg.connect(empty_db.url, autocommit=True, application_name="other_run") as other:
        other.execute("SELECT pg_advisory_lock(1885827685, 1)")
        for command in ("sets-migrate", "sets-rollback", "sets-baseline"):
            result = empty_db.runner(command, "--to" if command != "sets-baseline" else "--at", "2", config=config)
            assert result.code == 4 and "another pgrename run holds this database" in result.text, result.text
    assert empty_db.table_names() == set()


def test_a_repeatable_migration_runs_again_when_its_file_changes(empty_db, migrations):
    (migrations / "005_upcoming_view.sql").write_text(
        "-- pgrename: repeatable\nCREATE OR REPLACE VIEW upcoming AS SELECT xmlid FROM events;\n")
    (migrations / "rollback" / "005_upcoming_view.sql").write_text("DROP VIEW upcoming;\n")
    config = sets_config(empty_db, migrations)
    assert empty_db.runner("sets-migrate", config=config).code == 0
    (migrations / "005_upcoming_view.sql").write_text(
        "-- pgrename: repeatable\nCREATE OR REPLACE VIEW upcoming AS SELECT xmlid, title FROM events;\n")
    assert state(empty_db, config)["005_upcoming_view.sql"] == "changed"
    assert empty_db.runner("sets-validate", config=config).code == 0  # a change, not an edit
    again = empty_db.runner("sets-migrate", config=config)
    assert again.code == 0, again.text
    assert "applied 1 migration(s): 005_upcoming_view.sql" in again.out
    assert [r[0] for r in empty_db.query("SELECT attname FROM pg_attribute WHERE attrelid = 'upcoming'::regclass"
                                         " ORDER BY attnum")] == ["xmlid", "title"]
    assert state(empty_db, config)["005_upcoming_view.sql"] == "applied"
