-- Which session is running pgrename against this database now: the holder of pgrename's run lock
-- (advisory lock 1885827685, 1), which every command that writes takes first, and every script
-- of build/ takes for its transaction. No row: nobody.
--
-- Runs as is in psql:
--   \i sql/analysis/run_lock_holder.sql
SELECT a.pid, a.usename AS user_name, a.application_name, a.client_addr::text AS client_addr,
       a.backend_start, a.xact_start, a.state, left(a.query, 200) AS last_query
FROM pg_locks AS l
JOIN pg_stat_activity AS a ON a.pid = l.pid
WHERE l.locktype = 'advisory'
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND (l.classid, l.objid, l.objsubid) = (1885827685, 1, 2)
  AND l.granted
  AND l.pid <> pg_backend_pid();
