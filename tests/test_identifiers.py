"""Names that need quoting (quotes, spaces, capitals, unicode, reserved words), and chains."""
WEIRD_SCHEMA = '''
CREATE TABLE "Weird ""Quoted"" Table" (id int CONSTRAINT "Weird ""Quoted"" Table_pkey" PRIMARY KEY);
CREATE TABLE "Ünïcødé" (id serial PRIMARY KEY, name text CONSTRAINT "Ünïcødé_name_check" CHECK (name <> ''));
CREATE TABLE "select" ("from" int CONSTRAINT "select_pkey" PRIMARY KEY,
                       "where" int REFERENCES "Ünïcødé" (id));
CREATE INDEX "select_where_idx" ON "select" ("where");
CREATE TABLE "My Table" (id int PRIMARY KEY);
'''
WEIRD_MAP = {
    'Weird "Quoted" Table': 'weird "quoted" table',
    "Ünïcødé": "ünïcødé_tåble",
    "select": "order",
    "My Table": "My Other Table",
}


def test_identifiers_that_need_quoting_migrate_and_roll_back(empty_db):
    empty_db.execute(WEIRD_SCHEMA)
    dump = empty_db.schema_dump()
    config = empty_db.write_config(WEIRD_MAP)

    migrated = empty_db.runner("migrate", config=config)

    assert migrated.code == 0, migrated.text
    assert empty_db.table_names() == set(WEIRD_MAP.values())
    names = {row[0] for row in empty_db.query("SELECT relname FROM pg_class"
                                              " WHERE relnamespace = 'public'::regnamespace")}
    assert {'weird "quoted" table_pkey', "ünïcødé_tåble_pkey", "ünïcødé_tåble_id_seq", "order_pkey",
            "order_where_idx", "My Other Table_pkey"} <= names
    assert empty_db.scalar("SELECT count(*) FROM pg_constraint WHERE conname = 'ünïcødé_tåble_name_check'") == 1
    assert empty_db.runner("verify", config=config).code == 0

    assert empty_db.runner("rollback", config=config).code == 0
    assert empty_db.schema_dump() == dump


def test_chain_moves_the_later_name_first(demo_db):
    """AuditLog takes the name User gives up: User -> users has to happen first."""
    dump = demo_db.schema_dump()
    # No compatibility view: the old name "User" is handed on to AuditLog.
    config = demo_db.write_config({"AuditLog": "User", "User": "users"}, compatibility_views=False)
    audit_oid = demo_db.scalar("""SELECT '"AuditLog"'::regclass::oid""")

    result = demo_db.runner("migrate", config=config)

    assert result.code == 0, result.text
    assert demo_db.scalar("""SELECT '"User"'::regclass::oid""") == audit_oid
    assert demo_db.scalar("SELECT conname FROM pg_constraint WHERE conrelid = '\"User\"'::regclass"
                          " AND contype = 'p'") == "User_pkey"
    assert demo_db.scalar("SELECT conname FROM pg_constraint WHERE conrelid = 'users'::regclass"
                          " AND contype = 'p'") == "users_pkey"
    assert demo_db.scalar("SELECT to_regclass('\"User_id_seq\"') IS NOT NULL")
    assert demo_db.runner("rollback", config=config).code == 0
    assert demo_db.schema_dump() == dump
