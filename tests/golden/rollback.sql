-- pgrename script, sha256 4660651e5e23354aaf10f4cffa745044079c1473cdc4153e1dad2dfc14e0d4c4 of every line after these two (tail -n +3 FILE | sha256sum)
SELECT set_config('pgrename.script_sha256', '4660651e5e23354aaf10f4cffa745044079c1473cdc4153e1dad2dfc14e0d4c4', true);
-- ==== rollback/header.sql.j2
-- pgrename rollback of migration 'assistant_snake_case': give 6 table(s) in schema
-- "public", the 21 object(s) named after them and 2 column(s) their names back.
--
-- It also removes what the migration added. Destructive steps, each in its own section below:
--   DROP COLUMN "users"."role": whatever was written into it since goes too (a warning counts those rows)
--   DROP COLUMN "users"."emailVerified": whatever was written into it since goes too (a warning counts those rows)
--   DROP COLUMN "chat_folders"."description": whatever was written into it since goes too (a warning counts those rows)
--   DROP COLUMN "chat_folders"."color": whatever was written into it since goes too (a warning counts those rows)
--   DROP COLUMN "chat_folders"."isDefault": whatever was written into it since goes too (a warning counts those rows)
--   DROP COLUMN "chat_folders"."sessionCount": whatever was written into it since goes too (a warning counts those rows)
--   DROP COLUMN "chat_sessions"."folderId": whatever was written into it since goes too (a warning counts those rows)
--   DROP COLUMN "chat_sessions"."isActive": whatever was written into it since goes too (a warning counts those rows)
--   DROP CONSTRAINT "chat_sessions_folderId_fkey" on "chat_sessions" (the foreign key of an added column)
--   DROP TYPE "UserRole" (no CASCADE: it fails if anything else uses it now)
--   DROP VIEW "User" (the compatibility view; gone already after a contract)
--   DROP VIEW "AssistantFolder" (the compatibility view; gone already after a contract)
--   DROP VIEW "AssistantChatSession" (the compatibility view; gone already after a contract)
--   DROP VIEW "AssistantChatMessage" (the compatibility view; gone already after a contract)
--   DROP VIEW "AssistantConversation" (the compatibility view; gone already after a contract)
--   DROP VIEW "AssistantMessage" (the compatibility view; gone already after a contract)
--   DELETE FROM "chat_sessions" the rows merged from "chat_sessions_temp"
--   DELETE FROM "chat_messages" the rows merged from "chat_messages_temp"
--
-- Everything below is one transaction: it applies whole or not at all. Run it as is with
--   psql -v ON_ERROR_STOP=1 --single-transaction -f rollback.sql
-- It refuses to run unless the migration is applied, and fails unless the schema afterwards
-- is exactly what it was before the migration (same fingerprint).
--
--   "users" -> "User"
--   "chat_messages_temp" -> "AssistantMessage"
--   "chat_folders" -> "AssistantFolder"
--   "chat_sessions_temp" -> "AssistantConversation"
--   "chat_sessions" -> "AssistantChatSession"
--   "chat_messages" -> "AssistantChatMessage"

-- Bound every lock wait. A DDL statement queued for its lock blocks every later query on that
-- table; after lock_timeout it gives up instead, and the whole transaction rolls back.
SET LOCAL lock_timeout = '5s';

-- Bound everything else too: no statement runs longer than this.
SET LOCAL statement_timeout = '5min';

-- ==== sql/run_lock.sql.j2
-- One pgrename run at a time on this database: wait (at most lock_timeout) for any other to end.
-- sql/analysis/run_lock_holder.sql names the session that holds it.
SELECT pg_advisory_xact_lock(1885827685, 1);

-- ==== rollback/verify/preflight.sql.j2
-- Preflight of the rollback. Nothing changes until every check has passed; it reads the
-- catalog only and takes no lock on any table.
DO $preflight$
DECLARE
    found text[];
