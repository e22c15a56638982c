-- Every table of the schemas, in the order a restore loads them: parents before the tables that
-- reference them. One pass over pg_constraint for all tables (no query per table).
--
-- Runs as is in psql:
--   SET pgrename.schemas = 'public';          -- comma-separated; default public
--   SET pgrename.exclude = '_prisma_*';       -- globs, optional
--   \i sql/analysis/restore_order.sql
--
-- depth: the longest chain of foreign keys above the table (0: it references nothing). A
-- partitioned table is one table here, its partitions' foreign keys its own.
-- A self-reference does not count. in_cycle: the table is on a cycle of foreign keys (A -> B -> A);
-- such rows load in one transaction with deferrable constraints deferred.
-- order_by: the primary key's columns, or every column where there is none: rows come out of a
-- backup in that order, so the same data always gives the same files. columns: those a COPY
-- writes (generated columns are computed again on restore). estimated_rows: the planner's
-- estimate, partitions included (NULL before the first ANALYZE): a progress bar's total.
WITH RECURSIVE
settings AS (
    SELECT string_to_array(coalesce(nullif(current_setting('pgrename.schemas', true), ''), 'public'), ',') AS schemas
),
pattern AS (
    SELECT replace(replace(replace(replace(replace(trim(g), '\', '\\'), '%', '\%'), '_', '\_'), '*', '%'), '?', '_')
               AS like_pattern
    FROM unnest(string_to_array(current_setting('pgrename.exclude', true), ',')) AS g
    WHERE trim(g) <> ''
),
included AS (
    SELECT c.oid, n.nspname AS table_schema, c.relname AS table_name
    FROM settings AS s
    JOIN pg_namespace AS n ON n.nspname = ANY (SELECT trim(x) FROM unnest(s.schemas) AS x)
    JOIN pg_class AS c ON c.relnamespace = n.oid AND c.relkind IN ('r', 'p') AND NOT c.relispartition
    WHERE NOT EXISTS (SELECT FROM pattern WHERE c.relname LIKE like_pattern)
),
constraint_between AS (
    -- A partition's rows load through its partitioned table, so a foreign key declared on a
    -- partition (or pointing at one) counts as its root table's.
    SELECT coalesce(pg_partition_root(con.conrelid), con.conrelid) AS child,
           coalesce(pg_partition_root(con.confrelid), con.confrelid) AS parent
    FROM pg_constraint AS con
    WHERE con.contype = 'f'
),
edge AS (
    -- child references parent; self-references left out
    SELECT DISTINCT child, parent
    FROM constraint_between
    WHERE child <> parent AND child IN (SELECT oid FROM included) AND parent IN (SELECT oid FROM included)
),
walk (start, current, depth, path, cycle) AS (
    SELECT oid, oid, 0, ARRAY[oid], false FROM included
    UNION ALL
    SELECT w.start, e.parent, w.depth + 1, w.path || e.parent, e.parent = ANY (w.path)
    FROM walk AS w JOIN edge AS e ON e.child = w.current
    WHERE NOT w.cycle
)
SELECT i.table_schema, i.table_name,
       max(w.depth) FILTER (WHERE NOT w.cycle) AS depth,
       bool_or(w.cycle AND w.current = i.oid) AS in_cycle,
       coalesce(
           (SELECT array_agg(a.attname::text ORDER BY k.position)
            FROM pg_index AS x
            CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k (attnum, position)
            JOIN pg_attribute AS a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
            WHERE x.indrelid = i.oid AND x.indisprimary),
           (SELECT array_agg(a.attname::text ORDER BY a.attnum)
            FROM pg_attribute AS a WHERE a.attrelid = i.oid AND a.attnum > 0 AND NOT a.attisdropped)
       ) AS order_by,
       EXISTS (SELECT FROM pg_index AS x WHERE x.indrelid = i.oid AND x.indisprimary) AS has_primary_key,
       (SELECT array_agg(a.attname::text ORDER BY a.attnum)
        FROM pg_attribute AS a
        WHERE a.attrelid = i.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '') AS columns,
       (SELECT nullif(sum(greatest(c.reltuples, 0)), 0)::bigint
        FROM pg_partition_tree(i.oid) AS p JOIN pg_class AS c ON c.oid = p.relid WHERE p.isleaf) AS estimated_rows
FROM included AS i
JOIN walk AS w ON w.start = i.oid
GROUP BY i.oid, i.table_schema, i.table_name
ORDER BY depth, i.table_schema COLLATE "C", i.table_name COLLATE "C";
