-- pgrename: no-transaction
-- Package A (setup): events by date. CREATE INDEX CONCURRENTLY builds it without blocking writes,
-- and cannot run inside a transaction: this migration runs alone.
CREATE INDEX CONCURRENTLY events_starts_at_idx ON events (starts_at);
