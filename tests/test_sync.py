"""Natural-key sync on real databases: an export from one machine imported into another whose
serial ids differ, in each mode, with local edits kept, late-bound self and cyclic references, the
validation suite, and every bad input refused with nothing changed."""
import json
import shutil

import jsonschema
import psycopg
import pytest
import zstandard

from conftest import PROJECT_DIR, psql
from pgrename import own_schema
from pgrename.config import load_config
from pgrename.sync import load

FIXTURES = PROJECT_DIR / "tests" / "fixtures" / "sync"
REPORTS = PROJECT_DIR / "pgrename" / "reports"
TABLES = {"locations": ["xmlid"], "instructors": ["xmlid"], "events": ["xmlid"], "pages": ["event_id", "slug"],
          "posts": {"key": ["xmlid"], "references": {"event_xmlid": "events.xmlid"}}}


def sync_config(db, namespace="master", **settings):
    """A config for syncing alone: no migration, no tables to rename."""
    return db.write_yaml({"sync": {"namespace": namespace, "tables": TABLES, **settings}})


def build(db, with_rows=True):
    psql(db.url, "-q", "-f", str(FIXTURES / "schema.sql"))
    if with_rows:
        psql(db.url, "-q", "-f", str(FIXTURES / "rows.sql"))


@pytest.fixture
def machines(empty_db, restore_target):
    """The source with its rows; the target with the schema only, its sequences far from the source's."""
    build(empty_db)
    build(restore_target, with_rows=False)
    restore_target.execute("SELECT setval(s, 500) FROM unnest(ARRAY['locations_id_seq', 'instructors_id_seq', "
                           "'events_id_seq', 'posts_id_seq']) AS s")
    restore_target.execute("ALTER TABLE pages ALTER COLUMN id RESTART WITH 900")
    return empty_db, restore_target


def export(db, config, path):
    result = db.runner("export", "--to", str(path), "--json", config=config)
    assert result.code == 0, result.text
    answer = json.loads(result.out)
    jsonschema.validate(answer, json.loads((REPORTS / "export.schema.json").read_text()))
    return json.loads((path / "manifest.json").read_text())


def import_(db, config, path, *args, code=0):
    result = db.runner("import", str(path), "--json", *args, config=config)
    assert result.code == code, result.text
    if code == 0:
        answer = json.loads(result.out)
        jsonschema.validate(answer, json.loads((REPORTS / "import.schema.json").read_text()))
        return answer
    return result


def same_data(a, b, tmp_path) -> bool:
    """Both machines export to identical files: the same rows, by natural key, whatever their ids."""
    first = export(a, sync_config(a), tmp_path / f"check-a-{len(list(tmp_path.iterdir()))}")
    second = export(b, sync_config(b), tmp_path / f"check-b-{len(list(tmp_path.iterdir()))}")
    return [(t["table"], t["sha256"], t["content_md5"]) for t in first["tables"]] == \
        [(t["table"], t["sha256"], t["content_md5"]) for t in second["tables"]]


def test_an_export_moves_rows_to_a_machine_whose_ids_differ_and_again_changes_nothing(machines, tmp_path):
    source, target = machines
    config = sync_config(source)
    manifest = export(source, config, tmp_path / "export")
    assert [t["table"] for t in manifest["tables"]][:2] == ["locations", "posts"]  # parents first
    events = next(t for t in manifest["tables"] if t["table"] == "events")
    assert [c["name"] for c in events["columns"]] == ["xmlid", "title", "starts_at", "location_id.xmlid",
                                                      "parent_id.xmlid", "instructor_id.xmlid"]
    assert (tmp_path / "export" / "export.sql").read_text().count("COPY (") == 5

    imported = import_(target, sync_config(target), tmp_path / "export", "--mode", "init")
    assert imported["total"]["inserted"] == 2 + 2 + 4 + 8 + 2 and imported["changed"] == 18
    assert all(check["ok"] for check in imported["checks"])
    assert same_data(source, target, tmp_path)
    # the ids are the target's own, the references resolved to them: late-bound self and cycle included
    assert target.scalar("SELECT min(id) FROM events") == 501
    assert target.query("SELECT c.xmlid, p.xmlid FROM events AS c JOIN events AS p ON p.id = c.parent_id "
                        "ORDER BY 1")[0] == ("evt.talk1", "evt.conf")
    assert target.scalar("SELECT e.xmlid FROM instructors AS i JOIN events AS e ON e.id = i.home_event_id") == "evt.talk1"
    assert target.scalar("SELECT nextval('events_id_seq')") == 505  # past the new rows

    again = import_(target, sync_config(target), tmp_path / "export", "--mode", "update")
    assert again["changed"] == 0 and again["total"]["unchanged"] == 18
    assert "nothing to change" in target.runner("import", str(tmp_path / "export"), config=sync_config(target)).out


