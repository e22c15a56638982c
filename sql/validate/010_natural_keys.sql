-- Check: every synced table's natural key is unique and never NULL. Two rows with one key, or a
-- row with none, cannot be told apart on another machine: an import would merge or lose them.
--
-- Where PostgreSQL itself guarantees it (a valid unique index checked at once, on exactly the
-- key's columns, no expression, no WHERE, and every key column NOT NULL), the check asks the
-- catalog whether that still holds instead of grouping every row: the same answer, in no time
-- on a table of millions. Otherwise it groups the rows by key.
--
-- A generator: one row per check, whose query returns (violations, example). In psql:
--   SET pgrename.sync_keys = '{"public.events": ["xmlid"], "public.post_tags": ["post_id", "tag_id"]}';
--   \i sql/validate/010_natural_keys.sql
-- and run a query it lists; make validate runs them all (build/validate.sql).
WITH key AS (
    SELECT k.table_name, to_regclass(k.table_name) AS table_oid,
           array_agg(c ORDER BY n) AS columns, array_agg(c ORDER BY c COLLATE "C") AS column_set,
           string_agg(format('%I', c), ', ' ORDER BY n) AS column_list,
           string_agg(format('%I IS NULL', c), ' OR ' ORDER BY n) AS any_null
    FROM jsonb_each(coalesce(nullif(current_setting('pgrename.sync_keys', true), ''), '{}')::jsonb) AS k (table_name, columns)
    CROSS JOIN LATERAL jsonb_array_elements_text(k.columns) WITH ORDINALITY AS key_column (c, n)
    GROUP BY k.table_name
),
guaranteed AS (
    SELECT DISTINCT ON (key.table_name) key.table_name, x.indexrelid::regclass AS index_name
    FROM key
    JOIN pg_index AS x ON x.indrelid = key.table_oid AND x.indisunique AND x.indisvalid AND x.indimmediate
                      AND x.indexprs IS NULL AND x.indpred IS NULL
    CROSS JOIN LATERAL (
        SELECT array_agg(a.attname::text ORDER BY a.attname::text COLLATE "C") AS column_set,
               bool_and(a.attnotnull) AS not_null
        FROM unnest((x.indkey::int2[])[0:x.indnkeyatts - 1]) AS k (attnum)
        JOIN pg_attribute AS a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
    ) AS indexed
    WHERE indexed.column_set = key.column_set AND indexed.not_null
    ORDER BY key.table_name, x.indexrelid
)
SELECT format('natural key of %s', key.table_name) AS name,
       format('%s: (%s) is unique and not NULL%s', key.table_name, array_to_string(key.columns, ', '),
              CASE WHEN g.index_name IS NOT NULL
                   THEN format(' (unique index %s on NOT NULL columns guarantees it)', g.index_name) END) AS description,
       CASE WHEN g.index_name IS NULL THEN
           format('SELECT count(*) AS violations, min(k::text) AS example FROM ('
                  'SELECT ROW(%1$s) AS k FROM %2$s GROUP BY %1$s HAVING count(*) > 1 OR bool_or(%3$s)) AS found',
                  key.column_list, key.table_oid, key.any_null)
       ELSE
           format('SELECT count(*) AS violations, min(problem) AS example FROM ('
                  'SELECT %1$L AS problem WHERE NOT EXISTS (SELECT FROM pg_index AS x WHERE x.indexrelid = to_regclass(%2$L)'
                  ' AND x.indisunique AND x.indisvalid AND x.indimmediate) '
                  'UNION ALL SELECT format(%3$L, a.attname) FROM pg_attribute AS a WHERE a.attrelid = %4$L::regclass'
                  ' AND a.attname = ANY (%5$L::text[]) AND NOT a.attnotnull) AS found',
                  format('unique index %s is gone or no longer valid since this suite was written', g.index_name),
                  g.index_name, 'column %s allows NULL', key.table_oid, key.columns)
       END AS query
FROM key
LEFT JOIN guaranteed AS g ON g.table_name = key.table_name
ORDER BY key.table_name;
