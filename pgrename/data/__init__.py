"""Data backups with COPY, a module per concern:

    tables   the tables covered, in foreign key order, from the catalog
    take     writing a backup: one snapshot, scope and limits, deterministic zstd COPY files
    archive  the manifest and its checksums, verified before any read; the tar archive
    diff     two backups compared, key by key
    restore  loading a backup in one transaction: clean, append or upsert
"""
