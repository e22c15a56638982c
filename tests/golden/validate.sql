-- pgrename script, sha256 da17f917a56993fd7f8cf073d5af64e77f108f38b01d3f019421833716bfc525 of every line after these two (tail -n +3 FILE | sha256sum)
SELECT set_config('pgrename.script_sha256', 'da17f917a56993fd7f8cf073d5af64e77f108f38b01d3f019421833716bfc525', true);
-- ==== sql/verify/validate_foreign_keys.sql.j2
-- After the migration committed: validate the foreign keys it added NOT VALID. VALIDATE reads
-- the table under a SHARE UPDATE EXCLUSIVE lock, which blocks neither reads nor writes.
--   psql -v ON_ERROR_STOP=1 --single-transaction -f validate.sql
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '5min';
ALTER TABLE "public"."chat_sessions" VALIDATE CONSTRAINT "chat_sessions_folderId_fkey";
