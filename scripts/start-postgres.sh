#!/usr/bin/env bash
# Starts a throw-away PostgreSQL for the relay tests, on 127.0.0.1 only, installing it from
# Debian's packages if it is missing. Prints one line on stdout:
#   export CAREBANK_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:PORT/carebank_test
# so that `eval "$(bash scripts/start-postgres.sh)"` sets it. Progress goes to stderr.
# Safe to run again: an existing cluster is reused, a running one left running.
# Settings: CAREBANK_PG_DIR (default /tmp/carebank-pg), CAREBANK_PG_PORT (default 55432).
set -euo pipefail

DATA="${CAREBANK_PG_DIR:-/tmp/carebank-pg}"
PORT="${CAREBANK_PG_PORT:-55432}"
DB=carebank_test

log() { echo "start-postgres: $*" >&2; }

find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

PGBIN="$(find_bin)"
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
    log "PostgreSQL not found; installing it from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update >&2
    apt-get install -y postgresql >&2
    PGBIN="$(find_bin)"
fi
[ -x "$PGBIN/initdb" ] || { log "no initdb after install"; exit 1; }

# The server refuses to run as root: run it as the postgres user when we are root.
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

if [ ! -f "$DATA/PG_VERSION" ]; then
    log "creating a cluster in $DATA"
    mkdir -p "$DATA"
    if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$DATA"; fi
    chmod 700 "$DATA"
    as_owner "$PGBIN/initdb" -D "$DATA" -A trust -U postgres >&2
fi

if ! as_owner "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    log "starting PostgreSQL on 127.0.0.1:$PORT"
    as_owner "$PGBIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 \
        -o "-p $PORT -c listen_addresses=127.0.0.1 -k $DATA" start >&2
fi

PSQL=("$PGBIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -v ON_ERROR_STOP=1 -qtA)
for _ in $(seq 1 30); do
    if "${PSQL[@]}" -d postgres -c "SELECT 1" >/dev/null 2>&1; then break; fi
    sleep 1
done
if [ "$("${PSQL[@]}" -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != 1 ]; then
    log "creating database $DB"
    "${PSQL[@]}" -d postgres -c "CREATE DATABASE $DB" >&2
fi

echo "export CAREBANK_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$PORT/$DB"
