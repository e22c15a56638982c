-- pgrename script, sha256 0c51c0e48d0cf04326c23860a8aadaa9a2aa09188f9d86f455087746f2370f66 of every line after these two (tail -n +3 FILE | sha256sum)
SELECT set_config('pgrename.script_sha256', '0c51c0e48d0cf04326c23860a8aadaa9a2aa09188f9d86f455087746f2370f66', true);
-- ==== sql/header.sql.j2
-- pgrename migration 'assistant_snake_case': rename 6 table(s) in schema
-- "public", the 21 object(s) named after them and 2 column(s);
-- then 18 addition(s): type, column, constraint, merge, view.
--
-- Everything below is one transaction: it applies whole or not at all. Run it as is with
--   psql -v ON_ERROR_STOP=1 --single-transaction -f migrate.sql
-- The matching rollback.sql undoes it.
--
--   "AssistantChatMessage" -> "chat_messages"
--   "AssistantChatSession" -> "chat_sessions"
--   "AssistantConversation" -> "chat_sessions_temp"
--   "AssistantFolder" -> "chat_folders"
--   "AssistantMessage" -> "chat_messages_temp"
--   "User" -> "users"

-- Bound every lock wait. A DDL statement queued for its lock blocks every later query on that
-- table; after lock_timeout it gives up instead, and the whole transaction rolls back.
SET LOCAL lock_timeout = '5s';

-- Bound everything else too: no statement runs longer than this.
SET LOCAL statement_timeout = '5min';

-- ==== sql/run_lock.sql.j2
-- One pgrename run at a time on this database: wait (at most lock_timeout) for any other to end.
-- sql/analysis/run_lock_holder.sql names the session that holds it.
SELECT pg_advisory_xact_lock(1885827685, 1);

-- ==== sql/verify/preflight.sql.j2
-- Preflight. Nothing changes until every check below has passed; it reads the catalog only and
-- takes no lock on any table. It lists every problem it finds, not just the first. One check a
-- file of sql/verify/preflight/, in the order of its number.

-- ---- sql/verify/preflight/000_in_a_transaction.sql.j2
-- Outside a transaction block each statement would commit on its own, and a failure halfway
-- would leave half the renames done.
DO $in_a_transaction$
BEGIN
    IF transaction_timestamp() = statement_timestamp() THEN
        RAISE EXCEPTION 'pgrename: not inside a transaction'
            USING ERRCODE = 'PGR03', HINT = 'Run the script with psql -v ON_ERROR_STOP=1 --single-transaction -f FILE.';
    END IF;
END
$in_a_transaction$;

-- ---- sql/verify/preflight/010_not_applied_yet.sql.j2
-- A migration that is already applied would fail halfway; say so instead.
DO $not_applied_yet$
DECLARE
    found text;
