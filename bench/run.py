"""`make bench`: measurements side by side in one run, printed as a table.

analyze: a generated Prisma-style schema of N tables (each with a primary key, a foreign key to
the table before it, an index and a serial sequence), every table mapped; the whole analyze
report is collected. If its cost were a query per table, time per table would grow with N; the
ratio column shows it does not.

migrate: the same migration (rename a table with its key, index, sequence and a child's foreign
key; a compatibility view) on a table of 1K rows and one of 10M rows. Renames change catalog
rows only, so the ratio stays near 1.

old clients under load: pgbench with prepared statements that use the old name (a SELECT and an
UPDATE by primary key) runs while migrate happens; failed statements and latency percentiles
before, during and after, from pgbench's per-transaction log.

data backup: backup and clean restore of --data-rows rows (a parent and a child table) with
pgrename's COPY files, side by side with pg_dump --data-only --format=custom and
pg_restore --data-only of the same data.

lock queue: a blocker transaction holds a lock on the table for --hold seconds while readers
query it by its old name. The readers' longest wait while our migrate runs (it waits less than
deadlock_timeout per attempt, rolls back, retries), side by side with the same rendered SQL run
through psql -f with its timeouts taken out, which queues behind the blocker and every reader
behind it.

natural-key sync: --sync-rows rows over a parent (projects), a self-referencing child (events, each
pointing at its project and at an earlier event) and a grandchild (tickets), keyed by xmlid. The
export, and its import in update mode into a database whose ids differ, side by side with the data
backup and clean restore of the same rows, and with a per-row upsert loop (a statement per row,
each parent looked up by its key: what the tools sync replaces do). A second import of the same
export changes nothing and shows the cost of comparing. The imports and the restore run
--sync-rounds times, alternating; the table shows their medians and each round's ratio.

merge: a migration whose merge copies --merge-rows legacy rows (integer ids into a text key, through
an expression), with the merge inside migrate's lock as before, and copied ahead by merge-prepare
(then 500 legacy rows changed before migrate, whatever the size). A client queries the target table in a loop
during migrate: its longest wait is the lock window as clients see it. Copied ahead, it should not
grow with the legacy table (the ratio stays under 1.5).

migration sets: --set-sizes small numbered migrations (a table each), applied by sets-migrate and
rolled back by sets-rollback, side by side with the same files run through psql -f one by one.
Time per migration should not grow with the count: the history is checked in one query.

Runs on the embedded PostgreSQL (or DATABASE_URL's server), in scratch databases it drops after.
"""
from __future__ import annotations

import argparse
import logging
import re
import shutil
import statistics
import tempfile
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from pgrename import analyze, backup, own_schema  # noqa: E402
from pgrename import plan as plans  # noqa: E402
from pgrename.commands.renaming import cmd_migrate  # noqa: E402
from pgrename.commands.sets import cmd_sets_migrate, cmd_sets_rollback  # noqa: E402
from pgrename.commands.merges import cmd_merge_prepare  # noqa: E402
from pgrename.config import Merge, MigrationSets, Sync, SyncTable  # noqa: E402
from pgrename.data import restore, take  # noqa: E402
from pgrename.errors import Failure  # noqa: E402
from pgrename.execute import Context  # noqa: E402
from pgrename.sync import export as sync_export  # noqa: E402
from pgrename.sync import load as sync_load  # noqa: E402
from pgrename.config import Config  # noqa: E402
from pgrename.connection import connect, describe, target_conninfo  # noqa: E402

BATCH = 250  # tables per transaction: one transaction for 5,000 would run out of lock slots


