-- What natural-key sync needs to know of every table of the schemas, one row a table, in one
-- pass over the catalog (no query per table): its columns, which of them are surrogates (serial
-- or identity: a machine's own numbering, never exported), its foreign keys with the columns on
-- both sides, and its unique keys, from which a natural key is proposed.
--
-- Runs as is in psql:
--   SET pgrename.schemas = 'public';          -- comma-separated; default public
--   \i sql/analysis/sync_tables.sql
--
-- columns: [{name, type, not_null, surrogate, next_value}] in column order, generated columns left out (they
-- are computed again on import). foreign_keys: [{name, columns, parent_schema, parent_table,
-- parent_columns, deferrable, validated}]. unique_keys: [{name, columns, primary, not_null,
-- nulls_not_distinct}]: not_null says every column of it is NOT NULL; a key with a nullable
-- column is one only where NULLS NOT DISTINCT (PostgreSQL 15) makes two NULLs collide.
WITH settings AS (
    SELECT string_to_array(coalesce(nullif(current_setting('pgrename.schemas', true), ''), 'public'), ',') AS schemas
),
included AS (
    SELECT c.oid, n.nspname AS table_schema, c.relname AS table_name
    FROM settings AS s
    JOIN pg_namespace AS n ON n.nspname = ANY (SELECT trim(x) FROM unnest(s.schemas) AS x)
    JOIN pg_class AS c ON c.relnamespace = n.oid AND c.relkind IN ('r', 'p') AND NOT c.relispartition
)
SELECT i.table_schema, i.table_name,
       (SELECT coalesce(jsonb_agg(jsonb_build_object(
                    'name', a.attname,
                    'type', format_type(a.atttypid, a.atttypmod),
                    'not_null', a.attnotnull,
                    -- serial (a default that takes a sequence's next value) or identity
                    'surrogate', a.attidentity <> ''
                                 OR coalesce(pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%', false),
                    -- how a surrogate numbers a new row: an import draws ids itself for rows that
                    -- name each other
                    'next_value', CASE WHEN a.attidentity <> ''
                                       THEN format('nextval(%L::regclass)', pg_get_serial_sequence(
                                                   format('%I.%I', i.table_schema, i.table_name), a.attname))
                                       WHEN pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%'
                                       THEN pg_get_expr(d.adbin, d.adrelid) END)
                    ORDER BY a.attnum), '[]')
        FROM pg_attribute AS a
        LEFT JOIN pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = i.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '') AS columns,
       (SELECT coalesce(jsonb_agg(jsonb_build_object(
                    'name', con.conname,
                    'columns', pair.columns,
                    'parent_schema', pn.nspname,
                    'parent_table', pc.relname,
                    'parent_columns', pair.parent_columns,
                    'deferrable', con.condeferrable,
                    'validated', con.convalidated)
                    ORDER BY con.conname), '[]')
        FROM pg_constraint AS con
        JOIN pg_class AS pc ON pc.oid = con.confrelid
        JOIN pg_namespace AS pn ON pn.oid = pc.relnamespace
        -- the child's columns and the parent's they match, pair by pair
        CROSS JOIN LATERAL (
            SELECT jsonb_agg(ca.attname ORDER BY k.n) AS columns, jsonb_agg(pa.attname ORDER BY k.n) AS parent_columns
            FROM unnest(con.conkey, con.confkey) WITH ORDINALITY AS k (child_attnum, parent_attnum, n)
            JOIN pg_attribute AS ca ON ca.attrelid = con.conrelid AND ca.attnum = k.child_attnum
            JOIN pg_attribute AS pa ON pa.attrelid = con.confrelid AND pa.attnum = k.parent_attnum
        ) AS pair
        WHERE con.conrelid = i.oid AND con.contype = 'f') AS foreign_keys,
       (SELECT coalesce(jsonb_agg(jsonb_build_object(
                    'name', ic.relname,
                    'columns', (SELECT jsonb_agg(a.attname ORDER BY k.n)
                                FROM unnest(x.indkey) WITH ORDINALITY AS k (attnum, n)
                                JOIN pg_attribute AS a ON a.attrelid = x.indrelid AND a.attnum = k.attnum),
                    'primary', x.indisprimary,
                    'not_null', (SELECT bool_and(a.attnotnull)
                                 FROM unnest(x.indkey) AS k (attnum)
                                 JOIN pg_attribute AS a ON a.attrelid = x.indrelid AND a.attnum = k.attnum),
                    'nulls_not_distinct', x.indnullsnotdistinct)
                    ORDER BY x.indisprimary DESC, ic.relname), '[]')
        FROM pg_index AS x
        JOIN pg_class AS ic ON ic.oid = x.indexrelid
        -- a plain unique index over columns: no expression, no WHERE, usable as a key
        WHERE x.indrelid = i.oid AND x.indisunique AND x.indpred IS NULL AND 0 <> ALL (x.indkey)) AS unique_keys
FROM included AS i
ORDER BY i.table_schema COLLATE "C", i.table_name COLLATE "C";
