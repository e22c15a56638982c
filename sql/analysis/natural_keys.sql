-- Natural keys for natural-key sync (the config's sync: tables), proposed for every table of the
-- schemas from what the catalog guarantees, in one pass: a plain unique index (no expression, no
-- WHERE) whose columns are all NOT NULL (or NULLS NOT DISTINCT) and none a surrogate (serial or
-- identity: a machine's own numbering). The fewest columns win, then a unique constraint over an
-- index, then the name. A key that holds a foreign key column (a detail table known through its
-- parent, e.g. pages (event_id, slug)) is exported as the parent's own key. A table with no such
-- index gets none: its key must be named by hand, or the table left out.
--
-- Runs as is in psql:
--   SET pgrename.schemas = 'public';          -- comma-separated; default public
--   \i sql/analysis/natural_keys.sql
WITH settings AS (
    SELECT string_to_array(coalesce(nullif(current_setting('pgrename.schemas', true), ''), 'public'), ',') AS schemas
),
included AS (
    SELECT c.oid, n.nspname AS table_schema, c.relname AS table_name
    FROM settings AS s
    JOIN pg_namespace AS n ON n.nspname = ANY (SELECT trim(x) FROM unnest(s.schemas) AS x)
    JOIN pg_class AS c ON c.relnamespace = n.oid AND c.relkind IN ('r', 'p') AND NOT c.relispartition
),
candidates AS MATERIALIZED (
    -- MATERIALIZED: computed once for all tables, not again for each (quadratic on large schemas).
    SELECT i.oid, ic.relname AS index_name, con.conname IS NOT NULL AS is_constraint,
           array_agg(a.attname ORDER BY k.n) AS key,
           array_agg(a.attname ORDER BY k.n) FILTER (WHERE EXISTS (
               SELECT FROM pg_constraint AS fk
               WHERE fk.conrelid = i.oid AND fk.contype = 'f' AND a.attnum = ANY (fk.conkey))) AS through_parent
    FROM included AS i
    JOIN pg_index AS x ON x.indrelid = i.oid AND x.indisunique AND x.indpred IS NULL AND 0 <> ALL (x.indkey)
    JOIN pg_class AS ic ON ic.oid = x.indexrelid
    LEFT JOIN pg_constraint AS con ON con.conindid = x.indexrelid AND con.contype IN ('u', 'p')
    CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k (attnum, n)
    JOIN pg_attribute AS a ON a.attrelid = i.oid AND a.attnum = k.attnum
    LEFT JOIN pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    GROUP BY i.oid, ic.relname, con.conname, x.indnullsnotdistinct
    HAVING (bool_and(a.attnotnull) OR x.indnullsnotdistinct)
       -- no column of it is a surrogate
       AND NOT bool_or(a.attidentity <> '' OR coalesce(pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%', false))
)
SELECT i.table_schema, i.table_name, best.key AS proposed_key, best.index_name AS proposed_from,
       coalesce(best.through_parent, '{}') AS through_parent
FROM included AS i
LEFT JOIN (
    SELECT DISTINCT ON (c.oid) c.oid, c.key, c.index_name, c.through_parent
    FROM candidates AS c
    ORDER BY c.oid, cardinality(c.key), c.is_constraint DESC, c.index_name COLLATE "C"
) AS best ON best.oid = i.oid
ORDER BY i.table_schema COLLATE "C", i.table_name COLLATE "C";
