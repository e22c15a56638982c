-- Raises if 019 did not do its work.
DO $verify$
BEGIN
    PERFORM status FROM events LIMIT 0;
    PERFORM event_xmlid FROM posts LIMIT 0;
END
$verify$;
