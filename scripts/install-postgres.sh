#!/bin/sh
# Makes sure PostgreSQL's server binaries (initdb, pg_ctl, postgres) are on this machine.
# As root on Debian or Ubuntu it installs the OS package; anywhere else it says what to install.
set -eu
if [ -n "${PG_BINDIR:-}" ] || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "PostgreSQL server binaries not found: installing the postgresql package with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-contrib >/dev/null
    exit 0
fi
echo "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found." >&2
echo "On Debian or Ubuntu, as root: apt-get update && apt-get install -y postgresql postgresql-contrib" >&2
echo "Elsewhere: install your OS's PostgreSQL server package, or set PG_BINDIR to its bin directory." >&2
exit 1
