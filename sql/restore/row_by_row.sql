-- For a restore that continues past bad rows (--continue-on-error): when a table's one-statement
-- load fails, its staged rows are tried again one at a time, each in its own subtransaction, and
-- every row that fails is kept with its error instead of stopping the restore. Only a table whose
-- load failed pays for this; the others load in one statement.
--
-- In psql, inside the restore's transaction:
--   \i sql/restore/row_by_row.sql
--   SELECT pg_temp.pgrename_row_by_row('public."Order"', 'pg_temp.pgrename_staging_7',
--          'INSERT INTO public."Order" SELECT * FROM pg_temp.pgrename_staging_7 AS s WHERE s.ctid = $1');
--   SELECT * FROM pgrename_restore_error;
CREATE TEMPORARY TABLE pgrename_restore_error (
    table_name text NOT NULL,
    row_data jsonb NOT NULL,
    sqlstate text NOT NULL,
    message text NOT NULL
) ON COMMIT DROP;

-- statement: the table's load statement for one staged row, its address ($1) given.
-- Returns how many rows failed.
CREATE FUNCTION pg_temp.pgrename_row_by_row(table_name text, staging regclass, statement text) RETURNS bigint
LANGUAGE plpgsql AS $row_by_row$
DECLARE
    staged record;
    failed bigint := 0;
BEGIN
    FOR staged IN EXECUTE format('SELECT s.ctid AS row_ctid, to_jsonb(s) AS row_data FROM %s AS s ORDER BY s.ctid',
                                 staging)
    LOOP
        BEGIN
            EXECUTE statement USING staged.row_ctid;
        EXCEPTION WHEN OTHERS THEN
            INSERT INTO pgrename_restore_error VALUES (table_name, staged.row_data, SQLSTATE, SQLERRM);
            failed := failed + 1;
        END;
    END LOOP;
    RETURN failed;
END
$row_by_row$;
