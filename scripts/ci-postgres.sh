#!/bin/sh
# Starts the Debian PostgreSQL cluster on loopback (creating it if missing), makes a role + database for the
# store tests, and prints the URL for FS_TEST_PG_URL on stdout (all chatter goes to stderr). Idempotent.
# Usage: export FS_TEST_PG_URL=$(scripts/ci-postgres.sh)
set -e
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
command -v pg_lsclusters >/dev/null 2>&1 || { echo "ci-postgres: postgresql not installed" >&2; exit 1; }
ver=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | awk -v v="$ver" '$1 == v && $2 == "main"' | grep -q .; then
  $SUDO pg_createcluster "$ver" main >&2
fi
port=$(pg_lsclusters -h | awk -v v="$ver" '$1 == v && $2 == "main" {print $3}')
pg_lsclusters -h | awk -v v="$ver" '$1 == v && $2 == "main" {print $4}' | grep -q online ||
  $SUDO pg_ctlcluster "$ver" main start >&2
psql_pg() { $SUDO runuser -u postgres -- psql -p "$port" -h /var/run/postgresql -qtA -v ON_ERROR_STOP=1 "$@"; }
i=0
until psql_pg -c "SELECT 1" >/dev/null 2>&1; do
  i=$((i + 1)); [ $i -lt 30 ] || { echo "ci-postgres: server did not come up" >&2; exit 1; }; sleep 1
done
[ "$(psql_pg -c "SELECT 1 FROM pg_roles WHERE rolname='facescore'")" = 1 ] ||
  psql_pg -c "CREATE ROLE facescore LOGIN PASSWORD 'facescore-ci'" >&2
[ "$(psql_pg -c "SELECT 1 FROM pg_database WHERE datname='facescore_test'")" = 1 ] ||
  psql_pg -c "CREATE DATABASE facescore_test OWNER facescore" >&2
echo "postgresql://facescore:facescore-ci@127.0.0.1:$port/facescore_test"
