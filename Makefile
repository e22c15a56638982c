# pgrename: `make help` lists the targets. Without DATABASE_URL (or libpq's PG* variables) every
# target works on the embedded database that `make db` starts; with them, on that database.

PYTHON   ?= python3
VENV     := .venv
PY       := $(VENV)/bin/python
# Values a user gives (paths, URLs with & or spaces) reach the runner through the environment,
# quoted: make passes its command-line variables to the shell as environment variables too.
RUNNER   := $(PY) runner.py $(if $(CONFIG),--config "$$CONFIG") $(if $(PROFILE),--profile "$$PROFILE")
APPROVAL := $(if $(APPROVE),--approve "$$APPROVE")
DEMO_DB  := pgrename_demo

.DEFAULT_GOAL := help
.PHONY: help install postgres db db-stop demo demo-load demo-sets demo-sync export import validate analyze plan dry-run migrate verify rollback contract merge-prepare rehearse backup backup-verify backup-diff restore dumps restore-dump backups restore-backup status schema-upgrade sets-status sets-validate sets-plan sets-migrate sets-rollback sets-rehearse sets-baseline sets-repair psql test test-fast bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --editable .
	touch $@

install: $(VENV)/.installed ## create .venv, install the Python dependencies and the pgrename command (.venv/bin/pgrename)

postgres: ## make sure PostgreSQL's server binaries are installed (apt-get as root)
	@scripts/install-postgres.sh

db: install postgres ## start the embedded PostgreSQL (data in .pgdata/, socket only)
	@$(PY) -m pgrename.embedded start

db-stop: install ## stop the embedded PostgreSQL
	@$(PY) -m pgrename.embedded stop

demo-load: db ## (re)create the legacy demo database in the embedded PostgreSQL
	@psql "$$($(PY) -m pgrename.embedded url --db postgres)" -q -v ON_ERROR_STOP=1 \
	    -c 'DROP DATABASE IF EXISTS $(DEMO_DB) WITH (FORCE)' -c 'CREATE DATABASE $(DEMO_DB)'
	@psql "$$($(PY) -m pgrename.embedded url)" -q -v ON_ERROR_STOP=1 -f sql/demo/legacy.sql \
	    -c 'CREATE EXTENSION pg_stat_statements'
	@echo "loaded the legacy demo database $(DEMO_DB)"

demo: demo-load ## load the legacy demo database, then analyze, plan, migrate and verify it
	@$(RUNNER) --database-url "$$($(PY) -m pgrename.embedded url)" analyze
	@$(RUNNER) --database-url "$$($(PY) -m pgrename.embedded url)" plan
	@$(RUNNER) --database-url "$$($(PY) -m pgrename.embedded url)" migrate
	@$(RUNNER) --database-url "$$($(PY) -m pgrename.embedded url)" verify
	@echo
	@echo "An old client, still using the old names (sql/demo/old_client.sql, rolled back):"
	@psql "$$($(PY) -m pgrename.embedded url)" -X -v ON_ERROR_STOP=1 -f sql/demo/old_client.sql
	@echo "Done. Read build/migrate.sql and build/rollback.sql; look around with 'make psql';"
	@echo "when old clients are updated, 'make contract'; undo it all with 'make rollback';"
	@echo "the audit trail: 'make status'."

demo-sets: demo-load ## reload the demo database, then its migration set: A..B applied, rolled back to A, applied again, the seed, the rename step D, validated
	@$(RUNNER) --database-url "$$($(PY) -m pgrename.embedded url)" sets-migrate --start A --end B
	@$(RUNNER) --database-url "$$($(PY) -m pgrename.embedded url)" sets-rollback --to 18
	@$(RUNNER) --database-url "$$($(PY) -m pgrename.embedded url)" sets-migrate --end B
	@$(RUNNER) --database-url "$$($(PY) -m pgrename.embedded url)" sets-migrate --only 21
	@$(RUNNER) --database-url "$$($(PY) -m pgrename.embedded url)" sets-migrate --start D --end D
	@$(RUNNER) --database-url "$$($(PY) -m pgrename.embedded url)" sets-validate
	@$(RUNNER) --database-url "$$($(PY) -m pgrename.embedded url)" sets-status
	@echo "Done. Read build/sets-migrate.sql and build/sets-rollback.sql; the history: 'make psql', then"
	@echo "TABLE pgrename.set_migration;"

