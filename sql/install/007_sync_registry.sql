-- pgrename's own schema, version 7: the registry of rows a natural-key import wrote (make import).
-- Its hash of each row as imported tells a later import which rows were edited here since, so
-- update and replace keep them (Odoo's noupdate) instead of overwriting them silently, and which
-- were deleted here, so they are not brought back; replace deletes only rows a namespace imported.
--
-- The runner applies what is pending (make schema-upgrade, or any command that writes). By hand:
--   psql -v ON_ERROR_STOP=1 --single-transaction -f sql/install/007_sync_registry.sql

-- Each script runs once, after the one before it.
SELECT pgrename.upgrade_from(6);

CREATE TABLE pgrename.sync_row (
    namespace text NOT NULL,
    table_name text NOT NULL,
    key jsonb NOT NULL,
    row_hash text NOT NULL,
    export_taken_at timestamptz NOT NULL,
    imported_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (namespace, table_name, key)
);

COMMENT ON TABLE pgrename.sync_row IS
    'each row a natural-key import wrote or found equal, per source namespace: its key and its hash as imported';
COMMENT ON COLUMN pgrename.sync_row.namespace IS 'the source that exported it (config sync.namespace there)';
COMMENT ON COLUMN pgrename.sync_row.table_name IS 'schema.table it is in';
COMMENT ON COLUMN pgrename.sync_row.key IS 'its natural key, as a JSON array of the key''s values (a foreign key: the parent''s key)';
COMMENT ON COLUMN pgrename.sync_row.row_hash IS
    'md5 of the row as the export wrote it (natural keys, no ids): a row here whose hash differs was edited here since';
COMMENT ON COLUMN pgrename.sync_row.export_taken_at IS 'when the export that last wrote it was taken';
COMMENT ON COLUMN pgrename.sync_row.imported_at IS 'when that import ran';

INSERT INTO pgrename.audit_event (event, description) VALUES
    ('sync_import', 'a natural-key export was imported; details: its namespace, mode, and the rows written per table'),
    ('sync_failed', 'a natural-key import failed or its validation did not pass, and rolled back; details: why');

INSERT INTO pgrename.schema_version (version, script) VALUES (7, 'sql/install/007_sync_registry.sql');
