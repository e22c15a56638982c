-- pgrename: manual-only
-- Seeds demo rows: run by name only (make sets-migrate ONLY=021), never by a plain sets-migrate.
INSERT INTO locations (xmlid, name) VALUES ('loc.main_hall', 'Main hall'), ('loc.garden', 'Garden');
INSERT INTO events (xmlid, title, starts_at, location_id)
SELECT 'evt.opening', 'Opening', '2026-12-01 09:00+00', id FROM locations WHERE xmlid = 'loc.main_hall';
