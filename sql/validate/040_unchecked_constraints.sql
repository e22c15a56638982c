-- Check: every CHECK constraint created NOT VALID holds for the rows that were there before it
-- (PostgreSQL checks only new rows until VALIDATE CONSTRAINT runs).
--
-- A generator over the catalog: one row per such constraint, whose query returns (violations,
-- example). In psql:
--   SET pgrename.schemas = 'public';
--   \i sql/validate/040_unchecked_constraints.sql
SELECT format('check %s', con.conname) AS name,
       format('%s.%s: %s (NOT VALID: never checked by PostgreSQL)', n.nspname, c.relname,
              pg_get_constraintdef(con.oid)) AS description,
       format('SELECT count(*) AS violations, min(t::text) AS example FROM %s AS t WHERE NOT (%s)',
              con.conrelid::regclass, pg_get_expr(con.conbin, con.conrelid)) AS query
FROM pg_constraint AS con
JOIN pg_class AS c ON c.oid = con.conrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE con.contype = 'c' AND NOT con.convalidated
  AND n.nspname = ANY (string_to_array(coalesce(nullif(current_setting('pgrename.schemas', true), ''), 'public'), ','))
ORDER BY n.nspname, c.relname, con.conname;
