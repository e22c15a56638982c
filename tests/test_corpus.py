"""Schemas nobody here designed (../shared/corpus): migrate, verify, and roll back to an identical dump.
Without ../shared beside the checkout they skip, except in CI (CI=true), where they fail."""
import os

import pytest
from conftest import PROJECT_DIR, psql

CORPUS = PROJECT_DIR.parent / "shared" / "corpus"
HOPPSCOTCH_TABLES = [
    "Account", "InfraConfig", "InfraToken", "InvitedUsers", "MockServer", "MockServerActivity", "MockServerLog",
    "PersonalAccessToken", "PublishedDocs", "Shortcode", "Team", "TeamCollection", "TeamEnvironment",
    "TeamInvitation", "TeamMember", "TeamRequest", "User", "UserCollection", "UserEnvironment", "UserHistory",
    "UserRequest", "UserSettings", "VerificationToken",
]
CASES = {
    # 23 PascalCase tables, self-references, tables without a primary key, trigger and GIN index
    # names that do not carry their table's name.
    "hoppscotch": (["prisma_hoppscotch/hoppscotch_migrations_all.sql"], "rule"),
    # Mostly snake_case already; two PascalCase tables amid FK cycles and multi-column keys.
    "langfuse": (["prisma_langfuse/langfuse_migrations_all.sql"], {"Account": "accounts", "Session": "sessions"}),
    # A partitioned table, views and a materialized view over the renamed tables.
    "pagila": (["pagila/pagila-schema.sql", "pagila/pagila-data.sql"],
               {"payment": "payments", "customer": "customers", "film": "films"}),
}


pytestmark = pytest.mark.corpus


@pytest.fixture(autouse=True)
def corpus_present():
    if not CORPUS.exists():
        message = f"{CORPUS} is not beside this checkout"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI runs the corpus tests, never skips them")
        pytest.skip(message)


def load(db, files: list[str]) -> None:
    for name in files:
        psql(db.url, "-f", str(CORPUS / name))


def naming_rule_map(db) -> dict[str, str]:
    """The map discovery proposes: every table not yet snake_case, by the naming rule."""
    rows = psql(db.url, "-At", "-F", "\t", "-f", str(PROJECT_DIR / "sql" / "analysis" / "discovery.sql")).stdout
    return {fields[1]: fields[3] for fields in (line.split("\t") for line in rows.splitlines())
            if fields[2] == "rule"}


@pytest.mark.parametrize("case", CASES)
def test_corpus_schema_migrates_and_rolls_back_to_an_identical_dump(empty_db, case):
    files, tables = CASES[case]
    load(empty_db, files)
    if tables == "rule":
        tables = naming_rule_map(empty_db)
        assert sorted(tables) == HOPPSCOTCH_TABLES and tables["TeamMember"] == "team_member"
    dump = empty_db.schema_dump()
    config = empty_db.write_config(tables)

    migrated = empty_db.runner("migrate", config=config)

    assert migrated.code == 0, migrated.text
    assert set(tables.values()) <= empty_db.table_names()
    assert not set(tables) & empty_db.table_names()
    assert empty_db.runner("verify", config=config).code == 0
    rolled_back = empty_db.runner("rollback", config=config)
    assert rolled_back.code == 0, rolled_back.text
    assert empty_db.schema_dump() == dump


def test_pagila_target_that_exists_is_refused(empty_db):
    load(empty_db, CASES["pagila"][0][:1])
    result = empty_db.runner("plan", config=empty_db.write_config({"actor": "film"}))
    assert result.code == 3
    for taken in ("relation public.film", "type public.film", "relation public.film_pkey"):
        assert f"target exists: {taken}" in result.text


def test_pagila_with_its_partitions_backs_up_restores_and_backs_up_again_identically(empty_db, restore_target, tmp_path):
    """pagila declares its payment foreign keys on the partitions: they order the restore all the same."""
    import hashlib
    load(empty_db, CASES["pagila"][0])
    config = empty_db.write_config({})

    def backup(db, name: str) -> dict[str, str]:
        directory = tmp_path / name
        taken = empty_db.runner("backup", "--to", str(directory), config=config, url=db.url)
        assert taken.code == 0, taken.text
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in directory.iterdir()
                if p.name != "manifest.json"}

    first = backup(empty_db, "first")
    for mode, extra in (("clean", ["--schema"]), ("append", []), ("upsert", [])):
        restored = empty_db.runner("restore", str(tmp_path / "first"), "--mode", mode, *extra, config=config,
                                   url=restore_target.url)
        assert restored.code == 0, restored.text
        assert backup(restore_target, f"after_{mode}") == first, mode
    assert restore_target.scalar("SELECT count(*) FROM payment") == empty_db.scalar("SELECT count(*) FROM payment")


def test_pagila_partitions_are_listed_as_left_alone_with_their_parent(empty_db):
    import json
    load(empty_db, CASES["pagila"][0][:1])
    result = empty_db.runner("plan", "--json", config=empty_db.write_config({"payment": "payments"}))
    assert result.code == 0, result.text
    partitions = [r for r in json.loads(result.out)["left_alone"] if r["kind"] == "partition"]
    assert {r["object_name"] for r in partitions} >= {"payment_p2022_01", "payment_p2022_07"}
    assert all(r["note"].startswith("a partition of the table") for r in partitions)


def test_pagila_partitions_move_with_their_table_and_back(empty_db):
    load(empty_db, CASES["pagila"][0])
    dump = empty_db.schema_dump()
    config = empty_db.write_config({"payment": "payments"}, partitions="rename", object_names="postgres_defaults")

    migrated = empty_db.runner("migrate", config=config)

    assert migrated.code == 0, migrated.text
    assert {"payments_p2022_01", "payments_p2022_07"} <= empty_db.table_names()
    assert not {name for name in empty_db.table_names() if name.startswith("payment_")}
    assert empty_db.scalar("SELECT count(*) FROM pg_constraint WHERE conname = 'payments_p2022_01_customer_id_fkey'") == 1
    assert empty_db.scalar("SELECT count(*) FROM payments") == empty_db.scalar("SELECT count(*) FROM payment")
    assert empty_db.runner("verify", config=config).code == 0
    rolled_back = empty_db.runner("rollback", config=config)
    assert rolled_back.code == 0, rolled_back.text
    assert empty_db.schema_dump() == dump
