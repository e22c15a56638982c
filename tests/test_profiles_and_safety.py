"""Profiles, approval, automatic verified backups, hooks and health checks."""

import psycopg
import pytest

DEMO = {"User": "users", "AssistantFolder": "chat_folders"}


def production(db, **profile):
    settings = {"auto_backup": False, "dry_run_default": False, "require_approval": False, **profile}
    return db.write_config(DEMO, profile="production", profiles={"production": settings})


def test_production_without_approval_refuses_and_changes_nothing(demo_db):
    dump = demo_db.schema_dump()
    config = demo_db.write_config(DEMO, profile="production")
    result = demo_db.runner("migrate", "--apply", config=config)
    assert result.code == 2
    assert f"requires approval to migrate {demo_db.name}" in result.text
    assert f"--approve {demo_db.name}" in result.text
    wrong = demo_db.runner("migrate", "--apply", "--approve", "someotherdb", config=config)
    assert wrong.code == 2 and "does not name this database" in wrong.text
    assert demo_db.schema_dump() == dump


def test_production_dry_runs_by_default(demo_db):
    dump = demo_db.schema_dump()
    result = demo_db.runner("migrate", config=demo_db.write_config(DEMO, profile="production"))
    assert result.code == 0
    assert "dry-runs by default: this is a dry run" in result.out and "dry run passed" in result.out
    assert demo_db.schema_dump() == dump


def test_profile_chosen_by_environment_and_flag(demo_db):
    config = demo_db.write_config(DEMO)
    by_env = demo_db.runner("migrate", config=config, env={"PGRENAME_PROFILE": "production"})
    assert "profile production" in by_env.out and "this is a dry run" in by_env.out
    by_flag = demo_db.runner("--profile", "staging", "status", config=config)
    assert "profile staging" in by_flag.out


def test_approved_production_migrate_takes_a_verified_restorable_backup(demo_db, tmp_path):
    config = demo_db.write_config(DEMO, profile="production")
    env = {"PGRENAME_BACKUP_DIR": str(tmp_path / "backups")}
    result = demo_db.runner("migrate", "--apply", "--approve", demo_db.name, config=config, env=env)
    assert result.code == 0, result.text
    [dump] = (tmp_path / "backups").glob("*.dump")
    checksum = (tmp_path / "backups" / (dump.name + ".sha256")).read_text().split()[0]
    assert f"sha256 {checksum}, verified with pg_restore --list" in result.out
    start = demo_db.scalar("SELECT details FROM pgrename.audit WHERE event = 'migration_start'")
    assert start["backup"] == {"path": str(dump), "sha256": checksum, "bytes": dump.stat().st_size}

    # Under its old name, which still works for one release, and says so.
    restored = demo_db.runner("restore-backup", str(dump), config=config, env=env)
    assert restored.code == 0, restored.text
    assert "note: `restore-backup` is now `restore-dump`" in restored.text
    database = restored.out.split("into database ")[1].split()[0]
    copy = psycopg.connect(demo_db.cluster.url(database), autocommit=True)
    try:
        assert copy.execute('SELECT count(*) FROM "User"').fetchone()[0] == 5000
        assert copy.execute('SELECT count(*) FROM "AssistantChatMessage"').fetchone()[0] == 40000
    finally:
        copy.close()
        with psycopg.connect(demo_db.cluster.url("postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{database}" WITH (FORCE)')


def test_tampered_backup_is_refused(demo_db, tmp_path):
    env = {"PGRENAME_BACKUP_DIR": str(tmp_path)}
    config = production(demo_db, auto_backup=True)
    assert demo_db.runner("migrate", config=config, env=env).code == 0
    [dump] = tmp_path.glob("*.dump")
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))
    result = demo_db.runner("restore-dump", str(dump), config=config, env=env)
    assert result.code == 1
    assert "the file was changed or truncated" in result.text or "pg_restore cannot read it" in result.text


