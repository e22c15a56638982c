-- The foreign keys that point at a table loaded later (a cycle such as A -> B -> A, loaded A
-- first) or at their own table. A deferrable one is deferred to the commit, and a COPY checks a
-- self-reference at the end of the statement, when all the table's rows are there. The others are
-- bound late: their columns load as NULL with the rest of the row and are set once every table is
-- loaded. A restore that continues past bad rows checks each row as it goes, so it binds them all
-- late.
--
-- The restored tables come in pgrename.restored_tables, a JSON array of quoted names in load
-- order. In psql:
--   SET pgrename.restored_tables = '["public.\"CycA\"", "public.\"CycB\""]';
--   \i sql/restore/late_bound_foreign_keys.sql
WITH load_order AS (
    SELECT to_regclass(t.name) AS relid, t.position
    FROM jsonb_array_elements_text(current_setting('pgrename.restored_tables')::jsonb)
        WITH ORDINALITY AS t (name, position)
)
SELECT n.nspname AS table_schema, c.relname AS table_name, con.conname AS constraint_name,
       array_agg(a.attname::text ORDER BY k.position) AS columns,
       bool_and(NOT a.attnotnull) AS columns_nullable,
       con.condeferrable AS deferrable,
       child.relid = parent.relid AS self_reference
FROM pg_constraint AS con
-- A partition's foreign key is its root table's: the root is what loads.
JOIN load_order AS child ON child.relid = coalesce(pg_partition_root(con.conrelid), con.conrelid)
JOIN load_order AS parent ON parent.relid = coalesce(pg_partition_root(con.confrelid), con.confrelid)
JOIN pg_class AS c ON c.oid = child.relid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k (attnum, position)
JOIN pg_attribute AS a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
WHERE con.contype = 'f'
  AND parent.position >= child.position
GROUP BY n.nspname, c.relname, con.oid, child.relid, parent.relid
ORDER BY 1, 2, 3;
