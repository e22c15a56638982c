-- The clients that will break: recent statements (pg_stat_statements) that name a table to
-- rename, one line each, most called first. Needs the pg_stat_statements extension; the runner
-- skips this part without it.
--
-- Left out: schema changes and maintenance (CREATE, ALTER, DROP, COMMENT, LOCK, GRANT, COPY,
-- VACUUM...: a loader's or a migration's, not a client's), and pgrename's own statements.
-- pg_stat_statements keeps no time of a statement's last call; calls and rows tell how much
-- a client leans on it.
--
-- A statement may name a constraint, index or sequence of the table instead (ON CONFLICT ON
-- CONSTRAINT "User_email_key", an index hint): uses_kind and uses_name say which. A name in a
-- string constant (nextval('"User_id_seq"')) is not seen: pg_stat_statements keeps $1 for it.
--
-- Runs as is in psql:
--   SET pgrename.schema = 'public';
--   SET pgrename.schemas = 'public,sales';   -- optional: several schemas (default: pgrename.schema)
--   SET pgrename.map = '{"User": "users", "sales.Customer": "customer"}';
--   \i sql/analysis/statements.sql
WITH setting AS (
    SELECT s.table_schema,
           ARRAY(SELECT trim(x) FROM unnest(string_to_array(coalesce(nullif(current_setting('pgrename.schemas', true), ''),
                                                                     s.table_schema), ',')) AS x) AS schemas
    FROM (SELECT coalesce(nullif(current_setting('pgrename.schema', true), ''), 'public') AS table_schema) AS s
),
mapped AS (
    -- source_table: the table as the map names it ("sales.Customer": table Customer of schema sales,
    -- listed in pgrename.schemas; any other key is a table of pgrename.schema).
    SELECT m.key AS source_table, k.table_schema, k.table_name, to_regclass(format('%I.%I', k.table_schema, k.table_name)) AS table_oid
    FROM setting AS s
    CROSS JOIN jsonb_each_text(coalesce(nullif(current_setting('pgrename.map', true), ''), '{}')::jsonb) AS m
    CROSS JOIN LATERAL (SELECT strpos(m.key, '.') > 0 AND split_part(m.key, '.', 1) = ANY (s.schemas) AS qualified) AS q
    CROSS JOIN LATERAL (
        SELECT CASE WHEN q.qualified THEN split_part(m.key, '.', 1) ELSE s.table_schema END AS table_schema,
               CASE WHEN q.qualified THEN substr(m.key, strpos(m.key, '.') + 1) ELSE m.key END AS table_name
    ) AS k
),
named (source_table, uses_kind, uses_name) AS (
    SELECT source_table, 'table', table_name FROM mapped
    UNION ALL
    SELECT m.source_table, 'constraint', con.conname::text
    FROM mapped AS m JOIN pg_constraint AS con ON con.conrelid = m.table_oid
    UNION ALL
    SELECT m.source_table, 'index', ic.relname::text
    FROM mapped AS m JOIN pg_index AS i ON i.indrelid = m.table_oid JOIN pg_class AS ic ON ic.oid = i.indexrelid
    WHERE NOT EXISTS (SELECT FROM pg_constraint AS con WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid)
)
SELECT m.source_table, m.uses_kind, m.uses_name, s.calls, s.rows, round(s.mean_exec_time::numeric, 3) AS mean_ms,
       pg_get_userbyid(s.userid) AS user_name, left(regexp_replace(c.statement, '\s+', ' ', 'g'), 200) AS query
FROM named AS m
JOIN pg_stat_statements AS s
  ON s.query LIKE '%"' || replace(m.uses_name, '"', '""') || '"%'
  OR (m.uses_name = lower(m.uses_name) AND s.query ~* ('\m' || m.uses_name || '\M'))
-- The statement without the -- comments before it (pgrename's scripts explain each statement so).
CROSS JOIN LATERAL (SELECT btrim(regexp_replace(s.query, '^(\s*--[^\n]*)*', ''), E' \t\r\n') AS statement) AS c
WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND s.query NOT LIKE '%pgrename%'
  AND c.statement !~* '^(create|alter|drop|comment|lock|grant|revoke|truncate|copy|vacuum|analyze|cluster|reindex|refresh|security|do)\M'
ORDER BY m.source_table COLLATE "C", m.uses_kind <> 'table', m.uses_name COLLATE "C", s.calls DESC
LIMIT 200;
