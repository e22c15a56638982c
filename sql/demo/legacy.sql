-- The legacy database of the reference scenario, as Prisma created it: PascalCase tables and
-- every dependent object named after its table ("User_pkey", "User_email_key",
-- "AssistantChatSession_userId_fkey", "AssistantMessage_id_seq", ...).
-- Rows are generated, deterministic: loading it twice gives the same database.
--
--   psql -v ON_ERROR_STOP=1 -d DB -f sql/demo/legacy.sql

-- Keeps "updatedAt" current; refers only to NEW, so it survives any table rename.
CREATE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW."updatedAt" := CURRENT_TIMESTAMP;
    RETURN NEW;
END
$$;

CREATE TABLE "User" (
    "id" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "username" TEXT,
    "firstName" TEXT,
    "lastName" TEXT,
    "isActive" BOOLEAN NOT NULL DEFAULT true,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "User_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "User_email_check" CHECK (position('@' IN "email") > 1)
);
CREATE UNIQUE INDEX "User_email_key" ON "User"("email");
CREATE UNIQUE INDEX "User_username_key" ON "User"("username");

CREATE TABLE "AssistantFolder" (
    "id" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "AssistantFolder_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "AssistantFolder_userId_idx" ON "AssistantFolder"("userId");

CREATE TABLE "AssistantChatSession" (
    "id" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "sessionName" TEXT NOT NULL,
    "lastActiveAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "AssistantChatSession_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "AssistantChatSession_userId_idx" ON "AssistantChatSession"("userId");
-- Hand-made by a DBA, not after Prisma's pattern: a rename leaves it alone and reports it.
CREATE INDEX "idx_recent_sessions" ON "AssistantChatSession"("userId", "lastActiveAt" DESC);
CREATE TRIGGER "AssistantChatSession_set_updated_at" BEFORE UPDATE ON "AssistantChatSession"
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE "AssistantChatMessage" (
    "id" TEXT NOT NULL,
    "sessionId" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "content" TEXT NOT NULL,
    "metadata" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "AssistantChatMessage_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "AssistantChatMessage_role_check" CHECK ("role" IN ('user', 'assistant', 'system'))
);
CREATE INDEX "AssistantChatMessage_sessionId_idx" ON "AssistantChatMessage"("sessionId");

-- Legacy chat tables, to be merged into the new ones later.
CREATE TABLE "AssistantConversation" (
    "id" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "AssistantConversation_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "AssistantMessage" (
    "id" SERIAL NOT NULL,
    "conversationId" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "content" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "AssistantMessage_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "AssistantMessage_conversationId_idx" ON "AssistantMessage"("conversationId");

CREATE TABLE "AuditLog" (
    "id" SERIAL NOT NULL,
    "userId" TEXT,
    "action" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "AuditLog_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "AuditLog_userId_createdAt_idx" ON "AuditLog"("userId", "createdAt");

ALTER TABLE "AssistantFolder" ADD CONSTRAINT "AssistantFolder_userId_fkey"
    FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "AssistantChatSession" ADD CONSTRAINT "AssistantChatSession_userId_fkey"
    FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "AssistantChatMessage" ADD CONSTRAINT "AssistantChatMessage_sessionId_fkey"
    FOREIGN KEY ("sessionId") REFERENCES "AssistantChatSession"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "AssistantConversation" ADD CONSTRAINT "AssistantConversation_userId_fkey"
    FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "AssistantMessage" ADD CONSTRAINT "AssistantMessage_conversationId_fkey"
    FOREIGN KEY ("conversationId") REFERENCES "AssistantConversation"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "AuditLog" ADD CONSTRAINT "AuditLog_userId_fkey"
    FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- Rows: deterministic functions of the row number, realistic in shape.
INSERT INTO "User" ("id", "email", "username", "firstName", "lastName", "isActive", "createdAt", "updatedAt")
SELECT 'usr_' || lpad(i::text, 6, '0'),
       'user' || i || '@example.com',
       CASE WHEN i % 10 <> 0 THEN 'user' || i END,
       (ARRAY['Ada', 'Grace', 'Linus', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken'])[1 + i % 8],
       (ARRAY['Lovelace', 'Hopper', 'Torvalds', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Thompson'])[1 + i % 8],
       i % 17 <> 0,
       TIMESTAMP '2023-01-01' + i * INTERVAL '90 minutes',
       TIMESTAMP '2023-01-01' + i * INTERVAL '90 minutes'
FROM generate_series(1, 5000) AS i;

INSERT INTO "AssistantFolder" ("id", "userId", "name", "createdAt")
SELECT 'fld_' || lpad(i::text, 6, '0'),
       'usr_' || lpad((1 + (i - 1) / 2)::text, 6, '0'),
       (ARRAY['Work', 'Personal', 'Research', 'Drafts'])[1 + i % 4],
       TIMESTAMP '2024-01-01' + i * INTERVAL '1 hour'
FROM generate_series(1, 4000) AS i;

INSERT INTO "AssistantChatSession" ("id", "userId", "sessionName", "lastActiveAt", "createdAt", "updatedAt")
SELECT 'ses_' || lpad(i::text, 6, '0'),
       'usr_' || lpad((1 + (i * 7) % 5000)::text, 6, '0'),
       'Chat about ' || (ARRAY['SQL', 'Postgres', 'indexes', 'migrations', 'locks'])[1 + i % 5] || ' #' || i,
       CASE WHEN i % 9 <> 0 THEN TIMESTAMP '2024-06-01' + i * INTERVAL '7 minutes' END,
       TIMESTAMP '2024-05-01' + i * INTERVAL '5 minutes',
       TIMESTAMP '2024-05-01' + i * INTERVAL '5 minutes'
FROM generate_series(1, 10000) AS i;

INSERT INTO "AssistantChatMessage" ("id", "sessionId", "role", "content", "metadata", "createdAt")
SELECT 'msg_' || lpad(i::text, 6, '0'),
       'ses_' || lpad((1 + (i - 1) / 4)::text, 6, '0'),
       (ARRAY['user', 'assistant'])[1 + i % 2],
       'Message ' || i || E': how do I rename a table\twithout downtime?',
       CASE WHEN i % 3 = 0 THEN jsonb_build_object('tokens', i % 500, 'model', 'demo-1') END,
       TIMESTAMP '2024-05-01' + i * INTERVAL '1 minute'
FROM generate_series(1, 40000) AS i;

INSERT INTO "AssistantConversation" ("id", "userId", "title", "createdAt")
SELECT 'cnv_' || lpad(i::text, 6, '0'),
       'usr_' || lpad((1 + (i * 11) % 5000)::text, 6, '0'),
       'Legacy conversation #' || i,
       TIMESTAMP '2022-01-01' + i * INTERVAL '3 hours'
FROM generate_series(1, 3000) AS i;

INSERT INTO "AssistantMessage" ("conversationId", "role", "content", "createdAt")
SELECT 'cnv_' || lpad((1 + (i - 1) / 4)::text, 6, '0'),
       (ARRAY['user', 'assistant'])[1 + i % 2],
       'Legacy message ' || i,
       TIMESTAMP '2022-01-01' + i * INTERVAL '40 minutes'
FROM generate_series(1, 12000) AS i;

INSERT INTO "AuditLog" ("userId", "action", "createdAt")
SELECT CASE WHEN i % 20 <> 0 THEN 'usr_' || lpad((1 + (i * 13) % 5000)::text, 6, '0') END,
       (ARRAY['login', 'logout', 'update_profile', 'export'])[1 + i % 4],
       TIMESTAMP '2024-01-01' + i * INTERVAL '10 minutes'
FROM generate_series(1, 5000) AS i;

-- A report the user-management service calls. Its body names "User" as text, which PostgreSQL
-- resolves each time the function runs: a rename breaks it, and analyze lists it.
CREATE FUNCTION active_user_count() RETURNS bigint LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT count(*) FROM "User" WHERE "isActive");
END
$$;

-- A view stores the tables it reads by OID: it follows a rename by itself.
CREATE VIEW active_users AS SELECT "id", "email", "username" FROM "User" WHERE "isActive";

-- The rest of the application: 50 tables that each reference "User", as Prisma would make them.
DO $$
DECLARE
    model text;
BEGIN
    FOREACH model IN ARRAY ARRAY[
        'Account', 'ApiKey', 'Address', 'Attachment', 'Badge', 'Bookmark', 'Comment',
        'Device', 'Draft', 'EmailLog', 'Export', 'Feedback', 'File', 'Follow', 'Goal',
        'Import', 'Invitation', 'Invoice', 'Label', 'Like', 'LoginEvent', 'Membership',
        'Mention', 'Note', 'Notification', 'OAuthToken', 'Order', 'PasswordReset',
        'Payment', 'Post', 'Preference', 'Profile', 'PushToken', 'Reaction', 'Referral',
        'Reminder', 'Report', 'Review', 'SavedSearch', 'Session', 'Setting', 'Share',
        'Subscription', 'SupportTicket', 'Tag', 'Task', 'TwoFactorSecret', 'Upload',
        'Vote', 'Webhook'
    ] LOOP
        EXECUTE format(
            'CREATE TABLE %1$I ("id" TEXT NOT NULL, "userId" TEXT NOT NULL, "data" TEXT,'
            ' "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,'
            ' CONSTRAINT %2$I PRIMARY KEY ("id"))',
            model, model || '_pkey');
        EXECUTE format('CREATE INDEX %I ON %I("userId")', model || '_userId_idx', model);
        EXECUTE format(
            'ALTER TABLE %1$I ADD CONSTRAINT %2$I FOREIGN KEY ("userId") REFERENCES "User"("id")'
            ' ON DELETE CASCADE ON UPDATE CASCADE',
            model, model || '_userId_fkey');
        EXECUTE format(
            'INSERT INTO %1$I ("id", "userId", "data", "createdAt")'
            ' SELECT %2$L || lpad(i::text, 6, ''0''), ''usr_'' || lpad((1 + (i * 37) %% 5000)::text, 6, ''0''),'
            ' %1$L || '' #'' || i, TIMESTAMP ''2024-01-01'' + i * INTERVAL ''1 hour'''
            ' FROM generate_series(1, 100) AS i',
            model, lower(model) || '_');
    END LOOP;
END
$$;

ANALYZE;
