-- The clients that will break: recent statements (pg_stat_statements) that name a table to
-- rename, one line each, most called first. Needs the pg_stat_statements extension; the runner
-- skips this part without it.
--
-- Left out: schema changes and maintenance (CREATE, ALTER, DROP, COMMENT, LOCK, GRANT, COPY,
-- VACUUM...: a loader's or a migration's, not a client's), and pgrename's own statements.
-- pg_stat_statements keeps no time of a statement's last call; calls and rows tell how much
-- a client leans on it.
--
-- Runs as is in psql:
--   SET pgrename.map = '{"User": "users"}';
--   \i sql/analysis/statements.sql
WITH mapped AS (
    SELECT m.key AS source_table
    FROM jsonb_each_text(coalesce(nullif(current_setting('pgrename.map', true), ''), '{}')::jsonb) AS m
)
SELECT m.source_table, s.calls, s.rows, round(s.mean_exec_time::numeric, 3) AS mean_ms,
       pg_get_userbyid(s.userid) AS user_name, left(regexp_replace(c.statement, '\s+', ' ', 'g'), 200) AS query
FROM mapped AS m
JOIN pg_stat_statements AS s
  ON s.query LIKE '%"' || replace(m.source_table, '"', '""') || '"%'
  OR (m.source_table = lower(m.source_table) AND s.query ~* ('\m' || m.source_table || '\M'))
-- The statement without the -- comments before it (pgrename's scripts explain each statement so).
CROSS JOIN LATERAL (SELECT btrim(regexp_replace(s.query, '^(\s*--[^\n]*)*', ''), E' \t\r\n') AS statement) AS c
WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND s.query NOT LIKE '%pgrename%'
  AND c.statement !~* '^(create|alter|drop|comment|lock|grant|revoke|truncate|copy|vacuum|analyze|cluster|reindex|refresh|security|do)\M'
ORDER BY m.source_table COLLATE "C", s.calls DESC
LIMIT 200;
