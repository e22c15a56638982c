-- What stands in the way of the map: one row per conflict, worst first.
--
-- Runs as is in psql:
--   SET pgrename.schema = 'public';
--   SET pgrename.schemas = 'public,sales';   -- optional: several schemas (default: pgrename.schema)
--   SET pgrename.map = '{"User": "users", "Users": "users", "sales.Customer": "customer"}';
--   \i sql/analysis/conflicts.sql
--
-- Names collide within a schema: each table is renamed in its own.
--
-- severity error: the migration would be refused (source_missing, target_exists,
-- duplicate_target, case_collision, too_long, truncation_collision, swap), or a schema listed in
-- pgrename.schemas does not exist (schema_missing: a typo, or not the database meant; no table).
-- severity warning: it works, but know it (chain: renamed in order; reserved_word: every
-- client must quote the name).
WITH RECURSIVE
setting AS (
    SELECT s.table_schema,
           ARRAY(SELECT trim(x) FROM unnest(string_to_array(coalesce(nullif(current_setting('pgrename.schemas', true), ''),
                                                                     s.table_schema), ',')) AS x) AS schemas
    FROM (SELECT coalesce(nullif(current_setting('pgrename.schema', true), ''), 'public') AS table_schema) AS s
),
mapped AS (
    -- A key "sales.Customer" is table Customer of schema sales when pgrename.schemas lists sales;
    -- any other key is a table of pgrename.schema (as in rename_plan.sql).
    SELECT k.table_schema, k.source_table, m.value AS target_table, c.oid AS table_oid
    FROM setting AS s
    CROSS JOIN jsonb_each_text(coalesce(nullif(current_setting('pgrename.map', true), ''), '{}')::jsonb) AS m
    CROSS JOIN LATERAL (SELECT strpos(m.key, '.') > 0 AND split_part(m.key, '.', 1) = ANY (s.schemas) AS qualified) AS q
    CROSS JOIN LATERAL (
        SELECT CASE WHEN q.qualified THEN split_part(m.key, '.', 1) ELSE s.table_schema END AS table_schema,
               CASE WHEN q.qualified THEN substr(m.key, strpos(m.key, '.') + 1) ELSE m.key END AS source_table
    ) AS k
    LEFT JOIN pg_class AS c
           ON c.oid = to_regclass(format('%I.%I', k.table_schema, k.source_table)) AND c.relkind IN ('r', 'p')
),
existing AS (
    -- Relations that keep their names: any in a schema of the map that is not itself being renamed away.
    SELECT n.nspname AS table_schema, c.oid, c.relname, c.relkind, c.reltuples
    FROM pg_class AS c
    JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE n.nspname IN (SELECT table_schema FROM mapped)
      AND c.oid NOT IN (SELECT table_oid FROM mapped WHERE table_oid IS NOT NULL)
),
walk (table_schema, start_table, current_target, path) AS (
    SELECT table_schema, source_table, target_table, ARRAY[source_table] FROM mapped
    UNION ALL
    SELECT w.table_schema, w.start_table, m.target_table, w.path || m.source_table
    FROM walk AS w JOIN mapped AS m ON m.table_schema = w.table_schema AND m.source_table = w.current_target
    WHERE m.source_table <> ALL (w.path)
),
conflict (severity, kind, table_schema, source_table, target_table, detail) AS (
    SELECT 'error', 'source_missing', table_schema, source_table, target_table,
           CASE WHEN to_regnamespace(quote_ident(table_schema)) IS NULL
                THEN format('schema %I does not exist', table_schema)
                ELSE format('table %I.%I does not exist', table_schema, source_table) END
    FROM mapped WHERE table_oid IS NULL
    UNION ALL
    SELECT 'error', 'target_exists', m.table_schema, m.source_table, m.target_table,
           format('%s %I already exists with about %s rows', CASE e.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table'
                  WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index'
                  WHEN 'S' THEN 'sequence' ELSE 'relation' END, e.relname, greatest(e.reltuples, 0)::bigint)
           || CASE WHEN e.relkind IN ('r', 'p')
                        AND (xpath('/row/empty/text()', query_to_xml(
                                format('SELECT NOT EXISTS (SELECT FROM %I.%I) AS empty', m.table_schema, e.relname),
                                false, true, '')))[1]::text = 'true'
                        AND (SELECT array_agg((a.attname, format_type(a.atttypid, a.atttypmod))::text ORDER BY a.attname)
                             FROM pg_attribute AS a WHERE a.attrelid = e.oid AND a.attnum > 0 AND NOT a.attisdropped)
                          = (SELECT array_agg((a.attname, format_type(a.atttypid, a.atttypmod))::text ORDER BY a.attname)
                             FROM pg_attribute AS a WHERE a.attrelid = m.table_oid AND a.attnum > 0 AND NOT a.attisdropped)
                   THEN '; it is empty and has the same columns: drop it, or merge into it, then rename'
                   ELSE '' END
    FROM mapped AS m JOIN existing AS e ON e.table_schema = m.table_schema AND e.relname = m.target_table
    UNION ALL
    SELECT 'error', 'duplicate_target', table_schema, source_table, target_table,
           format('%s tables are mapped to %I', sources, target_table)
    FROM (SELECT *, count(*) OVER (PARTITION BY table_schema, target_table) AS sources FROM mapped) AS m
    WHERE sources > 1
    UNION ALL
    SELECT 'error', 'case_collision', m.table_schema, m.source_table, m.target_table,
           format('%I differs from %I only by case; clients that do not quote names cannot tell them apart',
                  m.target_table, other.name)
    FROM mapped AS m
    JOIN (SELECT table_schema, target_table AS name FROM mapped
          UNION
          SELECT table_schema, relname FROM existing WHERE relkind IN ('r', 'p', 'v', 'm')) AS other
      ON other.table_schema = m.table_schema AND lower(other.name) = lower(m.target_table) AND other.name <> m.target_table
    UNION ALL
    SELECT 'error', 'too_long', table_schema, source_table, target_table,
           format('%I is %s bytes; PostgreSQL would truncate it to %s', target_table, octet_length(target_table),
                  current_setting('max_identifier_length'))
    FROM mapped WHERE octet_length(target_table) > current_setting('max_identifier_length')::int
    UNION ALL
    SELECT 'error', 'truncation_collision', m.table_schema, m.source_table, m.target_table,
           format('truncated to %s bytes, %I and %I are the same name', current_setting('max_identifier_length'),
                  m.target_table, o.target_table)
    FROM mapped AS m JOIN mapped AS o
      ON o.table_schema = m.table_schema AND o.source_table <> m.source_table AND o.target_table <> m.target_table
     AND substring(convert_to(o.target_table, 'UTF8') FOR current_setting('max_identifier_length')::int)
       = substring(convert_to(m.target_table, 'UTF8') FOR current_setting('max_identifier_length')::int)
    UNION ALL
    SELECT DISTINCT 'error', 'swap', w.table_schema, w.start_table, m.target_table,
           format('%s -> %I: no order works; rename through a temporary name in two migrations',
                  array_to_string(ARRAY(SELECT quote_ident(x) FROM unnest(w.path) AS x), ' -> '), w.start_table)
    FROM walk AS w JOIN mapped AS m ON m.table_schema = w.table_schema AND m.source_table = w.start_table
    WHERE w.current_target = w.start_table
    UNION ALL
    SELECT 'warning', 'chain', m.table_schema, m.source_table, m.target_table,
           format('%I is itself renamed (to %I) first, then %I takes its name', o.source_table, o.target_table,
                  m.source_table)
    FROM mapped AS m JOIN mapped AS o ON o.table_schema = m.table_schema AND o.source_table = m.target_table
    WHERE NOT EXISTS (SELECT FROM walk AS w WHERE w.table_schema = m.table_schema AND w.start_table = m.source_table
                                               AND w.current_target = w.start_table)
    UNION ALL
    -- Reserved words (R), and those reserved but for function and type names (T: like, join, left,
    -- verbose...): neither can be a bare table name.
    SELECT 'warning', 'reserved_word', m.table_schema, m.source_table, m.target_table,
           format('%I is a reserved word: every client must write it in double quotes', m.target_table)
    FROM mapped AS m JOIN pg_get_keywords() AS k ON k.word = m.target_table AND k.catcode IN ('R', 'T')
    UNION ALL
    -- A table mapped in it says so already (source_missing).
    SELECT 'error', 'schema_missing', listed.nspname, NULL, NULL, format('schema %I does not exist', listed.nspname)
    FROM setting AS s
    CROSS JOIN unnest(s.schemas) AS listed (nspname)
    WHERE to_regnamespace(quote_ident(listed.nspname)) IS NULL
      AND listed.nspname NOT IN (SELECT table_schema FROM mapped)
)
SELECT severity, kind, table_schema, source_table, target_table, detail
FROM conflict
ORDER BY severity, kind, table_schema COLLATE "C", source_table COLLATE "C";
