-- Every object a table rename must carry along, with its planned new name.
--
-- One pass over the catalog for all tables (no query per table). Runs as is in psql:
--   SET pgrename.schema = 'public';                              -- default: public
--   SET pgrename.map = '{"User": "users", "AssistantFolder": "chat_folders"}';
--   \i sql/analysis/rename_plan.sql
-- Without pgrename.map, every table whose name is not already snake_case is planned
-- under the naming rule (HTTPRequestLog -> http_request_log, OAuth2Token -> o_auth2_token).
--
-- An object "carries the table's name" when its name starts with the table's name and
-- "_" (Prisma: "User_pkey", "User_email_key") or "." (Prisma 2: "User.email_unique");
-- it is renamed by swapping that prefix. Any other name is left alone, with the reason.
-- Index-backed constraints (primary key, unique, exclusion) are renamed as constraints,
-- which renames their index too, so their indexes are not listed again.
WITH RECURSIVE
settings AS (
    SELECT coalesce(nullif(current_setting('pgrename.schema', true), ''), 'public') AS schema_name,
           nullif(current_setting('pgrename.map', true), '')::jsonb AS rename_map
),
requested AS (
    SELECT m.key AS table_name, m.value AS table_target
    FROM settings AS s, jsonb_each_text(s.rename_map) AS m
    UNION ALL
    SELECT c.relname,
           lower(regexp_replace(regexp_replace(c.relname, '(.)([A-Z][a-z]+)', '\1_\2', 'g'),
                                '([a-z0-9])([A-Z])', '\1_\2', 'g'))
    FROM settings AS s
    JOIN pg_namespace AS n ON n.nspname = s.schema_name
    JOIN pg_class AS c ON c.relnamespace = n.oid AND c.relkind IN ('r', 'p') AND NOT c.relispartition
    WHERE s.rename_map IS NULL
      AND c.relname <> lower(regexp_replace(regexp_replace(c.relname, '(.)([A-Z][a-z]+)', '\1_\2', 'g'),
                                            '([a-z0-9])([A-Z])', '\1_\2', 'g'))
),
mapped_table AS (
    -- A table that does not exist keeps a row with a NULL oid, so that preflight can name it.
    SELECT r.table_name, r.table_target, s.schema_name, c.oid AS table_oid
    FROM requested AS r
    CROSS JOIN settings AS s
    LEFT JOIN pg_namespace AS n ON n.nspname = s.schema_name
    LEFT JOIN pg_class AS c
           ON c.relnamespace = n.oid AND c.relname = r.table_name AND c.relkind IN ('r', 'p')
),
chain_step AS (
    -- A -> B while B -> C: B must move first. Depth = how many renames must precede this one.
    SELECT table_name, table_target, 0 AS depth, ARRAY[table_name] AS path
    FROM mapped_table
    UNION ALL
    SELECT c.table_name, t.table_target, c.depth + 1, c.path || t.table_name
    FROM chain_step AS c
    JOIN mapped_table AS t ON t.table_name = c.table_target
    WHERE t.table_name <> ALL (c.path)
),
rename_order AS (
    SELECT table_name, max(depth) AS depth FROM chain_step GROUP BY table_name
),
dependent AS (
    SELECT t.table_oid, 'constraint' AS kind, 2 AS kind_order, t.schema_name AS object_schema, con.conname AS object_name
    FROM mapped_table AS t
    JOIN pg_constraint AS con ON con.conrelid = t.table_oid AND con.contype IN ('p', 'u', 'c', 'f', 'x')
    UNION ALL
    SELECT t.table_oid, 'index', 3, t.schema_name, ic.relname
    FROM mapped_table AS t
    JOIN pg_index AS i ON i.indrelid = t.table_oid
    JOIN pg_class AS ic ON ic.oid = i.indexrelid
    WHERE NOT EXISTS (SELECT FROM pg_constraint AS con
                      WHERE con.conindid = i.indexrelid AND con.conrelid = t.table_oid
                        AND con.contype IN ('p', 'u', 'x'))
    UNION ALL
    SELECT t.table_oid, 'sequence', 4, sn.nspname, sc.relname
    FROM mapped_table AS t
    JOIN pg_depend AS d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = t.table_oid
                       AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
    JOIN pg_class AS sc ON sc.oid = d.objid AND sc.relkind = 'S'
    JOIN pg_namespace AS sn ON sn.oid = sc.relnamespace
    UNION ALL
    SELECT t.table_oid, 'trigger', 5, t.schema_name, tg.tgname
    FROM mapped_table AS t
    JOIN pg_trigger AS tg ON tg.tgrelid = t.table_oid AND NOT tg.tgisinternal
),
planned AS (
    SELECT t.table_name, t.table_target, 'table' AS kind, 1 AS kind_order,
           t.schema_name AS object_schema, t.table_name AS object_name, t.table_target AS target_name,
           CASE WHEN t.table_oid IS NULL THEN 'table does not exist' END AS note
    FROM mapped_table AS t
    UNION ALL
    SELECT t.table_name, t.table_target, d.kind, d.kind_order, d.object_schema, d.object_name,
           CASE WHEN left(d.object_name, length(t.table_name) + 1) IN (t.table_name || '_', t.table_name || '.')
                THEN t.table_target || substr(d.object_name, length(t.table_name) + 1)
           END,
           CASE WHEN left(d.object_name, length(t.table_name) + 1) NOT IN (t.table_name || '_', t.table_name || '.')
                THEN format('name does not start with %s', quote_ident(t.table_name || '_'))
           END
    FROM mapped_table AS t
    JOIN dependent AS d ON d.table_oid = t.table_oid
)
SELECT row_number() OVER (ORDER BY o.depth, p.table_name COLLATE "C", p.kind_order, p.object_name COLLATE "C")::int AS ordinal,
       p.kind, s.schema_name, p.table_name, p.table_target, p.object_schema, p.object_name, p.target_name, p.note
FROM planned AS p
CROSS JOIN settings AS s
JOIN rename_order AS o ON o.table_name = p.table_name
ORDER BY ordinal;
