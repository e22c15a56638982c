"""One migration over two schemas, each with a table called "Customer": tables: names the other
schema's tables as sales.Customer; one transaction, one history entry, one fingerprint, each
table renamed (and its view made, and dropped by contract) in its own schema; rollback gives back
the same pg_dump -s."""
import json
from pathlib import Path

import psycopg
import pytest

FIXTURE = Path(__file__).parent / "fixtures" / "several_schemas" / "legacy.sql"
TABLES = {"Customer": "customers", "sales.Customer": "customers", "sales.OrderLine": "order_lines"}
COLUMNS = {"sales.Customer": {"rename": {"fullName": "full_name"},
                              "add": {"isActive": {"type": "boolean", "not_null": True, "default": True}}}}


@pytest.fixture
def two_schemas(empty_db):
    empty_db.execute(FIXTURE.read_text())
    return empty_db


def relations(db, schema: str) -> set[str]:
    return {row[0] for row in db.query(
        "SELECT relname FROM pg_class WHERE relnamespace = %s::regnamespace AND relkind IN ('r', 'v', 'i', 'S')",
        (schema,))}


def test_two_schemas_migrate_verify_and_roll_back_as_one(two_schemas):
    db = two_schemas
    config = db.write_config(TABLES, schemas=["public", "sales"], columns=COLUMNS)
    dump = db.schema_dump()

    result = db.runner("migrate", config=config)
    assert result.code == 0, result.text
    assert relations(db, "public") == {"customers", "customers_pkey", "customers_email_key", "customers_id_seq",
                                       "Customer"}
    assert relations(db, "sales") == {"customers", "customers_pkey", "customers_accountId_idx", "customers_id_seq",
                                      "order_lines", "order_lines_pkey", "order_lines_id_seq",
                                      "Customer", "OrderLine"}
    assert db.scalar("SELECT conname FROM pg_constraint WHERE conrelid = 'sales.order_lines'::regclass"
                     " AND contype = 'f'") == "order_lines_customerId_fkey"
    assert db.scalar('SELECT count(*) FROM sales.customers WHERE "isActive"') == 50
    # the script says what it covers, and both schemas are in one history entry and one audit row
    migrate_sql = (db.workdir / "build" / "migrate.sql").read_text()
    assert "rename 3 table(s) in schemas\n-- \"public\", \"sales\"," in migrate_sql
    assert "--   \"sales\".\"Customer\" -> \"customers\"\n" in migrate_sql
    rollback_sql = (db.workdir / "build" / "rollback.sql").read_text()  # its destructive steps, each qualified
    assert '--   DROP COLUMN "sales"."customers"."isActive": ' in rollback_sql
    assert '--   DROP VIEW "public"."Customer" (' in rollback_sql and '--   DROP VIEW "sales"."Customer" (' in rollback_sql
    assert db.query("SELECT migration, status FROM pgrename.history") == [("test_migration", "applied")]
    assert db.scalar("SELECT details -> 'schemas' FROM pgrename.audit WHERE event = 'migration_start'") \
        == ["public", "sales"]

    # an old client of each schema, through the views and the grants copied to them
    with db.connect() as conn:
        conn.execute("SET ROLE several_schemas_client")
        new_id = conn.execute('INSERT INTO sales."Customer" ("fullName", "accountId") VALUES (%s, 1) RETURNING id',
                              ("Late buyer",)).fetchone()[0]
        conn.execute('UPDATE public."Customer" SET "fullName" = %s WHERE id = 1', ("Renamed account",))
        assert conn.execute('SELECT count(*) FROM sales."OrderLine"').fetchone()[0] == 200
    assert db.scalar("SELECT full_name FROM sales.customers WHERE id = %s", (new_id,)) == "Late buyer"
    assert db.scalar('SELECT "fullName" FROM public.customers WHERE id = 1') == "Renamed account"

    assert db.runner("verify", config=config).code == 0
    result = db.runner("contract", config=config)  # old clients done: the views go, in both schemas
    assert result.code == 0, result.text
    assert "Customer" not in relations(db, "public") | relations(db, "sales")
    assert "OrderLine" not in relations(db, "sales")

    result = db.runner("rollback", config=config)
    assert result.code == 0, result.text
    assert db.schema_dump() == dump
    assert db.scalar('SELECT count(*) FROM sales."Customer"') == 51


def test_analyze_reports_each_schema_s_tables_by_their_keys(two_schemas):
    db = two_schemas
    config = db.write_config(TABLES, schemas=["public", "sales"])
    result = db.runner("analyze", "--format", "json", config=config)
    assert result.code == 0, result.text
    report = json.loads(result.out)
    assert report["database"]["schemas"] == ["public", "sales"]
    assert {(t["table_schema"], t["source_table"], t["status"]) for t in report["tables"]} == {
        ("public", "Customer", "mapped"), ("sales", "Customer", "mapped"), ("sales", "OrderLine", "mapped")}
    assert report["conflicts"] == []
    assert set(report["dependencies"]) == {"Customer", "sales.Customer", "sales.OrderLine"}
    assert {d["name"] for d in report["dependencies"]["sales.Customer"] if d["kind"] == "foreign key in"} \
        == {"OrderLine_customerId_fkey"}
    assert {v["source_table"] for v in report["volume"]} == set(TABLES)

    text = db.runner("analyze", config=config).out
    assert ", schemas public, sales\n" in text
    assert "  mapped     sales.Customer -> customers" in text and "  mapped     public.Customer -> customers" in text


def test_the_starter_config_names_the_other_schema_s_tables_qualified(two_schemas, tmp_path):
    db = two_schemas
    config = db.write_config({}, schemas=["public", "sales"])
    written = tmp_path / "starter.yaml"
    result = db.runner("analyze", "--write-config", str(written), config=config)
    assert result.code == 0, result.text
    text = written.read_text()
    assert "schemas:\n- public\n- sales\n" in text
    assert "  Customer: customer\n" in text and "  sales.Customer: customer\n" in text
    assert "  sales.OrderLine: order_line\n" in text


