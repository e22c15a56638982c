-- How much data each table to rename holds. Row counts are the planner's estimate (free) unless
-- exact counts are asked for, which reads every row: seconds to minutes on a big table.
-- A rename does not touch the data either way; this is for knowing what is at stake.
--
-- Runs as is in psql:
--   SET pgrename.schema = 'public';
--   SET pgrename.schemas = 'public,sales';   -- optional: several schemas (default: pgrename.schema)
--   SET pgrename.map = '{"User": "users", "sales.Customer": "customer"}';
--   SET pgrename.exact_counts = on;          -- optional
--   \i sql/analysis/volume.sql
WITH setting AS (
    SELECT s.table_schema,
           ARRAY(SELECT trim(x) FROM unnest(string_to_array(coalesce(nullif(current_setting('pgrename.schemas', true), ''),
                                                                     s.table_schema), ',')) AS x) AS schemas
    FROM (SELECT coalesce(nullif(current_setting('pgrename.schema', true), ''), 'public') AS table_schema) AS s
),
mapped AS (
    -- source_table: the table as the map names it ("sales.Customer": table Customer of schema sales,
    -- listed in pgrename.schemas; any other key is a table of pgrename.schema).
    SELECT m.key AS source_table, k.table_schema, k.table_name, c.oid AS table_oid, c.reltuples
    FROM setting AS s
    CROSS JOIN jsonb_each_text(coalesce(nullif(current_setting('pgrename.map', true), ''), '{}')::jsonb) AS m
    CROSS JOIN LATERAL (SELECT strpos(m.key, '.') > 0 AND split_part(m.key, '.', 1) = ANY (s.schemas) AS qualified) AS q
    CROSS JOIN LATERAL (
        SELECT CASE WHEN q.qualified THEN split_part(m.key, '.', 1) ELSE s.table_schema END AS table_schema,
               CASE WHEN q.qualified THEN substr(m.key, strpos(m.key, '.') + 1) ELSE m.key END AS table_name
    ) AS k
    JOIN pg_class AS c ON c.oid = to_regclass(format('%I.%I', k.table_schema, k.table_name)) AND c.relkind IN ('r', 'p')
)
SELECT source_table,
       CASE WHEN reltuples >= 0 THEN reltuples::bigint END AS estimated_rows,
       CASE WHEN coalesce(current_setting('pgrename.exact_counts', true), 'off') IN ('on', 'true', '1')
            THEN (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.%I', table_schema, table_name),
                                                      false, true, '')))[1]::text::bigint
       END AS exact_rows,
       pg_table_size(table_oid) AS table_bytes,
       pg_indexes_size(table_oid) AS index_bytes,
       pg_total_relation_size(table_oid) AS total_bytes,
       pg_size_pretty(pg_total_relation_size(table_oid)) AS total_size
FROM mapped
ORDER BY source_table COLLATE "C";
