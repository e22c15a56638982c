-- pgrename's own schema, version 2. Changes nothing that version 1 holds, rows included:
--   * the audit events and the kinds of object become rows of two small tables instead of CHECK
--     lists frozen at first install, so a later release adds one with an INSERT in its own script;
--   * every table, column and function of the schema says what it holds (COMMENT ON), for \d+.
--
-- The runner applies what is pending (make schema-upgrade, or any command that writes). By hand:
--   psql -v ON_ERROR_STOP=1 --single-transaction -f sql/install/002_lookup_tables_and_comments.sql

-- Each script runs once, after the one before it. From here on a script says so in one line,
-- calling the function this one creates; this one cannot yet.
DO $version$
DECLARE
    found integer;
BEGIN
    IF to_regclass('pgrename.schema_version') IS NOT NULL THEN
        SELECT max(version) INTO found FROM pgrename.schema_version;
    END IF;
    IF found IS DISTINCT FROM 1 THEN
        RAISE EXCEPTION 'pgrename: this script upgrades its own schema from version 1 to 2; it is at version %',
            coalesce(found, 0)
            USING ERRCODE = 'PGR04', HINT = 'Run the scripts of sql/install/ in the order of their numbers.';
    END IF;
END
$version$;

CREATE FUNCTION pgrename.upgrade_from(expected integer) RETURNS void
LANGUAGE plpgsql AS $upgrade_from$
DECLARE
    found integer := (SELECT max(version) FROM pgrename.schema_version);
BEGIN
    IF found IS DISTINCT FROM expected THEN
        RAISE EXCEPTION 'pgrename: this script upgrades its own schema from version % to %; it is at version %',
            expected, expected + 1, coalesce(found, 0)
            USING ERRCODE = 'PGR04', HINT = 'Run the scripts of sql/install/ in the order of their numbers.';
    END IF;
END
$upgrade_from$;

-- What each audit event means. The audit refers to it, so an event nobody described cannot be logged.
CREATE TABLE pgrename.audit_event (
    event text PRIMARY KEY,
    description text NOT NULL
);

INSERT INTO pgrename.audit_event (event, description) VALUES
    ('migration_start', 'a migration began: what it is about to rename, and the backup taken before it'),
    ('migration_complete', 'a migration committed: how many objects of each kind it renamed'),
    ('migration_failed', 'a migration rolled back: the step, the error and the sessions in the way'),
    ('rollback_start', 'a rollback began'),
    ('rollback_complete', 'a rollback committed and proved the schema is as it was before the migration'),
    ('rollback_failed', 'a rollback rolled back: the step and the error'),
    ('dry_run', 'a migration ran in a transaction that was then rolled back: passed or failed'),
    ('contract_complete', 'the compatibility views were dropped'),
    ('contract_failed', 'dropping (or re-creating) the compatibility views failed'),
    ('contract_undone', 'the compatibility views were created again after a contract');

-- Validates the rows already there: every one of them names an event of the list above.
ALTER TABLE pgrename.audit
    DROP CONSTRAINT audit_event_check,
    ADD CONSTRAINT audit_event_fkey FOREIGN KEY (event) REFERENCES pgrename.audit_event;

-- What each kind of object is. A kind is described once in sql/kinds.sql.j2 (how to find it, its
-- name, where its name must be unique); this table is the list the records may use.
CREATE TABLE pgrename.object_kind (
    kind text PRIMARY KEY,
    renamed boolean NOT NULL,
    added boolean NOT NULL,
    description text NOT NULL
);

INSERT INTO pgrename.object_kind (kind, renamed, added, description) VALUES
    ('table', true, false, 'a table, renamed'),
    ('constraint', true, true, 'a constraint carrying its table''s name, renamed; or a foreign key of an added column'),
    ('index', true, false, 'an index backing no constraint, carrying its table''s name, renamed'),
    ('sequence', true, false, 'a sequence owned by a serial or identity column, renamed'),
    ('trigger', true, false, 'a trigger carrying its table''s name, renamed'),
    ('column', true, true, 'a column renamed (by the map or the column rule), or added'),
    ('type', false, true, 'an enum type created for an added column'),
    ('view', false, true, 'a compatibility view under a table''s old name'),
    ('merge', false, true, 'legacy rows merged into a renamed table (each row in merged_row)');