@pytest.mark.parametrize("tables, schemas, prepare, message", [
    ({"ghost.Thing": "thing"}, ["public", "ghost"], None,
     'schema ghost does not exist (table ghost."Thing")'),
    ({"sales.Customer": "customers"}, ["public", "sales"], "CREATE TABLE sales.customers (id integer)",
     "relation sales.customers"),
])
def test_a_missing_schema_or_a_name_taken_in_the_table_s_schema_is_refused(two_schemas, tables, schemas, prepare,
                                                                           message):
    db = two_schemas
    if prepare:
        db.execute(prepare)
    db.refused_by_preflight(db.write_config(tables, schemas=schemas), message)
    assert db.scalar("SELECT count(*) FROM pgrename.history") == 0


def test_the_same_target_in_another_schema_is_no_collision_but_in_the_same_one_is(two_schemas):
    db = two_schemas
    config = db.write_config({"Customer": "clients", "sales.Customer": "clients", "sales.OrderLine": "clients"},
                             schemas=["public", "sales"])
    result = db.runner("analyze", "--format", "json", config=config)
    report = json.loads(result.out)
    duplicates = {(c["table_schema"], c["source_table"]) for c in report["conflicts"] if c["kind"] == "duplicate_target"}
    assert duplicates == {("sales", "Customer"), ("sales", "OrderLine")}


def test_object_names_kept_until_contract_are_renamed_by_it_in_each_schema(two_schemas):
    db = two_schemas
    config = db.write_config(TABLES, schemas=["public", "sales"], rename_objects="at_contract")
    dump = db.schema_dump()
    assert db.runner("migrate", config=config).code == 0
    assert {"Customer_pkey", "Customer_accountId_idx", "OrderLine_pkey"} <= relations(db, "sales")
    assert {"Customer_pkey", "Customer_email_key"} <= relations(db, "public")

    result = db.runner("contract", config=config)
    assert result.code == 0, result.text
    assert {"customers_pkey", "customers_accountId_idx", "order_lines_pkey", "order_lines_id_seq"} <= relations(db, "sales")
    assert {"customers_pkey", "customers_email_key", "customers_id_seq"} <= relations(db, "public")
    assert db.runner("verify", config=config).code == 0

    assert db.runner("rollback", config=config).code == 0
    assert db.schema_dump() == dump


def test_a_merge_in_another_schema_copied_ahead_then_migrated_and_rolled_back(two_schemas):
    db = two_schemas
    db.execute('CREATE TABLE sales."OrderLineOld" (id integer PRIMARY KEY, "customerId" integer NOT NULL,'
               ' amount numeric(10, 2) NOT NULL);'
               ' INSERT INTO sales."OrderLineOld" SELECT n, 1 + n % 50, n FROM generate_series(1, 30) AS n')
    config = db.write_config({**TABLES, "sales.OrderLineOld": "order_lines_old"}, schemas=["public", "sales"],
                             merges=[{"from": "sales.OrderLineOld", "into": "sales.OrderLine", "key": "id",
                                      "on_conflict": "skip",
                                      "columns": {"id": "100000 + id", "customerId": "customerId", "amount": "amount"}}])
    dump = db.schema_dump()
    result = db.runner("merge-prepare", "--batch-size", "10", config=config)
    assert result.code == 0, result.text
    db.execute('INSERT INTO sales."OrderLineOld" VALUES (31, 1, 9.99)')  # after the copy: captured, applied by migrate
    result = db.runner("migrate", config=config)
    assert result.code == 0, result.text
    assert db.scalar("SELECT count(*) FROM sales.order_lines WHERE id > 100000") == 31

    assert db.runner("rollback", config=config).code == 0
    assert db.schema_dump() == dump
    assert db.scalar('SELECT count(*) FROM sales."OrderLine"') == 200


def test_analyze_says_a_listed_schema_does_not_exist(two_schemas):
    db = two_schemas
    config = db.write_config({"sales.Customer": "customers"}, schemas=["public", "sales", "ghost"])
    result = db.runner("analyze", "--format", "json", config=config)
    assert result.code == 6, result.text  # a conflict: what analyze exits with when migrate would be refused
    report = json.loads(result.out)
    assert [(c["kind"], c["table_schema"], c["detail"]) for c in report["conflicts"]] == [
        ("schema_missing", "ghost", "schema ghost does not exist")]
    assert "  ERROR  schema_missing: schema ghost does not exist\n" in db.runner("analyze", config=config).out


def test_blockers_and_client_statements_are_found_in_the_other_schema(two_schemas):
    db = two_schemas
    db.execute("CREATE EXTENSION pg_stat_statements")
    db.query('SELECT "fullName" FROM sales."Customer" WHERE id = %s', (1,))
    config = db.write_config({"sales.Customer": "customers"}, schemas=["public", "sales"])
    with psycopg.connect(db.url, application_name="sales_report") as blocker:
        blocker.execute('SELECT count(*) FROM public."Customer"')  # not a table of this map: not a blocker
        blocker.execute('SELECT count(*) FROM sales."Customer"')
        result = db.runner("analyze", "--format", "json", config=config)
    assert result.code == 7, result.text
    report = json.loads(result.out)
    assert [(b["application_name"], b["locked_table"]) for b in report["blockers"]] == \
        [("sales_report", 'sales."Customer"')]
    queries = [q["query"] for q in report["statements"] if q["source_table"] == "sales.Customer"]
    assert 'SELECT "fullName" FROM sales."Customer" WHERE id = $1' in queries
