DELETE FROM events WHERE xmlid = 'evt.opening';
DELETE FROM locations WHERE xmlid IN ('loc.main_hall', 'loc.garden');
