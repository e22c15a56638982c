-- pgrename's own schema, version 3: each merged row names the legacy table it came from, so that
-- two merges into one table report and roll back each its own rows. Rows recorded before this
-- version keep NULL there: rollback takes them as the only merge into their table, as it did.
--
-- The runner applies what is pending (make schema-upgrade, or any command that writes). By hand:
--   psql -v ON_ERROR_STOP=1 --single-transaction -f sql/install/003_merged_row_source.sql

-- Each script runs once, after the one before it.
SELECT pgrename.upgrade_from(2);

-- No default and no rewrite: a catalog change, whatever merged_row holds.
ALTER TABLE pgrename.merged_row ADD COLUMN merged_from text;

COMMENT ON COLUMN pgrename.merged_row.merged_from IS
    'the legacy table (its name after the migration) the row came from; NULL for rows recorded before version 3';

INSERT INTO pgrename.schema_version (version, script) VALUES (3, 'sql/install/003_merged_row_source.sql');
