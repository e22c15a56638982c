-- pgrename's own schema, version 10: several schemas in one migration (the config's schemas:).
-- Nothing new is stored: each renamed table's schema was already in renamed_object.table_schema
-- and each addition's in added_object.object_schema. history.table_schema now says which schema
-- it holds when a migration covers several.
--
-- The runner applies what is pending (make schema-upgrade, or any command that writes). By hand:
--   psql -v ON_ERROR_STOP=1 --single-transaction -f sql/install/010_several_schemas.sql

-- Each script runs once, after the one before it.
SELECT pgrename.upgrade_from(9);

COMMENT ON COLUMN pgrename.history.table_schema IS
    'the config''s schema: where the tables it names without a schema are (each renamed table''s own schema is renamed_object.table_schema)';

INSERT INTO pgrename.schema_version (version, script) VALUES (10, 'sql/install/010_several_schemas.sql');