demo-sync: demo-sets ## the migration-set demo's rows exported by natural key and imported into a second database whose ids differ
	@PGOPTIONS='-c client_min_messages=warning' psql "$$($(PY) -m pgrename.embedded url --db postgres)" -q -v ON_ERROR_STOP=1 \
	    -c 'DROP DATABASE IF EXISTS $(DEMO_DB)_replica WITH (FORCE)' -c 'CREATE DATABASE $(DEMO_DB)_replica'
	@$(RUNNER) --database-url "$$($(PY) -m pgrename.embedded url --db $(DEMO_DB)_replica)" sets-migrate --end D > /dev/null
	@psql "$$($(PY) -m pgrename.embedded url --db $(DEMO_DB)_replica)" -q -v ON_ERROR_STOP=1 -f sql/demo/sync_replica.sql > /dev/null
	@rm -rf build/demo-sync-export
	@$(RUNNER) --database-url "$$($(PY) -m pgrename.embedded url)" export --to build/demo-sync-export
	@$(RUNNER) --database-url "$$($(PY) -m pgrename.embedded url --db $(DEMO_DB)_replica)" import build/demo-sync-export --mode update
	@$(RUNNER) --database-url "$$($(PY) -m pgrename.embedded url --db $(DEMO_DB)_replica)" import build/demo-sync-export --mode update
	@for db in $(DEMO_DB) $(DEMO_DB)_replica; do echo "$$db:"; \
	    psql "$$($(PY) -m pgrename.embedded url --db $$db)" -X -q -f sql/demo/sync_events.sql; done
	@echo "The same events by natural key, with other ids. Look around: psql \"\$$($(PY) -m pgrename.embedded url --db $(DEMO_DB)_replica)\""

analyze: install ## read-only report before a rename (FORMAT=json|markdown, EXACT=1 for exact counts)
	@$(RUNNER) analyze $(if $(FORMAT),--format "$$FORMAT") $(if $(EXACT),--exact)

plan: install ## render build/migrate.sql and build/rollback.sql, run the read-only preflight
	@$(RUNNER) plan

dry-run: install ## run the whole migration in a transaction, report, roll back
	@$(RUNNER) dry-run

migrate: install ## apply the migration (says so and does nothing if already applied)
	@$(RUNNER) migrate $(if $(APPLY),--apply) $(APPROVAL)

verify: install ## prove the database matches the migration (or its rollback); CONTRACT=file.prisma, SCRIPT=build/migrate.sql check those too
	@$(RUNNER) verify $(if $(CONTRACT),--contract "$$CONTRACT") $(if $(SCRIPT),--script "$$SCRIPT")

rollback: install ## undo the migration; proves the schema is as it was
	@$(RUNNER) rollback $(APPROVAL)

contract: install ## drop the compatibility views once old clients are updated (UNDO=1 brings them back)
	@$(RUNNER) contract $(if $(UNDO),--undo) $(APPROVAL)

merge-prepare: install ## copy the merges' legacy rows ahead of migrate in batches (BATCH_SIZE=10000, PAUSE=seconds, BATCHES=N); UNDO=1 deletes the copies
	@$(RUNNER) merge-prepare $(if $(BATCH_SIZE),--batch-size "$$BATCH_SIZE") $(if $(PAUSE),--pause "$$PAUSE") $(if $(BATCHES),--batches "$$BATCHES") $(if $(UNDO),--undo)

rehearse: install ## migrate, verify, roll back, verify on a scratch copy, then drop it (WITH_DATA=1 copies rows)
	@$(RUNNER) rehearse $(if $(WITH_DATA),--with-data)

backup: install ## back up every table's rows (COPY, FK-ordered, deterministic, checksummed); TO=dir, SCOPE='"T".id=1', DATA_ONLY=1, ARCHIVE=1
	@$(RUNNER) backup $(if $(TO),--to "$$TO") $(if $(SCOPE),--scope "$$SCOPE") $(if $(DATA_ONLY),--data-only) $(if $(ARCHIVE),--archive)

backup-verify: install ## check a data backup FROM=dir: manifest, checksums, row counts (no database needed)
	@$(RUNNER) backup-verify $(if $(FROM),"$$FROM")

backup-diff: install ## which tables and keys differ between two data backups A=dir B=dir (no database needed)
	@$(RUNNER) backup-diff $(if $(A),"$$A") $(if $(B),"$$B")

restore: install ## restore a data backup FROM=dir, MODE=clean|append|upsert, into DATABASE_URL (or TARGET=url); SCHEMA=1, CONTINUE_ON_ERROR=1
	@$(RUNNER) $(if $(TARGET),--database-url "$$TARGET") restore $(if $(FROM),"$$FROM") $(if $(MODE),--mode "$$MODE") $(if $(SCHEMA),--schema) $(if $(CONTINUE_ON_ERROR),--continue-on-error) $(APPROVAL)

export: install ## natural-key export of the tables in the config's sync: section; TO=dir (or dir.tar)
	@$(RUNNER) export $(if $(TO),--to "$$TO")

import: install ## import a natural-key export FROM=dir, MODE=init|append|update|replace, into DATABASE_URL (or TARGET=url); OVERWRITE_LOCAL=1, RESURRECT=1, ALLOW_DELETES=1, CONTINUE_ON_ERROR=1 (ERRORS=file)
	@$(RUNNER) $(if $(TARGET),--database-url "$$TARGET") import $(if $(FROM),"$$FROM") $(if $(MODE),--mode "$$MODE") $(if $(OVERWRITE_LOCAL),--overwrite-local-edits) $(if $(RESURRECT),--resurrect-deleted) $(if $(ALLOW_DELETES),--allow-deletes) $(if $(CONTINUE_ON_ERROR),--continue-on-error) $(if $(ERRORS),--errors "$$ERRORS") $(APPROVAL)

