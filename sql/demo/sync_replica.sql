-- make demo-sync: the replica has a row of its own and numbers its rows from 1000, so its ids
-- differ from the demo database's: the import must match rows by natural key, never by id.
INSERT INTO locations (xmlid, name) VALUES ('loc.replica', 'A room only the replica has');
SELECT setval(sequence_name, 1000)
FROM unnest(ARRAY['projects_id_seq', 'events_id_seq', 'event_participants_id_seq', 'posts_id_seq',
                  'tags_id_seq']) AS sequence_name;
