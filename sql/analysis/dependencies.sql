-- Everything that depends on each table to rename, in one pass over the catalog.
--
-- Runs as is in psql:
--   SET pgrename.schema = 'public';
--   SET pgrename.schemas = 'public,sales';   -- optional: several schemas (default: pgrename.schema)
--   SET pgrename.map = '{"User": "users", "sales.Customer": "customer"}';
--   \i sql/analysis/dependencies.sql
--
-- source_table is the table as the map names it ("sales.Customer": table Customer of schema
-- sales, listed in pgrename.schemas; any other key is a table of pgrename.schema). A function
-- naming Customer is listed under every mapped table of that name: which one it reaches depends
-- on its search_path.
--
-- breaks_on_rename: what refers to the table by OID follows a rename by itself (foreign keys,
-- indexes, constraints, sequences, triggers, views, policies, publications, grants). What
-- names it in source text does not: a SQL or PL/pgSQL function body is parsed again at run
-- time, by name, and fails once the name is gone. Those rows say where (line and text): the
-- first line whose code names it (comments do not count; names in string literals do, as EXECUTE
-- runs them).
--
-- A function may also name a constraint, index or sequence of the table (nextval('"User_id_seq"'),
-- ON CONFLICT ON CONSTRAINT "User_pkey"): those rows say which (uses_kind, uses_name); a table's
-- own rows have uses_kind 'table'. A unique key's rows, and a function's naming one, carry the
-- columns an ON CONFLICT can name instead (conflict_target).
WITH setting AS (
    SELECT s.table_schema,
           ARRAY(SELECT trim(x) FROM unnest(string_to_array(coalesce(nullif(current_setting('pgrename.schemas', true), ''),
                                                                     s.table_schema), ',')) AS x) AS schemas
    FROM (SELECT coalesce(nullif(current_setting('pgrename.schema', true), ''), 'public') AS table_schema) AS s
),
mapped AS (
    SELECT m.key AS source_table, k.table_name, m.value AS target_table, c.oid AS table_oid
    FROM setting AS s
    CROSS JOIN jsonb_each_text(coalesce(nullif(current_setting('pgrename.map', true), ''), '{}')::jsonb) AS m
    CROSS JOIN LATERAL (SELECT strpos(m.key, '.') > 0 AND split_part(m.key, '.', 1) = ANY (s.schemas) AS qualified) AS q
    CROSS JOIN LATERAL (
        SELECT CASE WHEN q.qualified THEN split_part(m.key, '.', 1) ELSE s.table_schema END AS table_schema,
               CASE WHEN q.qualified THEN substr(m.key, strpos(m.key, '.') + 1) ELSE m.key END AS table_name
    ) AS k
    JOIN pg_class AS c ON c.oid = to_regclass(format('%I.%I', k.table_schema, k.table_name)) AND c.relkind IN ('r', 'p')
),
function_source AS (
    -- Every user function written as source text (not extension members), with its code apart:
    -- /* block comments */ blanked out, their line breaks kept so that line numbers stay true.
    SELECT p.oid, p.prosrc,
           (SELECT string_agg(CASE WHEN part.n % 2 = 0 THEN regexp_replace(part.text, '[^\n]', ' ', 'g')
                                   ELSE part.text END, '  ' ORDER BY part.n)
            FROM regexp_split_to_table(p.prosrc, '/\*|\*/') WITH ORDINALITY AS part (text, n)) AS code
    FROM pg_proc AS p
    JOIN pg_namespace AS n ON n.oid = p.pronamespace
    JOIN pg_language AS lang ON lang.oid = p.prolang AND lang.lanname IN ('sql', 'plpgsql')
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgrename')
      AND NOT EXISTS (SELECT FROM pg_depend AS d
                      WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
),
function_line AS (
    -- Each line as written, and its code: without a -- comment at its end.
    SELECT f.oid, l.line_number, l.line, regexp_replace(l.code_line, '--.*$', '') AS code
    FROM function_source AS f
    CROSS JOIN LATERAL unnest(string_to_array(f.prosrc, E'\n'), string_to_array(f.code, E'\n'))
                       WITH ORDINALITY AS l (line, code_line, line_number)
),
function_word AS (
    -- The identifiers in each line's code: "quoted" ones exactly, bare ones folded to lower case.
    SELECT f.oid, f.line_number, f.line,
           coalesce(replace(w[1], '""', '"'), lower(w[2])) AS word
    FROM function_line AS f
    CROSS JOIN LATERAL regexp_matches(f.code, '"((?:[^"]|"")+)"|([[:alpha:]_][[:alnum:]_$]*)', 'g') AS w
),
named_object AS (
    -- What else of the table a client can name: its constraints, the indexes that back none, its
    -- owned sequences. A unique key's columns are what ON CONFLICT (...) names instead.
    SELECT m.source_table, 'constraint' AS object_kind, con.conname::text AS object_name,
           CASE WHEN con.contype IN ('p', 'u') THEN
               (SELECT format('(%s)', string_agg(quote_ident(a.attname), ', ' ORDER BY k.n))
                FROM unnest(con.conkey) WITH ORDINALITY AS k (attnum, n)
                JOIN pg_attribute AS a ON a.attrelid = con.conrelid AND a.attnum = k.attnum)
           END AS conflict_target
    FROM mapped AS m JOIN pg_constraint AS con ON con.conrelid = m.table_oid
    UNION ALL
    SELECT m.source_table, 'index', ic.relname::text,
           CASE WHEN i.indisunique AND i.indexprs IS NULL AND i.indpred IS NULL THEN
               (SELECT format('(%s)', string_agg(quote_ident(a.attname), ', ' ORDER BY k.n))
                FROM unnest(i.indkey) WITH ORDINALITY AS k (attnum, n)
                JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = k.attnum)
           END
    FROM mapped AS m JOIN pg_index AS i ON i.indrelid = m.table_oid JOIN pg_class AS ic ON ic.oid = i.indexrelid
    WHERE NOT EXISTS (SELECT FROM pg_constraint AS con WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid)
    UNION ALL
    SELECT m.source_table, 'sequence', s.relname::text, NULL
    FROM mapped AS m
    JOIN pg_depend AS d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = m.table_oid
                       AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
    JOIN pg_class AS s ON s.oid = d.objid AND s.relkind = 'S'
),
dependency (source_table, kind, name, detail, breaks_on_rename) AS (
    SELECT m.source_table, 'foreign key out', con.conname::text, pg_get_constraintdef(con.oid), false
    FROM mapped AS m JOIN pg_constraint AS con ON con.conrelid = m.table_oid AND con.contype = 'f'
    UNION ALL
    SELECT m.source_table, 'foreign key in', con.conname::text,
           format('%s %s', con.conrelid::regclass, pg_get_constraintdef(con.oid)), false
    FROM mapped AS m JOIN pg_constraint AS con ON con.confrelid = m.table_oid AND con.contype = 'f'
    UNION ALL
    SELECT m.source_table, 'constraint', con.conname::text, pg_get_constraintdef(con.oid), false
    FROM mapped AS m JOIN pg_constraint AS con ON con.conrelid = m.table_oid AND con.contype IN ('p', 'u', 'c', 'x')
    UNION ALL
    SELECT m.source_table, 'index', ic.relname::text, pg_get_indexdef(i.indexrelid), false
    FROM mapped AS m JOIN pg_index AS i ON i.indrelid = m.table_oid JOIN pg_class AS ic ON ic.oid = i.indexrelid
    UNION ALL
    SELECT m.source_table, 'sequence', s.relname::text,
           CASE d.deptype WHEN 'i' THEN 'identity of column ' ELSE 'owned by column ' END || quote_ident(a.attname), false
    FROM mapped AS m
    JOIN pg_depend AS d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = m.table_oid
                       AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
    JOIN pg_class AS s ON s.oid = d.objid AND s.relkind = 'S'
    JOIN pg_attribute AS a ON a.attrelid = m.table_oid AND a.attnum = d.refobjsubid
    UNION ALL
    SELECT m.source_table, 'trigger', t.tgname::text, pg_get_triggerdef(t.oid), false
    FROM mapped AS m JOIN pg_trigger AS t ON t.tgrelid = m.table_oid AND NOT t.tgisinternal
    WHERE t.tgfoid NOT IN (SELECT oid FROM pg_proc WHERE pronamespace::regnamespace::text = 'pgrename')
    UNION ALL
    SELECT DISTINCT m.source_table, CASE v.relkind WHEN 'm' THEN 'materialized view' ELSE 'view' END,
           v.oid::regclass::text, 'reads it; follows the rename (stored by OID)', false
    FROM mapped AS m
    JOIN pg_depend AS d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = m.table_oid
                       AND d.classid = 'pg_rewrite'::regclass
    JOIN pg_rewrite AS r ON r.oid = d.objid
    JOIN pg_class AS v ON v.oid = r.ev_class AND v.oid <> m.table_oid
    UNION ALL
    SELECT m.source_table, 'policy', pol.polname::text,
           format('%s for %s', CASE pol.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                                              WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
                  coalesce(pg_get_expr(pol.polqual, pol.polrelid), pg_get_expr(pol.polwithcheck, pol.polrelid))), false
    FROM mapped AS m JOIN pg_policy AS pol ON pol.polrelid = m.table_oid
    UNION ALL
    SELECT m.source_table, 'publication', pub.pubname::text,
           CASE WHEN pub.puballtables THEN 'FOR ALL TABLES' ELSE 'lists the table' END, false
    FROM mapped AS m
    JOIN pg_publication AS pub
      ON pub.puballtables OR EXISTS (SELECT FROM pg_publication_rel AS pr
                                     WHERE pr.prpubid = pub.oid AND pr.prrelid = m.table_oid)
    UNION ALL
    SELECT m.source_table, 'grant', CASE WHEN acl.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(acl.grantee) END,
           string_agg(acl.privilege_type, ', ' ORDER BY acl.privilege_type), false
    FROM mapped AS m
    JOIN pg_class AS c ON c.oid = m.table_oid
    CROSS JOIN LATERAL aclexplode(c.relacl) AS acl
    WHERE acl.grantee <> c.relowner
    GROUP BY m.source_table, acl.grantee
    UNION ALL
    SELECT * FROM (
        -- The first line that uses the name.
        SELECT DISTINCT ON (m.source_table, fw.oid) m.source_table, 'function', fw.oid::regprocedure::text,
               format('line %s: %s', fw.line_number, trim(fw.line)), true
        FROM mapped AS m JOIN function_word AS fw ON fw.word = m.table_name
        ORDER BY m.source_table, fw.oid, fw.line_number
    ) AS first_use
)
SELECT *
FROM (
    SELECT d.source_table, d.kind, d.name, d.detail, d.breaks_on_rename,
           CASE WHEN d.kind = 'function' THEN 'table' END AS uses_kind,
           CASE WHEN d.kind = 'function' THEN m.table_name END AS uses_name, o.conflict_target
    FROM dependency AS d
    JOIN mapped AS m ON m.source_table = d.source_table
    LEFT JOIN named_object AS o ON o.source_table = d.source_table AND o.object_kind = d.kind AND o.object_name = d.name
    UNION ALL
    SELECT * FROM (
        -- The first line that names one of the table's objects, per function and object.
        SELECT DISTINCT ON (o.object_name, fw.oid) o.source_table, 'function', fw.oid::regprocedure::text,
               format('line %s: %s', fw.line_number, trim(fw.line)), true, o.object_kind, o.object_name,
               o.conflict_target
        FROM named_object AS o JOIN function_word AS fw ON fw.word = o.object_name
        ORDER BY o.object_name, fw.oid, fw.line_number
    ) AS first_object_use
) AS found
ORDER BY source_table COLLATE "C", breaks_on_rename DESC, kind, name COLLATE "C", uses_name COLLATE "C";
