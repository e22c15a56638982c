"""A Prisma-style schema of 300 tables: the rendered script carries every object of the plan (as
one JSON constant, not a VALUES list of tens of thousands of tokens), and plan, migrate, verify
and rollback still work, exactly."""

TABLES = 300


def prisma_style_schema(n: int) -> str:
    """PascalCase tables with Prisma's names: primary keys, unique indexes, foreign keys, serials."""
    statements = []
    for i in range(n):
        table = f"Table{i:03d}Item"
        parent = f' CONSTRAINT "{table}_parentId_fkey" REFERENCES "Table{i - 1:03d}Item"' if i else ""
        statements.append(
            f'CREATE TABLE "{table}" (id serial CONSTRAINT "{table}_pkey" PRIMARY KEY, "emailAddress" text,'
            f' "parentId" int{parent});'
            f' CREATE UNIQUE INDEX "{table}_emailAddress_key" ON "{table}" ("emailAddress");'
            f' CREATE INDEX "{table}_parentId_idx" ON "{table}" ("parentId");')
    return "\n".join(statements)


def test_300_tables_plan_migrate_verify_and_roll_back_exactly(empty_db):
    empty_db.execute(prisma_style_schema(TABLES))
    config = empty_db.write_config({f"Table{i:03d}Item": f"table{i:03d}_item" for i in range(TABLES)},
                                   column_rule="snake_case")
    dump = empty_db.schema_dump()

    planned = empty_db.runner("plan", config=config)
    assert planned.code == 0, planned.text
    assert (empty_db.workdir / "build" / "migrate.sql").read_text().count('{"ordinal": ') == 300 + 599 + 600 + 300 + 600
    migrated = empty_db.runner("migrate", config=config)
    assert migrated.code == 0, migrated.text
    assert "300 tables, 599 constraints, 600 indexes, 300 sequences, 600 columns renamed" in migrated.out
    assert empty_db.scalar("SELECT count(*) FROM pg_class WHERE relname LIKE 'table%\\_item\\_emailAddress\\_key'") \
        == TABLES
    assert empty_db.runner("verify", config=config).code == 0
    rolled_back = empty_db.runner("rollback", config=config)
    assert rolled_back.code == 0, rolled_back.text
    assert empty_db.schema_dump() == dump
    assert all("Traceback" not in r.text for r in (planned, migrated, rolled_back))