def create_schema(conn: psycopg.Connection, tables: int) -> None:
    for first in range(1, tables + 1, BATCH):
        last = min(first + BATCH - 1, tables)
        conn.execute(f"""
            DO $$
            BEGIN
                FOR i IN {first}..{last} LOOP
                    EXECUTE format('CREATE TABLE %1$I (id serial CONSTRAINT %2$I PRIMARY KEY, "parentId" int,'
                                   ' name text)', 'BenchTable' || i, 'BenchTable' || i || '_pkey');
                    EXECUTE format('CREATE INDEX %I ON %I (name)', 'BenchTable' || i || '_name_idx', 'BenchTable' || i);
                    IF i > 1 THEN
                        EXECUTE format('ALTER TABLE %1$I ADD CONSTRAINT %2$I FOREIGN KEY ("parentId") REFERENCES %3$I',
                                       'BenchTable' || i, 'BenchTable' || i || '_parentId_fkey', 'BenchTable' || (i - 1));
                    END IF;
                END LOOP;
            END
            $$""")
    conn.execute("ANALYZE")


def migrate(conn: psycopg.Connection, config: Config, url: str) -> int:
    """What `runner.py migrate --apply` does once connected: pgrename's own schema ready, then migrate."""
    own_schema.upgrade(conn)
    return cmd_migrate(Context(config, conn, describe(url), url), apply_now=True)


