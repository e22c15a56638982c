-- Check: every foreign key holds, those created NOT VALID included (PostgreSQL never checked the
-- rows that were there before them): each child row's key has its parent row.
--
-- A generator over the catalog: one row per foreign key of the schemas, whose query returns
-- (violations, example). In psql:
--   SET pgrename.schemas = 'public';          -- comma-separated; default public
--   \i sql/validate/020_foreign_keys.sql
SELECT format('foreign key %s', con.conname) AS name,
       format('%s.%s: every row''s %s has its %s row%s', n.nspname, c.relname,
              string_agg(ca.attname, ', ' ORDER BY k.n), pc.relname,
              CASE WHEN con.convalidated THEN '' ELSE ' (NOT VALID: never checked by PostgreSQL)' END) AS description,
       format('SELECT count(*) AS violations, min(ROW(%s)::text) AS example FROM %s AS c '
              'WHERE %s AND NOT EXISTS (SELECT FROM %s AS p WHERE %s)',
              string_agg(format('c.%I', ca.attname), ', ' ORDER BY k.n), con.conrelid::regclass,
              string_agg(format('c.%I IS NOT NULL', ca.attname), ' AND ' ORDER BY k.n), con.confrelid::regclass,
              string_agg(format('p.%I = c.%I', pa.attname, ca.attname), ' AND ' ORDER BY k.n)) AS query
FROM pg_constraint AS con
JOIN pg_class AS c ON c.oid = con.conrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
JOIN pg_class AS pc ON pc.oid = con.confrelid
CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k (child_attnum, parent_attnum, n)
JOIN pg_attribute AS ca ON ca.attrelid = con.conrelid AND ca.attnum = k.child_attnum
JOIN pg_attribute AS pa ON pa.attrelid = con.confrelid AND pa.attnum = k.parent_attnum
WHERE con.contype = 'f' AND con.conparentid = 0
  AND n.nspname = ANY (string_to_array(coalesce(nullif(current_setting('pgrename.schemas', true), ''), 'public'), ','))
GROUP BY con.oid, con.conname, con.conrelid, con.confrelid, con.convalidated, n.nspname, c.relname, pc.relname
ORDER BY n.nspname, c.relname, con.conname;
