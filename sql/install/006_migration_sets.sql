-- pgrename's own schema, version 6: the history of numbered migration sets (make sets-migrate).
-- One row per migration number, whatever its file is called: identity is the number. Written in
-- the same transaction as the migration it records, so it never claims what did not happen.
--
-- The runner applies what is pending (make schema-upgrade, or any command that writes). By hand:
--   psql -v ON_ERROR_STOP=1 --single-transaction -f sql/install/006_migration_sets.sql

-- Each script runs once, after the one before it.
SELECT pgrename.upgrade_from(5);

CREATE TABLE pgrename.set_migration (
    number integer PRIMARY KEY CHECK (number >= 0),
    name text NOT NULL,
    package text NOT NULL,
    kind text NOT NULL DEFAULT 'sql' CHECK (kind IN ('sql', 'rename')),
    checksum_algorithm text NOT NULL,
    source_sha256 text NOT NULL,
    rendered_sha256 text NOT NULL,
    rollback_sha256 text,
    status text NOT NULL CHECK (status IN ('applied', 'baselined', 'rolled_back', 'failed')),
    out_of_order boolean NOT NULL DEFAULT false,
    fingerprint_before text,
    fingerprint_after text,
    applied_by text NOT NULL DEFAULT current_user,
    applied_at timestamptz NOT NULL DEFAULT now(),
    rolled_back_by text,
    rolled_back_at timestamptz
);

COMMENT ON TABLE pgrename.set_migration IS
    'each numbered migration of a migration set that ran here (or was baselined), by number';
COMMENT ON COLUMN pgrename.set_migration.number IS 'the migration''s number, its identity (NNN of NNN_slug.sql)';
COMMENT ON COLUMN pgrename.set_migration.name IS 'its file''s name when it ran, for people: a rename of the file changes nothing';
COMMENT ON COLUMN pgrename.set_migration.package IS 'the package whose number range holds it (config migration_sets.packages)';
COMMENT ON COLUMN pgrename.set_migration.kind IS
    'sql: a migration file; rename: a rename config (NNN_slug.yaml), applied as make migrate does, recorded in pgrename.history too';
COMMENT ON COLUMN pgrename.set_migration.checksum_algorithm IS
    'how source_sha256 was taken: sha256-lf = SHA-256 of the file without a BOM, CRLF and CR as LF';
COMMENT ON COLUMN pgrename.set_migration.source_sha256 IS 'the source file''s checksum: an applied file whose checksum changes was edited';
COMMENT ON COLUMN pgrename.set_migration.rendered_sha256 IS 'SHA-256 of the SQL that ran (the file rendered, for .sql.j2)';
COMMENT ON COLUMN pgrename.set_migration.rollback_sha256 IS 'SHA-256 of its rollback file''s source; NULL: irreversible';
COMMENT ON COLUMN pgrename.set_migration.status IS
    'applied, baselined (recorded as present without running: sets-baseline), rolled_back, or failed (a '
    'no-transaction migration that stopped half way; sets-repair clears it)';
COMMENT ON COLUMN pgrename.set_migration.out_of_order IS 'it ran after a migration with a higher number (allowed explicitly)';
COMMENT ON COLUMN pgrename.set_migration.fingerprint_before IS 'pgrename.schema_fingerprint() before it ran: its rollback must give it back';
COMMENT ON COLUMN pgrename.set_migration.fingerprint_after IS 'pgrename.schema_fingerprint() after it ran';
COMMENT ON COLUMN pgrename.set_migration.applied_by IS 'the database user that applied (or baselined) it';
COMMENT ON COLUMN pgrename.set_migration.applied_at IS 'when';
COMMENT ON COLUMN pgrename.set_migration.rolled_back_by IS 'the database user that rolled it back';
COMMENT ON COLUMN pgrename.set_migration.rolled_back_at IS 'when';

INSERT INTO pgrename.audit_event (event, description) VALUES
    ('sets_migrate', 'numbered migrations of a set were applied; details: their numbers and checksums'),
    ('sets_rollback', 'numbered migrations were rolled back, newest first; details: their numbers'),
    ('sets_baseline', 'numbered migrations were recorded as present without running them; details: up to which'),
    ('sets_repair', 'an edited applied migration''s new checksum was accepted, or a failed one cleared; details: which'),
    ('sets_failed', 'a migration set''s run failed and rolled back; details: the file and statement at fault');

INSERT INTO pgrename.schema_version (version, script) VALUES (6, 'sql/install/006_migration_sets.sql');
