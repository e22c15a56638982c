-- pgrename's own schema, version 5: a pg_dump backup restored over the database itself
-- (restore-dump --into-original) is recorded like any other change. The audit trail goes on (the
-- restore leaves pgrename's schema as it is), and the migrations the dump was taken before are
-- marked as undone by it, so that nothing claims they are still applied.
--
-- The runner applies what is pending (make schema-upgrade, or any command that writes). By hand:
--   psql -v ON_ERROR_STOP=1 --single-transaction -f sql/install/005_dump_restored.sql

-- Each script runs once, after the one before it.
SELECT pgrename.upgrade_from(4);

INSERT INTO pgrename.audit_event (event, description) VALUES
    ('dump_restored', 'a pg_dump backup was restored over the database; details: the dump, its SHA-256, '
                      'when it was taken, and the migrations it undid');

-- A restore is about the database, not one migration: its row names none.
ALTER TABLE pgrename.audit ALTER COLUMN migration DROP NOT NULL;
COMMENT ON COLUMN pgrename.audit.migration IS
    'the migration the event is about; NULL for an event about the whole database (dump_restored)';

ALTER TABLE pgrename.history
    DROP CONSTRAINT history_status_check,
    ADD CONSTRAINT history_status_check
        CHECK (status IN ('applying', 'applied', 'rolled_back', 'undone_by_dump'));

COMMENT ON COLUMN pgrename.history.status IS
    'applying (only inside its own transaction), applied, rolled_back, or undone_by_dump (a dump taken '
    'before it was restored over the database; rolled_back_at and rolled_back_by say when and by whom)';

INSERT INTO pgrename.schema_version (version, script) VALUES (5, 'sql/install/005_dump_restored.sql');
