-- The clients that will break: recent statements (pg_stat_statements) that name a table to
-- rename. Needs the pg_stat_statements extension; the runner skips this part without it.
--
-- Runs as is in psql:
--   SET pgrename.map = '{"User": "users"}';
--   \i sql/analysis/statements.sql
WITH mapped AS (
    SELECT m.key AS source_table
    FROM jsonb_each_text(coalesce(nullif(current_setting('pgrename.map', true), ''), '{}')::jsonb) AS m
)
SELECT m.source_table, s.calls, pg_get_userbyid(s.userid) AS user_name, left(s.query, 300) AS query
FROM mapped AS m
JOIN pg_stat_statements AS s
  ON s.query LIKE '%"' || replace(m.source_table, '"', '""') || '"%'
  OR (m.source_table = lower(m.source_table) AND s.query ~* ('\m' || m.source_table || '\M'))
WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND s.query NOT LIKE '%pgrename%'
ORDER BY m.source_table COLLATE "C", s.calls DESC
LIMIT 200;