BEGIN
    -- Outside a transaction block each statement would commit on its own, and a failure
    -- halfway would leave half the names restored.
    IF transaction_timestamp() = statement_timestamp() THEN
        RAISE EXCEPTION 'pgrename: not inside a transaction'
            USING ERRCODE = 'PGR03', HINT = 'Run the script with psql -v ON_ERROR_STOP=1 --single-transaction -f FILE.';
    END IF;

    -- Only an applied migration can be rolled back; what it renamed is recorded by OID.
    IF to_regclass('pgrename.history') IS NULL
       OR NOT EXISTS (SELECT FROM pgrename.history
                      WHERE migration = 'assistant_snake_case' AND status = 'applied') THEN
        RAISE EXCEPTION 'pgrename: migration % is not applied; nothing to roll back', 'assistant_snake_case'
            USING ERRCODE = 'PGR03';
    END IF;

    -- Renaming back needs what renaming did: ownership of each table and sequence, and CREATE
    -- on their schemas.
    SELECT array_agg(format('%s %I is owned by %I; %I is not a member of that role',
                            r.kind, c.relname, pg_get_userbyid(c.relowner), current_user) ORDER BY r.ordinal)
    INTO found
    FROM pgrename.renamed_object AS r JOIN pg_class AS c ON c.oid = r.object_oid
    WHERE r.migration = 'assistant_snake_case' AND r.kind IN ('table', 'sequence')
      AND NOT pg_has_role(current_user, c.relowner, 'USAGE');
    SELECT coalesce(found, '{}') || array_agg(DISTINCT format('%I has no CREATE privilege on schema %I',
                                                              current_user, object_schema))
    INTO found FROM pgrename.renamed_object
    WHERE migration = 'assistant_snake_case'
      AND NOT has_schema_privilege(current_user, to_regnamespace(quote_ident(object_schema)), 'CREATE');
    IF cardinality(found) > 0 THEN
        RAISE EXCEPTION 'pgrename preflight failed: % problem(s)', cardinality(found)
            USING ERRCODE = 'PGR01', DETAIL = array_to_string(found, E'\n');
    END IF;
    RAISE NOTICE 'check passed: % owns every object to rename back and may create in its schema', current_user;
END
$preflight$;

-- The database must still be exactly what the migration left: every object under its new
-- name with its recorded OID, and every original name free to take back.
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

-- ==== rollback/lock_tables.sql.j2
-- Take every table's lock now, in one statement, before anything changes; bounded below
-- deadlock_timeout, so that a client waiting for the rollback is never the one that fails.
SELECT set_config('lock_timeout',
                  least(5000, extract(epoch FROM current_setting('deadlock_timeout')::interval) * 900)::bigint || 'ms',
                  TRUE);
LOCK TABLE "public"."users", "public"."chat_messages_temp", "public"."chat_folders", "public"."chat_sessions_temp", "public"."chat_sessions", "public"."chat_messages" IN ACCESS EXCLUSIVE MODE;

-- Held until the commit; the remaining statements wait at most lock_timeout for anything else.
SET LOCAL lock_timeout = '5s';

-- ==== rollback/audit/rollback_start.sql.j2
-- Record the start of the rollback. This row is part of the transaction; a failure is
-- recorded apart by the runner.
INSERT INTO pgrename.audit (event, migration, sql_checksum, details)
SELECT 'rollback_start', 'assistant_snake_case', current_setting('pgrename.script_sha256'),
       jsonb_build_object('schema', 'public', 'schemas', jsonb_agg(DISTINCT table_schema) FILTER (WHERE kind = 'table'),
                          'objects', count(*))
FROM pgrename.renamed_object
WHERE migration = 'assistant_snake_case';

-- ==== rollback/100_compatibility_views.sql.j2
-- Drop the compatibility views, so the tables can take their old names back. IF EXISTS: after
-- `make contract` they are gone already.
-- squawk-ignore ban-drop-view
DROP VIEW IF EXISTS "public"."AssistantMessage";
-- squawk-ignore ban-drop-view
DROP VIEW IF EXISTS "public"."AssistantConversation";
-- squawk-ignore ban-drop-view
DROP VIEW IF EXISTS "public"."AssistantChatMessage";
-- squawk-ignore ban-drop-view
DROP VIEW IF EXISTS "public"."AssistantChatSession";
-- squawk-ignore ban-drop-view
DROP VIEW IF EXISTS "public"."AssistantFolder";
-- squawk-ignore ban-drop-view
DROP VIEW IF EXISTS "public"."User";