def test_backup_of_only_the_tables_to_rename(demo_db, tmp_path):
    env = {"PGRENAME_BACKUP_DIR": str(tmp_path)}
    result = demo_db.runner("migrate", config=production(demo_db, auto_backup=True, backup_scope="tables"), env=env)
    assert result.code == 0, result.text
    assert "backup (the tables to rename)" in result.out
    [dump] = tmp_path.glob("*.dump")
    import subprocess
    listing = subprocess.run(["pg_restore", "--list", str(dump)], capture_output=True, text=True).stdout
    assert 'TABLE public User' in listing and 'TABLE public AssistantFolder' in listing
    assert 'TABLE public Post' not in listing


def test_backup_of_only_the_tables_to_rename_whose_names_hold_a_double_quote(demo_db, tmp_path):
    demo_db.execute('CREATE TABLE "a""b" (id int PRIMARY KEY); CREATE TABLE "a""bc" (id int PRIMARY KEY)')
    config = demo_db.write_config({'a"b': "a_b"}, profile="production", profiles={"production": {
        "auto_backup": True, "dry_run_default": False, "require_approval": False, "backup_scope": "tables"}})
    result = demo_db.runner("migrate", config=config, env={"PGRENAME_BACKUP_DIR": str(tmp_path)})
    assert result.code == 0, result.text
    [dump] = tmp_path.glob("*.dump")
    import subprocess
    listing = subprocess.run(["pg_restore", "--list", str(dump)], capture_output=True, text=True).stdout
    assert 'TABLE public a"b ' in listing and 'a"bc' not in listing


def test_hooks_run_around_migrate_and_rollback_without_the_password(demo_db, tmp_path):
    trace = tmp_path / "trace.txt"
    hooks = {stage: [f'echo "{stage} $PGRENAME_DATABASE $PGRENAME_MIGRATION $PGRENAME_SCHEMAS $PGPASSWORD" >> {trace}']
             for stage in ("before_migrate", "after_migrate", "before_rollback", "after_rollback")}
    config = production(demo_db, hooks=hooks)
    url = demo_db.url.replace("postgres@", "postgres:Sup3rSecret@")
    assert demo_db.runner("migrate", config=config, url=url).code == 0
    assert demo_db.runner("rollback", config=config, url=url).code == 0
    lines = trace.read_text().splitlines()
    assert [line.split()[0] for line in lines] == ["before_migrate", "after_migrate", "before_rollback",
                                                   "after_rollback"]
    assert all(f"{demo_db.name} test_migration public" in line for line in lines)
    assert "Sup3rSecret" not in trace.read_text()


def test_failing_before_hook_stops_the_migration(demo_db):
    dump = demo_db.schema_dump()
    result = demo_db.runner("migrate", config=production(demo_db, hooks={"before_migrate": ["echo stopping; exit 3"]}))
    assert result.code == 8
    assert "hook before_migrate failed: echo stopping; exit 3: stopping; nothing was changed" in result.text
    assert demo_db.schema_dump() == dump


def test_failing_health_check_triggers_the_configured_rollback(demo_db):
    dump = demo_db.schema_dump()
    config = production(demo_db, hooks={
        "health_checks": [{"sql": "SELECT count(*) = 5000 FROM users"},
                          {"sql": "SELECT count(*) > 0 FROM users WHERE role = 'ADMIN'"}],
        "rollback_on_failed_health_check": True})
    result = demo_db.runner("migrate", config=config)
    assert result.code == 8
    assert "health check sql SELECT count(*) = 5000 FROM users: passed" in result.out
    assert "health check(s) failed after migrate, so it was rolled back" in result.text
    assert demo_db.schema_dump() == dump
    events = [row[0] for row in demo_db.query("SELECT event FROM pgrename.audit ORDER BY id")]
    assert events == ["migration_start", "migration_complete", "rollback_start", "rollback_complete"]


def test_failing_health_check_without_rollback_leaves_it_applied(demo_db):
    config = production(demo_db, hooks={"health_checks": [{"command": "exit 1"}]})
    result = demo_db.runner("migrate", config=config)
    assert result.code == 8
    assert "the migration stays applied" in result.text
    assert "users" in demo_db.table_names()


