-- pgrename's own schema, version 9: a merge copied before migrate's locks (make merge-prepare).
-- Batches, each its own short transaction, copy the legacy rows into the table they merge into
-- while clients work on; a trigger on the legacy table records every change meanwhile; migrate
-- then applies only those changes inside its lock, so the lock window no longer grows with the
-- legacy tables. These tables hold the copy's progress, its rows and the changes since.
--
-- The runner applies what is pending (make schema-upgrade, or any command that writes). By hand:
--   psql -v ON_ERROR_STOP=1 --single-transaction -f sql/install/009_merges_prepared.sql

-- Each script runs once, after the one before it.
SELECT pgrename.upgrade_from(8);

CREATE TABLE pgrename.merge_progress (
    migration text NOT NULL,
    merged_from text NOT NULL,
    into_table text NOT NULL,
    capture_function text NOT NULL,
    pages_per_batch integer NOT NULL,
    next_page bigint NOT NULL DEFAULT 0,
    rows_read bigint NOT NULL DEFAULT 0,
    rows_copied bigint NOT NULL DEFAULT 0,
    batches integer NOT NULL DEFAULT 0,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    PRIMARY KEY (migration, merged_from)
);

COMMENT ON TABLE pgrename.merge_progress IS
    'each merge copied ahead of its migration by make merge-prepare: how far the batches got';
COMMENT ON COLUMN pgrename.merge_progress.migration IS 'the migration whose merge this is';
COMMENT ON COLUMN pgrename.merge_progress.merged_from IS 'the legacy table, by its name after the migration (as in merged_row)';
COMMENT ON COLUMN pgrename.merge_progress.into_table IS 'the table its rows go into, by its name after the migration';
COMMENT ON COLUMN pgrename.merge_progress.capture_function IS
    'the trigger function (in schema pgrename) that records changes to the legacy table until migrate';
COMMENT ON COLUMN pgrename.merge_progress.pages_per_batch IS
    'how many of the legacy table''s pages a batch reads (by ctid range: no key needed, no sort)';
COMMENT ON COLUMN pgrename.merge_progress.next_page IS
    'the first page the next batch reads; a row that moves or arrives meanwhile is caught by the trigger';
COMMENT ON COLUMN pgrename.merge_progress.rows_read IS 'legacy rows read by the batches';
COMMENT ON COLUMN pgrename.merge_progress.rows_copied IS 'rows the batches inserted (a key the table had already is left as it was)';
COMMENT ON COLUMN pgrename.merge_progress.batches IS 'batches committed';
COMMENT ON COLUMN pgrename.merge_progress.started_at IS 'when the capture trigger was installed, before the first batch';
COMMENT ON COLUMN pgrename.merge_progress.finished_at IS 'when the last batch found no more rows (NULL: not yet)';

CREATE TABLE pgrename.merge_prepared_row (
    migration text NOT NULL,
    merged_from text NOT NULL,
    row_key jsonb NOT NULL,
    PRIMARY KEY (migration, merged_from, row_key)
);

COMMENT ON TABLE pgrename.merge_prepared_row IS
    'each row a merge-prepare batch inserted, by its key: rollback (or cancelling the preparation) deletes exactly these';
COMMENT ON COLUMN pgrename.merge_prepared_row.migration IS 'the migration whose merge inserted it';
COMMENT ON COLUMN pgrename.merge_prepared_row.merged_from IS 'the legacy table it came from, by its name after the migration';
COMMENT ON COLUMN pgrename.merge_prepared_row.row_key IS 'its key in the table it went into, as JSON (column: value)';

CREATE TABLE pgrename.merge_change (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    migration text NOT NULL,
    merged_from text NOT NULL,
    row_key jsonb NOT NULL,
    legacy_row jsonb
);

COMMENT ON TABLE pgrename.merge_change IS
    'each change to a legacy table after its merge was prepared, recorded by the capture trigger; migrate applies them in its lock';
COMMENT ON COLUMN pgrename.merge_change.id IS 'the order of the changes: the last one per key is what the key holds now';
COMMENT ON COLUMN pgrename.merge_change.migration IS 'the migration whose merge reads the legacy table';
COMMENT ON COLUMN pgrename.merge_change.merged_from IS 'the legacy table, by its name after the migration';
COMMENT ON COLUMN pgrename.merge_change.row_key IS 'the key the legacy row gives in the table it merges into (the merge''s key expressions)';
COMMENT ON COLUMN pgrename.merge_change.legacy_row IS 'the legacy row as it is now, as JSON; NULL: no legacy row gives this key any more';

INSERT INTO pgrename.audit_event (event, description) VALUES
    ('merge_prepared', 'make merge-prepare copied legacy rows ahead of the migration; details: rows and batches per merge'),
    ('merge_prepare_cancelled', 'make merge-prepare UNDO=1 removed the rows copied ahead and the capture triggers'),
    ('merge_prepare_failed', 'make merge-prepare (or its UNDO) failed; the batches committed before stay, nothing else changed');

INSERT INTO pgrename.schema_version (version, script) VALUES (9, 'sql/install/009_merges_prepared.sql');
