-- What the user-management service still sends after the migration: raw SQL with the old table
-- and column names. The compatibility views answer it. Everything here is rolled back.
--
--   psql -v ON_ERROR_STOP=1 -f sql/demo/old_client.sql
BEGIN;

SELECT id, email, "firstName" FROM "User" ORDER BY id LIMIT 3;

INSERT INTO "User" (id, email, "firstName") VALUES ('old_client_1', 'old.client@example.com', 'Old')
RETURNING id, email, "isActive";

UPDATE "AssistantChatSession" SET "sessionName" = 'Renamed through the old name'
WHERE id = 'ses_000001'
RETURNING id, "sessionName", "lastActiveAt";

-- The same row, as the new service sees it.
SELECT id, title, "lastMessageAt", "folderId", "isActive" FROM chat_sessions WHERE id = 'ses_000001';

DELETE FROM "User" WHERE id = 'old_client_1';

ROLLBACK;