def test_unknown_profile_and_bad_profile_keys(demo_db):
    result = demo_db.runner("plan", config=demo_db.write_config(DEMO, profile="prod"))
    assert result.code == 2 and "profile 'prod' is not defined" in result.text
    result = demo_db.runner("plan", config=demo_db.write_config(DEMO, profiles={"production": {"backup": True}}))
    assert result.code == 2 and "profile 'production': unknown key 'backup'" in result.text


def scratch_databases(db) -> list[str]:
    with psycopg.connect(db.cluster.url("postgres"), autocommit=True) as admin:
        return [r[0] for r in admin.execute("SELECT datname FROM pg_database WHERE datname LIKE %s",
                                            (f"{db.name}_rehearsal_%",)).fetchall()]


def test_rehearsal_passes_and_leaves_no_scratch_database(demo_db):
    dump = demo_db.schema_dump()
    result = demo_db.runner("rehearse", "--with-data")
    assert result.code == 0, result.text
    for step in ("migrate", "verify", "rollback", "verify after rollback"):
        assert f"rehearsal step: {step}\n" in result.out
    assert "rehearsal passed" in result.out
    assert scratch_databases(demo_db) == []
    assert demo_db.schema_dump() == dump
    assert demo_db.scalar("SELECT to_regnamespace('pgrename') IS NULL")  # nothing written to the real one


def test_failed_rehearsal_leaves_no_scratch_database_either(demo_db):
    demo_db.execute("CREATE TABLE users (id int)")
    result = demo_db.runner("rehearse", config=demo_db.write_config(DEMO))
    assert result.code == 3
    assert "rehearsal failed at migrate" in result.text and "target exists: relation public.users" in result.text
    assert scratch_databases(demo_db) == []


