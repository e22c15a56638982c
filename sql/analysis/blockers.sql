-- Sessions holding (or waiting for) a lock on the tables to rename: each would make a rename
-- wait, and an ACCESS EXCLUSIVE request queued behind it would block everyone else. Sessions
-- idle in a transaction are listed too (locked_table empty): they may hold or take such a
-- lock at any moment, and they hold it until they end.
--
-- Runs as is in psql; the same settings as rename_plan.sql choose the tables:
--   SET pgrename.schema = 'public';
--   SET pgrename.schemas = 'public,sales';   -- optional: several schemas (default: pgrename.schema)
--   SET pgrename.map = '{"User": "users"}';    -- without it: every table of the schemas
--   \i sql/analysis/blockers.sql
WITH settings AS (
    SELECT s.table_schema,
           ARRAY(SELECT trim(x) FROM unnest(string_to_array(coalesce(nullif(current_setting('pgrename.schemas', true), ''),
                                                                     s.table_schema), ',')) AS x) AS schemas,
           nullif(current_setting('pgrename.map', true), '')::jsonb AS rename_map
    FROM (SELECT coalesce(nullif(current_setting('pgrename.schema', true), ''), 'public') AS table_schema) AS s
),
mapped AS (
    -- A key "sales.Customer" is table Customer of schema sales when pgrename.schemas lists sales;
    -- any other key is a table of pgrename.schema (as in rename_plan.sql).
    SELECT k.table_schema, k.table_name, m.value AS target_table
    FROM settings AS s
    CROSS JOIN jsonb_each_text(s.rename_map) AS m
    CROSS JOIN LATERAL (SELECT strpos(m.key, '.') > 0 AND split_part(m.key, '.', 1) = ANY (s.schemas) AS qualified) AS q
    CROSS JOIN LATERAL (
        SELECT CASE WHEN q.qualified THEN split_part(m.key, '.', 1) ELSE s.table_schema END AS table_schema,
               CASE WHEN q.qualified THEN substr(m.key, strpos(m.key, '.') + 1) ELSE m.key END AS table_name
    ) AS k
),
watched AS (
    -- Both names: before the migration the sources are locked, after it the targets.
    SELECT c.oid
    FROM settings AS s
    JOIN pg_namespace AS n ON n.nspname = ANY (s.schemas)
    JOIN pg_class AS c ON c.relnamespace = n.oid AND c.relkind IN ('r', 'p')
    WHERE s.rename_map IS NULL
       OR (n.nspname, c.relname) IN (SELECT table_schema, table_name FROM mapped
                                     UNION ALL
                                     SELECT table_schema, target_table FROM mapped)
)
SELECT a.pid,
       a.usename AS user_name,
       a.application_name,
       a.client_addr,
       a.state,
       l.relation::regclass::text AS locked_table,
       l.mode,
       l.granted,
       date_trunc('second', now() - a.xact_start)::text AS transaction_age,
       left(a.query, 200) AS last_query
FROM pg_stat_activity AS a
LEFT JOIN pg_locks AS l ON l.pid = a.pid AND l.relation IN (SELECT oid FROM watched)
WHERE a.pid <> pg_backend_pid()
  AND a.datname = current_database()
  AND (l.pid IS NOT NULL OR a.state IN ('idle in transaction', 'idle in transaction (aborted)'))
ORDER BY a.xact_start NULLS LAST, a.pid, locked_table;
