-- pgrename's own schema, version 1: exactly what release 0.5 created at every run (the audit trail,
-- the history of applied migrations, what each migration renamed and added, by OID, and the schema
-- fingerprint). A database that release 0.5 set up has all of it: IF NOT EXISTS adopts it as it is,
-- rows included. Later versions change it only through the numbered scripts after this one.
--
-- The runner applies what is pending (make schema-upgrade, or any command that writes). By hand:
--   psql -v ON_ERROR_STOP=1 --single-transaction -f sql/install/001_release_0_5.sql

-- Run once: a database at version 1 or later has all of this already.
DO $version$
BEGIN
    IF to_regclass('pgrename.schema_version') IS NOT NULL THEN
        IF EXISTS (SELECT FROM pgrename.schema_version WHERE version >= 1) THEN
            RAISE EXCEPTION 'pgrename: its own schema is at version 1 or later already; nothing to install'
                USING ERRCODE = 'PGR04';
        END IF;
    END IF;
END
$version$;

-- On a database release 0.5 set up, each object would say "already exists, skipping": not news.
SET LOCAL client_min_messages = warning;

CREATE SCHEMA IF NOT EXISTS pgrename;

CREATE TABLE IF NOT EXISTS pgrename.audit (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event text NOT NULL CHECK (event IN ('migration_start', 'migration_complete', 'migration_failed',
                                         'rollback_start', 'rollback_complete', 'rollback_failed',
                                         'dry_run', 'contract_complete', 'contract_failed', 'contract_undone')),
    migration text NOT NULL,
    db_user text NOT NULL DEFAULT current_user,
    client_addr inet DEFAULT inet_client_addr(),
    application text DEFAULT current_setting('application_name'),
    logged_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    sql_checksum text,
    details jsonb NOT NULL DEFAULT '{}'
);

CREATE TABLE IF NOT EXISTS pgrename.history (
    migration text PRIMARY KEY,
    status text NOT NULL CHECK (status IN ('applying', 'applied', 'rolled_back')),
    table_schema text NOT NULL,
    sql_checksum text NOT NULL,
    fingerprint_before text NOT NULL,
    foreign_keys_before bigint NOT NULL,
    applied_at timestamptz,
    applied_by text,
    rolled_back_at timestamptz,
    rolled_back_by text,
    contracted_at timestamptz
);

CREATE TABLE IF NOT EXISTS pgrename.renamed_object (
    migration text NOT NULL REFERENCES pgrename.history ON DELETE CASCADE,
    ordinal bigint NOT NULL,
    kind text NOT NULL CHECK (kind IN ('table', 'constraint', 'index', 'sequence', 'trigger', 'column')),
    table_schema text NOT NULL,
    source_table text NOT NULL,
    target_table text NOT NULL,
    object_schema text NOT NULL,
    object_name text NOT NULL,
    target_name text NOT NULL,
    table_oid oid NOT NULL,
    object_oid oid NOT NULL,
    object_subid bigint NOT NULL DEFAULT 0,  -- a column's attnum: its identity through a rename
    PRIMARY KEY (migration, ordinal)
);

-- What a migration created, for verify to find and rollback to remove: enum types, columns,
-- their foreign keys, compatibility views, and merges (whose rows are in merged_row).
CREATE TABLE IF NOT EXISTS pgrename.added_object (
    migration text NOT NULL REFERENCES pgrename.history ON DELETE CASCADE,
    ordinal bigint NOT NULL,
    kind text NOT NULL CHECK (kind IN ('type', 'column', 'constraint', 'view', 'merge')),
    object_schema text NOT NULL,
    table_name text,               -- the table (new name) it belongs to; NULL for a type
    object_name text NOT NULL,
    detail jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (migration, ordinal)
);

-- Each row a merge inserted (its key) or updated (its key and the row as it was before).
CREATE TABLE IF NOT EXISTS pgrename.merged_row (
    migration text NOT NULL REFERENCES pgrename.history ON DELETE CASCADE,
    into_table text NOT NULL,
    action text NOT NULL CHECK (action IN ('inserted', 'updated')),
    row_key jsonb NOT NULL,
    old_row jsonb
);

-- A hash of the user schemas' shape: relations, columns, types, defaults, constraints, indexes,
-- sequences, triggers and views, by name. Equal before migrate and after rollback, or the
-- rollback failed. OIDs are left out so that a restored copy of the schema hashes the same.
-- Created only when missing, so that a role which did not create it can still run pgrename.
DO $bootstrap$
BEGIN
    IF to_regprocedure('pgrename.schema_fingerprint()') IS NULL THEN
        CREATE FUNCTION pgrename.schema_fingerprint() RETURNS text
        LANGUAGE sql STABLE AS $fingerprint$
            WITH user_relation AS (
                SELECT c.oid, n.nspname, c.relname, c.relkind
                FROM pg_class AS c
                JOIN pg_namespace AS n ON n.oid = c.relnamespace
                WHERE n.nspname NOT IN ('pgrename', 'pg_catalog', 'information_schema')
                  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
                  AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'i', 'I', 'f')
            ), line AS (
                SELECT concat_ws('|', 'relation', nspname, relname, relkind) AS line FROM user_relation
                UNION ALL
                SELECT concat_ws('|', 'column', r.nspname, r.relname, a.attnum, a.attname,
                                 format_type(a.atttypid, a.atttypmod), a.attnotnull,
                                 pg_get_expr(d.adbin, d.adrelid), a.attidentity)
                FROM user_relation AS r
                JOIN pg_attribute AS a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
                LEFT JOIN pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                UNION ALL
                SELECT concat_ws('|', 'constraint', r.nspname, r.relname, con.conname,
                                 pg_get_constraintdef(con.oid), con.convalidated)
                FROM user_relation AS r JOIN pg_constraint AS con ON con.conrelid = r.oid
                UNION ALL
                SELECT concat_ws('|', 'index', r.nspname, r.relname, pg_get_indexdef(r.oid))
                FROM user_relation AS r WHERE r.relkind IN ('i', 'I')
                UNION ALL
                SELECT concat_ws('|', 'sequence', r.nspname, r.relname, format_type(s.seqtypid, NULL),
                                 s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcycle)
                FROM user_relation AS r JOIN pg_sequence AS s ON s.seqrelid = r.oid
                UNION ALL
                SELECT concat_ws('|', 'trigger', r.nspname, r.relname, pg_get_triggerdef(t.oid))
                FROM user_relation AS r JOIN pg_trigger AS t ON t.tgrelid = r.oid AND NOT t.tgisinternal
                UNION ALL
                SELECT concat_ws('|', 'view', r.nspname, r.relname, pg_get_viewdef(r.oid))
                FROM user_relation AS r WHERE r.relkind IN ('v', 'm')
            )
            SELECT md5(coalesce(string_agg(line, E'\n' ORDER BY line COLLATE "C"), ''))
            FROM line
        $fingerprint$;
    END IF;
END
$bootstrap$;

-- Which of the numbered scripts of sql/install/ have run here: the version is the highest.
CREATE TABLE pgrename.schema_version (
    version integer PRIMARY KEY,
    script text NOT NULL,
    installed_at timestamptz NOT NULL DEFAULT now(),
    installed_by text NOT NULL DEFAULT current_user
);

INSERT INTO pgrename.schema_version (version, script) VALUES (1, 'sql/install/001_release_0_5.sql');

RESET client_min_messages;
