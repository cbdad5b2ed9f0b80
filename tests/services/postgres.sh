#!/usr/bin/env bash
# A fresh PostgreSQL cluster as the postgres user on 127.0.0.1:<free port>, trust auth, database hpcc.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
D="$HPCC_SERVICES_DIR/postgres"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
case "${1:-start}" in
start)
  rm -rf "$D"; mkdir -p "$D/sock"; chown -R postgres "$D"
  su postgres -s /bin/sh -c "$PGBIN/initdb -D $D/data -U pgtest --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync" > "$D/initdb.log" 2>&1
  PORT=$(free_port)
  su postgres -s /bin/sh -c "exec $PGBIN/postgres -D $D/data -p $PORT -k $D/sock -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" > "$D/postgres.log" 2>&1 < /dev/null &
  wait_for 200 "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" || { cat "$D/postgres.log" >&2; exit 1; }
  record_pid postgres "$(head -1 "$D/data/postmaster.pid")"
  "$PGBIN/psql" -h 127.0.0.1 -p "$PORT" -U pgtest -d postgres -qAtc "create database hpcc" >/dev/null
  write_env postgres HPCC_TEST_PG="Host=127.0.0.1;Port=$PORT;Username=pgtest;Database=hpcc"
  log "postgres on 127.0.0.1:$PORT"
  ;;
stop) stop_recorded postgres ;;
esac
