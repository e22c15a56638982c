"""Data backup and restore with COPY: exact round trips, determinism, FK order, modes, refusals."""
import hashlib
import json
import subprocess
from pathlib import Path

import psycopg
import pytest

SCHEMA = r'''
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE TABLE "Kind" (
    id serial PRIMARY KEY,
    amount numeric(12, 4), at timestamptz, doc jsonb, tags text[], blob bytea, feeling mood,
    note text, nothing text
);
CREATE TABLE "Tree" (id int PRIMARY KEY, parent int REFERENCES "Tree");
CREATE TABLE "CycA" (id int PRIMARY KEY, b int);
CREATE TABLE "CycB" (id int PRIMARY KEY, a int REFERENCES "CycA" DEFERRABLE INITIALLY IMMEDIATE);
ALTER TABLE "CycA" ADD FOREIGN KEY (b) REFERENCES "CycB" DEFERRABLE INITIALLY IMMEDIATE;
CREATE TABLE "Pair" (a int, b text, value text, PRIMARY KEY (a, b));
CREATE TABLE "NoKey" (x int, y text);
CREATE TABLE "Child" (id int PRIMARY KEY, kind int NOT NULL REFERENCES "Kind");
CREATE TABLE "Snapshot_2024" (id int);
'''
ROWS = r'''
INSERT INTO "Kind" (amount, at, doc, tags, blob, feeling, note, nothing) VALUES
    (12345678.1234, '2024-02-29 23:59:59.123456+05:30', '{"a": [1, 2, {"b": null}], "ü": "ñ"}',
     ARRAY['x', 'y,z', 'quo"te', NULL], '\x00ff10'::bytea, 'happy',
     E'tab\there\nnewline and \\backslash and unicode: 日本語 🐘', NULL),
    (-0.0001, NULL, 'null', '{}', '', 'sad', '', NULL);
INSERT INTO "Tree" VALUES (3, NULL), (1, 2), (2, 3);
BEGIN; SET CONSTRAINTS ALL DEFERRED;
INSERT INTO "CycA" VALUES (1, 10); INSERT INTO "CycB" VALUES (10, 1); COMMIT;
INSERT INTO "Pair" VALUES (1, 'a', 'one'), (1, 'b', 'two'), (2, 'a', 'three');
INSERT INTO "NoKey" VALUES (1, 'dup'), (1, 'dup'), (NULL, NULL);
INSERT INTO "Child" VALUES (1, 1), (2, 2);
INSERT INTO "Snapshot_2024" VALUES (1);
'''
DUMP_QUERY = '''SELECT string_agg(t, E'\\n' ORDER BY t) FROM (
    SELECT format('%s %s', 'Kind', row_to_json(k)) AS t FROM "Kind" AS k UNION ALL
    SELECT format('%s %s', 'Tree', row_to_json(r)) FROM "Tree" AS r UNION ALL
    SELECT format('%s %s', 'CycA', row_to_json(r)) FROM "CycA" AS r UNION ALL
    SELECT format('%s %s', 'CycB', row_to_json(r)) FROM "CycB" AS r UNION ALL
    SELECT format('%s %s', 'Pair', row_to_json(r)) FROM "Pair" AS r UNION ALL
    SELECT format('%s %s', 'NoKey', row_to_json(r)) FROM "NoKey" AS r UNION ALL
    SELECT format('%s %s', 'Child', row_to_json(r)) FROM "Child" AS r) AS all_rows'''


@pytest.fixture
def source(empty_db):
    empty_db.execute(SCHEMA)
    empty_db.execute(ROWS)
    return empty_db


def backup(db, directory, exclude=("Snapshot_*",)):
    config = db.write_config({}, backup_exclude=list(exclude))
    result = db.runner("backup", "--to", str(directory), config=config)
    assert result.code == 0, result.text
    return config