def test_parallel_backup_is_a_verified_directory_dump(demo_db, tmp_path):
    env = {"PGRENAME_BACKUP_DIR": str(tmp_path)}
    result = demo_db.runner("migrate", config=production(demo_db, auto_backup=True, backup_jobs=2), env=env)
    assert result.code == 0, result.text
    [dump] = tmp_path.glob("*.dump")
    assert dump.is_dir() and (dump / "toc.dat").exists()
    restored = demo_db.runner("restore-dump", str(dump), env=env)
    assert restored.code == 0, restored.text
    database = restored.out.split("into database ")[1].split()[0]
    with psycopg.connect(demo_db.cluster.url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
    data_file = max([*dump.glob("*.dat.gz"), *dump.glob("*.dat")], key=lambda p: p.stat().st_size)
    data_file.write_bytes(data_file.read_bytes()[:-10])  # truncated
    refused = demo_db.runner("restore-dump", str(dump), env=env)
    assert refused.code == 1 and "the file was changed or truncated" in refused.text


def test_restore_over_the_original_needs_approval_whatever_the_profile(demo_db, tmp_path):
    env = {"PGRENAME_BACKUP_DIR": str(tmp_path)}
    config = production(demo_db, auto_backup=True)  # no approval required for migrate in this profile
    assert demo_db.runner("migrate", config=config, env=env).code == 0
    [dump] = tmp_path.glob("*.dump")
    refused = demo_db.runner("restore-dump", str(dump), "--into-original", config=config, env=env)
    assert refused.code == 2 and f"requires approval to restore-dump {demo_db.name}" in refused.text
    assert "users" in demo_db.table_names()


@pytest.mark.parametrize("state", ["migrated", "contracted", "rolled back"])
def test_restore_over_the_original_in_every_state_a_migration_leaves(demo_db, tmp_path, state):
    """Right after migrate (compatibility views in the way of pg_restore --clean), after contract,
    after rollback: the database becomes the dump again, and the audit trail goes on."""
    env = {"PGRENAME_BACKUP_DIR": str(tmp_path)}
    config = production(demo_db, auto_backup=True)
    before = demo_db.schema_dump()
    assert demo_db.runner("migrate", config=config, env=env).code == 0
    if state == "contracted":
        assert demo_db.runner("contract", config=config).code == 0
    if state == "rolled back":
        assert demo_db.runner("rollback", config=config).code == 0
    demo_db.execute('DELETE FROM "AuditLog"; DELETE FROM "AssistantChatMessage"')
    events_before = demo_db.scalar("SELECT count(*) FROM pgrename.audit")
    [dump] = tmp_path.glob("*.dump")

    restored = demo_db.runner("restore-dump", str(dump), "--into-original", "--approve", demo_db.name,
                              config=config, env=env)

    assert restored.code == 0, restored.text
    assert demo_db.schema_dump() == before
    assert demo_db.scalar('SELECT count(*) FROM "AuditLog"') == 5000
    assert demo_db.scalar('SELECT count(*) FROM "AssistantChatMessage"') == 40000
    events = demo_db.query("SELECT event, details FROM pgrename.audit ORDER BY id")
    assert len(events) == events_before + 1 and events[-1][0] == "dump_restored"
    undone = [] if state == "rolled back" else ["test_migration"]
    assert events[-1][1]["undid"] == undone and events[-1][1]["dump"] == str(dump)
    status = demo_db.scalar("SELECT status FROM pgrename.history")
    assert status == ("rolled_back" if state == "rolled back" else "undone_by_dump")
    assert f"migrations undone by it: {', '.join(undone) or 'none'}" in restored.out
    # The migration can run again on the restored database.
    again = demo_db.runner("migrate", config=config, env=env)
    assert again.code == 0, again.text
    assert "users" in demo_db.table_names()


def test_restore_over_the_original_refuses_a_dump_of_some_tables(demo_db, tmp_path):
    env = {"PGRENAME_BACKUP_DIR": str(tmp_path)}
    config = production(demo_db, auto_backup=True, backup_scope="tables")
    assert demo_db.runner("migrate", config=config, env=env).code == 0
    [dump] = tmp_path.glob("*.dump")
    assert dump.name.endswith("-tables.dump")
    migrated = demo_db.schema_dump()
    refused = demo_db.runner("restore-dump", str(dump), "--into-original", "--approve", demo_db.name,
                             config=config, env=env)
    assert refused.code == 1 and "holds only the tables a migration renamed" in refused.text
    assert demo_db.schema_dump() == migrated


def test_rehearse_after_a_migrate_and_its_rollback_and_not_while_applied(demo_db):
    assert demo_db.runner("migrate").code == 0
    applied = demo_db.runner("rehearse")
    assert applied.code == 0 and "is already applied" in applied.out and "nothing to do" in applied.out
    assert demo_db.runner("rollback").code == 0
    rehearsed = demo_db.runner("rehearse")
    assert rehearsed.code == 0, rehearsed.text
    assert "rehearsal passed" in rehearsed.out
    assert demo_db.scalar("SELECT count(*) FROM pgrename.history") == 1  # the real one's history, untouched


def test_a_hook_connects_with_psql_but_never_sees_or_prints_the_password(demo_db):
    hook = ('echo "url=[$DATABASE_URL] password=[$PGPASSWORD]"; psql -XAtc "SELECT current_database()";'
            ' cat "$PGPASSFILE"')
    config = production(demo_db, hooks={"before_migrate": [hook]})
    url = demo_db.url.replace("postgres@", "postgres:Sup3rSecret@")
    result = demo_db.runner("migrate", config=config, url=url, env={"PGPASSWORD": "Sup3rSecret"})
    assert result.code == 0, result.text
    assert "url=[] password=[]" in result.out
    assert f"\n    {demo_db.name}\n" in result.out  # psql in the hook reached the database
    assert f":{demo_db.name}:postgres:****" in result.out  # its .pgpass, printed, is scrubbed
    assert "Sup3rSecret" not in result.text + demo_db.logs()
