-- make demo-sync: the events with their ids and, by natural key, their project, location and
-- parent event. Run in both databases: the same rows by natural key, other ids.
--   psql "$(.venv/bin/python -m pgrename.embedded url --db pgrename_demo_replica)" -f sql/demo/sync_events.sql
SELECT e.id, e.xmlid, e.title, p.xmlid AS project, l.xmlid AS location, e.event_xmlid AS parent
FROM events AS e
LEFT JOIN projects AS p ON p.id = e.project_id
LEFT JOIN locations AS l ON l.id = e.location_id
ORDER BY e.xmlid;
