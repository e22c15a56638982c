DELETE FROM post_tags;
DELETE FROM tags WHERE xmlid = 'tag.news';
DELETE FROM posts WHERE xmlid = 'post.welcome';
DELETE FROM participants WHERE xmlid IN ('par.ada', 'par.grace');
DELETE FROM events WHERE xmlid IN ('evt.keynote', 'evt.opening');
DELETE FROM projects WHERE xmlid = 'prj.conference';
DELETE FROM locations WHERE xmlid IN ('loc.main_hall', 'loc.garden');
