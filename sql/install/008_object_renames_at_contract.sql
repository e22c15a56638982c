-- pgrename's own schema, version 8: a migration may leave the names of its tables' constraints,
-- indexes, sequences and triggers to `make contract` (config rename_objects: at_contract), for old
-- clients that name them (nextval('"Foo_id_seq"'), an index hint). Each renamed object says which
-- command renames it, so verify, contract and rollback know which name it has in each phase.
--
-- The runner applies what is pending (make schema-upgrade, or any command that writes). By hand:
--   psql -v ON_ERROR_STOP=1 --single-transaction -f sql/install/008_object_renames_at_contract.sql

-- Each script runs once, after the one before it.
SELECT pgrename.upgrade_from(7);

ALTER TABLE pgrename.renamed_object ADD COLUMN at_contract boolean NOT NULL DEFAULT false;

COMMENT ON COLUMN pgrename.renamed_object.at_contract IS
    'renamed by make contract, not by migrate (rename_objects: at_contract): until then it keeps object_name';

INSERT INTO pgrename.schema_version (version, script) VALUES (8, 'sql/install/008_object_renames_at_contract.sql');