ALTER TABLE pgrename.renamed_object
    DROP CONSTRAINT renamed_object_kind_check,
    ADD CONSTRAINT renamed_object_kind_fkey FOREIGN KEY (kind) REFERENCES pgrename.object_kind;

ALTER TABLE pgrename.added_object
    DROP CONSTRAINT added_object_kind_check,
    ADD CONSTRAINT added_object_kind_fkey FOREIGN KEY (kind) REFERENCES pgrename.object_kind;

COMMENT ON SCHEMA pgrename IS 'pgrename''s own schema: audit trail, migration history, what each migration changed';

COMMENT ON TABLE pgrename.schema_version IS 'the numbered scripts of sql/install/ that have run here; the version is the highest';
COMMENT ON COLUMN pgrename.schema_version.version IS 'the script''s number';
COMMENT ON COLUMN pgrename.schema_version.script IS 'the script, by its path in the pgrename project';
COMMENT ON COLUMN pgrename.schema_version.installed_at IS 'when it ran';
COMMENT ON COLUMN pgrename.schema_version.installed_by IS 'the database role that ran it';

COMMENT ON TABLE pgrename.audit_event IS 'the events the audit trail may record, each with what it means';
COMMENT ON COLUMN pgrename.audit_event.event IS 'the event''s name, as in audit.event';
COMMENT ON COLUMN pgrename.audit_event.description IS 'what the event means';

COMMENT ON TABLE pgrename.object_kind IS 'the kinds of object a migration renames or adds';
COMMENT ON COLUMN pgrename.object_kind.kind IS 'the kind''s name, as in renamed_object.kind and added_object.kind';
COMMENT ON COLUMN pgrename.object_kind.renamed IS 'true when a migration may rename objects of this kind';
COMMENT ON COLUMN pgrename.object_kind.added IS 'true when a migration may add objects of this kind';
COMMENT ON COLUMN pgrename.object_kind.description IS 'what an object of this kind is';

COMMENT ON TABLE pgrename.audit IS 'every run that changed or tried to change the database, kept even when its transaction rolled back';
COMMENT ON COLUMN pgrename.audit.id IS 'order of the events';
COMMENT ON COLUMN pgrename.audit.event IS 'what happened (see audit_event)';
COMMENT ON COLUMN pgrename.audit.migration IS 'the migration''s name (config key migration)';
COMMENT ON COLUMN pgrename.audit.db_user IS 'the database role that ran it';
COMMENT ON COLUMN pgrename.audit.client_addr IS 'the client''s address; NULL over a Unix socket';
COMMENT ON COLUMN pgrename.audit.application IS 'the client''s application_name';
COMMENT ON COLUMN pgrename.audit.logged_at IS 'when the event was recorded';
COMMENT ON COLUMN pgrename.audit.sql_checksum IS 'SHA-256 of the script that ran, as written to build/ and shown in its first line';
COMMENT ON COLUMN pgrename.audit.details IS 'the event''s details: counts, the failed step and its error, the backup taken, the client host';

COMMENT ON TABLE pgrename.history IS 'one row per migration: its state, and what it found before it changed anything';
COMMENT ON COLUMN pgrename.history.migration IS 'the migration''s name (config key migration)';
COMMENT ON COLUMN pgrename.history.status IS 'applying (only inside its own transaction), applied or rolled_back';
COMMENT ON COLUMN pgrename.history.table_schema IS 'the schema whose tables it renamed';
COMMENT ON COLUMN pgrename.history.sql_checksum IS 'SHA-256 of the migrate script last applied, as written to build/migrate.sql';
COMMENT ON COLUMN pgrename.history.fingerprint_before IS 'schema_fingerprint() before the migration: what a rollback must give back';
COMMENT ON COLUMN pgrename.history.foreign_keys_before IS 'validated foreign keys into and out of the renamed tables before the migration';
COMMENT ON COLUMN pgrename.history.applied_at IS 'when it was applied; NULL unless applied';
COMMENT ON COLUMN pgrename.history.applied_by IS 'the role that applied it';
COMMENT ON COLUMN pgrename.history.rolled_back_at IS 'when it was rolled back; NULL unless rolled back';
COMMENT ON COLUMN pgrename.history.rolled_back_by IS 'the role that rolled it back';
COMMENT ON COLUMN pgrename.history.contracted_at IS 'when its compatibility views were dropped; NULL while they exist';