-- ==== rollback/090_merge_rows.sql.j2
-- Undo the merges, last first: delete exactly the rows each merge inserted, and put back the
-- rows it overwrote as they were. The legacy tables they came from were never changed. (Rows
-- recorded before pgrename's schema version 3 name no legacy table: the only merge into theirs.)

DELETE FROM "public"."chat_messages" AS t
USING pgrename.merged_row AS m, jsonb_populate_record(NULL::"public"."chat_messages", m.row_key) AS k
WHERE m.migration = 'assistant_snake_case' AND m.into_table = 'chat_messages'
  AND coalesce(m.merged_from, 'chat_messages_temp') = 'chat_messages_temp' AND m.action = 'inserted'
  AND t."id" = k."id";

DELETE FROM "public"."chat_sessions" AS t
USING pgrename.merged_row AS m, jsonb_populate_record(NULL::"public"."chat_sessions", m.row_key) AS k
WHERE m.migration = 'assistant_snake_case' AND m.into_table = 'chat_sessions'
  AND coalesce(m.merged_from, 'chat_sessions_temp') = 'chat_sessions_temp' AND m.action = 'inserted'
  AND t."id" = k."id";

-- ==== rollback/080_add_columns.sql.j2
-- Drop the columns the migration added, and their foreign keys. Whatever was written into them
-- since goes too: first say, per column, how many rows hold something other than its default.
DO $added_data$
DECLARE
    rows_with_data bigint[];
BEGIN
    -- One read of "chat_folders" for all its added columns.
    SELECT ARRAY[
        count(*) FILTER (WHERE "description" IS DISTINCT FROM NULL),
        count(*) FILTER (WHERE "color" IS DISTINCT FROM NULL),
        count(*) FILTER (WHERE "isDefault" IS DISTINCT FROM false),
        count(*) FILTER (WHERE "sessionCount" IS DISTINCT FROM 0)
    ]
    INTO rows_with_data
    FROM "public"."chat_folders";
    FOR i IN 1 .. cardinality(rows_with_data) LOOP
        IF rows_with_data[i] > 0 THEN
            RAISE WARNING 'column %.% holds other than its default in % row(s); it is dropped with them',
                'chat_folders', (ARRAY['description', 'color', 'isDefault', 'sessionCount'])[i], rows_with_data[i];
        END IF;
    END LOOP;
    -- One read of "chat_sessions" for all its added columns.
    SELECT ARRAY[
        count(*) FILTER (WHERE "folderId" IS DISTINCT FROM NULL),
        count(*) FILTER (WHERE "isActive" IS DISTINCT FROM true)
    ]
    INTO rows_with_data
    FROM "public"."chat_sessions";
    FOR i IN 1 .. cardinality(rows_with_data) LOOP
        IF rows_with_data[i] > 0 THEN
            RAISE WARNING 'column %.% holds other than its default in % row(s); it is dropped with them',
                'chat_sessions', (ARRAY['folderId', 'isActive'])[i], rows_with_data[i];
        END IF;
    END LOOP;
    -- One read of "users" for all its added columns.
    SELECT ARRAY[
        count(*) FILTER (WHERE "role" IS DISTINCT FROM 'USER'),
        count(*) FILTER (WHERE "emailVerified" IS DISTINCT FROM false)
    ]
    INTO rows_with_data
    FROM "public"."users";
    FOR i IN 1 .. cardinality(rows_with_data) LOOP
        IF rows_with_data[i] > 0 THEN
            RAISE WARNING 'column %.% holds other than its default in % row(s); it is dropped with them',
                'users', (ARRAY['role', 'emailVerified'])[i], rows_with_data[i];
        END IF;
    END LOOP;
END
$added_data$;

-- Squawk rightly warns about drops; these remove only what this migration added.
-- squawk-ignore ban-drop-constraint
ALTER TABLE "public"."chat_sessions" DROP CONSTRAINT "chat_sessions_folderId_fkey";
-- squawk-ignore ban-drop-column
ALTER TABLE "public"."chat_sessions" DROP COLUMN "isActive";
-- squawk-ignore ban-drop-column
ALTER TABLE "public"."chat_sessions" DROP COLUMN "folderId";
-- squawk-ignore ban-drop-column
ALTER TABLE "public"."chat_folders" DROP COLUMN "sessionCount";
-- squawk-ignore ban-drop-column
ALTER TABLE "public"."chat_folders" DROP COLUMN "isDefault";
-- squawk-ignore ban-drop-column
ALTER TABLE "public"."chat_folders" DROP COLUMN "color";
-- squawk-ignore ban-drop-column
ALTER TABLE "public"."chat_folders" DROP COLUMN "description";
-- squawk-ignore ban-drop-column
ALTER TABLE "public"."users" DROP COLUMN "emailVerified";
-- squawk-ignore ban-drop-column
ALTER TABLE "public"."users" DROP COLUMN "role";

-- ==== rollback/070_rename_columns.sql.j2
-- Give the columns their names back.
ALTER TABLE "public"."chat_sessions" RENAME COLUMN "lastMessageAt" TO "lastActiveAt";
ALTER TABLE "public"."chat_sessions" RENAME COLUMN "title" TO "sessionName";

-- ==== rollback/060_create_types.sql.j2
-- Drop the enum types the migration created (their columns are gone by now). No CASCADE:
-- if anything else came to use a type since, this fails and nothing is rolled back.
-- squawk-ignore ban-drop-type
DROP TYPE "public"."UserRole";

-- ==== rollback/050_rename_triggers.sql.j2
-- Give the triggers their names back.
ALTER TRIGGER "chat_sessions_set_updated_at" ON "public"."chat_sessions" RENAME TO "AssistantChatSession_set_updated_at";

-- ==== rollback/040_rename_sequences.sql.j2
-- Give the sequences their names back; their current values are untouched.
ALTER SEQUENCE "public"."chat_messages_temp_id_seq" RENAME TO "AssistantMessage_id_seq";

-- ==== rollback/030_rename_indexes.sql.j2
-- Give the indexes their names back.
ALTER INDEX "public"."users_username_key" RENAME TO "User_username_key";
ALTER INDEX "public"."users_email_key" RENAME TO "User_email_key";
ALTER INDEX "public"."chat_messages_temp_conversationId_idx" RENAME TO "AssistantMessage_conversationId_idx";
ALTER INDEX "public"."chat_folders_userId_idx" RENAME TO "AssistantFolder_userId_idx";
ALTER INDEX "public"."chat_sessions_userId_idx" RENAME TO "AssistantChatSession_userId_idx";
ALTER INDEX "public"."chat_messages_sessionId_idx" RENAME TO "AssistantChatMessage_sessionId_idx";

-- ==== rollback/020_rename_constraints.sql.j2
-- Give the constraints (and the indexes behind primary keys and unique constraints) their names back.
ALTER TABLE "public"."users" RENAME CONSTRAINT "users_pkey" TO "User_pkey";
ALTER TABLE "public"."users" RENAME CONSTRAINT "users_email_check" TO "User_email_check";
ALTER TABLE "public"."chat_messages_temp" RENAME CONSTRAINT "chat_messages_temp_pkey" TO "AssistantMessage_pkey";
ALTER TABLE "public"."chat_messages_temp" RENAME CONSTRAINT "chat_messages_temp_conversationId_fkey" TO "AssistantMessage_conversationId_fkey";
ALTER TABLE "public"."chat_folders" RENAME CONSTRAINT "chat_folders_userId_fkey" TO "AssistantFolder_userId_fkey";
ALTER TABLE "public"."chat_folders" RENAME CONSTRAINT "chat_folders_pkey" TO "AssistantFolder_pkey";
ALTER TABLE "public"."chat_sessions_temp" RENAME CONSTRAINT "chat_sessions_temp_userId_fkey" TO "AssistantConversation_userId_fkey";
ALTER TABLE "public"."chat_sessions_temp" RENAME CONSTRAINT "chat_sessions_temp_pkey" TO "AssistantConversation_pkey";
ALTER TABLE "public"."chat_sessions" RENAME CONSTRAINT "chat_sessions_userId_fkey" TO "AssistantChatSession_userId_fkey";
ALTER TABLE "public"."chat_sessions" RENAME CONSTRAINT "chat_sessions_pkey" TO "AssistantChatSession_pkey";
ALTER TABLE "public"."chat_messages" RENAME CONSTRAINT "chat_messages_sessionId_fkey" TO "AssistantChatMessage_sessionId_fkey";
ALTER TABLE "public"."chat_messages" RENAME CONSTRAINT "chat_messages_role_check" TO "AssistantChatMessage_role_check";
ALTER TABLE "public"."chat_messages" RENAME CONSTRAINT "chat_messages_pkey" TO "AssistantChatMessage_pkey";

-- ==== rollback/010_rename_tables.sql.j2
-- Give the tables their names back, last renamed first (so that a chain unwinds in order).
-- Catalog-only, like the rename itself.
ALTER TABLE "public"."users" RENAME TO "User";
ALTER TABLE "public"."chat_messages_temp" RENAME TO "AssistantMessage";
ALTER TABLE "public"."chat_folders" RENAME TO "AssistantFolder";
ALTER TABLE "public"."chat_sessions_temp" RENAME TO "AssistantConversation";
ALTER TABLE "public"."chat_sessions" RENAME TO "AssistantChatSession";
ALTER TABLE "public"."chat_messages" RENAME TO "AssistantChatMessage";

-- ==== rollback/verify/postcheck.sql.j2
-- Verification after the rollback, from the OIDs recorded before them: any failure raises,
-- and the whole transaction rolls back.
DO $postcheck$
DECLARE
    problems text[] := '{}';
    found text[];
    fk_before integer;
    fk_now integer;
BEGIN
    -- Each object, found by its recorded OID, carries its original name. Same OID: the same
    -- object with the same rows, proven in constant time whatever the table's size.
    WITH recorded AS (
        SELECT r.ordinal, r.kind, r.object_oid, r.object_name AS expected_name,
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
    RAISE NOTICE 'check %: every object has its original name and its old OID',
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
        SELECT r.ordinal, format('relation %I.%I', r.object_schema, r.target_name) AS what
        FROM moved AS r
        JOIN pg_namespace AS n ON n.nspname = r.object_schema
        JOIN pg_class AS c ON c.relnamespace = n.oid AND c.relname = r.target_name
        WHERE r.kind IN ('index', 'sequence', 'table', 'constraint')
          AND c.oid NOT IN (SELECT oid FROM ours WHERE oid IS NOT NULL)
        UNION ALL
        -- Named per table: the object of that kind holding the name on the same table.
        SELECT r.ordinal, format('%s %I on %s', r.kind, r.target_name, r.table_oid::regclass)
        FROM moved AS r
        CROSS JOIN LATERAL (
            SELECT CASE r.kind
                WHEN 'table' THEN r.table_oid
                WHEN 'constraint' THEN (SELECT oid FROM pg_constraint WHERE conrelid = r.table_oid AND conname = r.target_name)
                WHEN 'index' THEN to_regclass(format('%I.%I', r.object_schema, r.target_name))::oid
                WHEN 'sequence' THEN to_regclass(format('%I.%I', r.object_schema, r.target_name))::oid
                WHEN 'trigger' THEN (SELECT oid FROM pg_trigger WHERE tgrelid = r.table_oid AND tgname = r.target_name)
                WHEN 'column' THEN r.table_oid
            END AS oid
        ) AS holder
        WHERE r.kind IN ('constraint', 'trigger')
          AND holder.oid IS NOT NULL AND holder.oid NOT IN (SELECT oid FROM ours WHERE oid IS NOT NULL)
    )
    SELECT array_agg(format('%s still exists', what) ORDER BY ordinal) INTO found FROM leftover;
    problems := problems || coalesce(found, '{}');
    RAISE NOTICE 'check %: no new name remains', CASE WHEN found IS NULL THEN 'passed' ELSE 'FAILED' END;

    -- What the migration added exists; after a rollback, none of it does.
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
false AS expected
        FROM pgrename.added_object AS a
        JOIN pgrename.history AS h USING (migration)
        WHERE a.migration = 'assistant_snake_case' AND a.kind <> 'merge'
    )
    SELECT array_agg(format('%s %I %s', kind, object_name, CASE WHEN present THEN 'still exists' ELSE 'is missing' END)
                     ORDER BY ordinal)
    INTO found FROM added WHERE present <> expected;
    problems := problems || coalesce(found, '{}');
    RAISE NOTICE 'check %: nothing the migration added remains',
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