def test_update_writes_what_changed_and_keeps_rows_edited_or_deleted_here(machines, tmp_path):
    source, target = machines
    export(source, sync_config(source), tmp_path / "first")
    import_(target, sync_config(target), tmp_path / "first", "--mode", "init")
    source.execute("UPDATE events SET title = 'Opening talk' WHERE xmlid = 'evt.talk1'; "
                   "UPDATE locations SET name = 'Great hall' WHERE xmlid = 'loc.hall'; "
                   "INSERT INTO locations (xmlid, name) VALUES ('loc.roof', 'Roof')")
    export(source, sync_config(source), tmp_path / "second")
    target.execute("UPDATE locations SET name = 'Our hall' WHERE xmlid = 'loc.hall'; "
                   "DELETE FROM pages WHERE slug = 'agenda' AND event_id = (SELECT id FROM events WHERE xmlid = 'evt.talk3')")

    updated = import_(target, sync_config(target), tmp_path / "second", "--mode", "update")
    assert updated["tables"]["public.events"]["updated"] == 1
    assert updated["tables"]["public.locations"] == {"inserted": 1, "updated": 0, "unchanged": 1, "deleted": 0,
                                                     "kept_edited_here": 1, "kept_deleted_here": 0, "set_aside": 0}
    assert updated["tables"]["public.pages"]["kept_deleted_here"] == 1
    assert target.scalar("SELECT name FROM locations WHERE xmlid = 'loc.hall'") == "Our hall"
    assert target.scalar("SELECT count(*) FROM pages") == 7

    import_(target, sync_config(target), tmp_path / "second", "--overwrite-local-edits", "--resurrect-deleted")
    assert target.scalar("SELECT name FROM locations WHERE xmlid = 'loc.hall'") == "Great hall"
    assert same_data(source, target, tmp_path)


def test_append_adds_new_keys_only(machines, tmp_path):
    source, target = machines
    target.execute("INSERT INTO locations (xmlid, name) VALUES ('loc.hall', 'Their hall')")
    export(source, sync_config(source), tmp_path / "export")
    appended = import_(target, sync_config(target), tmp_path / "export", "--mode", "append")
    assert appended["tables"]["public.locations"]["inserted"] == 1
    assert target.scalar("SELECT name FROM locations WHERE xmlid = 'loc.hall'") == "Their hall"


def test_replace_deletes_what_the_namespace_no_longer_has_within_its_cap(machines, tmp_path):
    source, target = machines
    export(source, sync_config(source), tmp_path / "first")
    import_(target, sync_config(target), tmp_path / "first", "--mode", "init")
    target.execute("INSERT INTO posts (xmlid, event_xmlid, body) VALUES ('post.local', 'evt.conf', 'ours')")
    source.execute("DELETE FROM posts; DELETE FROM pages WHERE slug = 'agenda'")
    export(source, sync_config(source), tmp_path / "second")

    dump = target.schema_dump(), target.query("SELECT xmlid FROM posts ORDER BY 1")
    refused = import_(target, sync_config(target, delete_cap=3), tmp_path / "second", "--mode", "replace", code=3)
    assert "replace would delete 6 rows (public.posts 2, public.pages 4), more than delete_cap 3" in refused.text
    assert (target.schema_dump(), target.query("SELECT xmlid FROM posts ORDER BY 1")) == dump

    replaced = import_(target, sync_config(target, delete_cap=3), tmp_path / "second", "--mode", "replace",
                       "--allow-deletes")
    assert replaced["total"]["deleted"] == 6
    assert target.query("SELECT xmlid FROM posts") == [("post.local",)]  # not this namespace's: kept


