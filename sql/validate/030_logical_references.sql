-- Check: every reference made by value and not declared as a foreign key (sync: references, e.g.
-- events.event_xmlid -> events.xmlid) names a row that exists: no orphan the database would not
-- catch by itself.
--
-- A generator: one row per reference, whose query returns (violations, example). In psql:
--   SET pgrename.sync_references = '[{"table": "public.posts", "column": "event_xmlid",
--                                     "parent": "public.events", "parent_column": "xmlid"}]';
--   \i sql/validate/030_logical_references.sql
SELECT format('reference %s.%s', r ->> 'table', r ->> 'column') AS name,
       format('%s: every %s names a %s row by its %s', r ->> 'table', r ->> 'column', r ->> 'parent',
              r ->> 'parent_column') AS description,
       format('SELECT count(*) AS violations, min(c.%1$I::text) AS example FROM %2$s AS c '
              'WHERE c.%1$I IS NOT NULL AND NOT EXISTS (SELECT FROM %3$s AS p WHERE p.%4$I = c.%1$I)',
              r ->> 'column', to_regclass(r ->> 'table'), to_regclass(r ->> 'parent'), r ->> 'parent_column') AS query
FROM jsonb_array_elements(coalesce(nullif(current_setting('pgrename.sync_references', true), ''), '[]')::jsonb) AS r
ORDER BY 1;
