-- Every table of the schema, and what the map and the naming rule make of it. The one place
-- the naming rule is written down; the runner's starter config (--write-config) comes from here.
--
-- Runs as is in psql; every setting is optional:
--   SET pgrename.schema = 'public';
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
-- status: mapped (by the map), rule (matches the rule, not in the map), excluded (matches the
-- rule, kept out by include/exclude), snake_case (nothing to do), missing (mapped, no such table).
WITH settings AS (
    SELECT coalesce(nullif(current_setting('pgrename.schema', true), ''), 'public') AS table_schema,
           coalesce(nullif(current_setting('pgrename.map', true), ''), '{}')::jsonb AS rename_map
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
    SELECT c.relname AS source_table, c.reltuples::bigint AS estimated_rows,
           trim(BOTH '_' FROM regexp_replace(
               lower(regexp_replace(regexp_replace(regexp_replace(c.relname, '[\s.-]+', '_', 'g'),
                                                   '(.)([A-Z][a-z]+)', '\1_\2', 'g'),
                                    '([a-z0-9])([A-Z])', '\1_\2', 'g')),
               '_{2,}', '_', 'g')) AS rule_target
    FROM settings AS s
    JOIN pg_namespace AS n ON n.nspname = s.table_schema
    JOIN pg_class AS c ON c.relnamespace = n.oid AND c.relkind IN ('r', 'p') AND NOT c.relispartition
),
classified AS (
    SELECT p.source_table, p.estimated_rows, p.rule_target, s.rename_map ->> p.source_table AS mapped_target,
           (NOT EXISTS (SELECT FROM pattern WHERE kind = 'include')
            OR EXISTS (SELECT FROM pattern WHERE kind = 'include' AND p.source_table LIKE like_pattern))
           AND NOT EXISTS (SELECT FROM pattern WHERE kind = 'exclude' AND p.source_table LIKE like_pattern)
               AS included
    FROM present AS p CROSS JOIN settings AS s
)
SELECT source_table, status, target_table, rule_target, estimated_rows
FROM (
    SELECT source_table,
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
    SELECT m.key, 'missing', m.value, NULL, NULL
    FROM settings AS s
    CROSS JOIN jsonb_each_text(s.rename_map) AS m
    WHERE NOT EXISTS (SELECT FROM present AS p WHERE p.source_table = m.key)
) AS discovered
ORDER BY source_table COLLATE "C";
