#!/usr/bin/env bash
# A local PostgreSQL for the results database: Debian's server (installed if missing), its
# cluster started, and a role and database nianbao_test that log in with a password over
# TCP on 127.0.0.1. For CI and for developers; safe to run again. The last line of stdout
# is the connection URL, so:
#   export NIANBAO_TEST_POSTGRES=$(bash scripts/postgres.sh | tail -n1)
set -euo pipefail
NAME=nianbao_test
PASSWORD=${NIANBAO_TEST_PASSWORD:-nianbao_test}  # a throwaway test database on the loopback
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq postgresql >/dev/null
fi
version=$(ls /usr/lib/postgresql | sort -V | tail -n1)
# The package makes cluster `main` where it can; a container may have skipped that.
pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {found=1} END {exit !found}' \
  || $SUDO pg_createcluster "$version" main >/dev/null
# pg_ctlcluster's status: 0 running, 3 stopped; start waits until it accepts connections.
$SUDO pg_ctlcluster "$version" main status >/dev/null 2>&1 || $SUDO pg_ctlcluster "$version" main start
port=$(pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $3}')

as_postgres() { (cd / && $SUDO runuser -u postgres -- "$@"); }
psql_admin() { as_postgres psql -p "$port" -v ON_ERROR_STOP=1 -qAt "$@"; }
psql_admin -v name="$NAME" -v password="$PASSWORD" <<'SQL'
SELECT format(CASE WHEN EXISTS (SELECT FROM pg_roles WHERE rolname = :'name')
                   THEN 'ALTER ROLE %I LOGIN PASSWORD %L' ELSE 'CREATE ROLE %I LOGIN PASSWORD %L' END,
              :'name', :'password') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'name', :'name')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'name') \gexec
SQL
echo "postgresql://$NAME:$PASSWORD@127.0.0.1:$port/$NAME"