COMMENT ON TABLE pgrename.renamed_object IS 'each object a migration renamed, by OID: what verify checks and rollback undoes';
COMMENT ON COLUMN pgrename.renamed_object.migration IS 'the migration that renamed it';
COMMENT ON COLUMN pgrename.renamed_object.ordinal IS 'the order of the renames';
COMMENT ON COLUMN pgrename.renamed_object.kind IS 'what it is (see object_kind)';
COMMENT ON COLUMN pgrename.renamed_object.table_schema IS 'the schema of its table';
COMMENT ON COLUMN pgrename.renamed_object.source_table IS 'its table''s name before the migration';
COMMENT ON COLUMN pgrename.renamed_object.target_table IS 'its table''s name after the migration';
COMMENT ON COLUMN pgrename.renamed_object.object_schema IS 'the schema of the object itself (a sequence may live elsewhere)';
COMMENT ON COLUMN pgrename.renamed_object.object_name IS 'its name before the migration';
COMMENT ON COLUMN pgrename.renamed_object.target_name IS 'its name after the migration';
COMMENT ON COLUMN pgrename.renamed_object.table_oid IS 'its table''s OID, which a rename keeps';
COMMENT ON COLUMN pgrename.renamed_object.object_oid IS 'its OID (a column''s: its table''s), which a rename keeps: same OID, same object';
COMMENT ON COLUMN pgrename.renamed_object.object_subid IS 'a column''s attnum: its identity through a rename; 0 for the other kinds';

COMMENT ON TABLE pgrename.added_object IS 'each object a migration created, with what rollback needs to remove it';
COMMENT ON COLUMN pgrename.added_object.migration IS 'the migration that created it';
COMMENT ON COLUMN pgrename.added_object.ordinal IS 'the order of creation; rollback removes in reverse';
COMMENT ON COLUMN pgrename.added_object.kind IS 'what it is (see object_kind)';
COMMENT ON COLUMN pgrename.added_object.object_schema IS 'its schema';
COMMENT ON COLUMN pgrename.added_object.table_name IS 'the table (new name) it belongs to; NULL for a type';
COMMENT ON COLUMN pgrename.added_object.object_name IS 'its name (for a merge: the legacy table merged)';
COMMENT ON COLUMN pgrename.added_object.detail IS 'how it was made: type and default of a column, values of an enum, columns of a view or a merge';

COMMENT ON TABLE pgrename.merged_row IS 'each row a merge inserted or overwrote: what rollback deletes or puts back';
COMMENT ON COLUMN pgrename.merged_row.migration IS 'the migration whose merge wrote the row';
COMMENT ON COLUMN pgrename.merged_row.into_table IS 'the table (new name) the row was merged into';
COMMENT ON COLUMN pgrename.merged_row.action IS 'inserted (rollback deletes it) or updated (rollback puts old_row back)';
COMMENT ON COLUMN pgrename.merged_row.row_key IS 'the row''s key columns and values';
COMMENT ON COLUMN pgrename.merged_row.old_row IS 'for an update: the whole row as it was before';

COMMENT ON FUNCTION pgrename.upgrade_from(integer) IS
    'raises unless the schema is at the given version: the first statement of each install script from 003 on';
COMMENT ON FUNCTION pgrename.schema_fingerprint() IS
    'MD5 of the user schemas'' shape by name (relations, columns, constraints, indexes, sequences, triggers, views): equal before a migration and after its rollback';

INSERT INTO pgrename.schema_version (version, script) VALUES (2, 'sql/install/002_lookup_tables_and_comments.sql');
