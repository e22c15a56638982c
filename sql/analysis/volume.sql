-- How much data each table to rename holds. Row counts are the planner's estimate (free) unless
-- exact counts are asked for, which reads every row: seconds to minutes on a big table.
-- A rename does not touch the data either way; this is for knowing what is at stake.
--
-- Runs as is in psql:
--   SET pgrename.map = '{"User": "users"}';
--   SET pgrename.exact_counts = on;          -- optional
--   \i sql/analysis/volume.sql
WITH mapped AS (
    SELECT m.key AS source_table, m.value AS target_table, s.table_schema, c.oid AS table_oid, c.reltuples
    FROM (SELECT coalesce(nullif(current_setting('pgrename.schema', true), ''), 'public') AS table_schema) AS s
    CROSS JOIN jsonb_each_text(coalesce(nullif(current_setting('pgrename.map', true), ''), '{}')::jsonb) AS m
    JOIN pg_class AS c ON c.oid = to_regclass(format('%I.%I', s.table_schema, m.key)) AND c.relkind IN ('r', 'p')
)
SELECT source_table,
       CASE WHEN reltuples >= 0 THEN reltuples::bigint END AS estimated_rows,
       CASE WHEN coalesce(current_setting('pgrename.exact_counts', true), 'off') IN ('on', 'true', '1')
            THEN (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.%I', table_schema, source_table),
                                                      false, true, '')))[1]::text::bigint
       END AS exact_rows,
       pg_table_size(table_oid) AS table_bytes,
       pg_indexes_size(table_oid) AS index_bytes,
       pg_total_relation_size(table_oid) AS total_bytes,
       pg_size_pretty(pg_total_relation_size(table_oid)) AS total_size
FROM mapped
ORDER BY source_table COLLATE "C";
