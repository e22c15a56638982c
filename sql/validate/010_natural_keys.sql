-- Check: every synced table's natural key is unique and never NULL. Two rows with one key, or a
-- row with none, cannot be told apart on another machine: an import would merge or lose them.
--
-- A generator: one row per check, whose query returns (violations, example). In psql:
--   SET pgrename.sync_keys = '{"public.events": ["xmlid"], "public.post_tags": ["post_id", "tag_id"]}';
--   \i sql/validate/010_natural_keys.sql
-- and run a query it lists; make validate runs them all (build/validate.sql).
SELECT format('natural key of %s', k.table_name) AS name,
       format('%s: (%s) is unique and not NULL', k.table_name, string_agg(c, ', ' ORDER BY n)) AS description,
       format('SELECT count(*) AS violations, min(k::text) AS example FROM ('
              'SELECT ROW(%1$s) AS k FROM %2$s GROUP BY %1$s HAVING count(*) > 1 OR bool_or(%3$s)) AS found',
              string_agg(format('%I', c), ', ' ORDER BY n), to_regclass(k.table_name),
              string_agg(format('%I IS NULL', c), ' OR ' ORDER BY n)) AS query
FROM jsonb_each(coalesce(nullif(current_setting('pgrename.sync_keys', true), ''), '{}')::jsonb) AS k (table_name, columns)
CROSS JOIN LATERAL jsonb_array_elements_text(k.columns) WITH ORDINALITY AS key_column (c, n)
GROUP BY k.table_name
ORDER BY k.table_name;
