-- pgrename's own schema, version 4: a migration's proof covers what it touched, not the whole
-- database. tables_fingerprint() hashes the migration's tables and what hangs on them (columns,
-- constraints, the foreign keys of other tables into them, indexes, owned sequences, triggers,
-- the views over them); rollback must give that back exactly, and only reports changes elsewhere.
-- Migrations recorded before this version keep their proof: the whole schema's fingerprint.
--
-- The runner applies what is pending (make schema-upgrade, or any command that writes). By hand:
--   psql -v ON_ERROR_STOP=1 --single-transaction -f sql/install/004_tables_fingerprint.sql

-- Each script runs once, after the one before it.
SELECT pgrename.upgrade_from(3);

-- What a fingerprint covers, said once: the given relations' shape by name, OIDs left out (so that
-- a restored copy hashes the same), and the foreign keys of any table into the referenced ones.
CREATE FUNCTION pgrename.fingerprint_of(relations oid[], referenced oid[]) RETURNS text
LANGUAGE sql STABLE AS $fingerprint$
    WITH relation AS (
        SELECT c.oid, n.nspname, c.relname, c.relkind
        FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE c.oid = ANY (relations)
    ), line AS (
        SELECT concat_ws('|', 'relation', nspname, relname, relkind) AS line FROM relation
        UNION ALL
        SELECT concat_ws('|', 'column', r.nspname, r.relname, a.attnum, a.attname,
                         format_type(a.atttypid, a.atttypmod), a.attnotnull,
                         pg_get_expr(d.adbin, d.adrelid), a.attidentity)
        FROM relation AS r
        JOIN pg_attribute AS a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
        LEFT JOIN pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        UNION ALL
        SELECT concat_ws('|', 'constraint', n.nspname, c.relname, con.conname,
                         pg_get_constraintdef(con.oid), con.convalidated)
        FROM pg_constraint AS con
        JOIN pg_class AS c ON c.oid = con.conrelid
        JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE con.conrelid = ANY (relations) OR con.confrelid = ANY (referenced)
        UNION ALL
        SELECT concat_ws('|', 'index', r.nspname, r.relname, pg_get_indexdef(r.oid))
        FROM relation AS r WHERE r.relkind IN ('i', 'I')
        UNION ALL
        SELECT concat_ws('|', 'sequence', r.nspname, r.relname, format_type(s.seqtypid, NULL),
                         s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcycle)
        FROM relation AS r JOIN pg_sequence AS s ON s.seqrelid = r.oid
        UNION ALL
        SELECT concat_ws('|', 'trigger', r.nspname, r.relname, pg_get_triggerdef(t.oid))
        FROM relation AS r JOIN pg_trigger AS t ON t.tgrelid = r.oid AND NOT t.tgisinternal
        UNION ALL
        SELECT concat_ws('|', 'view', r.nspname, r.relname, pg_get_viewdef(r.oid))
        FROM relation AS r WHERE r.relkind IN ('v', 'm')
    )
    SELECT md5(coalesce(string_agg(line, E'\n' ORDER BY line COLLATE "C"), ''))
    FROM line
$fingerprint$;

-- The whole schema, as before (the same lines, the same hash): every user relation.
CREATE OR REPLACE FUNCTION pgrename.schema_fingerprint() RETURNS text
LANGUAGE sql STABLE AS $fingerprint$
    SELECT pgrename.fingerprint_of(ARRAY(
        SELECT c.oid
        FROM pg_class AS c
        JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE n.nspname NOT IN ('pgrename', 'pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
          AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'i', 'I', 'f')), '{}')
$fingerprint$;

-- A migration's tables and what hangs on them: their indexes, owned sequences, the views over
-- them, and the foreign keys of other tables into them.
CREATE FUNCTION pgrename.tables_fingerprint(tables oid[]) RETURNS text
LANGUAGE sql STABLE AS $fingerprint$
    SELECT pgrename.fingerprint_of(ARRAY(
        SELECT c.oid FROM pg_class AS c WHERE c.oid = ANY (tables)
        UNION
        SELECT i.indexrelid FROM pg_index AS i WHERE i.indrelid = ANY (tables)
        UNION
        SELECT d.objid
        FROM pg_depend AS d JOIN pg_class AS s ON s.oid = d.objid AND s.relkind = 'S'
        WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
          AND d.refobjid = ANY (tables) AND d.deptype IN ('a', 'i')
        UNION
        SELECT r.ev_class
        FROM pg_depend AS d JOIN pg_rewrite AS r ON r.oid = d.objid
        WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
          AND d.refobjid = ANY (tables) AND r.ev_class <> d.refobjid), tables)
$fingerprint$;

COMMENT ON FUNCTION pgrename.fingerprint_of(oid[], oid[]) IS
    'MD5 of the given relations by name (columns, defaults, constraints, indexes, sequences, triggers, views) and of the foreign keys into the referenced ones';
COMMENT ON FUNCTION pgrename.tables_fingerprint(oid[]) IS
    'fingerprint_of the given tables and what hangs on them: equal before a migration and after its rollback';

ALTER TABLE pgrename.history ADD COLUMN tables_fingerprint_before text;

COMMENT ON COLUMN pgrename.history.tables_fingerprint_before IS
    'tables_fingerprint() of the migration''s tables before it: what a rollback must give back (NULL: recorded before version 4, when the whole schema''s fingerprint was the proof)';
COMMENT ON COLUMN pgrename.history.fingerprint_before IS
    'schema_fingerprint() before the migration: the whole schema, to report changes made elsewhere since (the proof itself when tables_fingerprint_before is NULL)';

INSERT INTO pgrename.schema_version (version, script) VALUES (4, 'sql/install/004_tables_fingerprint.sql');
