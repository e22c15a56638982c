-- Every object a table rename must carry along, with its planned new name.
--
-- One pass over the catalog for all tables (no query per table). Runs as is in psql:
--   SET pgrename.schema = 'public';                              -- default: public
--   SET pgrename.schemas = 'public,sales';   -- optional: several schemas (default: pgrename.schema)
--   SET pgrename.map = '{"User": "users", "AssistantFolder": "chat_folders", "sales.Customer": "customer"}';
--   SET pgrename.columns = '{"AssistantChatSession": {"sessionName": "title"}}';   -- optional
--   SET pgrename.column_rule = 'snake_case';   -- optional: every other column by the naming rule
--   SET pgrename.object_names = 'postgres_defaults';   -- optional: see below (default table_prefix)
--   SET pgrename.keep_names = '["PK_Album"]';   -- optional: these constraints, indexes... keep their names
--   SET pgrename.partitions = 'rename';         -- optional: partitions named after their table move with it
--   \i sql/analysis/rename_plan.sql
-- (discovery.sql proposes a map from the naming rule.)
-- A key "sales.Customer" names table Customer of schema sales when pgrename.schemas lists sales;
-- any other key is a table of pgrename.schema (the runner's config reads keys by the same rule).
-- Each table is renamed in its own schema.
--
-- object_names = table_prefix: an object "carries the table's name" when its name starts with the
-- table's name and "_" (Prisma: "User_pkey", "User_email_key") or "." (Prisma 2:
-- "User.email_unique"); it is renamed by swapping that prefix. Any other name is left alone, with
-- the reason.
-- object_names = postgres_defaults: every constraint, index and owned sequence of a renamed table
-- gets the name PostgreSQL gives it on CREATE TABLE of the new table, whatever it was called
-- ("PK_Album" -> album_pkey, "FK_AlbumArtistId" -> album_artist_id_fkey): <table>_pkey,
-- <table>_<columns>_key (a unique index too, as Prisma names it), _fkey, _idx, _excl,
-- <table>_<column>_check (<table>_check over several columns), <table>_<column>_seq; the new
-- column names; cut to 63 bytes as PostgreSQL's makeObjectName cuts; a number after the label
-- where two would be equal (_idx, _idx1). An index on an expression has no such name: the prefix
-- rule applies to it. Triggers always follow the prefix rule.
-- table_prefix_name and postgres_defaults_name say what each choice would do (NULL: left alone).
-- Objects named after the table that are not its own (partitions, unless pgrename.partitions is
-- rename; sequences its defaults use without owning them; views over it) are left alone too.
-- Index-backed constraints (primary key, unique, exclusion) are renamed as constraints,
-- which renames their index too, so their indexes are not listed again.
-- Every column is listed (kind column, in table order), with its new name where
-- pgrename.columns renames it: compatibility views show the old names over the new ones.
WITH RECURSIVE
setting AS (
    SELECT coalesce(nullif(current_setting('pgrename.schema', true), ''), 'public') AS table_schema,
           ARRAY(SELECT trim(x) FROM unnest(string_to_array(current_setting('pgrename.schemas', true), ',')) AS x)
               AS schemas,
           coalesce(nullif(current_setting('pgrename.object_names', true), ''), 'table_prefix') AS object_names,
           coalesce(nullif(current_setting('pgrename.keep_names', true), ''), '[]')::jsonb AS keep_names,
           coalesce(current_setting('pgrename.partitions', true), '') = 'rename' AS rename_partitions
),
table_key AS (
    -- Each key of the map and of pgrename.columns, read as schema and table name.
    SELECT k.key, CASE WHEN k.qualified THEN split_part(k.key, '.', 1) ELSE s.table_schema END AS table_schema,
           CASE WHEN k.qualified THEN substr(k.key, strpos(k.key, '.') + 1) ELSE k.key END AS table_name
    FROM setting AS s
    CROSS JOIN LATERAL (
        SELECT m.key, strpos(m.key, '.') > 0 AND split_part(m.key, '.', 1) = ANY (s.schemas) AS qualified
        FROM (SELECT jsonb_object_keys(coalesce(nullif(current_setting('pgrename.map', true), ''), '{}')::jsonb)
              UNION
              SELECT jsonb_object_keys(coalesce(nullif(current_setting('pgrename.columns', true), ''), '{}')::jsonb))
             AS m (key)
    ) AS k
),
mapped_table AS (
    -- A table that does not exist keeps a row with a NULL oid, so that preflight can name it.
    SELECT k.table_name AS source_table, m.value AS target_table, k.table_schema, c.oid AS table_oid
    FROM jsonb_each_text(coalesce(nullif(current_setting('pgrename.map', true), ''), '{}')::jsonb) AS m
    JOIN table_key AS k ON k.key = m.key
    LEFT JOIN pg_class AS c
           ON c.oid = to_regclass(format('%I.%I', k.table_schema, k.table_name)) AND c.relkind IN ('r', 'p')
),
named_table AS (
    -- The mapped tables and, when partitions are renamed, their partitions at every level that are
    -- in the same schema and named after them: payment_p2022_01 of payment -> payments_p2022_01.
    SELECT source_table, target_table, table_schema, table_oid, source_table AS root_table
    FROM mapped_table
    UNION ALL
    SELECT pc.relname::text COLLATE "default",
           (t.target_table || substr(pc.relname, length(t.source_table) + 1)) COLLATE "default", t.table_schema, pc.oid,
           t.root_table
    FROM named_table AS t
    JOIN pg_inherits AS i ON i.inhparent = t.table_oid
    JOIN pg_class AS pc ON pc.oid = i.inhrelid AND pc.relispartition
    JOIN pg_namespace AS pn ON pn.oid = pc.relnamespace AND pn.nspname = t.table_schema
    CROSS JOIN setting AS s
    WHERE s.rename_partitions
      AND left(pc.relname, length(t.source_table) + 1) = t.source_table || '_'
),
chain_step AS (
    -- A -> B while B -> C in one schema: B must move first. Depth = how many renames must precede this one.
    SELECT table_schema, source_table, target_table, 0 AS depth, ARRAY[source_table] AS path
    FROM mapped_table
    UNION ALL
    SELECT c.table_schema, c.source_table, t.target_table, c.depth + 1, c.path || t.source_table
    FROM chain_step AS c
    JOIN mapped_table AS t ON t.table_schema = c.table_schema AND t.source_table = c.target_table
    WHERE t.source_table <> ALL (c.path)
),
rename_order AS (
    SELECT table_schema, source_table, max(depth) AS depth FROM chain_step GROUP BY table_schema, source_table
),
dependent AS (
    -- Each object a table owns, with what its PostgreSQL default name is made of: a label and the
    -- columns (by number) named in it. No label: PostgreSQL has no such name for it.
    SELECT t.table_oid, 'constraint' AS kind, 2 AS kind_order, t.table_schema AS object_schema,
           con.conname AS object_name, con.oid AS object_oid,
           CASE con.contype WHEN 'p' THEN 'pkey' WHEN 'u' THEN 'key' WHEN 'x' THEN 'excl' WHEN 'f' THEN 'fkey'
                            ELSE 'check' END AS label,
           CASE WHEN con.contype IN ('u', 'x')
                THEN (SELECT array_agg(k.attnum ORDER BY k.position) FROM unnest(ci.indkey) WITH ORDINALITY AS k(attnum, position))
                WHEN con.contype = 'f' OR (con.contype = 'c' AND cardinality(con.conkey) = 1) THEN con.conkey
           END AS name_columns
    FROM named_table AS t
    JOIN pg_constraint AS con ON con.conrelid = t.table_oid AND con.contype IN ('p', 'u', 'c', 'f', 'x')
    LEFT JOIN pg_index AS ci ON ci.indexrelid = con.conindid
    UNION ALL
    SELECT t.table_oid, 'index', 3, t.table_schema, ic.relname, ic.oid,
           CASE WHEN i.indisunique THEN 'key' ELSE 'idx' END,
           (SELECT array_agg(k.attnum ORDER BY k.position) FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, position))
    FROM named_table AS t
    JOIN pg_index AS i ON i.indrelid = t.table_oid
    JOIN pg_class AS ic ON ic.oid = i.indexrelid
    WHERE NOT EXISTS (SELECT FROM pg_constraint AS con
                      WHERE con.conindid = i.indexrelid AND con.conrelid = t.table_oid
                        AND con.contype IN ('p', 'u', 'x'))
    UNION ALL
    SELECT t.table_oid, 'sequence', 4, sn.nspname, sc.relname, sc.oid,
           CASE WHEN d.refobjsubid > 0 THEN 'seq' END, ARRAY[d.refobjsubid]::int2[]
    FROM named_table AS t
    JOIN pg_depend AS d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = t.table_oid
                       AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
    JOIN pg_class AS sc ON sc.oid = d.objid AND sc.relkind = 'S'
    JOIN pg_namespace AS sn ON sn.oid = sc.relnamespace
    UNION ALL
    SELECT t.table_oid, 'trigger', 5, t.table_schema, tg.tgname, tg.oid, NULL, NULL
    FROM named_table AS t
    JOIN pg_trigger AS tg ON tg.tgrelid = t.table_oid AND NOT tg.tgisinternal
    -- pgrename's own capture triggers (make merge-prepare) are bookkeeping that migrate drops
    WHERE tg.tgfoid NOT IN (SELECT oid FROM pg_proc WHERE pronamespace::regnamespace::text = 'pgrename')
),
column_rename AS (
    SELECT k.table_schema, k.table_name AS source_table, c.key AS column_name, c.value AS new_name
    FROM jsonb_each(coalesce(nullif(current_setting('pgrename.columns', true), ''), '{}')::jsonb) AS r
    JOIN table_key AS k ON k.key = r.key
    CROSS JOIN jsonb_each_text(r.value) AS c
),
planned_column AS (
    -- Every column of a mapped table with its name after the migration. Columns renamed by the map
    -- that the table does not have keep a row (attnum NULL), for preflight to name.
    -- The naming rule is discovery.sql's, word for word (tests hold the two to the same answers).
    SELECT t.table_schema, t.source_table, t.target_table, t.table_oid, c.attname, c.attnum,
           coalesce(c.attname, c.column_name) AS column_name,
           coalesce(c.new_name,
                    CASE WHEN current_setting('pgrename.column_rule', true) = 'snake_case'
                         THEN trim(BOTH '_' FROM regexp_replace(
                                  lower(regexp_replace(regexp_replace(regexp_replace(c.attname, '[\s.-]+', '_', 'g'),
                                                                      '(.)([A-Z][a-z]+)', '\1_\2', 'g'),
                                                       '([a-z0-9])([A-Z])', '\1_\2', 'g')),
                                  '_{2,}', '_', 'g'))
                    END,
                    c.attname) AS new_name
    FROM mapped_table AS t
    CROSS JOIN LATERAL (
        SELECT a.attname, a.attnum, cr.column_name, cr.new_name
        FROM (SELECT attname, attnum FROM pg_attribute
              WHERE attrelid = t.table_oid AND attnum > 0 AND NOT attisdropped) AS a
        FULL JOIN (SELECT column_name, new_name FROM column_rename
                   WHERE table_schema = t.table_schema AND source_table = t.source_table) AS cr
               ON cr.column_name = a.attname
    ) AS c
    WHERE t.table_oid IS NOT NULL
),
new_column_name AS MATERIALIZED (
    -- Each column of a named table by number, with its name after the migration. A partition's
    -- columns are renamed with its parent's: matched by name, as their numbers may differ.
    -- MATERIALIZED, as default_name below: computed once, not again for each object.
    SELECT t.table_oid, a.attnum, c.new_name
    FROM named_table AS t
    JOIN mapped_table AS root ON root.table_schema = t.table_schema AND root.source_table = t.root_table
    JOIN pg_attribute AS a ON a.attrelid = t.table_oid AND a.attnum > 0 AND NOT a.attisdropped
    JOIN planned_column AS c ON c.table_oid = root.table_oid AND c.attname = a.attname
),
default_name_columns AS (
    -- The columns part of PostgreSQL's name for each object, from the columns' new names: one
    -- join for all objects (a lateral query per object re-read the columns for each, quadratic).
    SELECT d.kind, d.object_oid, string_agg(n.new_name, '_' ORDER BY k.position) AS name2
    FROM dependent AS d
    CROSS JOIN LATERAL unnest(d.name_columns) WITH ORDINALITY AS k(attnum, position)
    JOIN new_column_name AS n ON n.table_oid = d.table_oid AND n.attnum = k.attnum
    WHERE d.label IS NOT NULL
    GROUP BY d.kind, d.object_oid
),
default_name_part AS (
    -- The parts of PostgreSQL's name for the object on the new table, the label numbered from the
    -- second object that would get the same name (ChooseRelationName, ChooseConstraintName), in the
    -- order they were created; an object that has the name already keeps it.
    SELECT p.table_oid, p.object_oid, p.name1, p.name2,
           p.label || CASE WHEN p.same_name > 1 THEN (p.same_name - 1)::text ELSE '' END AS label
    FROM (
        SELECT d.table_oid, d.object_oid, d.label, t.target_table AS name1, c.name2,
               row_number() OVER (PARTITION BY d.object_schema, t.target_table, c.name2, d.label
                                  ORDER BY d.object_name = concat_ws('_', t.target_table, c.name2, d.label) DESC,
                                           d.object_oid) AS same_name
        FROM dependent AS d
        JOIN named_table AS t ON t.table_oid = d.table_oid
        LEFT JOIN default_name_columns AS c ON c.kind = d.kind AND c.object_oid = d.object_oid
        WHERE d.label IS NOT NULL AND 0 <> ALL (coalesce(d.name_columns, '{}'))
    ) AS p
),
default_name AS MATERIALIZED (
    -- name1_name2_label in 63 bytes: the longer of name1 and name2 gives up bytes first, both cut
    -- at a character boundary (makeObjectName). MATERIALIZED: computed once, then hashed against
    -- the objects (inlined, the planner misjudged its size and compared every pair: quadratic).
    SELECT p.table_oid, p.object_oid,
           (SELECT left(p.name1, max(n)) FROM generate_series(0, length(p.name1)) AS n
            WHERE octet_length(left(p.name1, n)) <= k.keep1)
           || coalesce('_' || (SELECT left(p.name2, max(n)) FROM generate_series(0, length(p.name2)) AS n
                               WHERE octet_length(left(p.name2, n)) <= k.keep2), '')
           || '_' || p.label AS default_name
    FROM default_name_part AS p
    CROSS JOIN LATERAL (SELECT 63 - octet_length(p.label) - CASE WHEN p.name2 IS NULL THEN 1 ELSE 2 END AS room,
                               octet_length(p.name1) AS len1, coalesce(octet_length(p.name2), 0) AS len2) AS l
    CROSS JOIN LATERAL (
        SELECT CASE WHEN l.len1 + l.len2 <= l.room THEN l.len1
                    WHEN 2 * least(l.len1, l.len2) <= l.room THEN CASE WHEN l.len1 <= l.len2 THEN l.len1 ELSE l.room - l.len2 END
                    ELSE (l.room + 1) / 2 END AS keep1,
               CASE WHEN l.len1 + l.len2 <= l.room THEN l.len2
                    WHEN 2 * least(l.len1, l.len2) <= l.room THEN CASE WHEN l.len1 <= l.len2 THEN l.room - l.len1 ELSE l.len2 END
                    ELSE l.room / 2 END AS keep2
    ) AS k
),
planned AS (
    SELECT t.table_schema, t.root_table, t.source_table, t.target_table, 'table' AS kind, 1 AS kind_order,
           t.table_schema AS object_schema, t.source_table AS object_name, t.target_table AS target_name,
           CASE WHEN t.table_oid IS NULL THEN 'table does not exist' END AS note, '' AS object_order,
           t.target_table AS table_prefix_name, t.target_table AS postgres_defaults_name
    FROM named_table AS t
    UNION ALL
    SELECT c.table_schema, c.source_table, c.source_table, c.target_table, 'column', 6, c.table_schema,
           c.column_name, c.new_name, CASE WHEN c.attname IS NULL THEN 'column does not exist' END,
           lpad(coalesce(c.attnum, 32767)::text, 5, '0'), c.new_name, c.new_name
    FROM planned_column AS c
    UNION ALL
    SELECT t.table_schema, t.root_table, t.source_table, t.target_table, d.kind, d.kind_order, d.object_schema,
           d.object_name, o.chosen_name,
           CASE WHEN s.keep_names ? d.object_name THEN 'listed in keep_names'
                WHEN o.chosen_name IS NULL
                THEN format('name does not start with %s', quote_ident(t.source_table || '_'))
                     || coalesce(format(' (object_names: postgres_defaults would name it %s)', o.postgres_defaults_name), '')
           END,
           d.object_name, o.table_prefix_name, o.postgres_defaults_name
    FROM named_table AS t
    CROSS JOIN setting AS s
    JOIN dependent AS d ON d.table_oid = t.table_oid
    LEFT JOIN default_name AS n ON n.object_oid = d.object_oid AND n.table_oid = d.table_oid
    CROSS JOIN LATERAL (
        SELECT CASE WHEN left(d.object_name, length(t.source_table) + 1) IN (t.source_table || '_', t.source_table || '.')
                    THEN t.target_table || substr(d.object_name, length(t.source_table) + 1)
               END AS table_prefix_name
    ) AS prefixed
    CROSS JOIN LATERAL (
        -- What each choice of object_names would call it, and the one chosen (none: kept).
        SELECT prefixed.table_prefix_name, coalesce(n.default_name, prefixed.table_prefix_name) AS postgres_defaults_name,
               CASE WHEN s.keep_names ? d.object_name THEN NULL
                    WHEN s.object_names = 'postgres_defaults' THEN coalesce(n.default_name, prefixed.table_prefix_name)
                    ELSE prefixed.table_prefix_name
               END AS chosen_name
    ) AS o
    UNION ALL
    -- Named after the table but not its own, so not renamed with it: listed, with the reason.
    SELECT t.table_schema, t.root_table, t.source_table, t.target_table, o.kind, o.kind_order, o.object_schema,
           o.object_name, NULL, o.note, o.object_name, NULL, NULL
    FROM named_table AS t
    CROSS JOIN LATERAL (
        SELECT 'partition' AS kind, 7 AS kind_order, pn.nspname AS object_schema, pc.relname AS object_name,
               'a partition of the table, a table of its own: not renamed with it (partitions: rename would)' AS note
        FROM pg_inherits AS i
        JOIN pg_class AS pc ON pc.oid = i.inhrelid
        JOIN pg_namespace AS pn ON pn.oid = pc.relnamespace
        WHERE i.inhparent = t.table_oid
          AND NOT EXISTS (SELECT FROM named_table AS renamed WHERE renamed.table_oid = pc.oid)
        UNION ALL
        SELECT DISTINCT 'sequence', 4, sn.nspname, sc.relname,
               'used by a column default but not owned by the table (ALTER SEQUENCE ... OWNED BY would make it so)'
        FROM pg_attrdef AS ad
        JOIN pg_depend AS d ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid
                           AND d.refclassid = 'pg_class'::regclass
        JOIN pg_class AS sc ON sc.oid = d.refobjid AND sc.relkind = 'S'
        JOIN pg_namespace AS sn ON sn.oid = sc.relnamespace
        WHERE ad.adrelid = t.table_oid
          AND NOT EXISTS (SELECT FROM pg_depend AS owned
                          WHERE owned.classid = 'pg_class'::regclass AND owned.objid = sc.oid
                            AND owned.refobjid = t.table_oid AND owned.deptype IN ('a', 'i'))
        UNION ALL
        SELECT DISTINCT 'view', 8, vn.nspname, vc.relname,
               'a view over the table: it follows the table by OID, and its own name stays'
        FROM pg_depend AS d
        JOIN pg_rewrite AS r ON r.oid = d.objid
        JOIN pg_class AS vc ON vc.oid = r.ev_class
        JOIN pg_namespace AS vn ON vn.oid = vc.relnamespace
        WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
          AND d.refobjid = t.table_oid AND r.ev_class <> t.table_oid
    ) AS o
    WHERE t.table_oid IS NOT NULL
      AND left(o.object_name, length(t.source_table) + 1) IN (t.source_table || '_', t.source_table || '.')
)
SELECT row_number() OVER (ORDER BY o.depth, p.root_table COLLATE "C", p.table_schema COLLATE "C",
                                   p.source_table <> p.root_table,
                                   p.source_table COLLATE "C", p.kind_order, p.object_order COLLATE "C")::int AS ordinal,
       p.kind, p.table_schema, p.source_table, p.target_table, p.object_schema, p.object_name, p.target_name, p.note,
       p.table_prefix_name, p.postgres_defaults_name
FROM planned AS p
JOIN rename_order AS o ON o.table_schema = p.table_schema AND o.source_table = p.root_table
ORDER BY ordinal;
