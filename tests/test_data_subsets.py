"""Backups of part of the data: one tenant's rows (SCOPE) and per-table row limits. Either way the
subset restores into an empty database with every foreign key enforced."""
import json

import pytest
from conftest import psql

SCHEMA = '''
CREATE TABLE "Country" (code text PRIMARY KEY);
CREATE TABLE "Business" (id int PRIMARY KEY, country text NOT NULL REFERENCES "Country");
CREATE TABLE "Employee" (id int PRIMARY KEY, business int NOT NULL REFERENCES "Business",
                         manager int REFERENCES "Employee");
CREATE TABLE "Product" (id int PRIMARY KEY, business int NOT NULL REFERENCES "Business");
CREATE TABLE "Customer" (id int PRIMARY KEY, business int NOT NULL REFERENCES "Business");
CREATE TABLE "Order" (id int PRIMARY KEY, customer int NOT NULL REFERENCES "Customer", placed timestamptz);
CREATE TABLE "OrderLine" ("order" int REFERENCES "Order", line int, product int NOT NULL REFERENCES "Product",
                          PRIMARY KEY ("order", line));
CREATE TABLE "AuditLog" (id int PRIMARY KEY, at timestamptz, what text);
'''
ROWS = '''
INSERT INTO "Country" VALUES ('DE'), ('FR'), ('NL');
INSERT INTO "Business" VALUES (42, 'DE'), (7, 'FR');
INSERT INTO "Employee" VALUES (1, 42, NULL), (2, 42, 1), (3, 42, 2), (4, 7, NULL);
INSERT INTO "Product" VALUES (100, 42), (700, 7);
INSERT INTO "Customer" VALUES (10, 42), (70, 7);
INSERT INTO "Order" VALUES (1000, 10, '2024-01-01'), (1001, 10, '2024-03-01'), (7000, 70, '2024-02-01');
-- Business 42's order also bought business 7's product: a parent the tenant's rows need.
INSERT INTO "OrderLine" VALUES (1000, 1, 100), (1000, 2, 700), (1001, 1, 100), (7000, 1, 700);
INSERT INTO "AuditLog" SELECT g, timestamptz '2024-01-01' + g * interval '1 day', 'event ' || g
FROM generate_series(1, 50) AS g;
'''
CONTENT = '''SELECT string_agg(t, E'\\n' ORDER BY t) FROM (
    SELECT 'Country ' || row_to_json(r)::text AS t FROM "Country" AS r UNION ALL
    SELECT 'Business ' || row_to_json(r)::text FROM "Business" AS r UNION ALL
    SELECT 'Employee ' || row_to_json(r)::text FROM "Employee" AS r UNION ALL
    SELECT 'Product ' || row_to_json(r)::text FROM "Product" AS r UNION ALL
    SELECT 'Customer ' || row_to_json(r)::text FROM "Customer" AS r UNION ALL
    SELECT 'Order ' || row_to_json(r)::text FROM "Order" AS r UNION ALL
    SELECT 'OrderLine ' || row_to_json(r)::text FROM "OrderLine" AS r UNION ALL
    SELECT 'AuditLog ' || row_to_json(r)::text FROM "AuditLog" AS r) AS all_rows'''


@pytest.fixture
def shop(empty_db, restore_target):
    empty_db.execute(SCHEMA)
    empty_db.execute(ROWS)
    restore_target.execute(SCHEMA)
    return empty_db


def rows_of(db, table, key="id"):
    return [r[0] for r in db.query(f'SELECT {key} FROM "{table}" ORDER BY 1')]


def backup_and_restore(db, target, tmp_path, *args, **settings):
    config = db.write_config({}, **settings)
    taken = db.runner("backup", "--to", str(tmp_path / "b"), *args, config=config)
    assert taken.code == 0, taken.text
    # The target enforces every foreign key: a subset missing a parent would fail here.
    restored = db.runner("restore", str(tmp_path / "b"), config=config, url=target.url)
    assert restored.code == 0, restored.text
    return taken, json.loads((tmp_path / "b" / "manifest.json").read_text())


def test_scope_takes_the_tenant_its_children_and_the_parents_they_need(shop, restore_target, tmp_path):
    taken, manifest = backup_and_restore(shop, restore_target, tmp_path, "--scope", '"Business".id = 42')
    assert rows_of(restore_target, "Business") == [7, 42]  # 7 only because order 1000 bought its product
    assert rows_of(restore_target, "Country", "code") == ["DE", "FR"]  # NL: nobody needs it
    assert rows_of(restore_target, "Employee") == [1, 2, 3]  # the whole management chain, nobody from 7
    assert rows_of(restore_target, "Product") == [100, 700]
    assert rows_of(restore_target, "Customer") == [10]  # parents reached going up bring no children
    assert rows_of(restore_target, "Order") == [1000, 1001]
    assert restore_target.query('SELECT "order", line FROM "OrderLine" ORDER BY 1, 2') == [(1000, 1), (1000, 2),
                                                                                           (1001, 1)]
    assert rows_of(restore_target, "AuditLog") == []  # not linked to the tenant
    assert manifest["scope"] == '"Business".id = 42'
    # The rendered selection stays with the backup, for a reviewer, and runs as is in psql.
    kept = tmp_path / "b" / "choose_rows.sql"
    assert 'WHERE "Business".id = 42;' in kept.read_text()
    chosen = psql(shop.url, "-At", "-c", "BEGIN ISOLATION LEVEL REPEATABLE READ", "-f", str(kept),
                  "-c", "SELECT count(*) FROM pgrename_backup_row", "-c", "ROLLBACK")
    assert chosen.stdout.splitlines()[-1] == str(1 + 10 + 4)  # the root, the rows below, the parents
    assert "rows added below the root: 10" in taken.out and "parent rows added: 4" in taken.out


