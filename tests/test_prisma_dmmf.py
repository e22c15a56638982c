"""pgrename's Prisma parser held to Prisma's own: every schema the tests use, parsed by both, must
give the same DMMF on the part the contract reads. Prisma's parser is @prisma/prisma-schema-wasm
(tests/prisma_dmmf/, installed by make test), run offline with node."""
import json
import os
import shutil
import subprocess

import pytest

from conftest import PROJECT_DIR
from pgrename import prisma

HARNESS = PROJECT_DIR / "tests" / "prisma_dmmf"
SCHEMAS = [PROJECT_DIR / "sql" / "demo" / "target.prisma", PROJECT_DIR / "tests" / "fixtures" / "prisma" / "features.prisma"]
SCENARIO = PROJECT_DIR.parent / "shared" / "scenario" / "target.prisma"


@pytest.fixture(scope="module")
def prisma_dmmf():
    """Prisma's DMMF of a schema file, or its error."""
    if not (shutil.which("node") and (HARNESS / "node_modules" / "@prisma" / "prisma-schema-wasm").exists()):
        message = "Prisma's parser is not installed: make test installs it (npm ci in tests/prisma_dmmf)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)

    def parse(path) -> subprocess.CompletedProcess:
        return subprocess.run(["node", str(HARNESS / "dmmf.js"), str(path)], capture_output=True, text=True,
                              timeout=60)
    return parse


def as_used(dmmf: dict) -> dict:
    """Prisma's DMMF cut to what pgrename.prisma.dmmf() gives: the part the contract reads."""
    model_keys = ("name", "dbName", "schema")
    field_keys = ("name", "dbName", "kind", "isList", "isRequired", "type", "hasDefaultValue")
    relation_keys = ("relationName", "relationFromFields", "relationToFields", "relationOnDelete")
    models = [{**{k: m.get(k) for k in model_keys},
               "fields": [{**{k: f.get(k) for k in field_keys},
                           **({k: f.get(k) for k in relation_keys} if f["kind"] == "object"
                              else {"nativeType": f.get("nativeType")})}
                          for f in m["fields"]]}
              for m in dmmf["datamodel"]["models"]]
    indexes = [{"model": i["model"], "type": i["type"], "dbName": i.get("dbName"),
                "fields": [f["name"] for f in i["fields"]]} for i in dmmf["datamodel"]["indexes"]]
    enums = [{"name": e["name"], "dbName": e["dbName"], "values": [v["name"] for v in e["values"]]}
             for e in dmmf["datamodel"]["enums"]]
    return {"models": models, "indexes": indexes, "enums": enums}


def ordered(dmmf: dict) -> dict:
    """The same, indexes in one order (Prisma lists a model's field-level ones first)."""
    return {**dmmf, "indexes": sorted(dmmf["indexes"], key=lambda i: json.dumps(i, sort_keys=True))}


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda path: path.name)
def test_our_parse_is_prismas(prisma_dmmf, schema):
    parsed = prisma_dmmf(schema)
    assert parsed.returncode == 0, parsed.stderr
    assert ordered(prisma.dmmf(prisma.load(schema))) == ordered(as_used(json.loads(parsed.stdout)))


def test_a_schema_with_a_url_reads_as_prisma_7_reads_it_without(prisma_dmmf, tmp_path):
    """The scenario's schema still names its url, which Prisma 7 refuses (P1012); pgrename reads it,
    and reads it as Prisma reads the same schema without the url."""
    refused = prisma_dmmf(SCENARIO)
    assert refused.returncode == 1 and "P1012" in refused.stderr
    without_url = tmp_path / "target.prisma"
    without_url.write_text("".join(line for line in SCENARIO.read_text().splitlines(keepends=True)
                                   if not line.strip().startswith("url")))
    parsed = prisma_dmmf(without_url)
    assert parsed.returncode == 0, parsed.stderr
    assert ordered(prisma.dmmf(prisma.load(SCENARIO))) == ordered(as_used(json.loads(parsed.stdout)))


def test_the_features_schema_expects_what_prisma_migrate_would_create():
    """Names (map: or Prisma's defaults), referential actions, indexes, join tables, schemas."""
    tables = {t["table"]: t for t in prisma.expectations(prisma.load(SCHEMAS[1]))["tables"]}
    accounts = tables["accounts"]
    assert accounts["schema"] == "public" and accounts["primary_key"]["name"] == "account_pk"
    assert [(u["columns"], u["name"]) for u in accounts["unique"]] == [
        (["email"], "account_email_uq"), (["handle"], "accounts_handle_key")]
    assert [(i["columns"], i["name"]) for i in accounts["indexes"]] == [
        (["handle", "created_at"], "account_handle_created"), (["plan"], "accounts_plan_idx")]
    assert [(f["name"], f["on_delete"], f["on_update"]) for f in accounts["foreign_keys"]] == [
        ("account_manager", "SET NULL", "NO ACTION")]
    invoice = tables["Invoice"]
    assert invoice["schema"] == "billing" and invoice["primary_key"]["name"] == "Invoice_pkey"
    assert [(f["name"], f["on_delete"], f["on_update"]) for f in invoice["foreign_keys"]] == [
        ("Invoice_account_id_fkey", "CASCADE", "CASCADE")]
    assert [(i["columns"], i["name"]) for i in invoice["indexes"]] == [(["account_id"], "Invoice_account_id_idx")]
    friendship, members = tables["_Friendship"], tables["_AccountToTeam"]
    assert [c["type"] for c in friendship["columns"]] == ["integer", "integer"]
    assert members["primary_key"]["name"] == "_AccountToTeam_AB_pkey"
    assert [(f["columns"], f["references"], f["name"]) for f in members["foreign_keys"]] == [
        (["A"], "accounts", "_AccountToTeam_A_fkey"), (["B"], "Team", "_AccountToTeam_B_fkey")]
    assert members["indexes"] == [{"columns": ["B"], "name": "_AccountToTeam_B_index", "line": members["line"]}]


def test_default_names_are_cut_as_prisma_cuts_them():
    long_table = "t" * 60
    assert prisma.default_name(long_table, [], "pkey") == "t" * 58 + "_pkey"
    assert prisma.default_name("orders", ["customer_id"], "fkey") == "orders_customer_id_fkey"
    assert prisma.default_name(long_table, ["column"], "key") == ("t" * 60 + "_c")[:59] + "_key"
    assert len(prisma.default_name("ü" * 40, ["x"], "idx").encode()) <= 63
