-- After a restore: every sequence owned by a restored table's column (serial or identity) moves
-- past the largest value restored, so the next insert does not collide with a restored row.
--
-- The restored tables come in pgrename.restored_tables, a JSON array of quoted names. In psql:
--   SET pgrename.restored_tables = '["public.\"User\"", "public.\"AuditLog\""]';
--   \i sql/restore/reset_sequences.sql
DO $reset_sequences$
DECLARE
    owned record;
    largest bigint;
BEGIN
    FOR owned IN
        SELECT d.objid::regclass AS sequence_name, d.refobjid::regclass AS table_name, a.attname AS column_name
        FROM pg_depend AS d
        JOIN pg_attribute AS a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
        WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
          AND d.deptype IN ('a', 'i')
          AND (SELECT relkind FROM pg_class WHERE oid = d.objid) = 'S'
          AND d.refobjid = ANY (SELECT to_regclass(t)
                                FROM jsonb_array_elements_text(current_setting('pgrename.restored_tables')::jsonb) AS t)
    LOOP
        EXECUTE format('SELECT max(%I) FROM %s', owned.column_name, owned.table_name) INTO largest;
        PERFORM setval(owned.sequence_name, coalesce(largest, 1), largest IS NOT NULL);
    END LOOP;
END
$reset_sequences$;