def test_scope_backup_is_deterministic(shop, tmp_path):
    config = shop.write_config({})
    for name in ("one", "two"):
        assert shop.runner("backup", "--to", str(tmp_path / name), "--scope", '"Business".id=42',
                           config=config).code == 0
    assert [p.read_bytes() for p in sorted((tmp_path / "one").glob("*.zst"))] == \
        [p.read_bytes() for p in sorted((tmp_path / "two").glob("*.zst"))]


def test_limits_keep_the_newest_rows_and_drop_the_rows_whose_parent_they_cut(shop, restore_target, tmp_path):
    taken, manifest = backup_and_restore(
        shop, restore_target, tmp_path,
        backup_limits={"AuditLog": {"newest": 5, "by": "at"}, "Order": {"newest": 1, "by": ["placed"]}})
    assert rows_of(restore_target, "AuditLog") == [46, 47, 48, 49, 50]
    assert rows_of(restore_target, "Order") == [1001]
    assert restore_target.query('SELECT "order", line FROM "OrderLine" ORDER BY 1, 2') == [(1001, 1)]
    assert rows_of(restore_target, "Employee") == [1, 2, 3, 4]  # untouched by the limits
    chosen = {t["table"]: t["chosen"] for t in manifest["tables"]}
    assert chosen["AuditLog"] == "newest 5 by at" and chosen["OrderLine"] == "rows whose parents are kept"
    assert chosen["Customer"] == "all rows"
    assert "(newest 5 by at)" in taken.out


def test_limits_within_a_scope(shop, restore_target, tmp_path):
    backup_and_restore(shop, restore_target, tmp_path, "--scope", '"Business".id = 42',
                       backup_limits={"Order": {"newest": 1, "by": "placed"}})
    assert rows_of(restore_target, "Order") == [1001]
    assert restore_target.query('SELECT "order", line FROM "OrderLine"') == [(1001, 1)]


@pytest.mark.parametrize("scope, limits, message", [
    ('"Nope".id = 1', {}, "'Nope' is not a table this backup covers"),
    ('id = 1', {}, "must start with its table"),
    ('"Business".id = 1; DROP TABLE "Country"', {}, "must be one condition"),
    ('"Business".nope = 1', {}, 'column Business.nope does not exist'),
    ('"Business".id = 4200', {}, 'the scope selects no row of "public"."Business"'),
    (None, {"AuditLog": {"newest": 5, "by": "nope"}}, "backup_limits of 'AuditLog': no column 'nope'"),
])
def test_bad_scope_or_limit_is_refused_and_writes_nothing(shop, tmp_path, scope, limits, message):
    before = shop.scalar(CONTENT)
    config = shop.write_config({}, backup_limits=limits)
    result = shop.runner("backup", "--to", str(tmp_path / "b"), *(["--scope", scope] if scope else []),
                         config=config)
    assert result.code == 1 and message in result.text, result.text
    assert not (tmp_path / "b").exists()
    assert shop.scalar(CONTENT) == before
    assert shop.scalar('SELECT count(*) FROM "Country"') == 3


def test_bad_backup_limits_config_is_refused(shop, tmp_path):
    config = shop.write_config({}, backup_limits={"AuditLog": {"newest": -1, "by": "at"}})
    result = shop.runner("backup", "--to", str(tmp_path / "b"), config=config)
    assert result.code == 2 and "newest must be a whole number" in result.text


def test_limits_and_scope_on_a_partitioned_table(shop, restore_target, tmp_path):
    # Row addresses repeat from partition to partition: the choice must tell partitions apart.
    partitioned = '''CREATE TABLE "Visit" (id int, at date, customer int REFERENCES "Customer",
                                            PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
                     CREATE TABLE "Visit_2023" PARTITION OF "Visit" FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
                     CREATE TABLE "Visit_2024" PARTITION OF "Visit" FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');'''
    shop.execute(partitioned + '''INSERT INTO "Visit" VALUES (1, '2023-05-01', 10), (2, '2024-05-01', 70),
                                                         (3, '2024-06-01', 10), (4, '2023-06-01', 70)''')
    restore_target.execute(partitioned)
    backup_and_restore(shop, restore_target, tmp_path, "--scope", '"Business".id = 42',
                       backup_limits={"Visit": {"newest": 1, "by": "at"}})
    assert restore_target.query('SELECT id FROM "Visit"') == [(3,)]  # business 42's newest visit
    assert [t["table"] for t in json.loads((tmp_path / "b" / "manifest.json").read_text())["tables"]
            if t["table"].startswith("Visit")] == ["Visit"]  # the partitions come with their parent


def test_a_partial_backup_never_empties_tables_that_hold_other_rows(shop, tmp_path):
    config = shop.write_config({})
    assert shop.runner("backup", "--to", str(tmp_path / "b"), "--scope", '"Business".id = 42', config=config).code == 0
    before = shop.scalar(CONTENT)
    cleaned = shop.runner("restore", str(tmp_path / "b"), "--mode", "clean", config=config)
    assert cleaned.code == 1 and "this backup holds part of the data (scope \"Business\".id = 42)" in cleaned.text
    assert "use MODE=upsert or MODE=append" in cleaned.text
    assert shop.scalar(CONTENT) == before
    shop.execute('DELETE FROM "OrderLine" WHERE "order" = 1001; DELETE FROM "Order" WHERE id = 1001')
    upserted = shop.runner("restore", str(tmp_path / "b"), "--mode", "upsert", config=config)
    assert upserted.code == 0, upserted.text
    assert shop.scalar(CONTENT) == before  # the tenant's rows are back, nobody else's were touched
