-- Every difference between the live schema and what a service's schema expects: missing tables
-- and columns, type and nullability mismatches, missing defaults, primary keys, unique keys,
-- foreign keys, enums and enum values. Columns the database has beyond the contract are notes.
--
-- The expectations come as JSON in pgrename.contract (runner.py builds it from a Prisma schema,
-- see pgrename/prisma.py). Runs as is in psql once that is set:
--   SET pgrename.contract = '{"tables": [{"table": "users", "line": 14, "columns": [...],
--                             "primary_key": ["id"], "unique": [["email"]], "foreign_keys": []}],
--                             "enums": [{"name": "UserRole", "values": ["USER", "ADMIN"], "line": 9}]}';
--   \i sql/analysis/contract.sql
WITH contract AS (
    SELECT coalesce(nullif(current_setting('pgrename.schema', true), ''), 'public') AS table_schema,
           coalesce(nullif(current_setting('pgrename.contract', true), ''), '{}')::jsonb AS expected
),
expected_table AS (
    SELECT t.value ->> 'table' AS table_name, (t.value ->> 'line')::int AS line, t.value AS spec,
           c.table_schema, rel.oid AS table_oid
    FROM contract AS c
    CROSS JOIN jsonb_array_elements(c.expected -> 'tables') AS t
    LEFT JOIN pg_class AS rel
           ON rel.oid = to_regclass(format('%I.%I', c.table_schema, t.value ->> 'table')) AND rel.relkind IN ('r', 'p')
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
key_columns AS (
    -- Each unique index and primary key of the tables, as the sorted list of its column names.
    SELECT i.indrelid AS table_oid, i.indisprimary,
           ARRAY(SELECT a.attname::text FROM pg_attribute AS a
                 WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) ORDER BY a.attname) AS columns
    FROM pg_index AS i
    WHERE i.indrelid IN (SELECT table_oid FROM expected_table) AND i.indisunique AND i.indpred IS NULL
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
    SELECT 'error', 'missing_primary_key', t.table_name, NULL,
           array_to_string(ARRAY(SELECT jsonb_array_elements_text(t.spec -> 'primary_key') ORDER BY 1), ', '),
           coalesce((SELECT array_to_string(k.columns, ', ') FROM key_columns AS k
                     WHERE k.table_oid = t.table_oid AND k.indisprimary), 'none'), t.line
    FROM expected_table AS t
    WHERE t.table_oid IS NOT NULL AND jsonb_array_length(t.spec -> 'primary_key') > 0
      AND NOT EXISTS (SELECT FROM key_columns AS k
                      WHERE k.table_oid = t.table_oid AND k.indisprimary
                        AND k.columns = ARRAY(SELECT jsonb_array_elements_text(t.spec -> 'primary_key') ORDER BY 1))
    UNION ALL
    SELECT 'error', 'missing_unique', t.table_name, NULL,
           'unique (' || array_to_string(ARRAY(SELECT jsonb_array_elements_text(u.value) ORDER BY 1), ', ') || ')',
           'none', t.line
    FROM expected_table AS t
    CROSS JOIN jsonb_array_elements(t.spec -> 'unique') AS u
    WHERE t.table_oid IS NOT NULL
      AND NOT EXISTS (SELECT FROM key_columns AS k
                      WHERE k.table_oid = t.table_oid
                        AND k.columns = ARRAY(SELECT jsonb_array_elements_text(u.value) ORDER BY 1))
    UNION ALL
    SELECT 'error', 'missing_foreign_key', t.table_name,
           array_to_string(ARRAY(SELECT jsonb_array_elements_text(fk.value -> 'columns')), ', '),
           format('references %s (%s)', fk.value ->> 'references',
                  array_to_string(ARRAY(SELECT jsonb_array_elements_text(fk.value -> 'ref_columns')), ', ')),
           'none', (fk.value ->> 'line')::int
    FROM expected_table AS t
    CROSS JOIN jsonb_array_elements(t.spec -> 'foreign_keys') AS fk
    WHERE t.table_oid IS NOT NULL
      AND NOT EXISTS (
          SELECT FROM pg_constraint AS con
          WHERE con.conrelid = t.table_oid AND con.contype = 'f'
            AND con.confrelid = to_regclass(format('%I.%I', t.table_schema, fk.value ->> 'references'))
            AND ARRAY(SELECT a.attname::text FROM unnest(con.conkey) AS k (attnum)
                      JOIN pg_attribute AS a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY 1)
              = ARRAY(SELECT jsonb_array_elements_text(fk.value -> 'columns') ORDER BY 1))
    UNION ALL
    SELECT 'error', 'missing_enum', e.value ->> 'name', NULL, 'an enum type', 'none', (e.value ->> 'line')::int
    FROM contract AS c CROSS JOIN jsonb_array_elements(c.expected -> 'enums') AS e
    WHERE NOT EXISTS (SELECT FROM pg_type AS ty JOIN pg_namespace AS n ON n.oid = ty.typnamespace
                      WHERE n.nspname = c.table_schema AND ty.typname = e.value ->> 'name' AND ty.typtype = 'e')
    UNION ALL
    SELECT 'error', 'missing_enum_value', e.value ->> 'name', NULL, v.value, 'none', (e.value ->> 'line')::int
    FROM contract AS c
    CROSS JOIN jsonb_array_elements(c.expected -> 'enums') AS e
    CROSS JOIN jsonb_array_elements_text(e.value -> 'values') AS v
    JOIN pg_namespace AS n ON n.nspname = c.table_schema
    JOIN pg_type AS ty ON ty.typnamespace = n.oid AND ty.typname = e.value ->> 'name' AND ty.typtype = 'e'
    WHERE NOT EXISTS (SELECT FROM pg_enum AS en WHERE en.enumtypid = ty.oid AND en.enumlabel = v.value)
    UNION ALL
    SELECT 'note', 'extra_column', t.table_name, a.column_name, 'not in the contract', a.column_type, t.line
    FROM expected_table AS t
    JOIN actual_column AS a ON a.table_oid = t.table_oid
    WHERE NOT EXISTS (SELECT FROM expected_column AS e
                      WHERE e.table_oid = t.table_oid AND e.column_name = a.column_name)
)
SELECT severity, kind, table_name, column_name, expected, actual, line
FROM difference
ORDER BY severity, line, kind, column_name COLLATE "C";