def fresh_database(admin_url: str, name: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")
    return psycopg.conninfo.make_conninfo(admin_url, dbname=name)


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def measure_analyze(admin_url: str, tables: int) -> float:
    name = f"pgrename_bench_{tables}"
    url = fresh_database(admin_url, name)
    try:
        with connect(url) as conn:
            create_schema(conn, tables)
            config = Config(path=Path("bench"), migration="bench", schema="public", lock_timeout="5s",
                            tables={f"BenchTable{i}": f"bench_table{i}" for i in range(1, tables + 1)})
            started = time.perf_counter()
            report = analyze.collect(conn, config, exact_counts=False)
            elapsed = time.perf_counter() - started
            assert len(report["plan"]["renames"]) == tables * 5 - 1, "each table, its pkey, fkey, index, sequence"
            return elapsed
    finally:
        drop_database(admin_url, name)


def measure_lock_queue(admin_url: str, hold: float, naive: bool) -> tuple[float, str]:
    """Readers' longest wait (seconds) while a blocker holds a lock and the migration runs."""
    name = f"pgrename_bench_queue_{'naive' if naive else 'ours'}"
    url = fresh_database(admin_url, name)
    try:
        with connect(url) as conn:
            conn.execute('CREATE TABLE "Account" (id int CONSTRAINT "Account_pkey" PRIMARY KEY, email text)')
            conn.execute('INSERT INTO "Account" SELECT i, i::text FROM generate_series(1, 1000) AS i')
            config = Config(path=Path("bench"), migration="bench", schema="public", lock_timeout="500ms",
                            tables={"Account": "accounts"}, lock_retries=8, retry_wait="1s")
            own_schema.upgrade(conn)
            script = plans.migrate_script(plans.from_catalog(conn, config)).text
        stop, waits = threading.Event(), []

        def reader() -> None:
            with psycopg.connect(url, autocommit=True) as reading:
                while not stop.is_set():
                    started = time.perf_counter()
                    reading.execute('SELECT count(*) FROM "Account"')  # the old name: a view afterwards
                    waits.append(time.perf_counter() - started)
                    time.sleep(0.02)

        blocker = psycopg.connect(url)
        blocker.execute('SELECT 1 FROM "Account" LIMIT 1')  # holds ACCESS SHARE until it commits
        threading.Timer(hold, blocker.commit).start()
        readers = [threading.Thread(target=reader) for _ in range(4)]
        for thread in readers:
            thread.start()
        time.sleep(0.5)
        if naive:
            untimed = re.sub(r"SET LOCAL (lock|statement)_timeout = '[^']*';", r"SET LOCAL \1_timeout = 0;", script)
            untimed = re.sub(r"SELECT set_config\('lock_timeout',.*?true\);", "", untimed, flags=re.S | re.I)
            assert "timeout = '" not in untimed and "set_config('lock_timeout'" not in untimed
            done = subprocess.run(["psql", url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction"],
                                  input=untimed, capture_output=True, text=True)
            outcome = "applied" if done.returncode == 0 else "failed"
        else:
            with connect(url) as conn:
                try:
                    outcome = "applied" if migrate(conn, config, url) == 0 else "failed"
                except Failure:
                    outcome = "gave up cleanly"
        time.sleep(0.5)
        stop.set()
        for thread in readers:
            thread.join()
        blocker.close()
        return max(waits), outcome
    finally:
        drop_database(admin_url, name)


PGBENCH_SCRIPT = """\\set id random(1, 100000)
SELECT email FROM "Account" WHERE id = :id;
UPDATE "Account" SET email = email WHERE id = :id;
"""


def measure_old_clients(admin_url: str, seconds: int = 12) -> tuple[list[tuple], str]:
    """Per phase (before, during, after migrate): transactions, p50, p99 and max latency in ms;
    and pgbench's own account of failures."""
    url = fresh_database(admin_url, "pgrename_bench_pgbench")
    try:
        with connect(url) as conn:
            conn.execute('CREATE TABLE "Account" (id int CONSTRAINT "Account_pkey" PRIMARY KEY, email text)')
            conn.execute('INSERT INTO "Account" SELECT i, i::text FROM generate_series(1, 100000) AS i')
            conn.execute("ANALYZE")
        work = Path(tempfile.mkdtemp(prefix="pgrename-pgbench-"))
        (work / "old_client.sql").write_text(PGBENCH_SCRIPT)
        pgbench = subprocess.Popen(
            [str(Path(backup.client_tool("pg_dump")).parent / "pgbench"), "-n", "-M", "prepared", "-c", "4",
             "-j", "2", "-T", str(seconds), "-f", str(work / "old_client.sql"), "-l",
             "--log-prefix", str(work / "tx"), url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(seconds / 3)
        config = Config(path=Path("bench"), migration="bench", schema="public", lock_timeout="500ms",
                        tables={"Account": "accounts"}, lock_retries=8, retry_wait="200ms")
        with connect(url) as conn:
            migrate_start = time.time()
            migrate(conn, config, url)
            migrate_end = time.time()
        out, err = pgbench.communicate()
        latencies: dict[str, list[float]] = {"before": [], "during": [], "after": []}
        for log_file in work.glob("tx.*"):
            for line in log_file.read_text().splitlines():
                fields = line.split()
                latency_ms, done_at = int(fields[2]) / 1000, int(fields[4]) + int(fields[5]) / 1e6
                started_at = done_at - latency_ms / 1000
                phase = ("before" if done_at < migrate_start else "after" if started_at > migrate_end else "during")
                latencies[phase].append(latency_ms)
        failures = re.findall(r"^.*(?:aborted|ERROR).*$", err, flags=re.M)
        failed = re.search(r"number of failed transactions: (\d+)", out)
        summary = (f"{len(failures)} error line(s), failed transactions: {failed.group(1) if failed else '0'}")
        rows = []
        for phase, values in latencies.items():
            values.sort()
            if values:
                rows.append((phase, len(values), statistics.median(values), values[int(len(values) * 0.99) - 1],
                             values[-1]))
        return rows, summary
    finally:
        drop_database(admin_url, "pgrename_bench_pgbench")


def measure_data_backup(admin_url: str, rows: int) -> list[tuple[str, float, float]]:
    """(tool, backup seconds, restore seconds) for pgrename and for pg_dump/pg_restore."""
    url = fresh_database(admin_url, "pgrename_bench_data")
    work = Path(tempfile.mkdtemp(prefix="pgrename-bench-data-"))
    try:
        with connect(url) as conn:
            conn.execute('CREATE TABLE "Customer" (id int PRIMARY KEY, name text, joined timestamptz)')
            conn.execute('CREATE TABLE "Order" (id int PRIMARY KEY, customer int REFERENCES "Customer",'
                         ' total numeric(10, 2), note jsonb)')
            conn.execute('INSERT INTO "Customer" SELECT i, \'customer \' || i, now() - i * interval \'1 min\''
                         ' FROM generate_series(1, %s) AS i', (rows // 4,))
            conn.execute('INSERT INTO "Order" SELECT i, 1 + i %% %s, i / 100.0, jsonb_build_object(\'n\', i)'
                         ' FROM generate_series(1, %s) AS i', (rows // 4, rows - rows // 4))
            conn.execute("VACUUM ANALYZE")
            started = time.perf_counter()
            take.backup(conn, work / "pgrename", ["public"], [])
            ours_backup = time.perf_counter() - started
            started = time.perf_counter()
            restore.restore(conn, work / "pgrename", "clean")
            ours_restore = time.perf_counter() - started
        connection, env = backup._connection_args(url)
        started = time.perf_counter()
        subprocess.run([backup.client_tool("pg_dump"), "--data-only", "--format=custom", "--file",
                        str(work / "pg_dump.dump"), *connection], check=True, env=env)
        dump_seconds = time.perf_counter() - started
        with connect(url) as conn:
            conn.execute('TRUNCATE "Customer", "Order"')
        started = time.perf_counter()
        # Foreign keys checked, as ours are (--disable-triggers would skip them, and needs a superuser).
        subprocess.run([backup.client_tool("pg_restore"), "--data-only", "--single-transaction",
                        *connection, str(work / "pg_dump.dump")], check=True, env=env, capture_output=True)
        restore_seconds = time.perf_counter() - started
        return [("pgrename backup / restore", ours_backup, ours_restore),
                ("pg_dump / pg_restore --data-only", dump_seconds, restore_seconds)]
    finally:
        shutil.rmtree(work, ignore_errors=True)
        drop_database(admin_url, "pgrename_bench_data")


SYNC_SCHEMA = """
CREATE TABLE projects (id serial PRIMARY KEY, xmlid text NOT NULL UNIQUE, name text NOT NULL);
CREATE TABLE events (id serial PRIMARY KEY, xmlid text NOT NULL UNIQUE, project_id int NOT NULL REFERENCES projects,
                     parent_id int REFERENCES events, title text NOT NULL, starts_at timestamptz NOT NULL);
CREATE TABLE tickets (id serial PRIMARY KEY, xmlid text NOT NULL UNIQUE, event_id int NOT NULL REFERENCES events,
                      price numeric(8, 2) NOT NULL, holder text);
"""
SYNC_CONFIG = Sync(namespace="bench", delete_cap=100, checks=None, tables={
    name: SyncTable(name, ("xmlid",), {}) for name in ("projects", "events", "tickets")})
UPSERT_LOOP = {  # one statement per row, each parent found by its key
    "projects": "INSERT INTO projects (xmlid, name) VALUES (%s, %s)"
                " ON CONFLICT (xmlid) DO UPDATE SET name = excluded.name",
    "events": "INSERT INTO events (xmlid, project_id, parent_id, title, starts_at) VALUES"
              " (%s, (SELECT id FROM projects WHERE xmlid = %s), (SELECT id FROM events WHERE xmlid = %s), %s, %s)"
              " ON CONFLICT (xmlid) DO UPDATE SET project_id = excluded.project_id, parent_id = excluded.parent_id,"
              " title = excluded.title, starts_at = excluded.starts_at",
    "tickets": "INSERT INTO tickets (xmlid, event_id, price, holder) VALUES"
               " (%s, (SELECT id FROM events WHERE xmlid = %s), %s, %s)"
               " ON CONFLICT (xmlid) DO UPDATE SET event_id = excluded.event_id, price = excluded.price,"
               " holder = excluded.holder",
}
UPSERT_ROWS = {  # the rows as a sync tool's file holds them: references by key, in key order
    "projects": "SELECT xmlid, name FROM projects ORDER BY xmlid",
    "events": "SELECT e.xmlid, p.xmlid, parent.xmlid, e.title, e.starts_at FROM events AS e"
              " JOIN projects AS p ON p.id = e.project_id LEFT JOIN events AS parent ON parent.id = e.parent_id"
              " ORDER BY e.xmlid",
    "tickets": "SELECT t.xmlid, e.xmlid, t.price, t.holder FROM tickets AS t JOIN events AS e ON e.id = t.event_id"
               " ORDER BY t.xmlid",
}


def measure_sync(admin_url: str, rows: int, rounds: int) -> tuple[list[tuple[str, float, float]], list[float]]:
    """(way, export or backup seconds, import or restore seconds) for the same rows, the import and
    restore the medians of `rounds` rounds; and each round's import / restore ratio."""
    source, target = "pgrename_bench_sync_source", "pgrename_bench_sync_target"
    work = Path(tempfile.mkdtemp(prefix="pgrename-bench-sync-"))
    projects, events = rows // 100, rows // 2
    tickets = rows - projects - events
    try:
        source_url, target_url = fresh_database(admin_url, source), fresh_database(admin_url, target)
        with connect(source_url) as conn:
            conn.execute(SYNC_SCHEMA)
            conn.execute("INSERT INTO projects (xmlid, name) SELECT 'prj.' || lpad(i::text, 8, '0'), 'project ' || i"
                         " FROM generate_series(1, %s) AS i", (projects,))
            # Each event's parent is an earlier one (every tenth has none), so a per-row loop in key order finds it.
            conn.execute("INSERT INTO events (xmlid, project_id, parent_id, title, starts_at)"
                         " SELECT 'evt.' || lpad(i::text, 8, '0'), 1 + i %% %s,"
                         " CASE WHEN i %% 10 <> 1 AND i > 7 THEN i - 1 - i %% 7 END, 'event ' || i,"
                         " timestamptz '2026-01-01' + i * interval '1 min' FROM generate_series(1, %s) AS i",
                         (projects, events))
            conn.execute("INSERT INTO tickets (xmlid, event_id, price, holder)"
                         " SELECT 'tkt.' || lpad(i::text, 8, '0'), 1 + i %% %s, (i %% 5000) / 10.0,"
                         " CASE WHEN i %% 3 = 0 THEN 'holder ' || i END FROM generate_series(1, %s) AS i",
                         (events, tickets))
            conn.execute("VACUUM ANALYZE")
            started = time.perf_counter()
            manifest = sync_export.export(conn, SYNC_CONFIG, "public", work / "export")
            exported = time.perf_counter() - started
            started = time.perf_counter()
            take.backup(conn, work / "backup", ["public"], [])
            backed_up = time.perf_counter() - started
            started = time.perf_counter()
            loop_rows = {table: conn.execute(query).fetchall() for table, query in UPSERT_ROWS.items()}
            read_for_loop = time.perf_counter() - started
        with connect(target_url) as conn:
            conn.execute(SYNC_SCHEMA)
            # Ids here differ from the source's: the sequences start elsewhere.
            conn.execute("SELECT setval(pg_get_serial_sequence(t, 'id'), 5000000) FROM"
                         " unnest(ARRAY['projects', 'events', 'tickets']) AS t")
            own_schema.upgrade(conn)
            imported, reimported, restored = [], [], []
            # Rounds side by side: this machine's speed varies within a run, and one round can
            # land on a slow minute for one of the two.
            for _ in range(rounds):
                conn.execute("TRUNCATE projects, events, tickets, pgrename.sync_row")
                started = time.perf_counter()
                sync_load.load(conn, work / "export", manifest, SYNC_CONFIG, "public", "update")
                imported.append(time.perf_counter() - started)
                started = time.perf_counter()
                again = sync_load.load(conn, work / "export", manifest, SYNC_CONFIG, "public", "update")
                reimported.append(time.perf_counter() - started)
                assert not any(c["inserted"] or c["updated"] for c in again.counts.values()), again.counts
                conn.execute("TRUNCATE projects, events, tickets, pgrename.sync_row")
                started = time.perf_counter()
                restore.restore(conn, work / "backup", "clean")
                restored.append(time.perf_counter() - started)
            conn.execute("TRUNCATE projects, events, tickets")
            started = time.perf_counter()
            with conn.transaction(), conn.cursor() as cur:
                for table, statement in UPSERT_LOOP.items():
                    for row in loop_rows[table]:
                        cur.execute(statement, row)
            looped = time.perf_counter() - started
        median = statistics.median
        return ([("pgrename export / import --mode update", exported, median(imported)),
                 ("  the same import again (nothing to change)", 0.0, median(reimported)),
                 ("pgrename data backup / clean restore", backed_up, median(restored)),
                 ("per-row upsert loop (read / write)", read_for_loop, looped)],
                [i / r for i, r in zip(imported, restored)])
    finally:
        shutil.rmtree(work, ignore_errors=True)
        drop_database(admin_url, source)
        drop_database(admin_url, target)


def measure_sets(admin_url: str, count: int) -> tuple[float, float, float]:
    """Seconds to apply and to roll back `count` migrations with pgrename, and to apply them with psql."""
    name = f"pgrename_bench_sets_{count}"
    folder = Path(tempfile.mkdtemp(prefix="pgrename-bench-sets-"))
    (folder / "rollback").mkdir()
    for number in range(count):
        (folder / f"{number:03d}_table_{number}.sql").write_text(f"CREATE TABLE set_table_{number} (id int PRIMARY KEY);\n")
        (folder / "rollback" / f"{number:03d}_table_{number}.sql").write_text(f"DROP TABLE set_table_{number};\n")
    config = Config(path=Path("bench"), migration="bench", schema="public", lock_timeout="5s", tables={},
                    migration_sets=MigrationSets(folder, {"all": (0, 999)}))
    try:
        url = fresh_database(admin_url, name)
        with connect(url) as conn:
            own_schema.upgrade(conn)
            context = Context(config, conn, describe(url), url)
            started = time.perf_counter()
            cmd_sets_migrate(context)
            applied = time.perf_counter() - started
            started = time.perf_counter()
            cmd_sets_rollback(context, to=-1)
            rolled_back = time.perf_counter() - started
        url = fresh_database(admin_url, name)
        started = time.perf_counter()
        for number in range(count):
            subprocess.run(["psql", url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-f",
                            str(folder / f"{number:03d}_table_{number}.sql")], check=True, capture_output=True)
        by_psql = time.perf_counter() - started
        return applied, rolled_back, by_psql
    finally:
        drop_database(admin_url, name)
        shutil.rmtree(folder)


def measure_migrate(admin_url: str, rows: int) -> float:
    """Seconds to migrate a table of `rows` rows: the whole transaction, checks included."""
    name = f"pgrename_bench_rows_{rows}"
    url = fresh_database(admin_url, name)
    try:
        with connect(url) as conn:
            conn.execute('CREATE TABLE "Account" (id bigserial CONSTRAINT "Account_pkey" PRIMARY KEY, email text)')
            conn.execute('INSERT INTO "Account" (email) SELECT \'user\' || i || \'@example.com\''
                         ' FROM generate_series(1, %s) AS i', (rows,))
            conn.execute('CREATE INDEX "Account_email_idx" ON "Account" (email)')
            conn.execute('CREATE TABLE "Login" (id bigserial PRIMARY KEY, "accountId" bigint'
                         ' CONSTRAINT "Login_accountId_fkey" REFERENCES "Account")')
            conn.execute("ANALYZE")
            config = Config(path=Path("bench"), migration="bench", schema="public", lock_timeout="5s",
                            tables={"Account": "accounts"})
            own_schema.upgrade(conn)
            started = time.perf_counter()
            assert migrate(conn, config, url) == 0
            return time.perf_counter() - started
    finally:
        drop_database(admin_url, name)


def measure_merge(admin_url: str, rows: int, prepared: bool) -> tuple[float, float]:
    """A migration that merges `rows` legacy rows (integer ids into a text-keyed table, through an
    expression): how long a client's query on the target table waits during migrate (the lock
    window, as a client sees it), and how long make merge-prepare took before it (0 without)."""
    name = f"pgrename_bench_merge_{rows}_{'ahead' if prepared else 'in_lock'}"
    url = fresh_database(admin_url, name)
    try:
        with connect(url) as conn:
            conn.execute('CREATE TABLE "Item" (id text CONSTRAINT "Item_pkey" PRIMARY KEY, name text)')
            conn.execute('INSERT INTO "Item" SELECT \'item_\' || i, \'item \' || i FROM generate_series(1, 1000) AS i')
            conn.execute('CREATE TABLE "LegacyItem" (id serial CONSTRAINT "LegacyItem_pkey" PRIMARY KEY, name text)')
            conn.execute('INSERT INTO "LegacyItem" (name) SELECT \'legacy \' || i FROM generate_series(1, %s) AS i',
                         (rows,))
            conn.execute("VACUUM ANALYZE")
            config = Config(path=Path("bench"), migration="bench_merge", schema="public", lock_timeout="5s",
                            statement_timeout="0", tables={"Item": "items", "LegacyItem": "legacy_items"},
                            merges=[Merge("LegacyItem", "Item", ["id"], "skip",
                                          {"id": "'legacy_' || id", "name": "name"})])
            own_schema.upgrade(conn)
            context = Context(config, conn, describe(url), url)
            prepare_seconds = 0.0
            if prepared:
                started = time.perf_counter()
                assert cmd_merge_prepare(context, batch_size=50_000) == 0
                prepare_seconds = time.perf_counter() - started
                # what clients change meanwhile: the same 500 rows whatever the table's size (all, below 500)
                conn.execute('UPDATE "LegacyItem" SET name = name || \' (changed)\' WHERE id %% %s = 0',
                             (max(1, rows // 500),))
            longest, done = [0.0], threading.Event()

            def client() -> None:
                with psycopg.connect(url, autocommit=True) as probe:
                    while not done.is_set():
                        started = time.perf_counter()
                        probe.execute("""SELECT name FROM "Item" WHERE id = 'item_1'""")  # its view, after
                        longest[0] = max(longest[0], time.perf_counter() - started)

            probe_thread = threading.Thread(target=client)
            probe_thread.start()
            try:
                assert migrate(conn, config, url) == 0
            finally:
                done.set()
                probe_thread.join()
            return longest[0], prepare_seconds
    finally:
        drop_database(admin_url, name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="500,1000,2000,5000", help="table counts to measure")
    parser.add_argument("--rows", default="1000,10000000", help="row counts of the migrate benchmark")
    parser.add_argument("--hold", type=float, default=30, help="seconds the lock-queue blocker holds its lock")
    parser.add_argument("--data-rows", type=int, default=1_200_000, help="rows of the data backup benchmark")
    parser.add_argument("--sync-rows", type=int, default=1_000_000, help="rows of the natural-key sync benchmark")
    parser.add_argument("--sync-rounds", type=int, default=3, help="import and restore rounds of the sync benchmark")
    parser.add_argument("--merge-rows", default="1000,1000000", help="legacy row counts of the merge benchmark")
    parser.add_argument("--set-sizes", default="50,500", help="migration counts of the migration-set benchmark")
    args = parser.parse_args()
    logging.getLogger("pgrename").setLevel(logging.ERROR)  # the table below is the output
    admin_url = psycopg.conninfo.make_conninfo(target_conninfo(), dbname="postgres")
    sizes = [int(n) for n in args.sizes.split(",")]
    rows = [(n, measure_analyze(admin_url, n)) for n in sizes]
    base_n, base_seconds = rows[0]
    print()
    print(f"{'benchmark':<10} {'tables':>7} {'seconds':>9} {'ms/table':>9} {'per-table vs ' + str(base_n):>18}")
    for n, seconds in rows:
        per_table = seconds / n
        print(f"{'analyze':<10} {n:>7} {seconds:>9.2f} {per_table * 1000:>9.3f} "
              f"{per_table / (base_seconds / base_n):>17.2f}x")
    migrations = [(n, measure_migrate(admin_url, n)) for n in (int(r) for r in args.rows.split(","))]
    print()
    print(f"{'benchmark':<10} {'rows':>10} {'seconds':>9} {'vs ' + f'{migrations[0][0]:,}' + ' rows':>16}")
    for n, seconds in migrations:
        print(f"{'migrate':<10} {n:>10,} {seconds:>9.3f} {seconds / migrations[0][1]:>15.2f}x")
    (ours_name, ours_backup, ours_restore), (theirs_name, their_backup, their_restore) = \
        measure_data_backup(admin_url, args.data_rows)
    print()
    print(f"{'data (' + f'{args.data_rows:,}' + ' rows)':<36} {'backup s':>9} {'restore s':>10}")
    print(f"{ours_name:<36} {ours_backup:>9.2f} {ours_restore:>10.2f}")
    print(f"{theirs_name:<36} {their_backup:>9.2f} {their_restore:>10.2f}")
    print(f"{'ratio':<36} {ours_backup / their_backup:>8.2f}x {ours_restore / their_restore:>9.2f}x")
    sync_rows, round_ratios = measure_sync(admin_url, args.sync_rows, args.sync_rounds)
    print()
    print(f"{'natural-key sync (' + f'{args.sync_rows:,}' + ' rows)':<46} {'out s':>8} {'in s':>8} {'in vs restore':>14}")
    restore_seconds = sync_rows[2][2]
    for way, out_seconds, in_seconds in sync_rows:
        print(f"{way:<46} {out_seconds:>8.2f} {in_seconds:>8.2f} {in_seconds / restore_seconds:>13.2f}x")
    rounds = f"medians of {args.sync_rounds} rounds" if args.sync_rounds > 1 else "one round"
    print(f"(import and restore: {rounds}; import / restore in each: "
          f"{', '.join(f'{ratio:.2f}x' for ratio in round_ratios)})")
    merge_sizes = [int(n) for n in args.merge_rows.split(",")]
    merge_rows = {(n, ahead): measure_merge(admin_url, n, ahead) for ahead in (False, True) for n in merge_sizes}
    print()
    print(f"{'merge (client wait on the target during migrate)':<50} {'legacy rows':>11} {'wait s':>8} "
          f"{'vs ' + f'{merge_sizes[0]:,}':>10} {'prepare s':>10}")
    for (n, ahead), (wait, prepare_seconds) in merge_rows.items():
        way = "copied ahead (merge-prepare), changes in the lock" if ahead else "inside the lock (as before)"
        print(f"{way:<50} {n:>11,} {wait:>8.3f} {wait / merge_rows[(merge_sizes[0], ahead)][0]:>9.2f}x "
              f"{prepare_seconds:>10.2f}")
    ours, ours_outcome = measure_lock_queue(admin_url, args.hold, naive=False)
    naive, naive_outcome = measure_lock_queue(admin_url, args.hold, naive=True)
    print()
    print(f"{'lock queue (blocker holds ' + f'{args.hold:g}' + ' s)':<40} {'longest reader wait':>20} {'migration':>16}")
    print(f"{'pgrename migrate (lock_timeout 500ms)':<40} {ours:>18.2f} s {ours_outcome:>16}")
    print(f"{'same SQL through psql -f, no timeouts':<40} {naive:>18.2f} s {naive_outcome:>16}")
    print(f"{'ratio':<40} {ours / naive:>19.3f}x")
    set_rows = [(n, *measure_sets(admin_url, n)) for n in (int(s) for s in args.set_sizes.split(","))]
    print()
    print(f"{'migration sets':<16} {'migrations':>10} {'apply ms/each':>14} {'rollback ms/each':>17} "
          f"{'psql -f ms/each':>16} {'apply vs psql':>14}")
    for n, applied, rolled_back, by_psql in set_rows:
        print(f"{'sets':<16} {n:>10} {applied / n * 1000:>14.2f} {rolled_back / n * 1000:>17.2f} "
              f"{by_psql / n * 1000:>16.2f} {applied / by_psql:>13.2f}x")
    phases, failures = measure_old_clients(admin_url)
    print()
    print(f"{'old clients (pgbench, old names)':<34} {'transactions':>12} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for phase, count, p50, p99, worst in phases:
        print(f"{phase + ' migrate':<34} {count:>12} {p50:>8.2f} {p99:>8.2f} {worst:>8.2f}")
    print(f"failures: {failures}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