def test_the_validation_suite_is_generated_from_the_catalog(machines, tmp_path):
    source, _ = machines
    checks = tmp_path / "checks"
    checks.mkdir()
    (checks / "titles.sql").write_text("-- every event has a title longer than 3 characters\n"
                                       "SELECT xmlid FROM events WHERE length(title) <= 3;\n")
    config = sync_config(source, checks=str(checks))
    tap = source.runner("validate", "--format", "tap", config=config)
    assert tap.code == 0, tap.text
    assert tap.out.startswith("1..") and "not ok" not in tap.out
    assert tap.out.splitlines()[-1].endswith(" - every event has a title longer than 3 characters")

    source.execute("ALTER TABLE posts ADD COLUMN location_id integer; UPDATE posts SET location_id = 999; "
                   "ALTER TABLE posts ADD FOREIGN KEY (location_id) REFERENCES locations (id) NOT VALID; "
                   "INSERT INTO posts (xmlid, event_xmlid, body) VALUES ('post.9', 'evt.nowhere', 'orphan')")
    failed = source.runner("validate", "--format", "json", config=config)
    assert failed.code == 3
    answer = json.loads(failed.out)
    jsonschema.validate(answer, json.loads((REPORTS / "validate.schema.json").read_text()))
    failing = {c["description"]: c["violations"] for c in answer["checks"] if not c["ok"]}
    assert failing == {"public.posts: every row's location_id has its locations row (NOT VALID: never checked by "
                       "PostgreSQL)": 2,
                       '"public"."posts": every event_xmlid names a "public"."events" row by its xmlid': 1}
    suite = source.workdir / "build" / "integrity-suite.sql"
    assert psql(source.url, "-f", str(suite)).returncode == 0
    assert not (source.workdir / "build" / "validate.sql").exists()  # the rename's VALIDATE CONSTRAINT script


def test_a_failing_validation_rolls_the_import_back(machines, tmp_path):
    source, target = machines
    export(source, sync_config(source), tmp_path / "export")
    checks = tmp_path / "checks"
    checks.mkdir()
    (checks / "no_garden.sql").write_text("-- nothing happens in the garden\nSELECT xmlid FROM locations WHERE xmlid = 'loc.garden'\n")
    failed = import_(target, sync_config(target, checks=str(checks)), tmp_path / "export", "--mode", "init", code=3)
    assert "the validation suite failed" in failed.text and "nothing happens in the garden: 1 violation(s)" in failed.text
    assert target.scalar("SELECT count(*) FROM locations") == 0
    assert target.scalar("SELECT count(*) FROM pgrename.audit WHERE event = 'sync_failed'") == 1


