-- Indexes left invalid: a CREATE INDEX CONCURRENTLY (or REINDEX CONCURRENTLY) that failed half way
-- leaves its index behind, unused by queries but kept up to date by every write, and in the way of
-- the same statement run again. One pass over pg_index.
--
-- Runs as is in psql:
--   \i sql/analysis/invalid_indexes.sql
SELECT n.nspname AS index_schema, ic.relname AS index_name, i.indrelid::regclass::text AS table_name,
       pg_get_indexdef(i.indexrelid) AS definition
FROM pg_index AS i
JOIN pg_class AS ic ON ic.oid = i.indexrelid
JOIN pg_namespace AS n ON n.oid = ic.relnamespace
WHERE NOT i.indisvalid AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
ORDER BY 1, 2;
