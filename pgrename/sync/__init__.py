"""Natural-key sync between machines whose serial ids differ, a module per concern:

    shape       each synced table's natural shape: its key, surrogates dropped, foreign keys as
                the parent's natural key (sql/analysis/sync_tables.sql)
    export      one REPEATABLE READ snapshot, a query per table (kept in the export), manifest
    load        an export into a database in one transaction: staged, checked, then written in
                mode init, append, update or replace; self and cyclic references bound late
    validation  the integrity suite generated from the catalog, and the user's checks
"""
