-- Check: every sequence a column owns (serial, identity) is past the largest value in its column,
-- so the next insert does not collide with a row that is there (after an import or a restore).
--
-- A generator over the catalog: one row per owned sequence, whose query returns (violations,
-- example). In psql:
--   SET pgrename.schemas = 'public';
--   \i sql/validate/050_sequences.sql
SELECT format('sequence %s', d.objid::regclass) AS name,
       format('%s: past the largest %s of %s', d.objid::regclass, a.attname, d.refobjid::regclass) AS description,
       format('SELECT count(*) AS violations, min(largest::text) AS example FROM (SELECT max(%I) AS largest FROM %s) AS m '
              'WHERE m.largest > coalesce((SELECT last_value FROM pg_sequences WHERE schemaname = %L AND sequencename = %L), 0)',
              a.attname, d.refobjid::regclass, sn.nspname, s.relname) AS query
FROM pg_depend AS d
JOIN pg_class AS s ON s.oid = d.objid AND s.relkind = 'S'
JOIN pg_namespace AS sn ON sn.oid = s.relnamespace
JOIN pg_class AS t ON t.oid = d.refobjid
JOIN pg_namespace AS tn ON tn.oid = t.relnamespace
JOIN pg_attribute AS a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
  AND tn.nspname = ANY (string_to_array(coalesce(nullif(current_setting('pgrename.schemas', true), ''), 'public'), ','))
ORDER BY 1;