-- What the migration touched is what it was before: its tables and what hangs on them (columns,
-- constraints, foreign keys into them, indexes, sequences, triggers, views over them) hash the
-- same. A change elsewhere in the database since is reported, not refused: production databases
-- change between a migrate and its rollback. (A migration recorded before pgrename's schema
-- version 4 has only the whole schema's fingerprint: that stays its proof.)
DO $fingerprint$
DECLARE
    recorded record;
    tables_now text := pgrename.tables_fingerprint(ARRAY(SELECT table_oid FROM pgrename.renamed_object
                                                         WHERE migration = 'assistant_snake_case' AND kind = 'table'));
    whole_now text := pgrename.schema_fingerprint();
BEGIN
    SELECT fingerprint_before, tables_fingerprint_before INTO recorded
    FROM pgrename.history WHERE migration = 'assistant_snake_case';
    IF recorded.tables_fingerprint_before IS NULL THEN
        IF recorded.fingerprint_before IS DISTINCT FROM whole_now THEN
            RAISE EXCEPTION 'pgrename verification failed: the schema fingerprint is % but was % before the migration',
                whole_now, recorded.fingerprint_before
                USING ERRCODE = 'PGR02', HINT = 'Something besides the migration changed the schema; compare pg_dump --schema-only with your last dump.';
        END IF;
        RAISE NOTICE 'check passed: schema fingerprint equals the one recorded before the migration (%)', whole_now;
        RETURN;
    END IF;
    IF recorded.tables_fingerprint_before IS DISTINCT FROM tables_now THEN
        RAISE EXCEPTION 'pgrename verification failed: the schema fingerprint is % but was % before the migration, for its tables and what depends on them',
            tables_now, recorded.tables_fingerprint_before
            USING ERRCODE = 'PGR02',
                  HINT = 'Something besides the migration changed these tables or what depends on them (a column, a constraint, an index, a view over them); compare pg_dump --schema-only --table of each with your last dump.';
    END IF;
    RAISE NOTICE 'check passed: schema fingerprint equals the one recorded before the migration, for its tables and what depends on them (%)', tables_now;
    IF recorded.fingerprint_before IS DISTINCT FROM whole_now THEN
        RAISE WARNING 'the schema changed elsewhere since the migration, in objects it did not touch; the rollback leaves that as it is (compare pg_dump --schema-only with your last dump to see what)';
    END IF;
END
$fingerprint$;

-- ==== rollback/audit/rollback_complete.sql.j2
-- Every check passed: the migration is rolled back. The renamed_object rows stay, as the
-- record of what was done and undone.
UPDATE pgrename.history
SET status = 'rolled_back', rolled_back_at = now(), rolled_back_by = CURRENT_USER
WHERE migration = 'assistant_snake_case';

INSERT INTO pgrename.audit (event, migration, sql_checksum, details)
SELECT 'rollback_complete', 'assistant_snake_case', current_setting('pgrename.script_sha256'),
       jsonb_build_object('restored', jsonb_object_agg(kind, n))
FROM (SELECT kind, count(*) AS n FROM pgrename.renamed_object
      WHERE migration = 'assistant_snake_case' GROUP BY kind) AS restored;
