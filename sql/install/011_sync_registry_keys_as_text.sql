-- pgrename's own schema, version 11: the sync registry's key is compared as bytes.
-- It was jsonb, and comparing JSON values costs more than the rest of recording a row: an import
-- of 1M rows spent seconds in the primary key's comparisons alone. The key is now the text of the
-- same JSON array (jsonb writes a value one way only, so one key always gives one text), and the
-- primary key's three columns compare byte for byte (COLLATE "C"): the index needs equality and a
-- stable order, not a language's. Rewrites the table and its primary key once.
--
-- The runner applies what is pending (make schema-upgrade, or any command that writes). By hand:
--   psql -v ON_ERROR_STOP=1 --single-transaction -f sql/install/011_sync_registry_keys_as_text.sql

-- Each script runs once, after the one before it.
SELECT pgrename.upgrade_from(10);

ALTER TABLE pgrename.sync_row
    ALTER COLUMN namespace TYPE text COLLATE "C",
    ALTER COLUMN table_name TYPE text COLLATE "C",
    ALTER COLUMN key TYPE text COLLATE "C" USING key::text;

COMMENT ON COLUMN pgrename.sync_row.key IS
    'its natural key, the text of a JSON array of the key''s values (a foreign key: the parent''s key); key::jsonb reads it as JSON';

INSERT INTO pgrename.schema_version (version, script) VALUES (11, 'sql/install/011_sync_registry_keys_as_text.sql');