def _rewrite(path, change):
    """Change a table's COPY file and give the manifest its new checksum, as a hand-edited export would."""
    manifest = json.loads((path / "manifest.json").read_text())
    entry = next(t for t in manifest["tables"] if t["table"] == change[0])
    data = zstandard.ZstdDecompressor().decompress((path / entry["file"]).read_bytes(), max_output_size=1 << 20)
    data = change[1](data)
    (path / entry["file"]).write_bytes(zstandard.ZstdCompressor().compress(data))
    import hashlib
    entry["sha256"] = hashlib.sha256((path / entry["file"]).read_bytes()).hexdigest()
    entry["rows"] = data.count(b"\n")
    (path / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("change, message", [
    (("locations", lambda d: d + d.splitlines(keepends=True)[0]),
     "public.locations: 1 natural key(s) (xmlid) appear more than once in 0001.copy.zst"),
    (("events", lambda d: d.replace(b"loc.garden", b"loc.nobody")),
     "public.events: 3 row(s) of 0003.copy.zst name a locations row (location_id.xmlid) that neither this database "
     "nor the export has"),
    (("posts", lambda d: d.replace(b"evt.talk2", b"evt.nobody")),
     "public.posts: 1 row(s) of 0002.copy.zst name in event_xmlid a events.xmlid row that neither"),
    (("locations", lambda d: d.replace(b"loc.hall", b"\\N", 1)),
     "public.locations: 1 row(s) of 0001.copy.zst have no natural key (xmlid NULL)"),
])
def test_bad_rows_in_an_export_are_refused_before_anything_is_written(machines, tmp_path, change, message):
    source, target = machines
    export(source, sync_config(source), tmp_path / "export")
    _rewrite(tmp_path / "export", change)
    refused = import_(target, sync_config(target), tmp_path / "export", "--mode", "init", code=3)
    assert message in refused.err, refused.err
    assert target.scalar("SELECT count(*) FROM locations") == 0


def test_bad_exports_and_targets_are_refused(machines, tmp_path):
    source, target = machines
    export(source, sync_config(source), tmp_path / "export")
    shutil.copytree(tmp_path / "export", tmp_path / "tampered")
    with open(tmp_path / "tampered" / "0003.copy.zst", "ab") as handle:
        handle.write(b"x")
    refused = import_(target, sync_config(target), tmp_path / "tampered", code=1)
    assert "0003.copy.zst: SHA-256 differs from the manifest" in refused.text

    other = import_(target, sync_config(target, namespace="branch"), tmp_path / "export", code=3)
    assert "the export comes from namespace 'master', and this config syncs namespace 'branch'" in other.text

    import_(target, sync_config(target), tmp_path / "export", "--mode", "init")
    filled = import_(target, sync_config(target), tmp_path / "export", "--mode", "init", code=3)
    assert "init imports into empty tables only" in filled.text

    target.execute("ALTER TABLE events DROP COLUMN starts_at")
    lacking = import_(target, sync_config(target), tmp_path / "export", code=3)
    assert "public.events: the export's column 'starts_at' (0003.copy.zst) is not in this database's table" in lacking.text


def test_keys_that_cannot_name_a_row_are_refused_at_export(machines, tmp_path):
    source, _ = machines
    source.execute("UPDATE events SET title = 'Talk' WHERE xmlid LIKE 'evt.talk%'")
    duplicated = source.write_config({}, sync={"namespace": "m", "tables": {**TABLES, "events": ["title"]}})
    result = source.runner("export", "--to", str(tmp_path / "dup"), config=duplicated)
    assert result.code == 3 and '"public"."events": (title) is unique and not NULL: false here' in result.text
    assert not (tmp_path / "dup").exists()

    source.execute("ALTER TABLE locations ADD COLUMN code text")
    nullable = source.write_config({}, sync={"namespace": "m", "tables": {**TABLES, "locations": ["code"]}})
    result = source.runner("export", "--to", str(tmp_path / "null"), config=nullable)
    assert result.code == 2 and "key column 'code' of public.locations may be NULL and no unique index with " \
                                "NULLS NOT DISTINCT covers (code)" in result.text


def test_continue_on_error_sets_aside_failing_rows_and_those_that_name_them(machines, tmp_path):
    source, target = machines
    export(source, sync_config(source), tmp_path / "export")
    _rewrite(tmp_path / "export", ("posts", lambda d: d.replace(b"evt.conf", b"evt.nobody")))  # refused when staged
    target.execute("ALTER TABLE locations ADD CONSTRAINT no_garden CHECK (name <> 'Garden')")  # fails when written
    errors = tmp_path / "set-aside.jsonl"

    result = import_(target, sync_config(target), tmp_path / "export", "--mode", "init", "--continue-on-error",
                     "--errors", str(errors), code=3)
    answer = json.loads(result.out)
    jsonschema.validate(answer, json.loads((REPORTS / "import.schema.json").read_text()))
    set_aside = [json.loads(line) for line in errors.read_text().splitlines()]
    why = {(row["table_name"], row["row_data"].get("xmlid") or
            (row["row_data"]["event_id.xmlid"], row["row_data"]["slug"])): row for row in set_aside}
    assert why[("public.posts", "post.1")]["message"] == \
        "names in event_xmlid a events.xmlid row that neither this database nor the export has"
    assert why[("public.locations", "loc.garden")]["sqlstate"] == "23514"
    # the garden's talks go with it, and so do their pages, the post about talk 2 and the instructor
    # whose home event is talk 1
    assert {key for key in why if key[0] == "public.events"} == {("public.events", f"evt.talk{n}") for n in (1, 2, 3)}
    assert len([key for key in why if key[0] == "public.pages"]) == 6
    assert ("public.posts", "post.2") in why and ("public.instructors", "ins.bob") in why
    assert answer["set_aside"] == len(set_aside) == 1 + 1 + 3 + 6 + 1 + 1
    assert answer["total"]["inserted"] == 18 - 13 and answer["errors_file"] == str(errors)
    assert all(check["ok"] for check in answer["checks"])
    # the rest committed, and its references hold
    assert target.query("SELECT xmlid FROM events") == [("evt.conf",)]
    assert target.scalar("SELECT count(*) FROM pages JOIN events ON events.id = pages.event_id") == 2
    assert target.query("SELECT xmlid FROM instructors") == [("ins.ada",)]


def test_two_imports_in_one_session(machines, tmp_path):
    """What the import creates for itself is gone when it ends: a second one in the same session works."""
    source, target = machines
    manifest = export(source, sync_config(source), tmp_path / "export")
    sync = load_config(sync_config(target)).sync
    with psycopg.connect(target.url, autocommit=True) as conn:
        own_schema.upgrade(conn)
        first = load.load(conn, tmp_path / "export", manifest, sync, "public", "init")
        second = load.load(conn, tmp_path / "export", manifest, sync, "public", "update")
    assert sum(c["inserted"] for c in first.counts.values()) == 18
    assert sum(c["unchanged"] for c in second.counts.values()) == 18


def test_analyze_proposes_natural_keys_from_not_null_unique_keys(empty_db):
    build(empty_db, with_rows=False)
    empty_db.execute("CREATE TABLE notes (id serial PRIMARY KEY, body text); "
                     "CREATE TABLE codes (code text NOT NULL, region text, n int NOT NULL UNIQUE, UNIQUE (code, region))")
    report = json.loads(empty_db.runner("analyze", "--format", "json", config=sync_config(empty_db)).out)
    keys = {k["table_name"]: k for k in report["natural_keys"]}
    assert keys["events"]["proposed_key"] == ["xmlid"] and keys["events"]["configured_key"] == ["xmlid"]
    assert keys["pages"]["proposed_key"] == ["event_id", "slug"] and keys["pages"]["through_parent"] == ["event_id"]
    assert keys["notes"]["proposed_key"] is None  # its only unique key is a serial: no natural key
    assert keys["codes"]["proposed_key"] == ["n"]  # (code, region) may hold NULLs: no key
    started = empty_db.workdir / "starter.yaml"
    empty_db.runner("analyze", "--write-config", str(started), config=sync_config(empty_db))
    assert "#     pages: [event_id, slug]  # event_id: written as the parent's key" in started.read_text()


def test_rows_recorded_before_the_registry_keys_became_text_are_still_known(machines, tmp_path):
    """Version 11 of the own schema turns the registry's jsonb keys into their text: rows an import
    recorded before it still name their rows, so importing the same export again changes nothing and
    keeps nothing as edited here."""
    source, target = machines
    export(source, sync_config(source), tmp_path / "export")
    import_(target, sync_config(target), tmp_path / "export", "--mode", "init")
    target.execute("ALTER TABLE pgrename.sync_row ALTER COLUMN namespace TYPE text COLLATE \"default\","
                   " ALTER COLUMN table_name TYPE text COLLATE \"default\", ALTER COLUMN key TYPE jsonb USING key::jsonb;"
                   " DELETE FROM pgrename.schema_version WHERE version = 11")  # the registry as version 10 kept it
    assert target.scalar("SELECT DISTINCT pg_typeof(key)::text FROM pgrename.sync_row") == "jsonb"
    again = import_(target, sync_config(target), tmp_path / "export", "--mode", "update")
    assert target.scalar("SELECT max(version) FROM pgrename.schema_version") == 11
    assert again["changed"] == 0 and again["total"]["unchanged"] == 18 and again["total"]["kept_edited_here"] == 0
    assert target.query("SELECT key FROM pgrename.sync_row WHERE table_name = 'public.locations' ORDER BY key") \
        == [('["loc.garden"]',), ('["loc.hall"]',)]


def test_rows_that_are_not_what_the_export_says_fail_the_suite(machines, tmp_path):
    """The import reads its rows back: a trigger here that changes what is written, or an export
    edited by hand (its checksums redone, its content md5 not), fails the suite's own checks and
    nothing stays."""
    source, target = machines
    export(source, sync_config(source), tmp_path / "export")
    target.execute("CREATE FUNCTION shout() RETURNS trigger LANGUAGE plpgsql AS $$"
                   " BEGIN NEW.name := upper(NEW.name); RETURN NEW; END $$;"
                   " CREATE TRIGGER shout BEFORE INSERT ON locations FOR EACH ROW EXECUTE FUNCTION shout()")
    changed = import_(target, sync_config(target), tmp_path / "export", "--mode", "init", code=3)
    assert "public.locations: every row equal to the export's" in changed.err
    assert '2 violation(s), e.g. ["loc.garden"]' in changed.err, changed.err
    assert target.scalar("SELECT count(*) FROM locations") == 0
    target.execute("DROP TRIGGER shout ON locations")

    _rewrite(tmp_path / "export", ("locations", lambda d: d.replace(b"Main hall", b"Side hall")))
    edited = import_(target, sync_config(target), tmp_path / "export", "--mode", "init", code=3)
    assert "public.locations: every row equal to the export's" in edited.err
    assert "1 violation(s), e.g. the rows read have content md5 " in edited.err, edited.err
    assert target.scalar("SELECT count(*) FROM locations") == 0


def test_a_natural_key_an_index_guarantees_is_asked_of_the_catalog_and_checked_again_without_it(machines, tmp_path):
    """Where a unique index on NOT NULL columns makes the key unique, the suite asks the catalog, not
    every row; the suite as written names the index, and fails once it is gone. Without the index,
    the rows are grouped by key and a key given twice is a violation."""
    source, _ = machines
    config = sync_config(source)
    answer = json.loads(source.runner("validate", "--format", "json", config=config).out)
    described = {c["name"]: c["description"] for c in answer["checks"]}
    assert described['natural key of "public"."locations"'] == '"public"."locations": (xmlid) is unique and not NULL ' \
        "(unique index locations_xmlid_key on NOT NULL columns guarantees it)"
    written = (source.workdir / "build" / "integrity-suite.sql").read_text()

    source.execute("ALTER TABLE locations DROP CONSTRAINT locations_xmlid_key; "
                   "INSERT INTO locations (xmlid, name) VALUES ('loc.hall', 'Second hall')")
    (tmp_path / "earlier-suite.sql").write_text(written)
    earlier = psql(source.url, "-X", "-A", "-t", "-f", str(tmp_path / "earlier-suite.sql"))
    assert 'natural key of "public"."locations"|1|unique index locations_xmlid_key is gone or no longer valid' \
        in earlier.stdout, earlier.stdout
    failed = source.runner("validate", "--format", "json", config=config)
    assert failed.code == 3
    failing = {c["description"]: (c["violations"], c["example"]) for c in json.loads(failed.out)["checks"] if not c["ok"]}
    assert failing == {'"public"."locations": (xmlid) is unique and not NULL': (1, "(loc.hall)")}
