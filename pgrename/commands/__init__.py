"""The commands, a module per subsystem; pgrename/cli.py declares each one once (its name, help,
options, and whether it needs a config, a database, the run lock):

    renaming      plan, dry-run, migrate, verify, rollback, contract, rehearse
    analysis      analyze
    dumps         dumps, restore-dump: the pg_dump safety net taken before a migration
    data_backups  backup, backup-verify, backup-diff, restore: COPY data backups (pgrename/data/)
    own_schema    status, schema-upgrade: pgrename's own schema and what it recorded
"""
