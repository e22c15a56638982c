"""Bad config: a clear message naming the fault (and its line), exit 2, nothing touched."""
import pytest

BAD_CONFIGS = {
    "invalid_yaml": ("migration: m\ntables:\n  User: users\n  Folder: [unclosed\n", "line 5: invalid YAML"),
    "unknown_key": ("migration: m\nschema: public\ntabels:\n  User: users\n", "line 3: unknown key 'tabels'"),
    "duplicate_table": ("migration: m\ntables:\n  User: users\n  User: people\n", "line 4: 'User' is given twice"),
    "missing_migration": ("tables:\n  User: users\n", "missing key 'migration' (name recorded in pgrename.history; one "
                                                         "migration per name): `migrate` runs the rename migration it names"),
    "tables_not_a_map": ("migration: m\ntables: [User]\n", "tables must be a map"),
    "bad_exclude": ("migration: m\nexclude: {a: b}\ntables:\n  User: users\n", "exclude must be a list of table name globs"),
    "not_a_mapping": ("- just\n- a list\n", "expected a mapping of keys"),
    "bad_lock_timeout": ("migration: m\nlock_timeout: forever\ntables:\n  User: users\n",
                         "lock_timeout must be a duration"),
    "empty_target": ("migration: m\ntables:\n  User: ''\n", "the target of table 'User' must be a non-empty string"),
    "same_name": ("migration: m\ntables:\n  User: User\n", "table 'User' is mapped to its own name"),
    "dotted_target": ("migration: m\nschema: person\ntables:\n  businessentity: sales.business_entity\n",
                      "the target of table 'businessentity' is 'sales.business_entity': a target is a table name "
                      "in the table's own schema ('person')"),
    "unlisted_schema": ("migration: m\ntables:\n  sales.Customer: customer\n",
                        "tables: 'sales.Customer': schema 'sales' is not in schemas: [public]; list it there"),
    "schema_not_listed": ("migration: m\nschema: public\nschemas: [sales, crm]\ntables:\n  sales.Customer: customer\n",
                          "schema 'public' (where tables named without a schema are) is not in schemas: [sales, crm]"),
    "schema_listed_twice": ("migration: m\nschemas: [public, sales, public]\n", "schemas: 'public' is listed twice"),
    "same_table_twice": ("migration: m\ntables:\n  User: users\n  public.User: members\n",
                         "tables: 'public.User' names the table 'User' names too; give it once"),
    "merge_across_schemas": ("migration: m\nschemas: [public, sales]\ntables:\n  User: users\n  sales.Customer: customer\n"
                             "merges:\n  - {from: sales.Customer, into: User, key: id, columns: {id: id}}\n",
                             "merge 1: 'sales.Customer' and 'User' are in different schemas; a merge moves rows between "
                             "two tables of one schema"),
    "same_merge_in_two_schemas": ("migration: m\nschemas: [public, sales]\ntables:\n  A: a\n  ATemp: a_temp\n"
                                  "  sales.A: a\n  sales.ATemp: a_temp\nmerges:\n"
                                  "  - {from: ATemp, into: A, key: id, columns: {id: id}}\n"
                                  "  - {from: sales.ATemp, into: sales.A, key: id, columns: {id: id}}\n",
                                  "two merges move a_temp into a (in different schemas)"),
}


@pytest.mark.parametrize("name", BAD_CONFIGS)
def test_bad_config_is_refused_before_anything_connects(demo_db, name):
    text, message = BAD_CONFIGS[name]
    path = demo_db.workdir / "config.yaml"
    path.write_text(text)
    dump = demo_db.schema_dump()

    result = demo_db.runner("migrate", config=path)

    assert result.code == 2, result.text
    assert message in result.text
    assert str(path) in result.text
    assert demo_db.schema_dump() == dump
    assert demo_db.scalar("SELECT to_regnamespace('pgrename') IS NULL")
    assert path.read_text() == text


def test_missing_config_file(demo_db):
    result = demo_db.runner("plan", config=demo_db.workdir / "nowhere.yaml")
    assert result.code == 2
    assert "nowhere.yaml: cannot read: No such file or directory" in result.text