validate: install ## the integrity suite generated from the catalog, plus the config's sync keys and checks (FORMAT=tap|json)
	@$(RUNNER) validate $(if $(FORMAT),--format "$$FORMAT")

dumps: install ## list the pg_dump backups a profile took before migrations
	@$(RUNNER) dumps

restore-dump: install ## restore a pg_dump FILE=backups/....dump into a new database (INTO_ORIGINAL=1 over this one, with approval)
	@$(RUNNER) restore-dump $(if $(FILE),"$$FILE") $(if $(INTO_ORIGINAL),--into-original) $(APPROVAL)

# The old names of dumps and restore-dump, kept for one release; runner.py says so when used.
backups: install
	@$(RUNNER) backups
restore-backup: install
	@$(RUNNER) restore-backup $(if $(FILE),"$$FILE") $(if $(INTO_ORIGINAL),--into-original) $(APPROVAL)

SET_RANGE := $(if $(START),--start "$$START") $(if $(END),--end "$$END") $(if $(TO),--to "$$TO") $(if $(ONLY),--only "$$ONLY") $(if $(OUT_OF_ORDER),--allow-out-of-order)

sets-status: install ## every migration of the set (migration_sets in the config): applied, pending, edited, missing...
	@$(RUNNER) sets-status

sets-validate: install ## exit 3 if an applied migration's file was edited or is missing
	@$(RUNNER) sets-validate

sets-plan: install ## write build/sets-migrate.sql for the pending range (START= END= packages, TO=, ONLY=)
	@$(RUNNER) sets-plan $(SET_RANGE)

sets-migrate: install ## apply the pending range in one transaction (START= END=, or DB_MIGRATION_STARTWITH/ENDWITH; TO=, ONLY=, OUT_OF_ORDER=1)
	@$(RUNNER) sets-migrate $(SET_RANGE) $(APPROVAL)

sets-rollback: install ## roll back every migration above TO=NNN, newest first, with proof
	@$(RUNNER) sets-rollback $(if $(TO),--to "$$TO") $(APPROVAL)

sets-rehearse: install ## the pending range applied, rolled back and validated on a scratch copy (WITH_DATA=1: rows too)
	@$(RUNNER) sets-rehearse $(SET_RANGE) $(if $(WITH_DATA),--with-data)

sets-baseline: install ## adopt an existing database: record the migrations up to AT=NNN as present
	@$(RUNNER) sets-baseline $(if $(AT),--at "$$AT") $(APPROVAL)

sets-repair: install ## accept an edited applied migration (ACCEPT=NNN), or clear a failed one; audited
	@$(RUNNER) sets-repair $(if $(ACCEPT),--accept "$$ACCEPT") $(APPROVAL)

status: install ## pgrename's own schema version, applied migrations and the audit trail (EVENTS=N latest)
	@$(RUNNER) status $(if $(EVENTS),--events "$$EVENTS")

schema-upgrade: install ## install or upgrade pgrename's own schema (sql/install/) to this release's version
	@$(RUNNER) schema-upgrade

psql: install ## a psql session on the configured database (the embedded one by default)
	@if [ -n "$$DATABASE_URL" ]; then exec psql "$$DATABASE_URL"; \
	elif env | grep -qE '^PG(HOST|HOSTADDR|PORT|DATABASE|USER|SERVICE)='; then exec psql; \
	else exec psql "$$($(PY) -m pgrename.embedded url)"; fi

# Prisma's own schema parser (npm, run offline with node): the tests hold pgrename's to it.
PRISMA_PARSER := tests/prisma_dmmf/node_modules/.package-lock.json
$(PRISMA_PARSER): tests/prisma_dmmf/package.json tests/prisma_dmmf/package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed for the tests (Prisma's parser): install Node.js"; exit 2; }
	npm ci --prefix tests/prisma_dmmf --no-audit --no-fund --silent
	touch $@

test: install postgres $(PRISMA_PARSER) ## run the test suite (it starts its own PostgreSQL; one worker per CPU)
	$(VENV)/bin/pytest -n auto

test-fast: install postgres $(PRISMA_PARSER) ## the suite without the slow and corpus tests
	$(VENV)/bin/pytest -n auto -m "not slow and not corpus"

bench: db ## benchmarks, side by side in one run, printed as a table
	@$(PY) bench/run.py $(if $(SIZES),--sizes $(SIZES)) $(if $(ROWS),--rows $(ROWS)) $(if $(HOLD),--hold $(HOLD)) $(if $(SET_SIZES),--set-sizes $(SET_SIZES)) $(if $(SYNC_ROWS),--sync-rows $(SYNC_ROWS)) $(if $(SYNC_ROUNDS),--sync-rounds $(SYNC_ROUNDS)) $(if $(MERGE_ROWS),--merge-rows $(MERGE_ROWS))

clean: db-stop ## stop the embedded PostgreSQL and remove it, the venv, build/ and logs/
	rm -rf .pgdata build logs $(VENV) tests/prisma_dmmf/node_modules
