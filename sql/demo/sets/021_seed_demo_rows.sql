-- pgrename: manual-only
-- Seeds demo rows: run by name only (make sets-migrate ONLY=021), never by a plain sets-migrate.
INSERT INTO locations (xmlid, name) VALUES ('loc.main_hall', 'Main hall'), ('loc.garden', 'Garden');
INSERT INTO projects (xmlid, name) VALUES ('prj.conference', 'Conference 2026');
INSERT INTO events (xmlid, title, starts_at, project_id, location_id)
SELECT 'evt.opening', 'Opening', '2026-12-01 09:00+00', p.id, l.id
FROM projects AS p, locations AS l
WHERE p.xmlid = 'prj.conference' AND l.xmlid = 'loc.main_hall';
