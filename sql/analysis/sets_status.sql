-- Every migration of a migration set, its file against its history, in one pass:
--   applied, baselined     recorded, and the file is the one recorded
--   edited                 recorded, but the file's checksum is not the one applied
--   changed                a repeatable migration whose file changed since it ran: to run again
--   missing                recorded as applied, no file
--   failed                 a no-transaction migration stopped half way (sets-repair clears it)
--   pending                to run
--   out_of_order           to run, but numbered below an applied one
--   manual                 to run only when named (ONLY=NNN)
-- A rolled-back migration is pending again.
--
-- The files come as JSON in pgrename.set_files (the runner lists the directory). Reads
-- pgrename.set_migration (pgrename's own schema, version 6: make schema-upgrade). Runs as is in psql:
--   SET pgrename.set_files = '[{"number": 19, "name": "019_tags.sql", "package": "B",
--                              "kind": "sql", "source_sha256": "...", "manual": false, "repeatable": false}]';
--   \i sql/analysis/sets_status.sql
WITH file AS (
    SELECT *
    FROM jsonb_to_recordset(coalesce(nullif(current_setting('pgrename.set_files', true), ''), '[]')::jsonb)
         AS f (number integer, name text, package text, kind text, source_sha256 text, manual boolean,
               repeatable boolean)
),
recorded AS (
    SELECT * FROM pgrename.set_migration WHERE status <> 'rolled_back'
),
highest AS (
    SELECT max(number) AS applied FROM recorded WHERE status IN ('applied', 'baselined')
)
SELECT coalesce(f.number, r.number) AS number, coalesce(f.name, r.name) AS name,
       coalesce(f.package, r.package) AS package, coalesce(f.kind, r.kind) AS kind,
       CASE WHEN f.number IS NULL THEN CASE WHEN r.status = 'failed' THEN 'failed' ELSE 'missing' END
            WHEN r.status = 'failed' THEN 'failed'
            WHEN r.number IS NOT NULL AND r.source_sha256 <> f.source_sha256
            THEN CASE WHEN f.repeatable THEN 'changed' ELSE 'edited' END
            WHEN r.number IS NOT NULL THEN r.status
            WHEN f.manual THEN 'manual'
            WHEN f.number < h.applied THEN 'out_of_order'
            ELSE 'pending'
       END AS state,
       r.applied_at, r.applied_by, r.source_sha256 AS recorded_sha256, f.source_sha256 AS file_sha256, r.out_of_order
FROM file AS f
FULL JOIN recorded AS r ON r.number = f.number
CROSS JOIN highest AS h
ORDER BY 1;
