-- Every table of the schemas, and what the map and the naming rule make of it. The one place
-- the naming rule is written down; the runner's starter config (--write-config) comes from here.
--
-- Runs as is in psql; every setting is optional:
--   SET pgrename.schema = 'public';
--   SET pgrename.schemas = 'public,sales';                -- several schemas (default: pgrename.schema)
--   SET pgrename.map = '{"User": "users"}';               -- explicit entries win over the rule
--   SET pgrename.include = 'Assistant*,User';             -- globs: only these tables
--   SET pgrename.exclude = '_prisma_migrations,*Snapshot'; -- globs: never these
--   \i sql/analysis/discovery.sql
--
-- The naming rule: a capital that starts a word (after another letter or a digit) begins a new
-- word, runs of capitals stay together, everything is lower-cased, digits are kept:
-- AssistantChatSession -> assistant_chat_session, HTTPRequestLog -> http_request_log,
-- UserID -> user_id, OAuth2Token -> o_auth2_token. A table whose name the rule leaves
-- unchanged is already snake_case.
--
-- A key "sales.Customer" of the map is table Customer of schema sales when pgrename.schemas lists
-- sales; any other key is a table of pgrename.schema (as in rename_plan.sql).
--
-- status: mapped (by the map), rule (matches the rule, not in the map), excluded (matches the
-- rule, kept out by include/exclude), snake_case (nothing to do), missing (mapped, no such table).
WITH settings AS (
    SELECT s.table_schema,
           ARRAY(SELECT trim(x) FROM unnest(string_to_array(coalesce(nullif(current_setting('pgrename.schemas', true), ''),
                                                                     s.table_schema), ',')) AS x) AS schemas
    FROM (SELECT coalesce(nullif(current_setting('pgrename.schema', true), ''), 'public') AS table_schema) AS s
),
mapped AS (
    SELECT k.table_schema, k.table_name, m.value AS target_table
    FROM settings AS s
    CROSS JOIN jsonb_each_text(coalesce(nullif(current_setting('pgrename.map', true), ''), '{}')::jsonb) AS m
    CROSS JOIN LATERAL (SELECT strpos(m.key, '.') > 0 AND split_part(m.key, '.', 1) = ANY (s.schemas) AS qualified) AS q
    CROSS JOIN LATERAL (
        SELECT CASE WHEN q.qualified THEN split_part(m.key, '.', 1) ELSE s.table_schema END AS table_schema,
               CASE WHEN q.qualified THEN substr(m.key, strpos(m.key, '.') + 1) ELSE m.key END AS table_name
    ) AS k
),
pattern AS (
    -- Globs as LIKE patterns: * -> %, ? -> _, and LIKE's own % _ \ escaped.
    SELECT g.kind, replace(replace(replace(replace(replace(trim(g.glob), '\', '\\'), '%', '\%'), '_', '\_'),
                                   '*', '%'), '?', '_') AS like_pattern
    FROM (SELECT 'include' AS kind, unnest(string_to_array(current_setting('pgrename.include', true), ',')) AS glob
          UNION ALL
          SELECT 'exclude', unnest(string_to_array(current_setting('pgrename.exclude', true), ','))) AS g
    WHERE trim(g.glob) <> ''
),
present AS (
    SELECT n.nspname AS table_schema, c.relname AS source_table, c.reltuples::bigint AS estimated_rows,
           trim(BOTH '_' FROM regexp_replace(
               lower(regexp_replace(regexp_replace(regexp_replace(c.relname, '[\s.-]+', '_', 'g'),
                                                   '(.)([A-Z][a-z]+)', '\1_\2', 'g'),
                                    '([a-z0-9])([A-Z])', '\1_\2', 'g')),
               '_{2,}', '_', 'g')) AS rule_target
    FROM settings AS s
    JOIN pg_namespace AS n ON n.nspname = ANY (s.schemas)
    JOIN pg_class AS c ON c.relnamespace = n.oid AND c.relkind IN ('r', 'p') AND NOT c.relispartition
),
classified AS (
    SELECT p.table_schema, p.source_table, p.estimated_rows, p.rule_target, m.target_table AS mapped_target,
           (NOT EXISTS (SELECT FROM pattern WHERE kind = 'include')
            OR EXISTS (SELECT FROM pattern WHERE kind = 'include' AND p.source_table LIKE like_pattern))
           AND NOT EXISTS (SELECT FROM pattern WHERE kind = 'exclude' AND p.source_table LIKE like_pattern)
               AS included
    FROM present AS p
    LEFT JOIN mapped AS m ON m.table_schema = p.table_schema AND m.table_name = p.source_table
)
SELECT table_schema, source_table, status, target_table, rule_target, estimated_rows
FROM (
    SELECT table_schema, source_table,
           CASE WHEN mapped_target IS NOT NULL THEN 'mapped'
                WHEN rule_target = source_table THEN 'snake_case'
                WHEN NOT included THEN 'excluded'
                ELSE 'rule'
           END AS status,
           coalesce(mapped_target, CASE WHEN included AND rule_target <> source_table THEN rule_target END) AS target_table,
           rule_target,
           estimated_rows
    FROM classified
    UNION ALL
    SELECT m.table_schema, m.table_name, 'missing', m.target_table, NULL, NULL
    FROM mapped AS m
    WHERE NOT EXISTS (SELECT FROM present AS p WHERE p.table_schema = m.table_schema AND p.source_table = m.table_name)
) AS discovered
ORDER BY table_schema COLLATE "C", source_table COLLATE "C";