def digests(directory):
    manifest = json.loads((directory / "manifest.json").read_text())
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in directory.iterdir() if p.name != "manifest.json"}
    assert "schema.sql" in files
    return files, {k: v for k, v in manifest.items() if k not in ("taken_at", "database")}


def test_every_type_round_trips_exactly_and_backups_are_deterministic_both_ways(source, cluster, tmp_path):
    config = backup(source, tmp_path / "one")
    backup(source, tmp_path / "two")
    assert digests(tmp_path / "one") == digests(tmp_path / "two")  # same database, same files

    # Schema and rows into an empty database, then back up again: the same files.
    import psycopg
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {source.name}_copy")
    copy_url = cluster.url(f"{source.name}_copy")
    restored = source.runner("restore", str(tmp_path / "one"), "--schema", config=config, url=copy_url)
    assert restored.code == 0, restored.text
    again = source.runner("restore", str(tmp_path / "one"), "--schema", config=config, url=copy_url)
    assert again.code == 1 and 'the target has tables "public"."Kind", "public"."NoKey", "public"."Pair" and 4 more already' in again.text  # never over an existing schema
    with psycopg.connect(copy_url, autocommit=True) as copy, psycopg.connect(source.url, autocommit=True) as original:
        assert copy.execute(DUMP_QUERY).fetchone() == original.execute(DUMP_QUERY).fetchone()
        # The serial moved past the restored ids.
        assert copy.execute('INSERT INTO "Kind" (note) VALUES (\'new\') RETURNING id').fetchone()[0] == 3
        copy.execute('DELETE FROM "Kind" WHERE id = 3')
        copy.execute("SELECT setval('\"Kind_id_seq\"', 2)")
    again = source.runner("backup", "--to", str(tmp_path / "three"), config=config, url=copy_url)
    assert again.code == 0, again.text
    assert digests(tmp_path / "three") == digests(tmp_path / "one")
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE {source.name}_copy WITH (FORCE)")


def test_manifest_lists_tables_parents_first_and_respects_exclusions(source, tmp_path):
    backup(source, tmp_path / "b")
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    order = [t["table"] for t in manifest["tables"]]
    assert "Snapshot_2024" not in order
    assert order.index("Kind") < order.index("Child")
    assert {t["table"] for t in manifest["tables"] if t["in_cycle"]} == {"CycA", "CycB"}
    counts = {t["table"]: t["rows"] for t in manifest["tables"]}
    assert counts == {"Kind": 2, "Tree": 3, "CycA": 1, "CycB": 1, "Pair": 3, "NoKey": 3, "Child": 2}


def test_modes(source, tmp_path):
    config = backup(source, tmp_path / "b")
    source.execute("UPDATE \"Pair\" SET value = 'changed' WHERE a = 1 AND b = 'a';"
                   " INSERT INTO \"Pair\" VALUES (9, 'z', 'extra')")
    appended = source.runner("restore", str(tmp_path / "b"), "--mode", "append", config=config)
    assert appended.code == 0, appended.text
    assert source.query('SELECT value FROM "Pair" ORDER BY a, b') == [("changed",), ("two",), ("three",), ("extra",)]
    assert source.scalar('SELECT count(*) FROM "NoKey"') == 6  # no key to tell rows apart: appended

    upserted = source.runner("restore", str(tmp_path / "b"), "--mode", "upsert", config=config)
    assert upserted.code == 1 and 'NoKey has no primary key: upsert cannot tell rows apart' in upserted.text
    assert source.scalar('SELECT count(*) FROM "NoKey"') == 6  # the failed restore changed nothing

    cleaned = source.runner("restore", str(tmp_path / "b"), "--mode", "clean", config=config)
    assert cleaned.code == 0, cleaned.text
    assert source.query('SELECT value FROM "Pair" ORDER BY a, b') == [("one",), ("two",), ("three",)]
    assert source.scalar('SELECT count(*) FROM "NoKey"') == 3


@pytest.mark.parametrize("damage", ["change a byte", "truncate", "remove a file", "edit the manifest count",
                                    "edit the schema"])
