-- pgrename: manual-only
-- Seeds demo rows (make demo-sync exports them): run by name only (make sets-migrate ONLY=021), never by a plain sets-migrate.
INSERT INTO locations (xmlid, name) VALUES ('loc.main_hall', 'Main hall'), ('loc.garden', 'Garden');
INSERT INTO projects (xmlid, name) VALUES ('prj.conference', 'Conference 2026');
INSERT INTO events (xmlid, title, starts_at, project_id, location_id)
SELECT 'evt.opening', 'Opening', '2026-12-01 09:00+00', p.id, l.id
FROM projects AS p, locations AS l
WHERE p.xmlid = 'prj.conference' AND l.xmlid = 'loc.main_hall';
INSERT INTO events (xmlid, title, starts_at, project_id, location_id, event_xmlid)
SELECT 'evt.keynote', 'Keynote', '2026-12-01 10:00+00', p.id, l.id, 'evt.opening'
FROM projects AS p, locations AS l
WHERE p.xmlid = 'prj.conference' AND l.xmlid = 'loc.garden';
INSERT INTO participants (xmlid, event_id, name)
SELECT 'par.' || lower(name), e.id, name FROM events AS e, unnest(ARRAY['Ada', 'Grace']) AS name
WHERE e.xmlid = 'evt.keynote';
INSERT INTO posts (xmlid, event_xmlid, body) VALUES ('post.welcome', 'evt.opening', 'Welcome, everyone');
INSERT INTO tags (xmlid, label) VALUES ('tag.news', 'News');
INSERT INTO post_tags (post_id, tag_id)
SELECT p.id, t.id FROM posts AS p, tags AS t WHERE p.xmlid = 'post.welcome' AND t.xmlid = 'tag.news';
