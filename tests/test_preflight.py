"""Each preflight refusal: a message naming the object at fault, exit 3, user schema untouched,
the failure recorded in the audit trail (its own transaction), and plan writes no files."""
import pytest

DEMO = {"User": "users", "AssistantFolder": "chat_folders"}


def refused(db, tables, *messages, command="migrate"):
    return db.refused_by_preflight(db.write_config(tables), *messages, command=command)


def test_source_table_that_does_not_exist(demo_db):
    refused(demo_db, {"User": "users", "Nope": "nope"}, 'table public."Nope" does not exist')
    assert demo_db.query("SELECT event, details->>'step' FROM pgrename.audit") == [
        ("migration_failed", "sql/verify/preflight.sql.j2")]


def test_plan_refuses_too_and_writes_no_files(demo_db):
    refused(demo_db, {"Nope": "nope"}, 'table public."Nope" does not exist', command="plan")
    assert not (demo_db.workdir / "build").exists()


def test_target_that_exists(demo_db):
    demo_db.execute("CREATE TABLE users (id int)")
    refused(demo_db, DEMO, "target exists: relation public.users")


def test_target_that_exists_as_a_type(demo_db):
    demo_db.execute("CREATE TYPE chat_folders AS ENUM ('a')")
    refused(demo_db, DEMO, "target exists: type public.chat_folders")


def test_two_sources_to_one_target_and_every_problem_listed(demo_db):
    result = refused(demo_db, {"User": "users", "AssistantFolder": "users"},
                     '2 objects would be named users (relation in schema public)',
                     '2 objects would be named users_pkey (relation in schema public)')
    assert "problem(s)" in result.text


def test_case_only_collision(demo_db):
    demo_db.execute('CREATE TABLE "Users" (id int)')
    refused(demo_db, {"User": "users", "Users": "users"}, "2 objects would be named users")


@pytest.mark.parametrize("target, at_fault", [
    ("t" * 64, "table name " + "t" * 64 + " is 64 bytes, over the limit of 63"),
    ("ü" * 32, "is 64 bytes, over the limit of 63"),
    ("u" * 58, "constraint name " + "u" * 58 + "_email_check is 70 bytes"),
])
def test_names_over_63_bytes(demo_db, target, at_fault):
    refused(demo_db, {"User": target}, at_fault)


def test_swap_is_refused(demo_db):
    refused(demo_db, {"User": "AuditLog", "AuditLog": "User"}, "tables swap names")


def test_role_that_does_not_own_the_tables(demo_db):
    reader = f"reader_{demo_db.name}"
    demo_db.execute(f"CREATE ROLE {reader} LOGIN")
    url = demo_db.url.replace("postgres@", f"{reader}@")
    dump = demo_db.schema_dump()
    result = demo_db.runner("migrate", config=demo_db.write_config(DEMO), url=url)
    assert result.code == 3, result.text
    assert f'table "User" is owned by postgres; {reader} is not a member of that role' in result.text
    assert demo_db.schema_dump() == dump


def test_member_of_the_owning_role_may_rename(demo_db):
    owner, dba = f"owner_{demo_db.name}", f"dba_{demo_db.name}"
    demo_db.execute(f'CREATE ROLE {owner}; ALTER TABLE "User" OWNER TO {owner};'
                    f' ALTER TABLE "AssistantFolder" OWNER TO {owner};'
                    f' CREATE ROLE {dba} LOGIN IN ROLE {owner}; GRANT CREATE ON SCHEMA public TO {dba};'
                    f' GRANT CREATE ON DATABASE {demo_db.name} TO {dba}')
    url = demo_db.url.replace("postgres@", f"{dba}@")
    result = demo_db.runner("migrate", config=demo_db.write_config(DEMO), url=url)
    assert result.code == 0, result.text
    assert {"users", "chat_folders"} <= demo_db.table_names()


def test_owner_without_create_on_the_schema(demo_db):
    owner = f"owner_{demo_db.name}"
    demo_db.execute(f'CREATE ROLE {owner} LOGIN; ALTER TABLE "User" OWNER TO {owner};'
                    f' ALTER TABLE "AssistantFolder" OWNER TO {owner}')
    url = demo_db.url.replace("postgres@", f"{owner}@")
    result = demo_db.runner("migrate", config=demo_db.write_config(DEMO), url=url)
    assert result.code == 3, result.text
    assert f"{owner} has no CREATE privilege on schema public" in result.text
    assert "could not record migration_failed in pgrename.audit" in result.text


def test_stale_plan_is_refused_by_the_script(demo_db):
    """The rendered script checks the objects it names still exist: a plan made, then the schema changed."""
    from conftest import psql
    assert demo_db.runner("plan", config=demo_db.write_config(DEMO)).code == 0
    demo_db.execute('DROP INDEX "AssistantFolder_userId_idx"')
    done = psql(demo_db.url, "--single-transaction", "-f", str(demo_db.workdir / "build" / "migrate.sql"),
                check=False)
    assert done.returncode != 0
    assert 'index "AssistantFolder_userId_idx" of table "AssistantFolder" does not exist' in done.stderr
    assert "AssistantFolder" in demo_db.table_names()