def test_tampered_or_truncated_backup_is_refused_before_anything_is_touched(source, tmp_path, damage):
    config = backup(source, tmp_path / "b")
    directory = tmp_path / "b"
    victim = sorted(directory.glob("*.zst"))[0]
    if damage == "change a byte":
        data = bytearray(victim.read_bytes())
        data[len(data) // 2] ^= 0x01
        victim.write_bytes(bytes(data))
    elif damage == "truncate":
        victim.write_bytes(victim.read_bytes()[:-5])
    elif damage == "remove a file":
        victim.unlink()
    elif damage == "edit the schema":
        victim = directory / "schema.sql"
        victim.write_text(victim.read_text() + "DROP TABLE \"Pair\";\n")
    else:
        manifest = json.loads((directory / "manifest.json").read_text())
        manifest["tables"][0]["rows"] += 1
        (directory / "manifest.json").write_text(json.dumps(manifest))
    source.execute('INSERT INTO "Pair" VALUES (7, \'q\', \'untouched\')')
    verified = source.runner("backup-verify", str(directory), config=config)
    assert verified.code == 3 and victim.name in verified.text
    restored = source.runner("restore", str(directory), config=config)
    assert restored.code == 1 and victim.name in restored.text
    assert source.scalar('SELECT value FROM "Pair" WHERE a = 7') == "untouched"


def test_backup_verify_needs_no_database(source, tmp_path):
    config = backup(source, tmp_path / "b")
    result = source.runner("backup-verify", str(tmp_path / "b"), config=config,
                           url="postgresql://nobody@127.0.0.1:1/nowhere")
    assert result.code == 0, result.text
    assert "every checksum and row count as the manifest says" in result.out
    as_json = source.runner("backup-verify", str(tmp_path / "b"), "--json", config=config)
    report = json.loads(as_json.out)
    assert report["verified"] and report["tables"] == 7 and report["rows"] == 15 and report["format_version"] == 1


def test_restore_into_a_database_without_the_schema_says_so(source, cluster, tmp_path):
    config = backup(source, tmp_path / "b")
    result = source.runner("restore", str(tmp_path / "b"), config=config, url=cluster.url("postgres"))
    assert result.code == 1
    assert "restore the schema first" in result.text


CYCLE = '''
CREATE TABLE "Team" (id int PRIMARY KEY, captain int);
CREATE TABLE "Player" (id int PRIMARY KEY, team int REFERENCES "Team");
ALTER TABLE "Team" ADD FOREIGN KEY (captain) REFERENCES "Player";  -- not deferrable
INSERT INTO "Team" VALUES (1, NULL), (2, NULL);
INSERT INTO "Player" VALUES (10, 1), (11, 1), (20, 2);
UPDATE "Team" SET captain = id * 10;
'''


def test_a_cycle_that_cannot_be_deferred_is_bound_late_in_every_mode(empty_db, restore_target, tmp_path):
    empty_db.execute(CYCLE)
    config = backup(empty_db, tmp_path / "b")
    restore_target.execute(CYCLE.split("INSERT")[0])
    for mode in ("clean", "append", "upsert", "clean"):
        restored = empty_db.runner("restore", str(tmp_path / "b"), "--mode", mode, config=config,
                                   url=restore_target.url)
        assert restored.code == 0, restored.text
        assert "Player  " in restored.out and "team set after the other tables" in restored.out
        assert restore_target.query('SELECT * FROM "Team" ORDER BY id') == [(1, 10), (2, 20)]
        assert restore_target.query('SELECT * FROM "Player" ORDER BY id') == [(10, 1), (11, 1), (20, 2)]
    # Append leaves a row that is there already as it was, late-bound column included.
    restore_target.execute('UPDATE "Player" SET team = 2 WHERE id = 11')
    assert empty_db.runner("restore", str(tmp_path / "b"), "--mode", "append", config=config,
                           url=restore_target.url).code == 0
    assert restore_target.scalar('SELECT team FROM "Player" WHERE id = 11') == 2


def test_a_cycle_of_not_null_keys_that_cannot_be_deferred_is_refused(empty_db, restore_target, tmp_path):
    schema = CYCLE.split("INSERT")[0]
    empty_db.execute(schema)
    empty_db.execute('''INSERT INTO "Team" VALUES (1, NULL); INSERT INTO "Player" VALUES (10, 1);
                        UPDATE "Team" SET captain = 10''')
    config = backup(empty_db, tmp_path / "b")
    restore_target.execute(schema + 'ALTER TABLE "Player" ALTER team SET NOT NULL;')
    result = empty_db.runner("restore", str(tmp_path / "b"), config=config, url=restore_target.url)
    assert result.code == 1 and 'foreign key Player_team_fkey of public.Player' in result.text
    assert "its columns are NOT NULL: make it DEFERRABLE" in result.text


def test_continue_on_error_sets_bad_rows_aside_with_their_reason(source, restore_target, tmp_path):
    config = backup(source, tmp_path / "b")
    restore_target.execute(SCHEMA + '''ALTER TABLE "Kind" ADD CHECK (amount > 0);
                                       ALTER TABLE "Pair" ADD UNIQUE (value);''')
    restore_target.execute('INSERT INTO "Pair" VALUES (5, \'x\', \'two\')')  # clashes with (1, 'b', 'two')
    strict = source.runner("restore", str(tmp_path / "b"), "--mode", "append", config=config, url=restore_target.url)
    assert strict.code == 1 and "rolled back, nothing was changed" in strict.text
    assert restore_target.scalar('SELECT count(*) FROM "Kind"') == 0

    errors = tmp_path / "errors.jsonl"
    lenient = source.runner("restore", str(tmp_path / "b"), "--mode", "append", "--continue-on-error",
                            "--errors", str(errors), "--json", config=config, url=restore_target.url)
    assert lenient.code == 3, lenient.text
    report = json.loads(lenient.out)
    script = report.pop("script")
    assert report == {"format_version": 1, "command": "restore", "path": str(tmp_path / "b"),
                      "database": restore_target.name, "mode": "append", "tables": 7, "rows": 12, "inserted": 12,
                      "updated": 0, "unchanged": 0, "rejected": 3, "errors_file": str(errors)}
    assert "pg_temp.pgrename_row_by_row" in Path(script).read_text()
    rejected = [json.loads(line) for line in errors.read_text().splitlines()]
    reasons = {(r["table_name"], r["sqlstate"]) for r in rejected}
    # Kind 2 fails the check; Child 2 then has no parent; Pair (1, 'b') clashes on value.
    assert reasons == {("public.Kind", "23514"), ("public.Child", "23503"), ("public.Pair", "23505")}
    assert {r["row_data"].get("id") for r in rejected if r["table_name"] != "public.Pair"} == {2}
    assert "3 rows were rejected and the rest committed" in lenient.text
    assert restore_target.query('SELECT id FROM "Kind"') == [(1,)]
    assert restore_target.query('SELECT id FROM "Child"') == [(1,)]
    assert restore_target.query('SELECT a, b FROM "Pair" ORDER BY 1, 2') == [(1, "a"), (2, "a"), (5, "x")]
    assert restore_target.scalar('SELECT count(*) FROM "CycA"') == 1  # the deferrable cycle, bound late


def test_backup_diff_names_the_tables_and_keys_that_differ(source, tmp_path):
    config = backup(source, tmp_path / "a")
    source.execute('''UPDATE "Pair" SET value = 'new' WHERE a = 1 AND b = 'b';
                      DELETE FROM "Child" WHERE id = 2; INSERT INTO "Tree" VALUES (4, 3);
                      INSERT INTO "NoKey" VALUES (1, 'dup'); ALTER TABLE "Kind" ADD COLUMN extra int''')
    backup(source, tmp_path / "b")
    same = source.runner("backup-diff", str(tmp_path / "a"), str(tmp_path / "a"), config=config)
    assert same.code == 0 and "the backups hold the same data" in same.out

    found = source.runner("backup-diff", str(tmp_path / "a"), str(tmp_path / "b"), "--json", config=config,
                          url="postgresql://nobody@127.0.0.1:1/nowhere")  # needs no database
    assert found.code == 3, found.text
    report = json.loads(found.out)
    tables = {t["table"]: t for t in report["tables"]}
    assert set(tables) == {"Pair", "Child", "Tree", "NoKey", "Kind"}
    assert tables["Pair"]["changed"] == [["1", "b"]] and tables["Pair"]["added"] == []
    assert tables["Child"]["removed"] == [["2"]]
    assert tables["Tree"]["added"] == [["4"]]
    assert tables["NoKey"]["changed"] == [["1", "dup"]]  # no key: the whole row, now three times
    assert tables["Kind"]["columns_added"] == ["extra"] and tables["Kind"]["changed"] == []
    assert report["schema_differs"] and not report["same"]

    text = source.runner("backup-diff", str(tmp_path / "a"), str(tmp_path / "b"), config=config)
    assert "public.Child: 2 rows in A, 1 in B" in text.out and "removed  1: (2)" in text.out


def test_identity_columns_restore_in_every_mode_and_continue_past_the_restored_values(empty_db, tmp_path):
    empty_db.execute('''CREATE TABLE "Event" (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, what text);
                        INSERT INTO "Event" (what) VALUES ('a'), ('b'), ('c')''')
    config = backup(empty_db, tmp_path / "b")
    empty_db.execute('''DELETE FROM "Event" WHERE id = 2; UPDATE "Event" SET what = 'changed' WHERE id = 3;
                        ALTER TABLE "Event" ALTER id RESTART WITH 1''')
    for mode, expected, said in (
            ("append", [(1, "a"), (2, "b"), (3, "changed")], "3 rows: 1 inserted, 2 already there"),
            ("upsert", [(1, "a"), (2, "b"), (3, "c")], "3 rows: 0 inserted, 1 updated, 2 already there as they are"),
            ("clean", [(1, "a"), (2, "b"), (3, "c")], "3 rows: 3 inserted")):
        restored = empty_db.runner("restore", str(tmp_path / "b"), "--mode", mode, config=config)
        assert restored.code == 0, restored.text
        assert f"restored 1 tables, {said}; sequences moved" in restored.out
        assert empty_db.query('SELECT id, what FROM "Event" ORDER BY id') == expected
        assert empty_db.scalar('INSERT INTO "Event" (what) VALUES (\'next\') RETURNING id') == 4
        empty_db.execute('DELETE FROM "Event" WHERE id = 4; UPDATE "Event" SET what = \'changed\' WHERE id = 3')


def test_an_archive_is_deterministic_verified_compared_and_restored(source, tmp_path):
    config = source.write_config({}, backup_exclude=["Snapshot_*"])
    for name in ("one", "two"):
        taken = source.runner("backup", "--to", str(tmp_path / name), "--archive", "--json", config=config)
        assert taken.code == 0, taken.text
        assert json.loads(taken.out) == {"format_version": 1, "command": "backup", "path": str(tmp_path / f"{name}.tar"),
                                         "tables": 7, "tables_present": 8, "rows": 15, "scope": None, "schema": True}
        assert not (tmp_path / name).exists()
    one, two = tmp_path / "one.tar", tmp_path / "two.tar"
    # Member for member the same bytes, but for the manifest's taken_at (the second may tick over),
    # each in its backup's folder, so that `tar xf` gives the directory back.
    import tarfile
    members = []
    for archive in (one, two):
        with tarfile.open(archive) as tar:
            assert {m.name.split("/")[0] for m in tar.getmembers()} == {archive.stem}
            found = {m.name.split("/", 1)[1]: (m.mode, m.mtime, m.uid, tar.extractfile(m).read())
                     for m in tar.getmembers()}
        manifest = json.loads(found.pop("manifest.json")[3])
        members.append((found, {k: v for k, v in manifest.items() if k != "taken_at"}))
    assert members[0] == members[1] and "schema.sql" in members[0][0]
    assert source.runner("backup-verify", str(one), config=config).code == 0
    assert source.runner("backup-diff", str(one), str(two), config=config).code == 0
    source.execute('DELETE FROM "Child"')
    assert source.runner("restore", str(one), config=config).code == 0
    assert source.scalar('SELECT count(*) FROM "Child"') == 2

    # A byte of a table's file inside the archive (the padding between members carries no data).
    with tarfile.open(one) as tar:
        member = tar.getmember("one/0001.copy.zst")
    damaged = bytearray(one.read_bytes())
    damaged[member.offset_data + member.size // 2] ^= 0x01
    one.write_bytes(bytes(damaged))
    refused = source.runner("backup-verify", str(one), config=config)
    assert refused.code == 3 and f"{one}/0001.copy.zst" in refused.text, refused.text
    one.write_bytes(bytes(damaged[:1000]))
    refused = source.runner("restore", str(one), config=config)
    assert refused.code == 1 and "not a readable backup archive" in refused.text, refused.text


def test_verify_and_diff_need_no_config_file(demo_db, tmp_path, monkeypatch):
    """A DBA checking a backup on another machine has the backup and pgrename, not the config."""
    from pgrename import cli
    backup = tmp_path / "b"
    assert demo_db.runner("backup", "--to", str(backup), "--data-only").code == 0
    monkeypatch.setattr(cli, "DEFAULT_CONFIG", tmp_path / "no-such-config.yaml")
    monkeypatch.setattr(cli, "LOG_DIR", tmp_path / "logs")
    assert cli.main(["backup-verify", str(backup)]) == 0
    assert cli.main(["backup-diff", str(backup), str(backup)]) == 0
    assert cli.main(["plan"]) == 2  # a command that needs the config still says it is missing


@pytest.mark.parametrize("mode", ["clean", "append", "upsert"])
def test_the_restore_script_kept_with_the_run_does_in_psql_what_the_runner_did(source, cluster, tmp_path, mode):
    config = backup(source, tmp_path / "b", exclude=("Snapshot_*", "NoKey") if mode == "upsert" else ("Snapshot_*",))
    targets, databases = [], [f"{source.name}_by_runner", f"{source.name}_by_psql"]
    for database in databases:
        with psycopg.connect(cluster.url("postgres"), autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {database}")
        targets.append(cluster.url(database))
        with psycopg.connect(targets[-1], autocommit=True) as target:
            target.execute(SCHEMA)
            target.execute('INSERT INTO "Pair" VALUES (1, \'a\', \'there before\'), (8, \'q\', \'only here\')')
    restored = source.runner("restore", str(tmp_path / "b"), "--mode", mode, "--json", config=config, url=targets[0])
    assert restored.code == 0, restored.text
    script = json.loads(restored.out)["script"]
    done = subprocess.run(["psql", targets[1], "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction",
                           "-f", script], cwd=tmp_path / "b", capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    copies = []
    for number, url in enumerate(targets):
        copies.append(tmp_path / f"copy{number}")
        assert source.runner("backup", "--to", str(copies[-1]), "--data-only", config=config, url=url).code == 0
    assert source.runner("backup-diff", str(copies[0]), str(copies[1])).code == 0
    with psycopg.connect(targets[1]) as by_psql:
        pairs = by_psql.execute('SELECT a, b, value FROM "Pair" ORDER BY 1, 2').fetchall()
    assert (8, "q", "only here") in pairs if mode != "clean" else (8, "q", "only here") not in pairs
    assert (1, "a", {"clean": "one", "append": "there before", "upsert": "one"}[mode]) in pairs
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as admin:
        for database in databases:
            admin.execute(f"DROP DATABASE {database} WITH (FORCE)")
