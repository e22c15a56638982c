-- Every object a table rename must carry along, with its planned new name.
--
-- One pass over the catalog for all tables (no query per table). Runs as is in psql:
--   SET pgrename.schema = 'public';                              -- default: public
--   SET pgrename.map = '{"User": "users", "AssistantFolder": "chat_folders"}';
--   SET pgrename.columns = '{"AssistantChatSession": {"sessionName": "title"}}';   -- optional
--   SET pgrename.column_rule = 'snake_case';   -- optional: every other column by the naming rule
--   \i sql/analysis/rename_plan.sql
-- (discovery.sql proposes a map from the naming rule.)
--
-- An object "carries the table's name" when its name starts with the table's name and
-- "_" (Prisma: "User_pkey", "User_email_key") or "." (Prisma 2: "User.email_unique");
-- it is renamed by swapping that prefix. Any other name is left alone, with the reason; so are
-- the objects named after the table that are not its own (partitions, sequences its defaults use
-- without owning them, views over it).
-- Index-backed constraints (primary key, unique, exclusion) are renamed as constraints,
-- which renames their index too, so their indexes are not listed again.
-- Every column is listed (kind column, in table order), with its new name where
-- pgrename.columns renames it: compatibility views show the old names over the new ones.
WITH RECURSIVE
mapped_table AS (
    -- A table that does not exist keeps a row with a NULL oid, so that preflight can name it.
    SELECT m.key AS source_table, m.value AS target_table, s.table_schema, c.oid AS table_oid
    FROM (SELECT coalesce(nullif(current_setting('pgrename.schema', true), ''), 'public') AS table_schema) AS s
    CROSS JOIN jsonb_each_text(coalesce(nullif(current_setting('pgrename.map', true), ''), '{}')::jsonb) AS m
    LEFT JOIN pg_class AS c
           ON c.oid = to_regclass(format('%I.%I', s.table_schema, m.key)) AND c.relkind IN ('r', 'p')
),
chain_step AS (
    -- A -> B while B -> C: B must move first. Depth = how many renames must precede this one.
    SELECT source_table, target_table, 0 AS depth, ARRAY[source_table] AS path
    FROM mapped_table
    UNION ALL
    SELECT c.source_table, t.target_table, c.depth + 1, c.path || t.source_table
    FROM chain_step AS c
    JOIN mapped_table AS t ON t.source_table = c.target_table
    WHERE t.source_table <> ALL (c.path)
),
rename_order AS (
    SELECT source_table, max(depth) AS depth FROM chain_step GROUP BY source_table
),
dependent AS (
    SELECT t.table_oid, 'constraint' AS kind, 2 AS kind_order, t.table_schema AS object_schema, con.conname AS object_name
    FROM mapped_table AS t
    JOIN pg_constraint AS con ON con.conrelid = t.table_oid AND con.contype IN ('p', 'u', 'c', 'f', 'x')
    UNION ALL
    SELECT t.table_oid, 'index', 3, t.table_schema, ic.relname
    FROM mapped_table AS t
    JOIN pg_index AS i ON i.indrelid = t.table_oid
    JOIN pg_class AS ic ON ic.oid = i.indexrelid
    WHERE NOT EXISTS (SELECT FROM pg_constraint AS con
                      WHERE con.conindid = i.indexrelid AND con.conrelid = t.table_oid
                        AND con.contype IN ('p', 'u', 'x'))
    UNION ALL
    SELECT t.table_oid, 'sequence', 4, sn.nspname, sc.relname
    FROM mapped_table AS t
    JOIN pg_depend AS d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = t.table_oid
                       AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
    JOIN pg_class AS sc ON sc.oid = d.objid AND sc.relkind = 'S'
    JOIN pg_namespace AS sn ON sn.oid = sc.relnamespace
    UNION ALL
    SELECT t.table_oid, 'trigger', 5, t.table_schema, tg.tgname
    FROM mapped_table AS t
    JOIN pg_trigger AS tg ON tg.tgrelid = t.table_oid AND NOT tg.tgisinternal
),
column_rename AS (
    SELECT r.key AS source_table, c.key AS column_name, c.value AS new_name
    FROM jsonb_each(coalesce(nullif(current_setting('pgrename.columns', true), ''), '{}')::jsonb) AS r
    CROSS JOIN jsonb_each_text(r.value) AS c
),
planned AS (
    SELECT t.table_schema, t.source_table, t.target_table, 'table' AS kind, 1 AS kind_order,
           t.table_schema AS object_schema, t.source_table AS object_name, t.target_table AS target_name,
           CASE WHEN t.table_oid IS NULL THEN 'table does not exist' END AS note, '' AS object_order
    FROM mapped_table AS t
    UNION ALL
    -- Columns renamed by the map that the table does not have keep a row, for preflight to name.
    -- The naming rule is discovery.sql's, word for word (tests hold the two to the same answers).
    SELECT t.table_schema, t.source_table, t.target_table, 'column', 6, t.table_schema,
           coalesce(c.attname, c.column_name),
           coalesce(c.new_name,
                    CASE WHEN current_setting('pgrename.column_rule', true) = 'snake_case'
                         THEN trim(BOTH '_' FROM regexp_replace(
                                  lower(regexp_replace(regexp_replace(regexp_replace(c.attname, '[\s.-]+', '_', 'g'),
                                                                      '(.)([A-Z][a-z]+)', '\1_\2', 'g'),
                                                       '([a-z0-9])([A-Z])', '\1_\2', 'g')),
                                  '_{2,}', '_', 'g'))
                    END,
                    c.attname),
           CASE WHEN c.attname IS NULL THEN 'column does not exist' END,
           lpad(coalesce(c.attnum, 32767)::text, 5, '0')
    FROM mapped_table AS t
    CROSS JOIN LATERAL (
        SELECT a.attname, a.attnum, cr.column_name, cr.new_name
        FROM (SELECT attname, attnum FROM pg_attribute
              WHERE attrelid = t.table_oid AND attnum > 0 AND NOT attisdropped) AS a
        FULL JOIN (SELECT column_name, new_name FROM column_rename
                   WHERE source_table = t.source_table) AS cr ON cr.column_name = a.attname
    ) AS c
    WHERE t.table_oid IS NOT NULL
    UNION ALL
    SELECT t.table_schema, t.source_table, t.target_table, d.kind, d.kind_order, d.object_schema, d.object_name,
           CASE WHEN left(d.object_name, length(t.source_table) + 1) IN (t.source_table || '_', t.source_table || '.')
                THEN t.target_table || substr(d.object_name, length(t.source_table) + 1)
           END,
           CASE WHEN left(d.object_name, length(t.source_table) + 1) NOT IN (t.source_table || '_', t.source_table || '.')
                THEN format('name does not start with %s', quote_ident(t.source_table || '_'))
           END,
           d.object_name
    FROM mapped_table AS t
    JOIN dependent AS d ON d.table_oid = t.table_oid
    UNION ALL
    -- Named after the table but not its own, so not renamed with it: listed, with the reason.
    SELECT t.table_schema, t.source_table, t.target_table, o.kind, o.kind_order, o.object_schema, o.object_name,
           NULL, o.note, o.object_name
    FROM mapped_table AS t
    CROSS JOIN LATERAL (
        SELECT 'partition' AS kind, 7 AS kind_order, pn.nspname AS object_schema, pc.relname AS object_name,
               'a partition of the table, a table of its own: not renamed with it' AS note
        FROM pg_inherits AS i
        JOIN pg_class AS pc ON pc.oid = i.inhrelid
        JOIN pg_namespace AS pn ON pn.oid = pc.relnamespace
        WHERE i.inhparent = t.table_oid
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
SELECT row_number() OVER (ORDER BY o.depth, p.source_table COLLATE "C", p.kind_order, p.object_order COLLATE "C")::int AS ordinal,
       p.kind, p.table_schema, p.source_table, p.target_table, p.object_schema, p.object_name, p.target_name, p.note
FROM planned AS p
JOIN rename_order AS o ON o.source_table = p.source_table
ORDER BY ordinal;
