"""`make bench`: measurements side by side in one run, printed as a table.

analyze: a generated Prisma-style schema of N tables (each with a primary key, a foreign key to
the table before it, an index and a serial sequence), every table mapped; the whole analyze
report is collected. If its cost were a query per table, time per table would grow with N; the
ratio column shows it does not.

migrate: the same migration (rename a table with its key, index, sequence and a child's foreign
key; a compatibility view) on a table of 1K rows and one of 10M rows. Renames change catalog
rows only, so the ratio stays near 1.

Runs on the embedded PostgreSQL (or DATABASE_URL's server), in scratch databases it drops after.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from pgrename import analyze, commands  # noqa: E402
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


def measure_analyze(admin_url: str, tables: int) -> float:
    name = f"pgrename_bench_{tables}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
    url = psycopg.conninfo.make_conninfo(admin_url, dbname=name)
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
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def measure_migrate(admin_url: str, rows: int) -> float:
    """Seconds to migrate a table of `rows` rows: the whole transaction, checks included."""
    name = f"pgrename_bench_rows_{rows}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
    url = psycopg.conninfo.make_conninfo(admin_url, dbname=name)
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
            ctx = commands.Context(config, conn, describe(url), url)
            started = time.perf_counter()
            assert commands.cmd_migrate(ctx, apply_now=True) == 0
            return time.perf_counter() - started
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="500,1000,2000,5000", help="table counts to measure")
    parser.add_argument("--rows", default="1000,10000000", help="row counts of the migrate benchmark")
    args = parser.parse_args()
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
