DELETE FROM events WHERE xmlid = 'evt.opening';
DELETE FROM projects WHERE xmlid = 'prj.conference';
DELETE FROM locations WHERE xmlid IN ('loc.main_hall', 'loc.garden');