BEGIN
    IF to_regclass('pgrename.history') IS NOT NULL THEN
        EXECUTE 'SELECT format(''migration %s is already applied (at %s by %s); nothing to do'',
                               migration, applied_at, applied_by)
                 FROM pgrename.history WHERE migration = $1 AND status = ''applied'''
            INTO found USING 'assistant_snake_case';
        IF found IS NOT NULL THEN
            RAISE EXCEPTION 'pgrename: %', found USING ERRCODE = 'PGR03';
        END IF;
    END IF;
END
$not_applied_yet$;

-- ---- sql/verify/preflight/020_the_plan.sql.j2
-- The plan as reviewed: each object to rename, with the OID it has now. The OIDs are what the
-- verification after the renames checks against: same OID, same object, same data.
CREATE TEMPORARY TABLE pgrename_plan ON COMMIT DROP AS
WITH planned AS (
    SELECT *
    FROM jsonb_to_recordset('[
 {"ordinal": 1, "kind": "table", "table_schema": "public", "source_table": "AssistantChatMessage", "target_table": "chat_messages", "object_schema": "public", "object_name": "AssistantChatMessage", "target_name": "chat_messages", "at_contract": false},
 {"ordinal": 2, "kind": "constraint", "table_schema": "public", "source_table": "AssistantChatMessage", "target_table": "chat_messages", "object_schema": "public", "object_name": "AssistantChatMessage_pkey", "target_name": "chat_messages_pkey", "at_contract": false},
 {"ordinal": 3, "kind": "constraint", "table_schema": "public", "source_table": "AssistantChatMessage", "target_table": "chat_messages", "object_schema": "public", "object_name": "AssistantChatMessage_role_check", "target_name": "chat_messages_role_check", "at_contract": false},
 {"ordinal": 4, "kind": "constraint", "table_schema": "public", "source_table": "AssistantChatMessage", "target_table": "chat_messages", "object_schema": "public", "object_name": "AssistantChatMessage_sessionId_fkey", "target_name": "chat_messages_sessionId_fkey", "at_contract": false},
 {"ordinal": 5, "kind": "index", "table_schema": "public", "source_table": "AssistantChatMessage", "target_table": "chat_messages", "object_schema": "public", "object_name": "AssistantChatMessage_sessionId_idx", "target_name": "chat_messages_sessionId_idx", "at_contract": false},
 {"ordinal": 12, "kind": "table", "table_schema": "public", "source_table": "AssistantChatSession", "target_table": "chat_sessions", "object_schema": "public", "object_name": "AssistantChatSession", "target_name": "chat_sessions", "at_contract": false},
 {"ordinal": 13, "kind": "constraint", "table_schema": "public", "source_table": "AssistantChatSession", "target_table": "chat_sessions", "object_schema": "public", "object_name": "AssistantChatSession_pkey", "target_name": "chat_sessions_pkey", "at_contract": false},
 {"ordinal": 14, "kind": "constraint", "table_schema": "public", "source_table": "AssistantChatSession", "target_table": "chat_sessions", "object_schema": "public", "object_name": "AssistantChatSession_userId_fkey", "target_name": "chat_sessions_userId_fkey", "at_contract": false},
 {"ordinal": 15, "kind": "index", "table_schema": "public", "source_table": "AssistantChatSession", "target_table": "chat_sessions", "object_schema": "public", "object_name": "AssistantChatSession_userId_idx", "target_name": "chat_sessions_userId_idx", "at_contract": false},
 {"ordinal": 17, "kind": "trigger", "table_schema": "public", "source_table": "AssistantChatSession", "target_table": "chat_sessions", "object_schema": "public", "object_name": "AssistantChatSession_set_updated_at", "target_name": "chat_sessions_set_updated_at", "at_contract": false},
 {"ordinal": 20, "kind": "column", "table_schema": "public", "source_table": "AssistantChatSession", "target_table": "chat_sessions", "object_schema": "public", "object_name": "sessionName", "target_name": "title", "at_contract": false},
 {"ordinal": 21, "kind": "column", "table_schema": "public", "source_table": "AssistantChatSession", "target_table": "chat_sessions", "object_schema": "public", "object_name": "lastActiveAt", "target_name": "lastMessageAt", "at_contract": false},
 {"ordinal": 24, "kind": "table", "table_schema": "public", "source_table": "AssistantConversation", "target_table": "chat_sessions_temp", "object_schema": "public", "object_name": "AssistantConversation", "target_name": "chat_sessions_temp", "at_contract": false},
 {"ordinal": 25, "kind": "constraint", "table_schema": "public", "source_table": "AssistantConversation", "target_table": "chat_sessions_temp", "object_schema": "public", "object_name": "AssistantConversation_pkey", "target_name": "chat_sessions_temp_pkey", "at_contract": false},
 {"ordinal": 26, "kind": "constraint", "table_schema": "public", "source_table": "AssistantConversation", "target_table": "chat_sessions_temp", "object_schema": "public", "object_name": "AssistantConversation_userId_fkey", "target_name": "chat_sessions_temp_userId_fkey", "at_contract": false},
 {"ordinal": 31, "kind": "table", "table_schema": "public", "source_table": "AssistantFolder", "target_table": "chat_folders", "object_schema": "public", "object_name": "AssistantFolder", "target_name": "chat_folders", "at_contract": false},
 {"ordinal": 32, "kind": "constraint", "table_schema": "public", "source_table": "AssistantFolder", "target_table": "chat_folders", "object_schema": "public", "object_name": "AssistantFolder_pkey", "target_name": "chat_folders_pkey", "at_contract": false},
 {"ordinal": 33, "kind": "constraint", "table_schema": "public", "source_table": "AssistantFolder", "target_table": "chat_folders", "object_schema": "public", "object_name": "AssistantFolder_userId_fkey", "target_name": "chat_folders_userId_fkey", "at_contract": false},
 {"ordinal": 34, "kind": "index", "table_schema": "public", "source_table": "AssistantFolder", "target_table": "chat_folders", "object_schema": "public", "object_name": "AssistantFolder_userId_idx", "target_name": "chat_folders_userId_idx", "at_contract": false},
 {"ordinal": 39, "kind": "table", "table_schema": "public", "source_table": "AssistantMessage", "target_table": "chat_messages_temp", "object_schema": "public", "object_name": "AssistantMessage", "target_name": "chat_messages_temp", "at_contract": false},
 {"ordinal": 40, "kind": "constraint", "table_schema": "public", "source_table": "AssistantMessage", "target_table": "chat_messages_temp", "object_schema": "public", "object_name": "AssistantMessage_conversationId_fkey", "target_name": "chat_messages_temp_conversationId_fkey", "at_contract": false},
 {"ordinal": 41, "kind": "constraint", "table_schema": "public", "source_table": "AssistantMessage", "target_table": "chat_messages_temp", "object_schema": "public", "object_name": "AssistantMessage_pkey", "target_name": "chat_messages_temp_pkey", "at_contract": false},
 {"ordinal": 42, "kind": "index", "table_schema": "public", "source_table": "AssistantMessage", "target_table": "chat_messages_temp", "object_schema": "public", "object_name": "AssistantMessage_conversationId_idx", "target_name": "chat_messages_temp_conversationId_idx", "at_contract": false},
 {"ordinal": 43, "kind": "sequence", "table_schema": "public", "source_table": "AssistantMessage", "target_table": "chat_messages_temp", "object_schema": "public", "object_name": "AssistantMessage_id_seq", "target_name": "chat_messages_temp_id_seq", "at_contract": false},
 {"ordinal": 49, "kind": "table", "table_schema": "public", "source_table": "User", "target_table": "users", "object_schema": "public", "object_name": "User", "target_name": "users", "at_contract": false},
 {"ordinal": 50, "kind": "constraint", "table_schema": "public", "source_table": "User", "target_table": "users", "object_schema": "public", "object_name": "User_email_check", "target_name": "users_email_check", "at_contract": false},
 {"ordinal": 51, "kind": "constraint", "table_schema": "public", "source_table": "User", "target_table": "users", "object_schema": "public", "object_name": "User_pkey", "target_name": "users_pkey", "at_contract": false},
 {"ordinal": 52, "kind": "index", "table_schema": "public", "source_table": "User", "target_table": "users", "object_schema": "public", "object_name": "User_email_key", "target_name": "users_email_key", "at_contract": false},
 {"ordinal": 53, "kind": "index", "table_schema": "public", "source_table": "User", "target_table": "users", "object_schema": "public", "object_name": "User_username_key", "target_name": "users_username_key", "at_contract": false}
]')
         AS planned (ordinal integer, kind text, table_schema text, source_table text, target_table text, object_schema text,
                     object_name text, target_name text, at_contract boolean)
)
SELECT planned.*, t.oid AS table_oid,
       CASE planned.kind
           WHEN 'table' THEN t.oid
           WHEN 'constraint' THEN (SELECT oid FROM pg_constraint WHERE conrelid = t.oid AND conname = planned.object_name)
           WHEN 'index' THEN to_regclass(format('%I.%I', planned.object_schema, planned.object_name))::oid
           WHEN 'sequence' THEN to_regclass(format('%I.%I', planned.object_schema, planned.object_name))::oid
           WHEN 'trigger' THEN (SELECT oid FROM pg_trigger WHERE tgrelid = t.oid AND tgname = planned.object_name)
           WHEN 'column' THEN t.oid
       END
       AS object_oid,
       -- A column is known by its number, which a rename keeps.
       CASE planned.kind
           WHEN 'column' THEN (SELECT a.attnum FROM pg_attribute AS a
                               WHERE a.attrelid = t.oid AND a.attname = planned.object_name
                                 AND a.attnum > 0 AND NOT a.attisdropped)
           ELSE 0
       END AS object_subid
FROM planned
LEFT JOIN pg_class AS t
       ON t.oid = to_regclass(format('%I.%I', planned.table_schema, planned.source_table))
      AND t.relkind IN ('r', 'p');

-- Each check below adds its row here: its name and the problems it found (none: NULL). The
-- verdict at the end reports them in order and refuses if any check found a problem.
CREATE TEMPORARY TABLE pgrename_check (
    ordinal bigint GENERATED ALWAYS AS IDENTITY,
    check_name text NOT NULL,
    problems text[]
) ON COMMIT DROP;

-- ---- sql/verify/preflight/030_tables_exist.sql.j2
-- Every table to rename exists, as a table, in a schema that exists (a schema's name misspelt
-- in the config is named as such, not as each of its tables).
INSERT INTO pgrename_check (check_name, problems)
SELECT 'every table to rename exists',
       array_agg(CASE WHEN to_regnamespace(quote_ident(table_schema)) IS NULL
                      THEN format('schema %I does not exist (table %I.%I)', table_schema, table_schema, source_table)
                      ELSE format('table %I.%I does not exist', table_schema, source_table) END ORDER BY ordinal)
FROM pgrename_plan
WHERE kind = 'table' AND table_oid IS NULL;

-- ---- sql/verify/preflight/040_objects_exist.sql.j2
-- Every other object of the plan exists under the name the plan (or the config) gives it.
INSERT INTO pgrename_check (check_name, problems)
SELECT 'every planned object exists',
       array_agg(format('%s %I of table %I does not exist (a typo in the config, or the schema changed'
                        ' since the plan was made)', kind, object_name, source_table) ORDER BY ordinal)
FROM pgrename_plan
WHERE kind <> 'table' AND table_oid IS NOT NULL AND (object_oid IS NULL OR object_subid IS NULL);

-- ---- sql/verify/preflight/050_names_fit.sql.j2
-- PostgreSQL truncates longer names silently, and two truncated names can collide.
INSERT INTO pgrename_check (check_name, problems)
SELECT format('every new name fits in %s bytes', current_setting('max_identifier_length')),
       array_agg(format('%s name %I is %s bytes, over the limit of %s', kind, target_name,
                        octet_length(target_name), current_setting('max_identifier_length')) ORDER BY ordinal)
FROM pgrename_plan
WHERE octet_length(target_name) > current_setting('max_identifier_length')::int;

-- ---- sql/verify/preflight/060_names_distinct.sql.j2
-- Two renames to one name: tables, indexes, sequences and index-backed constraints share the
-- schema's relation names; the other kinds are named per table (sql/kinds.sql.j2 says which).
WITH named AS (
    SELECT 'relation in schema ' || quote_ident(p.object_schema) AS space, p.target_name
    FROM pgrename_plan AS p
    LEFT JOIN pg_constraint AS con ON con.oid = p.object_oid AND p.kind = 'constraint'
    WHERE p.kind IN ('index', 'sequence', 'table') OR con.contype IN ('p', 'u', 'x')
    UNION ALL
    SELECT p.kind || ' on table ' || quote_ident(p.table_schema) || '.' || quote_ident(p.target_table), p.target_name
    FROM pgrename_plan AS p WHERE p.kind IN ('constraint', 'trigger')
)
INSERT INTO pgrename_check (check_name, problems)
SELECT 'no two objects get the same name',
       array_agg(format('%s objects would be named %I (%s)', count, target_name, space))
FROM (SELECT space, target_name, count(*) FROM named GROUP BY 1, 2 HAVING count(*) > 1) AS clash;

-- ---- sql/verify/preflight/070_names_free.sql.j2
-- A new name must be free, unless the object holding it is itself renamed away first (a chain).
-- A table's name is also its row type's, so a type of that name takes it too.
WITH moving_relation AS (
    SELECT object_oid AS oid FROM pgrename_plan WHERE kind IN ('index', 'sequence', 'table')
    UNION ALL
    SELECT con.conindid FROM pgrename_plan AS p JOIN pg_constraint AS con ON con.oid = p.object_oid
    WHERE p.kind = 'constraint' AND con.contype IN ('p', 'u', 'x')
), taken AS (
    SELECT p.ordinal, format('relation %I.%I', p.object_schema, p.target_name) AS what
    FROM pgrename_plan AS p
    JOIN pg_namespace AS n ON n.nspname = p.object_schema
    JOIN pg_class AS c ON c.relnamespace = n.oid AND c.relname = p.target_name
    WHERE c.oid NOT IN (SELECT oid FROM moving_relation WHERE oid IS NOT NULL)
      AND (p.kind IN ('index', 'sequence', 'table')
           OR EXISTS (SELECT FROM pg_constraint AS con
                      WHERE con.oid = p.object_oid AND con.contype IN ('p', 'u', 'x')))
    UNION ALL
    SELECT p.ordinal, format('type %I.%I', p.object_schema, p.target_name)
    FROM pgrename_plan AS p
    JOIN pg_namespace AS n ON n.nspname = p.object_schema
    JOIN pg_type AS ty ON ty.typnamespace = n.oid AND ty.typname = p.target_name
    WHERE p.kind = 'table'
      AND ty.typrelid NOT IN (SELECT table_oid FROM pgrename_plan WHERE table_oid IS NOT NULL)
    UNION ALL
    -- Named per table: the object of that kind holding the new name on the same table.
    SELECT p.ordinal, format('%s %I on table %I', p.kind, p.target_name, p.source_table)
    FROM pgrename_plan AS p
    CROSS JOIN LATERAL (
        SELECT CASE p.kind
            WHEN 'table' THEN p.table_oid
            WHEN 'constraint' THEN (SELECT oid FROM pg_constraint WHERE conrelid = p.table_oid AND conname = p.target_name)
            WHEN 'index' THEN to_regclass(format('%I.%I', p.object_schema, p.target_name))::oid
            WHEN 'sequence' THEN to_regclass(format('%I.%I', p.object_schema, p.target_name))::oid
            WHEN 'trigger' THEN (SELECT oid FROM pg_trigger WHERE tgrelid = p.table_oid AND tgname = p.target_name)
            WHEN 'column' THEN p.table_oid
        END AS oid
    ) AS holder
    WHERE p.kind IN ('constraint', 'trigger') AND holder.oid IS NOT NULL
      AND holder.oid NOT IN (SELECT object_oid FROM pgrename_plan AS moving
                             WHERE moving.kind = p.kind AND moving.object_oid IS NOT NULL)
)
INSERT INTO pgrename_check (check_name, problems)
SELECT 'every new name is free', array_agg(format('target exists: %s', what) ORDER BY ordinal)
FROM taken;

-- ---- sql/verify/preflight/080_column_names_free.sql.j2
-- A column name is free on its table: no other column has it, after the renames and additions.
WITH column_after AS (
    SELECT a.attrelid AS table_oid, coalesce(p.target_name, a.attname) AS column_name
    FROM pg_attribute AS a
    LEFT JOIN pgrename_plan AS p ON p.kind = 'column' AND p.object_oid = a.attrelid AND p.object_subid = a.attnum
    WHERE a.attrelid IN (SELECT table_oid FROM pgrename_plan) AND a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT p.table_oid, added.column_name
    FROM (VALUES ('public', 'users', 'role'), ('public', 'users', 'emailVerified'), ('public', 'chat_folders', 'description'), ('public', 'chat_folders', 'color'), ('public', 'chat_folders', 'isDefault'), ('public', 'chat_folders', 'sessionCount'), ('public', 'chat_sessions', 'folderId'), ('public', 'chat_sessions', 'isActive')) AS added (table_schema, table_name, column_name)
    JOIN pgrename_plan AS p ON p.kind = 'table' AND p.table_schema = added.table_schema AND p.target_table = added.table_name
)
INSERT INTO pgrename_check (check_name, problems)
SELECT 'every column name is free on its table',
       array_agg(format('table %s would have %s columns named %I', table_oid::regclass, n, column_name))
FROM (SELECT table_oid, column_name, count(*) AS n FROM column_after GROUP BY 1, 2 HAVING count(*) > 1) AS clash;

-- ---- sql/verify/preflight/090_additions_possible.sql.j2
-- What the migration creates: types it can create, columns it can add to every existing row,
-- foreign keys to tables that will exist, views under names the renames set free.
WITH addition (kind, object_schema, table_name, object_name, column_type, type_is_enum, not_null, has_default,
              references_schema, references_table) AS (
    VALUES
        ('type', 'public', NULL, 'UserRole', NULL, FALSE, FALSE, FALSE, 'public', NULL),
        ('column', 'public', 'users', 'role', 'UserRole', TRUE, TRUE, TRUE, 'public', NULL),
        ('column', 'public', 'users', 'emailVerified', 'boolean', FALSE, TRUE, TRUE, 'public', NULL),
        ('column', 'public', 'chat_folders', 'description', 'text', FALSE, FALSE, FALSE, 'public', NULL),
        ('column', 'public', 'chat_folders', 'color', 'text', FALSE, FALSE, FALSE, 'public', NULL),
        ('column', 'public', 'chat_folders', 'isDefault', 'boolean', FALSE, TRUE, TRUE, 'public', NULL),
        ('column', 'public', 'chat_folders', 'sessionCount', 'integer', FALSE, TRUE, TRUE, 'public', NULL),
        ('column', 'public', 'chat_sessions', 'folderId', 'text', FALSE, FALSE, FALSE, 'public', NULL),
        ('column', 'public', 'chat_sessions', 'isActive', 'boolean', FALSE, TRUE, TRUE, 'public', NULL),
        ('constraint', 'public', 'chat_sessions', 'chat_sessions_folderId_fkey', NULL, FALSE, FALSE, FALSE, 'public', 'chat_folders'),
        ('merge', 'public', 'chat_sessions', 'chat_sessions_temp', NULL, FALSE, FALSE, FALSE, 'public', NULL),
        ('merge', 'public', 'chat_messages', 'chat_messages_temp', NULL, FALSE, FALSE, FALSE, 'public', NULL),
        ('view', 'public', 'users', 'User', NULL, FALSE, FALSE, FALSE, 'public', NULL),
        ('view', 'public', 'chat_folders', 'AssistantFolder', NULL, FALSE, FALSE, FALSE, 'public', NULL),
        ('view', 'public', 'chat_sessions', 'AssistantChatSession', NULL, FALSE, FALSE, FALSE, 'public', NULL),
        ('view', 'public', 'chat_messages', 'AssistantChatMessage', NULL, FALSE, FALSE, FALSE, 'public', NULL),
        ('view', 'public', 'chat_sessions_temp', 'AssistantConversation', NULL, FALSE, FALSE, FALSE, 'public', NULL),
        ('view', 'public', 'chat_messages_temp', 'AssistantMessage', NULL, FALSE, FALSE, FALSE, 'public', NULL)
), trouble AS (
    SELECT format('type %I.%I exists already', object_schema, object_name) AS what
    FROM addition WHERE kind = 'type' AND to_regtype(format('%I.%I', object_schema, object_name)) IS NOT NULL
    UNION ALL
    SELECT format('column %I.%I: type %s does not exist', table_name, object_name, column_type)
    FROM addition WHERE kind = 'column' AND NOT type_is_enum AND to_regtype(column_type) IS NULL
    UNION ALL
    SELECT format('column %I.%I is NOT NULL without a default: the rows already there, and every old'
                  ' client''s INSERT, would have no value for it', table_name, object_name)
    FROM addition WHERE kind = 'column' AND not_null AND NOT has_default
    UNION ALL
    SELECT format('constraint %I references table %I, which will not exist', object_name, references_table)
    FROM addition
    WHERE kind = 'constraint'
      AND (references_schema, references_table) NOT IN (SELECT object_schema, target_table FROM pgrename_plan WHERE kind = 'table')
      AND to_regclass(format('%I.%I', references_schema, references_table)) IS NULL
    UNION ALL
    SELECT format('compatibility view %I cannot be created: another table takes that name', object_name)
    FROM addition
    WHERE kind = 'view' AND (object_schema, object_name) IN (SELECT object_schema, target_table FROM pgrename_plan WHERE kind = 'table')
    UNION ALL
    SELECT format('%s name %I is %s bytes, over the limit of %s', kind, object_name, octet_length(object_name),
                  current_setting('max_identifier_length'))
    FROM addition WHERE octet_length(object_name) > current_setting('max_identifier_length')::int
)
INSERT INTO pgrename_check (check_name, problems)
SELECT 'every type, column, foreign key and view to add can be added', array_agg(what)
FROM trouble;

-- ---- sql/verify/preflight/095_merges_possible.sql.j2
-- Each merge can run as written, found now rather than half way through the locked transaction:
-- its key and columns are columns of the target, the legacy columns it copies exist, a key it
-- copies as it is has the same type on both sides (an integer id copied into a text one would
-- not collide where it should), and its values, columns and expressions alike, run over the
-- legacy table with LIMIT 0 (no row is read) into a stand-in of the target's columns, type-check.
-- Names are those after the renames, as the merge sees them.
CREATE TEMPORARY TABLE pgrename_column_after ON COMMIT DROP AS
SELECT p.table_schema, p.target_table AS table_name, p.source_table, a.attname AS name_now,
       coalesce(c.target_name, a.attname) AS column_name, format_type(a.atttypid, a.atttypmod) AS column_type
FROM pgrename_plan AS p
JOIN pg_attribute AS a ON a.attrelid = p.table_oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pgrename_plan AS c ON c.kind = 'column' AND c.object_oid = a.attrelid AND c.object_subid = a.attnum
WHERE p.kind = 'table'
UNION ALL
-- added by this migration; an enum it creates stands in as text
SELECT 'public', 'users', NULL, NULL, 'role',
       coalesce(to_regtype('UserRole')::text, 'text')
UNION ALL
-- added by this migration; an enum it creates stands in as text
SELECT 'public', 'users', NULL, NULL, 'emailVerified',
       coalesce(to_regtype('boolean')::text, 'text')
UNION ALL
-- added by this migration; an enum it creates stands in as text
SELECT 'public', 'chat_folders', NULL, NULL, 'description',
       coalesce(to_regtype('text')::text, 'text')
UNION ALL
-- added by this migration; an enum it creates stands in as text
SELECT 'public', 'chat_folders', NULL, NULL, 'color',
       coalesce(to_regtype('text')::text, 'text')
UNION ALL
-- added by this migration; an enum it creates stands in as text
SELECT 'public', 'chat_folders', NULL, NULL, 'isDefault',
       coalesce(to_regtype('boolean')::text, 'text')
UNION ALL
-- added by this migration; an enum it creates stands in as text
SELECT 'public', 'chat_folders', NULL, NULL, 'sessionCount',
       coalesce(to_regtype('integer')::text, 'text')
UNION ALL
-- added by this migration; an enum it creates stands in as text
SELECT 'public', 'chat_sessions', NULL, NULL, 'folderId',
       coalesce(to_regtype('text')::text, 'text')
UNION ALL
-- added by this migration; an enum it creates stands in as text
SELECT 'public', 'chat_sessions', NULL, NULL, 'isActive',
       coalesce(to_regtype('boolean')::text, 'text')
;

DO $merges_possible$
DECLARE
    problems text[] := '{}';
    merge_problems text[];
    source_now text;
    into_now text;
    legacy_row text;
    stand_in text;
BEGIN
    -- chat_sessions_temp into chat_sessions
    SELECT source_table INTO source_now FROM pgrename_plan
    WHERE kind = 'table' AND table_schema = 'public' AND target_table = 'chat_sessions_temp';
    SELECT source_table INTO into_now FROM pgrename_plan
    WHERE kind = 'table' AND table_schema = 'public' AND target_table = 'chat_sessions';
    merge_problems := '{}';
    SELECT merge_problems || coalesce(array_agg(format('merge %s into %s: %s %s is not a column of %s (after the renames)',
                                                       source_now, into_now, CASE WHEN wanted.is_key THEN 'key' ELSE 'column' END,
                                                       wanted.column_name, 'chat_sessions')), '{}')
    INTO merge_problems
    FROM (VALUES ('id', true), ('userId', false), ('title', false), ('createdAt', false), ('lastMessageAt', false)) AS wanted (column_name, is_key)
    WHERE NOT EXISTS (SELECT FROM pgrename_column_after AS c
                      WHERE c.table_schema = 'public' AND c.table_name = 'chat_sessions'
                        AND c.column_name = wanted.column_name);
    SELECT merge_problems || coalesce(array_agg(format('merge %s into %s: column %s of %s (after the renames) does not exist',
                                                       source_now, into_now, copied.column_name, 'chat_sessions_temp')), '{}')
    INTO merge_problems
    FROM (VALUES ('id'), ('userId'), ('title'), ('createdAt'), ('createdAt')) AS copied (column_name)
    WHERE copied.column_name IS NOT NULL
      AND NOT EXISTS (SELECT FROM pgrename_column_after AS c
                      WHERE c.table_schema = 'public' AND c.table_name = 'chat_sessions_temp'
                        AND c.column_name = copied.column_name);
    SELECT merge_problems || coalesce(array_agg(format(
               'merge %s into %s: key %s is %s in %s and %s in %s: copied as it is, its values would not meet '
               'the target''s; map it with an expression of the target''s type, e.g. %s: "''legacy_'' || %s"',
               source_now, into_now, k.into_column, s.column_type, source_now, t.column_type, into_now, k.into_column,
               quote_ident(k.source_column))), '{}')
    INTO merge_problems
    FROM (VALUES ('id', 'id')) AS k (into_column, source_column)
    JOIN pgrename_column_after AS s
      ON s.table_schema = 'public' AND s.table_name = 'chat_sessions_temp' AND s.column_name = k.source_column
    JOIN pgrename_column_after AS t
      ON t.table_schema = 'public' AND t.table_name = 'chat_sessions' AND t.column_name = k.into_column
    WHERE s.column_type <> t.column_type;
    IF cardinality(merge_problems) = 0 THEN
        SELECT string_agg(format('%I AS %I', name_now, column_name), ', ') INTO legacy_row
        FROM pgrename_column_after WHERE table_schema = 'public' AND table_name = 'chat_sessions_temp';
        SELECT string_agg(format('%I %s', column_name, column_type), ', ') INTO stand_in
        FROM pgrename_column_after
        WHERE table_schema = 'public' AND table_name = 'chat_sessions'
          AND column_name IN ('id', 'userId', 'title', 'createdAt', 'lastMessageAt');
        EXECUTE format('CREATE TEMPORARY TABLE pgrename_merge_stand_in (%s) ON COMMIT DROP', stand_in);
        BEGIN
            EXECUTE format('INSERT INTO pgrename_merge_stand_in (%s) SELECT %s FROM (SELECT %s FROM %I.%I) AS legacy LIMIT 0',
                           '"id", "userId", "title", "createdAt", "lastMessageAt"',
                           '"id", "userId", "title", "createdAt", "createdAt"',
                           legacy_row, 'public', source_now);
        EXCEPTION WHEN OTHERS THEN
            merge_problems := merge_problems || format('merge %s into %s: %s', source_now, into_now, SQLERRM);
        END;
        DROP TABLE pgrename_merge_stand_in;
    END IF;
    problems := problems || merge_problems;
    -- chat_messages_temp into chat_messages
    SELECT source_table INTO source_now FROM pgrename_plan
    WHERE kind = 'table' AND table_schema = 'public' AND target_table = 'chat_messages_temp';
    SELECT source_table INTO into_now FROM pgrename_plan
    WHERE kind = 'table' AND table_schema = 'public' AND target_table = 'chat_messages';
    merge_problems := '{}';
    SELECT merge_problems || coalesce(array_agg(format('merge %s into %s: %s %s is not a column of %s (after the renames)',
                                                       source_now, into_now, CASE WHEN wanted.is_key THEN 'key' ELSE 'column' END,
                                                       wanted.column_name, 'chat_messages')), '{}')
    INTO merge_problems
    FROM (VALUES ('id', true), ('sessionId', false), ('role', false), ('content', false), ('createdAt', false)) AS wanted (column_name, is_key)
    WHERE NOT EXISTS (SELECT FROM pgrename_column_after AS c
                      WHERE c.table_schema = 'public' AND c.table_name = 'chat_messages'
                        AND c.column_name = wanted.column_name);
    SELECT merge_problems || coalesce(array_agg(format('merge %s into %s: column %s of %s (after the renames) does not exist',
                                                       source_now, into_now, copied.column_name, 'chat_messages_temp')), '{}')
    INTO merge_problems
    FROM (VALUES ('conversationId'), ('role'), ('content'), ('createdAt')) AS copied (column_name)
    WHERE copied.column_name IS NOT NULL
      AND NOT EXISTS (SELECT FROM pgrename_column_after AS c
                      WHERE c.table_schema = 'public' AND c.table_name = 'chat_messages_temp'
                        AND c.column_name = copied.column_name);
    SELECT merge_problems || coalesce(array_agg(format(
               'merge %s into %s: key %s is %s in %s and %s in %s: copied as it is, its values would not meet '
               'the target''s; map it with an expression of the target''s type, e.g. %s: "''legacy_'' || %s"',
               source_now, into_now, k.into_column, s.column_type, source_now, t.column_type, into_now, k.into_column,
               quote_ident(k.source_column))), '{}')
    INTO merge_problems
    FROM (VALUES (NULL::text, NULL::text)) AS k (into_column, source_column)
    JOIN pgrename_column_after AS s
      ON s.table_schema = 'public' AND s.table_name = 'chat_messages_temp' AND s.column_name = k.source_column
    JOIN pgrename_column_after AS t
      ON t.table_schema = 'public' AND t.table_name = 'chat_messages' AND t.column_name = k.into_column
    WHERE s.column_type <> t.column_type;
    IF cardinality(merge_problems) = 0 THEN
        SELECT string_agg(format('%I AS %I', name_now, column_name), ', ') INTO legacy_row
        FROM pgrename_column_after WHERE table_schema = 'public' AND table_name = 'chat_messages_temp';
        SELECT string_agg(format('%I %s', column_name, column_type), ', ') INTO stand_in
        FROM pgrename_column_after
        WHERE table_schema = 'public' AND table_name = 'chat_messages'
          AND column_name IN ('id', 'sessionId', 'role', 'content', 'createdAt');
        EXECUTE format('CREATE TEMPORARY TABLE pgrename_merge_stand_in (%s) ON COMMIT DROP', stand_in);
        BEGIN
            EXECUTE format('INSERT INTO pgrename_merge_stand_in (%s) SELECT %s FROM (SELECT %s FROM %I.%I) AS legacy LIMIT 0',
                           '"id", "sessionId", "role", "content", "createdAt"',
                           '(''legacy_msg_'' || id), "conversationId", "role", "content", "createdAt"',
                           legacy_row, 'public', source_now);
        EXCEPTION WHEN OTHERS THEN
            merge_problems := merge_problems || format('merge %s into %s: %s', source_now, into_now, SQLERRM);
        END;
        DROP TABLE pgrename_merge_stand_in;
    END IF;
    problems := problems || merge_problems;
    INSERT INTO pgrename_check (check_name, problems)
    VALUES ('every merge can run as written: its columns exist, its keys match, its expressions type-check',
            nullif(problems, '{}'));
END
$merges_possible$;

-- ---- sql/verify/preflight/096_merges_prepared.sql.j2
-- A merge copied ahead by make merge-prepare is applied here by its changes only, every other is
-- copied whole: each must be in the state this script was written for, and a copy ahead begun
-- must be finished (or cancelled) first.
DO $merges_prepared$
DECLARE
    found text[];
BEGIN
    IF to_regclass('pgrename.merge_progress') IS NOT NULL THEN
        EXECUTE $query$
            SELECT array_agg(problem ORDER BY problem)
            FROM (
                SELECT CASE
                           WHEN m.prepared AND p.finished_at IS NULL THEN
                               format('merge of %I into %I: this script applies only its changes since make merge-prepare, '
                                      'which no longer holds (cancelled?): write the script again (make plan)',
                                      m.merged_from, m.into_table)
                           WHEN NOT m.prepared AND p.finished_at IS NOT NULL THEN
                               format('merge of %I into %I was copied ahead after this script was written: '
                                      'write it again (make plan)', m.merged_from, m.into_table)
                           WHEN NOT m.prepared AND p.migration IS NOT NULL THEN
                               format('merge of %I into %I is copied ahead only in part (%s of its rows in %s batches): '
                                      'finish it with make merge-prepare, or cancel it with make merge-prepare UNDO=1',
                                      m.merged_from, m.into_table, p.rows_read, p.batches)
                       END AS problem
                FROM (VALUES ('chat_sessions_temp', 'chat_sessions', false), ('chat_messages_temp', 'chat_messages', false)) AS m (merged_from, into_table, prepared)
                LEFT JOIN pgrename.merge_progress AS p ON p.migration = $1 AND p.merged_from = m.merged_from
            ) AS checked
            WHERE problem IS NOT NULL
        $query$ INTO found USING 'assistant_snake_case';
    END IF;
    INSERT INTO pgrename_check (check_name, problems)
    VALUES ('every merge copied ahead (make merge-prepare) is complete, as this script expects', found);
END
$merges_prepared$;

-- ---- sql/verify/preflight/100_no_swaps.sql.j2
-- A swap (A -> B and B -> A) has no order that works; a chain (A -> B, B -> C) does.
WITH RECURSIVE walk (table_schema, start_name, current_name, path) AS (
    SELECT table_schema, source_table, target_table, ARRAY[source_table]
    FROM pgrename_plan WHERE kind = 'table'
    UNION ALL
    SELECT w.table_schema, w.start_name, p.target_table, w.path || p.source_table
    FROM walk AS w
    JOIN pgrename_plan AS p ON p.kind = 'table' AND p.table_schema = w.table_schema AND p.source_table = w.current_name
    WHERE p.source_table <> ALL (w.path)
)
INSERT INTO pgrename_check (check_name, problems)
SELECT 'no swaps or cycles',
       array_agg(format('tables swap names: %s -> %I; rename through a temporary name in two migrations',
                        array_to_string(ARRAY(SELECT quote_ident(x) FROM unnest(path) AS x), ' -> '), start_name))
FROM walk
WHERE current_name = start_name;

-- ---- sql/verify/preflight/110_ownership.sql.j2
-- Renaming needs ownership: of each table (its constraints, indexes and triggers go with it) and
-- of each sequence.
INSERT INTO pgrename_check (check_name, problems)
SELECT format('%s owns every object to rename', CURRENT_USER),
       array_agg(format('%s %I is owned by %I; %I is not a member of that role',
                        p.kind, p.object_name, pg_get_userbyid(c.relowner), CURRENT_USER) ORDER BY p.ordinal)
FROM pgrename_plan AS p
JOIN pg_class AS c ON c.oid = p.object_oid
WHERE p.kind IN ('table', 'sequence') AND NOT pg_has_role(CURRENT_USER, c.relowner, 'USAGE');

-- ---- sql/verify/preflight/120_create_privilege.sql.j2
-- Renaming a table, index or sequence also needs CREATE on its schema (PostgreSQL 15 no longer
-- grants that on public to everyone).
INSERT INTO pgrename_check (check_name, problems)
SELECT format('%s may create in the schemas', CURRENT_USER),
       array_agg(DISTINCT format('%I has no CREATE privilege on schema %I', CURRENT_USER, object_schema))
FROM pgrename_plan
WHERE to_regnamespace(quote_ident(object_schema)) IS NOT NULL
  AND NOT has_schema_privilege(CURRENT_USER, to_regnamespace(quote_ident(object_schema)), 'CREATE');

-- ---- sql/verify/preflight/990_verdict.sql.j2
-- The verdict: each check's result in order, then, if any found a problem, every problem at once.
DO $verdict$
DECLARE
    result record;
    every_problem text[] := '{}';
BEGIN
    FOR result IN SELECT check_name, problems AS found FROM pgrename_check ORDER BY ordinal LOOP
        RAISE NOTICE 'check %: %', CASE WHEN result.found IS NULL THEN 'passed' ELSE 'FAILED' END, result.check_name;
        every_problem := every_problem || coalesce(result.found, '{}');
    END LOOP;
    IF cardinality(every_problem) > 0 THEN
        RAISE EXCEPTION 'pgrename preflight failed: % problem(s)', cardinality(every_problem)
            USING ERRCODE = 'PGR01', DETAIL = array_to_string(every_problem, E'\n');
    END IF;
END
$verdict$;

-- ==== sql/audit/own_schema_version.sql.j2
-- pgrename's own schema (audit, history, what each migration changed) must be at the version this
-- script writes to. The runner installs and upgrades it by itself; by hand: make schema-upgrade,
-- or each script of sql/install/ in the order of its number with psql.
DO $own_schema$
DECLARE
    found integer;
BEGIN
    IF to_regclass('pgrename.schema_version') IS NOT NULL THEN
        SELECT max(version) INTO found FROM pgrename.schema_version;
    END IF;
    IF found IS DISTINCT FROM 11 THEN
        RAISE EXCEPTION 'pgrename: its own schema here is at version %, this script needs version 11',
            coalesce(found, 0)
            USING ERRCODE = 'PGR04',
                  HINT = CASE WHEN coalesce(found, 0) < 11
                              THEN 'Upgrade it first: make schema-upgrade (or psql -f each pending sql/install/NNN_*.sql, in order).'
                              ELSE 'A newer pgrename has upgraded it: render the script with that release.' END;
    END IF;
END
$own_schema$;

-- ==== sql/lock_tables.sql.j2
-- Take every table's lock now, in one statement, before anything changes. The wait is bounded by
-- lock_timeout and kept below deadlock_timeout: when a client and the migration wait for each
-- other (a cascading DELETE on a parent while the migration holds a child), the migration gives
-- way first, rolls back and retries, and the client never sees a deadlock error.
SELECT set_config('lock_timeout',
                  least(5000, extract(epoch FROM current_setting('deadlock_timeout')::interval) * 900)::bigint || 'ms',
                  TRUE);
LOCK TABLE "public"."AssistantChatMessage", "public"."AssistantChatSession", "public"."AssistantConversation", "public"."AssistantFolder", "public"."AssistantMessage", "public"."User" IN ACCESS EXCLUSIVE MODE;

-- Held until the commit; the remaining statements wait at most lock_timeout for anything else.
SET LOCAL lock_timeout = '5s';

-- ==== sql/merge_prepare/stop_capture.sql.j2


-- ==== sql/audit/migration_start.sql.j2
-- Record the start, and what is about to be renamed with the OIDs it has now. These rows are
-- part of this transaction: if anything below fails they vanish with it (the runner records
-- the failure apart). The fingerprint of the tables taken here is what rollback must get back
-- to; the whole schema's, what it compares with to report changes made elsewhere.
INSERT INTO pgrename.audit (event, migration, sql_checksum, details)
SELECT 'migration_start', 'assistant_snake_case', current_setting('pgrename.script_sha256'),
       jsonb_build_object('schema', 'public',
                          'schemas', jsonb_agg(DISTINCT table_schema) FILTER (WHERE kind = 'table'),
                          'tables', count(*) FILTER (WHERE kind = 'table'),
                          'objects', count(*),
                          -- the backup taken just before, when the runner's profile takes one
                          'backup', nullif(current_setting('pgrename.backup', TRUE), '')::jsonb)
FROM pgrename_plan;

-- One history row per migration; after a rollback, migrating again reuses it.
INSERT INTO pgrename.history (migration, status, table_schema, sql_checksum, fingerprint_before,
                              tables_fingerprint_before, foreign_keys_before)
SELECT 'assistant_snake_case', 'applying', 'public', current_setting('pgrename.script_sha256'),
       pgrename.schema_fingerprint(),
       pgrename.tables_fingerprint(ARRAY(SELECT table_oid FROM pgrename_plan WHERE kind = 'table')),
       count(*) FILTER (WHERE convalidated)
FROM pg_constraint
WHERE contype = 'f'
  AND (conrelid IN (SELECT table_oid FROM pgrename_plan) OR confrelid IN (SELECT table_oid FROM pgrename_plan))
ON CONFLICT (migration) DO UPDATE
SET status = excluded.status, table_schema = excluded.table_schema, sql_checksum = excluded.sql_checksum,
    fingerprint_before = excluded.fingerprint_before, tables_fingerprint_before = excluded.tables_fingerprint_before,
    foreign_keys_before = excluded.foreign_keys_before,
    applied_at = NULL, applied_by = NULL, rolled_back_at = NULL, rolled_back_by = NULL, contracted_at = NULL;

-- A migration applied again after its rollback starts its record afresh.
DELETE FROM pgrename.renamed_object WHERE migration = 'assistant_snake_case';
DELETE FROM pgrename.added_object WHERE migration = 'assistant_snake_case';
DELETE FROM pgrename.merged_row WHERE migration = 'assistant_snake_case';

INSERT INTO pgrename.renamed_object (migration, ordinal, kind, table_schema, source_table, target_table,
                                     object_schema, object_name, target_name, table_oid, object_oid, object_subid,
                                     at_contract)
SELECT 'assistant_snake_case', ordinal, kind, table_schema, source_table, target_table,
       object_schema, object_name, target_name, table_oid, object_oid, object_subid, at_contract
FROM pgrename_plan
ORDER BY ordinal;

-- What the migration is about to create, with what rollback needs to remove it again.
INSERT INTO pgrename.added_object (migration, ordinal, kind, object_schema, table_name, object_name, detail)
VALUES
    ('assistant_snake_case', 1, 'type', 'public', NULL, 'UserRole', '{"values": ["USER", "ADMIN"]}'),
    ('assistant_snake_case', 2, 'column', 'public', 'users', 'role', '{"default": "USER", "default_sql": null, "not_null": true, "type": "UserRole", "type_is_enum": true, "type_schema": "public"}'),
    ('assistant_snake_case', 3, 'column', 'public', 'users', 'emailVerified', '{"default": false, "default_sql": null, "not_null": true, "type": "boolean", "type_is_enum": false}'),
    ('assistant_snake_case', 4, 'column', 'public', 'chat_folders', 'description', '{"default": null, "default_sql": null, "not_null": false, "type": "text", "type_is_enum": false}'),
    ('assistant_snake_case', 5, 'column', 'public', 'chat_folders', 'color', '{"default": null, "default_sql": null, "not_null": false, "type": "text", "type_is_enum": false}'),
    ('assistant_snake_case', 6, 'column', 'public', 'chat_folders', 'isDefault', '{"default": false, "default_sql": null, "not_null": true, "type": "boolean", "type_is_enum": false}'),
    ('assistant_snake_case', 7, 'column', 'public', 'chat_folders', 'sessionCount', '{"default": 0, "default_sql": null, "not_null": true, "type": "integer", "type_is_enum": false}'),
    ('assistant_snake_case', 8, 'column', 'public', 'chat_sessions', 'folderId', '{"default": null, "default_sql": null, "not_null": false, "type": "text", "type_is_enum": false}'),
    ('assistant_snake_case', 9, 'column', 'public', 'chat_sessions', 'isActive', '{"default": true, "default_sql": null, "not_null": true, "type": "boolean", "type_is_enum": false}'),
    ('assistant_snake_case', 10, 'constraint', 'public', 'chat_sessions', 'chat_sessions_folderId_fkey', '{"column": "folderId", "on_delete": "SET NULL", "on_update": "CASCADE", "references": "chat_folders", "references_schema": "public"}'),
    ('assistant_snake_case', 11, 'merge', 'public', 'chat_sessions', 'chat_sessions_temp', '{"columns": [["id", "id", false], ["userId", "userId", false], ["title", "title", false], ["createdAt", "createdAt", false], ["lastMessageAt", "createdAt", false]], "key": ["id"], "on_conflict": "skip"}'),
    ('assistant_snake_case', 12, 'merge', 'public', 'chat_messages', 'chat_messages_temp', '{"columns": [["id", "\u0027legacy_msg_\u0027 || id", true], ["sessionId", "conversationId", false], ["role", "role", false], ["content", "content", false], ["createdAt", "createdAt", false]], "key": ["id"], "on_conflict": "skip"}'),
    ('assistant_snake_case', 13, 'view', 'public', 'users', 'User', '{"columns": [["id", "id"], ["email", "email"], ["username", "username"], ["firstName", "firstName"], ["lastName", "lastName"], ["isActive", "isActive"], ["createdAt", "createdAt"], ["updatedAt", "updatedAt"]]}'),
    ('assistant_snake_case', 14, 'view', 'public', 'chat_folders', 'AssistantFolder', '{"columns": [["id", "id"], ["userId", "userId"], ["name", "name"], ["createdAt", "createdAt"]]}'),
    ('assistant_snake_case', 15, 'view', 'public', 'chat_sessions', 'AssistantChatSession', '{"columns": [["id", "id"], ["userId", "userId"], ["title", "sessionName"], ["lastMessageAt", "lastActiveAt"], ["createdAt", "createdAt"], ["updatedAt", "updatedAt"]]}'),
    ('assistant_snake_case', 16, 'view', 'public', 'chat_messages', 'AssistantChatMessage', '{"columns": [["id", "id"], ["sessionId", "sessionId"], ["role", "role"], ["content", "content"], ["metadata", "metadata"], ["createdAt", "createdAt"]]}'),
    ('assistant_snake_case', 17, 'view', 'public', 'chat_sessions_temp', 'AssistantConversation', '{"columns": [["id", "id"], ["userId", "userId"], ["title", "title"], ["createdAt", "createdAt"]]}'),
    ('assistant_snake_case', 18, 'view', 'public', 'chat_messages_temp', 'AssistantMessage', '{"columns": [["id", "id"], ["conversationId", "conversationId"], ["role", "role"], ["content", "content"], ["createdAt", "createdAt"]]}');

-- ==== sql/010_rename_tables.sql.j2
-- Rename the tables. Catalog-only: constant time whatever their size, each under a brief
-- ACCESS EXCLUSIVE lock. Foreign keys, views, indexes, triggers and policies refer to a table by
-- OID and follow it: nothing is dropped or disabled. In a chain (A -> B while B -> C) B moves first.
ALTER TABLE "public"."AssistantChatMessage" RENAME TO "chat_messages";
ALTER TABLE "public"."AssistantChatSession" RENAME TO "chat_sessions";
ALTER TABLE "public"."AssistantConversation" RENAME TO "chat_sessions_temp";
ALTER TABLE "public"."AssistantFolder" RENAME TO "chat_folders";
ALTER TABLE "public"."AssistantMessage" RENAME TO "chat_messages_temp";
ALTER TABLE "public"."User" RENAME TO "users";

-- ==== sql/020_rename_constraints.sql.j2
-- Rename the constraints that carry their table's name ("User_pkey" -> "users_pkey").
-- A primary key, unique or exclusion constraint renames its index along with it.
-- Foreign keys of other tables that point here keep their names: they carry their own table's.
ALTER TABLE "public"."chat_messages" RENAME CONSTRAINT "AssistantChatMessage_pkey" TO "chat_messages_pkey";
ALTER TABLE "public"."chat_messages" RENAME CONSTRAINT "AssistantChatMessage_role_check" TO "chat_messages_role_check";
ALTER TABLE "public"."chat_messages" RENAME CONSTRAINT "AssistantChatMessage_sessionId_fkey" TO "chat_messages_sessionId_fkey";
ALTER TABLE "public"."chat_sessions" RENAME CONSTRAINT "AssistantChatSession_pkey" TO "chat_sessions_pkey";
ALTER TABLE "public"."chat_sessions" RENAME CONSTRAINT "AssistantChatSession_userId_fkey" TO "chat_sessions_userId_fkey";
ALTER TABLE "public"."chat_sessions_temp" RENAME CONSTRAINT "AssistantConversation_pkey" TO "chat_sessions_temp_pkey";
ALTER TABLE "public"."chat_sessions_temp" RENAME CONSTRAINT "AssistantConversation_userId_fkey" TO "chat_sessions_temp_userId_fkey";
ALTER TABLE "public"."chat_folders" RENAME CONSTRAINT "AssistantFolder_pkey" TO "chat_folders_pkey";
ALTER TABLE "public"."chat_folders" RENAME CONSTRAINT "AssistantFolder_userId_fkey" TO "chat_folders_userId_fkey";
ALTER TABLE "public"."chat_messages_temp" RENAME CONSTRAINT "AssistantMessage_conversationId_fkey" TO "chat_messages_temp_conversationId_fkey";
ALTER TABLE "public"."chat_messages_temp" RENAME CONSTRAINT "AssistantMessage_pkey" TO "chat_messages_temp_pkey";
ALTER TABLE "public"."users" RENAME CONSTRAINT "User_email_check" TO "users_email_check";
ALTER TABLE "public"."users" RENAME CONSTRAINT "User_pkey" TO "users_pkey";

-- ==== sql/030_rename_indexes.sql.j2
-- Rename the indexes that carry their table's name and back no constraint (those were renamed
-- with their constraint). Catalog-only.
ALTER INDEX "public"."AssistantChatMessage_sessionId_idx" RENAME TO "chat_messages_sessionId_idx";
ALTER INDEX "public"."AssistantChatSession_userId_idx" RENAME TO "chat_sessions_userId_idx";
ALTER INDEX "public"."AssistantFolder_userId_idx" RENAME TO "chat_folders_userId_idx";
ALTER INDEX "public"."AssistantMessage_conversationId_idx" RENAME TO "chat_messages_temp_conversationId_idx";
ALTER INDEX "public"."User_email_key" RENAME TO "users_email_key";
ALTER INDEX "public"."User_username_key" RENAME TO "users_username_key";
-- left alone: index "idx_recent_sessions" on "AssistantChatSession": name does not start with "AssistantChatSession_" (object_names: postgres_defaults would name it chat_sessions_userId_lastMessageAt_idx)

-- ==== sql/040_rename_sequences.sql.j2
-- Rename the sequences owned by the tables' serial and identity columns ("Foo_id_seq").
-- Column defaults call nextval() by OID, so they keep working; values are untouched.
ALTER SEQUENCE "public"."AssistantMessage_id_seq" RENAME TO "chat_messages_temp_id_seq";

-- ==== sql/050_rename_triggers.sql.j2
-- Rename the triggers that carry their table's name. Their functions are untouched: a trigger
-- function that names a table in its source text still needs a look (see the analysis).
ALTER TRIGGER "AssistantChatSession_set_updated_at" ON "public"."chat_sessions" RENAME TO "chat_sessions_set_updated_at";

-- ==== sql/060_create_types.sql.j2
-- Create the enum types the new columns use. A new type locks nothing that exists.
CREATE TYPE "public"."UserRole" AS ENUM ('USER', 'ADMIN');

-- ==== sql/070_rename_columns.sql.j2
-- Rename the columns the new service knows by other names. Catalog-only: indexes, constraints
-- and views refer to a column by its number and follow it; the data is untouched.
ALTER TABLE "public"."chat_sessions" RENAME COLUMN "sessionName" TO "title";
ALTER TABLE "public"."chat_sessions" RENAME COLUMN "lastActiveAt" TO "lastMessageAt";

-- ==== sql/080_add_columns.sql.j2
-- Add the columns the new service expects. With a constant default (or none) PostgreSQL adds a
-- column without rewriting the table: existing rows read the default. Old clients never name
-- these columns, so their INSERTs get the default too.
ALTER TABLE "public"."users" ADD COLUMN "role" "public"."UserRole" NOT NULL DEFAULT 'USER';
ALTER TABLE "public"."users" ADD COLUMN "emailVerified" boolean NOT NULL DEFAULT FALSE;
ALTER TABLE "public"."chat_folders" ADD COLUMN "description" text;
ALTER TABLE "public"."chat_folders" ADD COLUMN "color" text;
ALTER TABLE "public"."chat_folders" ADD COLUMN "isDefault" boolean NOT NULL DEFAULT FALSE;
-- The type is the target schema's (config.yaml), not ours to widen to bigint.
-- squawk-ignore prefer-bigint-over-int
ALTER TABLE "public"."chat_folders" ADD COLUMN "sessionCount" integer NOT NULL DEFAULT 0;
ALTER TABLE "public"."chat_sessions" ADD COLUMN "folderId" text;
ALTER TABLE "public"."chat_sessions" ADD COLUMN "isActive" boolean NOT NULL DEFAULT TRUE;

-- Foreign keys of the new columns, to the referenced table's primary key. NOT VALID: enforced
-- for every row written from now on, without reading the table under this transaction's locks
-- (every existing value is NULL). The runner validates them after the commit, without blocking
-- anyone (build/validate.sql).
ALTER TABLE "public"."chat_sessions" ADD CONSTRAINT "chat_sessions_folderId_fkey" FOREIGN KEY ("folderId") REFERENCES "public"."chat_folders" ON DELETE SET NULL ON UPDATE CASCADE NOT VALID;

-- ==== sql/090_merge_rows.sql.j2
-- Merge legacy rows into the new tables. Each row the merge inserts is recorded by its key, and
-- each row it overwrites is recorded as it was, so that rollback undoes exactly this and no more.
-- Unlike the renames, a merge reads and writes rows: it takes as long as the legacy tables are
-- big, and the table locks taken at the start are held until the commit. Rehearse it on a copy
-- (make rehearse WITH_DATA=1) to know how long. A column may come from an SQL expression over the
-- legacy row (a key of another type, a default for a missing value): each merge reads its rows
-- through one SELECT that computes them, named "offered" below. A merge copied ahead by make
-- merge-prepare applies here only what changed in its legacy table since.

-- "chat_sessions_temp" into "chat_sessions": a row whose key ("id") exists already is left as it is.
WITH merged AS (
    INSERT INTO "public"."chat_sessions" ("id", "userId", "title", "createdAt", "lastMessageAt")
    SELECT offered."id", offered."userId", offered."title", offered."createdAt", offered."lastMessageAt"
    FROM (
        SELECT "id" AS "id",
               "userId" AS "userId",
               "title" AS "title",
               "createdAt" AS "createdAt",
               "createdAt" AS "lastMessageAt"
        FROM "public"."chat_sessions_temp" AS legacy
    ) AS offered
    ON CONFLICT ("id") DO NOTHING
    RETURNING "id", xmax = 0 AS inserted
)
INSERT INTO pgrename.merged_row (migration, into_table, merged_from, action, row_key)
SELECT 'assistant_snake_case', 'chat_sessions', 'chat_sessions_temp', 'inserted',
       jsonb_build_object('id', "id")
FROM merged
WHERE inserted;

DO $merge_report$
DECLARE
    inserted bigint;
    updated bigint;
    offered bigint;
BEGIN
    SELECT count(*) FILTER (WHERE action = 'inserted'), count(*) FILTER (WHERE action = 'updated')
    INTO inserted, updated
    FROM pgrename.merged_row
    WHERE migration = 'assistant_snake_case' AND into_table = 'chat_sessions'
      AND merged_from = 'chat_sessions_temp';
    SELECT count(*) INTO offered FROM "public"."chat_sessions_temp";
    RAISE NOTICE 'merged % into %: % row(s) inserted, % updated, % left as they were',
        'chat_sessions_temp', 'chat_sessions', inserted, updated, offered - inserted - updated;
END
$merge_report$;

-- "chat_messages_temp" into "chat_messages": a row whose key ("id") exists already is left as it is.
WITH merged AS (
    INSERT INTO "public"."chat_messages" ("id", "sessionId", "role", "content", "createdAt")
    SELECT offered."id", offered."sessionId", offered."role", offered."content", offered."createdAt"
    FROM (
        SELECT ('legacy_msg_' || id) AS "id",
               "conversationId" AS "sessionId",
               "role" AS "role",
               "content" AS "content",
               "createdAt" AS "createdAt"
        FROM "public"."chat_messages_temp" AS legacy
    ) AS offered
    ON CONFLICT ("id") DO NOTHING
    RETURNING "id", xmax = 0 AS inserted
)
INSERT INTO pgrename.merged_row (migration, into_table, merged_from, action, row_key)
SELECT 'assistant_snake_case', 'chat_messages', 'chat_messages_temp', 'inserted',
       jsonb_build_object('id', "id")
FROM merged
WHERE inserted;

DO $merge_report$
DECLARE
    inserted bigint;
    updated bigint;
    offered bigint;
BEGIN
    SELECT count(*) FILTER (WHERE action = 'inserted'), count(*) FILTER (WHERE action = 'updated')
    INTO inserted, updated
    FROM pgrename.merged_row
    WHERE migration = 'assistant_snake_case' AND into_table = 'chat_messages'
      AND merged_from = 'chat_messages_temp';
    SELECT count(*) INTO offered FROM "public"."chat_messages_temp";
    RAISE NOTICE 'merged % into %: % row(s) inserted, % updated, % left as they were',
        'chat_messages_temp', 'chat_messages', inserted, updated, offered - inserted - updated;
END
$merge_report$;

-- ==== sql/100_compatibility_views.sql.j2
-- Keep old clients working. Under each old table name, a view shows the renamed table with the
-- old column names. A one-table view like this is automatically updatable: SELECT, INSERT (with
-- the table's defaults and RETURNING), UPDATE and DELETE through it reach the table unchanged.
-- security_invoker: privileges and row-level security are checked for the caller, as on the table.
CREATE VIEW "public"."User" WITH (security_invoker = TRUE) AS
SELECT "id", "email", "username", "firstName", "lastName", "isActive", "createdAt", "updatedAt"
FROM "public"."users";
CREATE VIEW "public"."AssistantFolder" WITH (security_invoker = TRUE) AS
SELECT "id", "userId", "name", "createdAt"
FROM "public"."chat_folders";
CREATE VIEW "public"."AssistantChatSession" WITH (security_invoker = TRUE) AS
SELECT "id", "userId", "title" AS "sessionName", "lastMessageAt" AS "lastActiveAt", "createdAt", "updatedAt"
FROM "public"."chat_sessions";
CREATE VIEW "public"."AssistantChatMessage" WITH (security_invoker = TRUE) AS
SELECT "id", "sessionId", "role", "content", "metadata", "createdAt"
FROM "public"."chat_messages";
CREATE VIEW "public"."AssistantConversation" WITH (security_invoker = TRUE) AS
SELECT "id", "userId", "title", "createdAt"
FROM "public"."chat_sessions_temp";
CREATE VIEW "public"."AssistantMessage" WITH (security_invoker = TRUE) AS
SELECT "id", "conversationId", "role", "content", "createdAt"
FROM "public"."chat_messages_temp";

-- Whoever may use a table may use its view the same way: copy each table's grants, as they are
-- now, to its view.
DO $grants$
DECLARE
    grant_row record;
BEGIN
    FOR grant_row IN
        SELECT v.view_schema, v.view_name, acl.grantee,
               string_agg(acl.privilege_type, ', ' ORDER BY acl.privilege_type) AS privileges
        FROM (VALUES ('public', 'User', 'users'), ('public', 'AssistantFolder', 'chat_folders'), ('public', 'AssistantChatSession', 'chat_sessions'), ('public', 'AssistantChatMessage', 'chat_messages'), ('public', 'AssistantConversation', 'chat_sessions_temp'), ('public', 'AssistantMessage', 'chat_messages_temp')) AS v (view_schema, view_name, table_name)
        JOIN pg_class AS c ON c.oid = to_regclass(format('%I.%I', v.view_schema, v.table_name))
        CROSS JOIN LATERAL aclexplode(c.relacl) AS acl
        WHERE acl.grantee <> c.relowner
        GROUP BY v.view_schema, v.view_name, acl.grantee
    LOOP
        EXECUTE format('GRANT %s ON %I.%I TO %s', grant_row.privileges, grant_row.view_schema, grant_row.view_name,
                       CASE WHEN grant_row.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(grant_row.grantee)) END);
    END LOOP;
END
$grants$;

-- An INSERT through a view gets its table's defaults either way, but a client or an ORM that
-- reads the view's columns sees no default unless the view has one: give each view column its
-- table column's default, read here so that a sequence in it is named as it is now.
DO $defaults$
DECLARE
    default_row record;
BEGIN
    FOR default_row IN
        SELECT v.view_schema, v.view_name, v.view_column, pg_get_expr(d.adbin, d.adrelid) AS default_sql
        FROM (VALUES
                  ('public', 'User', 'users', 'id', 'id'),
                  ('public', 'User', 'users', 'email', 'email'),
                  ('public', 'User', 'users', 'username', 'username'),
                  ('public', 'User', 'users', 'firstName', 'firstName'),
                  ('public', 'User', 'users', 'lastName', 'lastName'),
                  ('public', 'User', 'users', 'isActive', 'isActive'),
                  ('public', 'User', 'users', 'createdAt', 'createdAt'),
                  ('public', 'User', 'users', 'updatedAt', 'updatedAt'),
                  ('public', 'AssistantFolder', 'chat_folders', 'id', 'id'),
                  ('public', 'AssistantFolder', 'chat_folders', 'userId', 'userId'),
                  ('public', 'AssistantFolder', 'chat_folders', 'name', 'name'),
                  ('public', 'AssistantFolder', 'chat_folders', 'createdAt', 'createdAt'),
                  ('public', 'AssistantChatSession', 'chat_sessions', 'id', 'id'),
                  ('public', 'AssistantChatSession', 'chat_sessions', 'userId', 'userId'),
                  ('public', 'AssistantChatSession', 'chat_sessions', 'title', 'sessionName'),
                  ('public', 'AssistantChatSession', 'chat_sessions', 'lastMessageAt', 'lastActiveAt'),
                  ('public', 'AssistantChatSession', 'chat_sessions', 'createdAt', 'createdAt'),
                  ('public', 'AssistantChatSession', 'chat_sessions', 'updatedAt', 'updatedAt'),
                  ('public', 'AssistantChatMessage', 'chat_messages', 'id', 'id'),
                  ('public', 'AssistantChatMessage', 'chat_messages', 'sessionId', 'sessionId'),
                  ('public', 'AssistantChatMessage', 'chat_messages', 'role', 'role'),
                  ('public', 'AssistantChatMessage', 'chat_messages', 'content', 'content'),
                  ('public', 'AssistantChatMessage', 'chat_messages', 'metadata', 'metadata'),
                  ('public', 'AssistantChatMessage', 'chat_messages', 'createdAt', 'createdAt'),
                  ('public', 'AssistantConversation', 'chat_sessions_temp', 'id', 'id'),
                  ('public', 'AssistantConversation', 'chat_sessions_temp', 'userId', 'userId'),
                  ('public', 'AssistantConversation', 'chat_sessions_temp', 'title', 'title'),
                  ('public', 'AssistantConversation', 'chat_sessions_temp', 'createdAt', 'createdAt'),
                  ('public', 'AssistantMessage', 'chat_messages_temp', 'id', 'id'),
                  ('public', 'AssistantMessage', 'chat_messages_temp', 'conversationId', 'conversationId'),
                  ('public', 'AssistantMessage', 'chat_messages_temp', 'role', 'role'),
                  ('public', 'AssistantMessage', 'chat_messages_temp', 'content', 'content'),
                  ('public', 'AssistantMessage', 'chat_messages_temp', 'createdAt', 'createdAt')
             ) AS v (view_schema, view_name, table_name, table_column, view_column)
        JOIN pg_attribute AS col ON col.attrelid = to_regclass(format('%I.%I', v.view_schema, v.table_name))
                                AND col.attname = v.table_column AND col.attgenerated = ''
        JOIN pg_attrdef AS d ON d.adrelid = col.attrelid AND d.adnum = col.attnum
    LOOP
        EXECUTE format('ALTER VIEW %I.%I ALTER COLUMN %I SET DEFAULT %s', default_row.view_schema, default_row.view_name,
                       default_row.view_column, default_row.default_sql);
    END LOOP;
END
$defaults$;

-- ==== sql/verify/postcheck.sql.j2
-- Verification after the renames, from the OIDs recorded before them: any failure raises,
-- and the whole transaction rolls back.
DO $postcheck$
DECLARE
    problems text[] := '{}';
    found text[];
    fk_before integer;
    fk_now integer;
BEGIN
    -- Each object, found by its recorded OID, carries its new name. Same OID: the same
    -- object with the same rows, proven in constant time whatever the table's size.
    WITH recorded AS (
        SELECT r.ordinal, r.kind, r.object_oid, r.target_name AS expected_name,
               CASE r.kind
                   WHEN 'table' THEN (SELECT relname FROM pg_class WHERE oid = r.object_oid)
                   WHEN 'constraint' THEN (SELECT conname FROM pg_constraint WHERE oid = r.object_oid)
                   WHEN 'index' THEN (SELECT relname FROM pg_class WHERE oid = r.object_oid)
                   WHEN 'sequence' THEN (SELECT relname FROM pg_class WHERE oid = r.object_oid)
                   WHEN 'trigger' THEN (SELECT tgname FROM pg_trigger WHERE oid = r.object_oid)
                   WHEN 'column' THEN (SELECT attname FROM pg_attribute WHERE attrelid = r.object_oid AND attnum = r.object_subid AND NOT attisdropped)
               END
               AS actual_name
        FROM pgrename.renamed_object AS r
        WHERE r.migration = 'assistant_snake_case'
    )
    SELECT array_agg(format('%s with oid %s should be named %I but %s', kind, object_oid, expected_name,
                            CASE WHEN actual_name IS NULL THEN 'no longer exists'
                                 ELSE format('is named %I', actual_name) END) ORDER BY ordinal)
    INTO found FROM recorded WHERE actual_name IS DISTINCT FROM expected_name;
    problems := problems || coalesce(found, '{}');
    RAISE NOTICE 'check %: every object has its planned name and its old OID',
        CASE WHEN found IS NULL THEN 'passed' ELSE 'FAILED' END;

    -- No other object answers to a name moved away from (a chain hands a name on, and a
    -- compatibility view takes its table's old name: both fine).
    WITH ours AS (
        SELECT object_oid AS oid FROM pgrename.renamed_object WHERE migration = 'assistant_snake_case'
        UNION ALL
        -- a compatibility view, until a contract drops it: then whatever holds its name is not ours
        SELECT to_regclass(format('%I.%I', a.object_schema, a.object_name))::oid
        FROM pgrename.added_object AS a JOIN pgrename.history AS h USING (migration)
        WHERE a.migration = 'assistant_snake_case' AND a.kind = 'view' AND h.contracted_at IS NULL
        UNION ALL
        SELECT con.conindid FROM pgrename.renamed_object AS r JOIN pg_constraint AS con ON con.oid = r.object_oid
        WHERE r.migration = 'assistant_snake_case' AND r.kind = 'constraint'
    ), moved AS (
        SELECT * FROM pgrename.renamed_object WHERE migration = 'assistant_snake_case'
    ), leftover AS (
        SELECT r.ordinal, format('relation %I.%I', r.object_schema, r.object_name) AS what
        FROM moved AS r
        JOIN pg_namespace AS n ON n.nspname = r.object_schema
        JOIN pg_class AS c ON c.relnamespace = n.oid AND c.relname = r.object_name
        WHERE r.kind IN ('index', 'sequence', 'table', 'constraint')
          AND c.oid NOT IN (SELECT oid FROM ours WHERE oid IS NOT NULL)
        UNION ALL
        -- Named per table: the object of that kind holding the name on the same table.
        SELECT r.ordinal, format('%s %I on %s', r.kind, r.object_name, r.table_oid::regclass)
        FROM moved AS r
        CROSS JOIN LATERAL (
            SELECT CASE r.kind
                WHEN 'table' THEN r.table_oid
                WHEN 'constraint' THEN (SELECT oid FROM pg_constraint WHERE conrelid = r.table_oid AND conname = r.object_name)
                WHEN 'index' THEN to_regclass(format('%I.%I', r.object_schema, r.object_name))::oid
                WHEN 'sequence' THEN to_regclass(format('%I.%I', r.object_schema, r.object_name))::oid
                WHEN 'trigger' THEN (SELECT oid FROM pg_trigger WHERE tgrelid = r.table_oid AND tgname = r.object_name)
                WHEN 'column' THEN r.table_oid
            END AS oid
        ) AS holder
        WHERE r.kind IN ('constraint', 'trigger')
          AND holder.oid IS NOT NULL AND holder.oid NOT IN (SELECT oid FROM ours WHERE oid IS NOT NULL)
    )
    SELECT array_agg(format('%s still exists', what) ORDER BY ordinal) INTO found FROM leftover;
    problems := problems || coalesce(found, '{}');
    RAISE NOTICE 'check %: no old name remains', CASE WHEN found IS NULL THEN 'passed' ELSE 'FAILED' END;

    -- What the migration added exists (compatibility views unless contracted); after a rollback, none of it does.
    WITH added AS (
        SELECT a.ordinal, a.kind, a.object_name,
               CASE a.kind
                   WHEN 'type' THEN to_regtype(format('%I.%I', a.object_schema, a.object_name)) IS NOT NULL
                   WHEN 'column' THEN EXISTS (SELECT FROM pg_attribute
                                              WHERE attrelid = to_regclass(format('%I.%I', a.object_schema, a.table_name))
                                                AND attname = a.object_name AND NOT attisdropped)
                   WHEN 'constraint' THEN EXISTS (SELECT FROM pg_constraint
                                                  WHERE conrelid = to_regclass(format('%I.%I', a.object_schema, a.table_name))
                                                    AND conname = a.object_name)
                   WHEN 'view' THEN EXISTS (SELECT FROM pg_class
                                            WHERE oid = to_regclass(format('%I.%I', a.object_schema, a.object_name))
                                              AND relkind = 'v')
               END AS present,
a.kind <> 'view' OR h.contracted_at IS NULL AS expected
        FROM pgrename.added_object AS a
        JOIN pgrename.history AS h USING (migration)
        WHERE a.migration = 'assistant_snake_case' AND a.kind <> 'merge'
    )
    SELECT array_agg(format('%s %I %s', kind, object_name, CASE WHEN present THEN 'still exists' ELSE 'is missing' END)
                     ORDER BY ordinal)
    INTO found FROM added WHERE present <> expected;
    problems := problems || coalesce(found, '{}');
    RAISE NOTICE 'check %: every added type, column, foreign key and view exists',
        CASE WHEN found IS NULL THEN 'passed' ELSE 'FAILED' END;

    -- The foreign keys into and out of the renamed tables that were there before: all still there
    -- and validated. (Those the migration added are checked above, with what it added.)
    SELECT foreign_keys_before INTO fk_before FROM pgrename.history WHERE migration = 'assistant_snake_case';
    SELECT count(*) FILTER (WHERE convalidated) INTO fk_now
    FROM pg_constraint
    WHERE contype = 'f'
      AND (conrelid IN (SELECT table_oid FROM pgrename.renamed_object WHERE migration = 'assistant_snake_case')
           OR confrelid IN (SELECT table_oid FROM pgrename.renamed_object WHERE migration = 'assistant_snake_case'))
      AND NOT EXISTS (SELECT FROM pgrename.added_object AS a
                      WHERE a.migration = 'assistant_snake_case' AND a.kind = 'constraint'
                        AND a.object_name = conname AND to_regclass(format('%I.%I', a.object_schema, a.table_name)) = conrelid);
    IF fk_now IS DISTINCT FROM fk_before THEN
        problems := problems || format('%s validated foreign keys touch the renamed tables; there were %s', fk_now, fk_before);
    END IF;
    RAISE NOTICE 'check %: foreign keys valid (% of %)',
        CASE WHEN fk_now IS NOT DISTINCT FROM fk_before THEN 'passed' ELSE 'FAILED' END, fk_now, fk_before;

    IF cardinality(problems) > 0 THEN
        RAISE EXCEPTION 'pgrename verification failed: % problem(s)', cardinality(problems)
            USING ERRCODE = 'PGR02', DETAIL = array_to_string(problems, E'\n');
    END IF;
END
$postcheck$;

-- ==== sql/audit/migration_complete.sql.j2
-- Every check passed: mark the migration applied and close the audit trail. Both commit with
-- the renames, or not at all.
UPDATE pgrename.history
SET status = 'applied', applied_at = now(), applied_by = CURRENT_USER
WHERE migration = 'assistant_snake_case';

INSERT INTO pgrename.audit (event, migration, sql_checksum, details)
SELECT 'migration_complete', 'assistant_snake_case', current_setting('pgrename.script_sha256'),
       jsonb_build_object('renamed', jsonb_object_agg(kind, n))
FROM (SELECT kind, count(*) AS n FROM pgrename.renamed_object
      WHERE migration = 'assistant_snake_case' GROUP BY kind) AS renamed;
