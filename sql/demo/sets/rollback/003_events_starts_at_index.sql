DROP INDEX events_starts_at_idx;
