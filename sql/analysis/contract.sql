-- Every difference between the live schema and what a service's Prisma schema expects, as
-- `prisma migrate diff` would see it: missing tables and columns, type and nullability
-- mismatches, missing defaults; primary keys, unique keys, indexes and foreign keys by their
-- columns, then by their names (a map: name, or Prisma's default) and, for foreign keys, their
-- referential actions; the join tables of implicit many-to-many relations; enums and their
-- values. Errors are what Prisma would add or change; notes (columns, indexes and foreign keys the
-- database has beyond the contract) what it would drop.
--
-- The expectations come as JSON in pgrename.contract (runner.py builds it from a Prisma schema,
-- see pgrename/prisma.py). Runs as is in psql once that is set:
--   SET pgrename.contract = '{"tables": [{"table": "users", "schema": null, "line": 14, "columns": [...],
--                             "primary_key": {"columns": ["id"], "name": "users_pkey", "line": 15},
--                             "unique": [{"columns": ["email"], "name": "users_email_key", "line": 16}],
--                             "indexes": [], "foreign_keys": []}],
--                             "enums": [{"name": "UserRole", "values": ["USER", "ADMIN"], "line": 9}]}';
--   \i sql/analysis/contract.sql
WITH contract AS (
    SELECT coalesce(nullif(current_setting('pgrename.schema', true), ''), 'public') AS table_schema,
           coalesce(nullif(current_setting('pgrename.contract', true), ''), '{}')::jsonb AS expected
),
expected_table AS (
    SELECT t.value ->> 'table' AS table_name, (t.value ->> 'line')::int AS line, t.value AS spec,
           coalesce(t.value ->> 'schema', c.table_schema) AS table_schema, rel.oid AS table_oid
    FROM contract AS c
    CROSS JOIN jsonb_array_elements(c.expected -> 'tables') AS t
    LEFT JOIN pg_class AS rel
           ON rel.oid = to_regclass(format('%I.%I', coalesce(t.value ->> 'schema', c.table_schema), t.value ->> 'table'))
          AND rel.relkind IN ('r', 'p')
),
expected_column AS (
    SELECT t.table_name, t.table_oid, col.value ->> 'column' AS column_name, col.value ->> 'type' AS column_type,
           (col.value ->> 'nullable')::boolean AS nullable, (col.value ->> 'db_default')::boolean AS db_default,
           (col.value ->> 'line')::int AS line
    FROM expected_table AS t
    CROSS JOIN jsonb_array_elements(t.spec -> 'columns') AS col
    WHERE t.table_oid IS NOT NULL
),
actual_column AS (
    SELECT a.attrelid AS table_oid, a.attname AS column_name, a.attnotnull, d.adbin IS NOT NULL AS has_default,
           CASE WHEN ty.typtype = 'e' THEN ty.typname::text ELSE format_type(a.atttypid, a.atttypmod) END AS column_type
    FROM pg_attribute AS a
    JOIN pg_type AS ty ON ty.oid = a.atttypid
    LEFT JOIN pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attrelid IN (SELECT table_oid FROM expected_table) AND a.attnum > 0 AND NOT a.attisdropped
),
expected_key (table_name, table_oid, kind, columns, key_name, line) AS (
    -- Each primary key, unique key and index the contract asks for, its columns in order.
    SELECT t.table_name, t.table_oid, k.kind, ARRAY(SELECT jsonb_array_elements_text(k.spec -> 'columns')),
           k.spec ->> 'name', coalesce((k.spec ->> 'line')::int, t.line)
    FROM expected_table AS t
    CROSS JOIN LATERAL (
        SELECT 'primary key' AS kind, t.spec -> 'primary_key' AS spec WHERE jsonb_typeof(t.spec -> 'primary_key') = 'object'
        UNION ALL
        SELECT 'unique', u.value FROM jsonb_array_elements(t.spec -> 'unique') AS u
        UNION ALL
        SELECT 'index', i.value FROM jsonb_array_elements(coalesce(t.spec -> 'indexes', '[]')) AS i
    ) AS k
    WHERE t.table_oid IS NOT NULL
),
actual_key (table_oid, kind, columns, key_name) AS (
    -- Each index of the tables as the same kinds: primary key, unique (not partial), index.
    SELECT i.indrelid, CASE WHEN i.indisprimary THEN 'primary key' WHEN i.indisunique AND i.indpred IS NULL
                            THEN 'unique' ELSE 'index' END,
           ARRAY(SELECT a.attname::text FROM unnest(i.indkey) WITH ORDINALITY AS k (attnum, position)
                 JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                 WHERE k.position <= i.indnkeyatts ORDER BY k.position),
           ic.relname::text
    FROM pg_index AS i
    JOIN pg_class AS ic ON ic.oid = i.indexrelid
    WHERE i.indrelid IN (SELECT table_oid FROM expected_table)
),
expected_fk AS (
    SELECT t.table_name, t.table_oid, fk.value AS spec, ARRAY(SELECT jsonb_array_elements_text(fk.value -> 'columns')) AS columns,
           to_regclass(format('%I.%I', t.table_schema, fk.value ->> 'references'))::oid AS referenced_oid,
           (fk.value ->> 'line')::int AS line
    FROM expected_table AS t
    CROSS JOIN jsonb_array_elements(t.spec -> 'foreign_keys') AS fk
    WHERE t.table_oid IS NOT NULL
),
actual_fk AS (
    SELECT con.conrelid AS table_oid, con.conname::text AS fk_name, con.confrelid AS referenced_oid,
           ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY AS k (attnum, position)
                 JOIN pg_attribute AS a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.position) AS columns,
           format('ON DELETE %s ON UPDATE %s', action.on_delete, action.on_update) AS actions
    FROM pg_constraint AS con
    CROSS JOIN LATERAL (
        SELECT (SELECT word FROM (VALUES ('a', 'NO ACTION'), ('r', 'RESTRICT'), ('c', 'CASCADE'), ('n', 'SET NULL'),
                                         ('d', 'SET DEFAULT')) AS v (code, word) WHERE code = con.confdeltype) AS on_delete,
               (SELECT word FROM (VALUES ('a', 'NO ACTION'), ('r', 'RESTRICT'), ('c', 'CASCADE'), ('n', 'SET NULL'),
                                         ('d', 'SET DEFAULT')) AS v (code, word) WHERE code = con.confupdtype) AS on_update
    ) AS action
    WHERE con.contype = 'f' AND con.conrelid IN (SELECT table_oid FROM expected_table)
),
difference (severity, kind, table_name, column_name, expected, actual, line) AS (
    SELECT 'error', 'missing_table', table_name, NULL, 'a table', 'none', line
    FROM expected_table WHERE table_oid IS NULL
    UNION ALL
    SELECT 'error', 'missing_column', e.table_name, e.column_name, coalesce(e.column_type, 'a column'), 'none', e.line
    FROM expected_column AS e
    LEFT JOIN actual_column AS a USING (table_oid, column_name)
    WHERE a.column_name IS NULL
    UNION ALL
    SELECT 'error', 'type_mismatch', e.table_name, e.column_name, e.column_type, a.column_type, e.line
    FROM expected_column AS e JOIN actual_column AS a USING (table_oid, column_name)
    WHERE e.column_type IS NOT NULL AND e.column_type <> a.column_type
    UNION ALL
    SELECT 'error', 'nullability_mismatch', e.table_name, e.column_name,
           CASE WHEN e.nullable THEN 'NULL allowed' ELSE 'NOT NULL' END,
           CASE WHEN a.attnotnull THEN 'NOT NULL' ELSE 'NULL allowed' END, e.line
    FROM expected_column AS e JOIN actual_column AS a USING (table_oid, column_name)
    WHERE e.nullable = a.attnotnull
    UNION ALL
    SELECT 'error', 'missing_default', e.table_name, e.column_name, 'a default', 'none', e.line
    FROM expected_column AS e JOIN actual_column AS a USING (table_oid, column_name)
    WHERE e.db_default AND NOT a.has_default
    UNION ALL
    -- A key or index with other columns (or none) is missing; with the right columns but another
    -- name, Prisma would rename it.
    SELECT 'error', 'missing_' || replace(e.kind, ' ', '_'), e.table_name, NULL,
           format('%s (%s)', e.kind, array_to_string(e.columns, ', ')),
           coalesce((SELECT string_agg(format('(%s)', array_to_string(a.columns, ', ')), ', ')
                     FROM actual_key AS a WHERE a.table_oid = e.table_oid AND a.kind = 'primary key'
                       AND e.kind = 'primary key'), 'none'), e.line
    FROM expected_key AS e
    WHERE NOT EXISTS (SELECT FROM actual_key AS a
                      WHERE a.table_oid = e.table_oid AND a.kind = e.kind AND a.columns = e.columns)
    UNION ALL
    SELECT 'error', 'name_mismatch', e.table_name, array_to_string(e.columns, ', '),
           format('%s %s', e.kind, e.key_name), string_agg(a.key_name, ', ' ORDER BY a.key_name), e.line
    FROM expected_key AS e
    JOIN actual_key AS a ON a.table_oid = e.table_oid AND a.kind = e.kind AND a.columns = e.columns
    GROUP BY e.table_name, e.table_oid, e.kind, e.columns, e.key_name, e.line
    HAVING NOT bool_or(a.key_name = e.key_name)
    UNION ALL
    SELECT 'error', 'missing_foreign_key', e.table_name, array_to_string(e.columns, ', '),
           format('references %s (%s)', e.spec ->> 'references',
                  array_to_string(ARRAY(SELECT jsonb_array_elements_text(e.spec -> 'ref_columns')), ', ')),
           'none', e.line
    FROM expected_fk AS e
    WHERE NOT EXISTS (SELECT FROM actual_fk AS a
                      WHERE a.table_oid = e.table_oid AND a.referenced_oid = e.referenced_oid AND a.columns = e.columns)
    UNION ALL
    SELECT 'error', 'name_mismatch', e.table_name, array_to_string(e.columns, ', '),
           format('foreign key %s', e.spec ->> 'name'), string_agg(a.fk_name, ', ' ORDER BY a.fk_name), e.line
    FROM expected_fk AS e
    JOIN actual_fk AS a ON a.table_oid = e.table_oid AND a.referenced_oid = e.referenced_oid AND a.columns = e.columns
    GROUP BY e.table_name, e.spec, e.columns, e.line
    HAVING NOT bool_or(a.fk_name = e.spec ->> 'name')
    UNION ALL
    SELECT 'error', 'referential_action_mismatch', e.table_name, array_to_string(e.columns, ', '),
           format('ON DELETE %s ON UPDATE %s', e.spec ->> 'on_delete', e.spec ->> 'on_update'), a.actions, e.line
    FROM expected_fk AS e
    JOIN actual_fk AS a ON a.table_oid = e.table_oid AND a.referenced_oid = e.referenced_oid AND a.columns = e.columns
    WHERE a.actions <> format('ON DELETE %s ON UPDATE %s', e.spec ->> 'on_delete', e.spec ->> 'on_update')
    UNION ALL
    SELECT 'error', 'missing_enum', e.value ->> 'name', NULL, 'an enum type', 'none', (e.value ->> 'line')::int
    FROM contract AS c CROSS JOIN jsonb_array_elements(c.expected -> 'enums') AS e
    WHERE NOT EXISTS (SELECT FROM pg_type AS ty JOIN pg_namespace AS n ON n.oid = ty.typnamespace
                      WHERE n.nspname = coalesce(e.value ->> 'schema', c.table_schema)
                        AND ty.typname = e.value ->> 'name' AND ty.typtype = 'e')
    UNION ALL
    SELECT 'error', 'missing_enum_value', e.value ->> 'name', NULL, v.value, 'none', (e.value ->> 'line')::int
    FROM contract AS c
    CROSS JOIN jsonb_array_elements(c.expected -> 'enums') AS e
    CROSS JOIN jsonb_array_elements_text(e.value -> 'values') AS v
    JOIN pg_namespace AS n ON n.nspname = coalesce(e.value ->> 'schema', c.table_schema)
    JOIN pg_type AS ty ON ty.typnamespace = n.oid AND ty.typname = e.value ->> 'name' AND ty.typtype = 'e'
    WHERE NOT EXISTS (SELECT FROM pg_enum AS en WHERE en.enumtypid = ty.oid AND en.enumlabel = v.value)
    UNION ALL
    SELECT 'note', 'extra_column', t.table_name, a.column_name, 'not in the contract', a.column_type, t.line
    FROM expected_table AS t
    JOIN actual_column AS a ON a.table_oid = t.table_oid
    WHERE NOT EXISTS (SELECT FROM expected_column AS e
                      WHERE e.table_oid = t.table_oid AND e.column_name = a.column_name)
    UNION ALL
    SELECT 'note', 'extra_' || replace(a.kind, ' ', '_'), t.table_name, array_to_string(a.columns, ', '),
           'not in the contract', a.key_name, t.line
    FROM expected_table AS t
    JOIN actual_key AS a ON a.table_oid = t.table_oid
    WHERE NOT EXISTS (SELECT FROM expected_key AS e
                      WHERE e.table_oid = a.table_oid AND e.kind = a.kind AND e.columns = a.columns)
    UNION ALL
    SELECT 'note', 'extra_foreign_key', t.table_name, array_to_string(a.columns, ', '), 'not in the contract',
           a.fk_name, t.line
    FROM expected_table AS t
    JOIN actual_fk AS a ON a.table_oid = t.table_oid
    WHERE NOT EXISTS (SELECT FROM expected_fk AS e
                      WHERE e.table_oid = a.table_oid AND e.referenced_oid = a.referenced_oid AND e.columns = a.columns)
)
SELECT severity, kind, table_name, column_name, expected, actual, line
FROM difference
ORDER BY severity, line, kind, column_name COLLATE "C";
