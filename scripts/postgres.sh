#!/usr/bin/env bash
# Sourced by test.sh and bench/run.sh: starts a throwaway PostgreSQL server from the machine's own binaries
# (initdb as the 'postgres' system user when root), on 127.0.0.1 and a free port, data in a temp dir.
# Sets PG_PORT, PG_DIR, PG_BIN and PG_SERVER (an Npgsql connection string); stop_postgres removes everything.

find_pg_bin() {
  PG_BIN=""
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && PG_BIN="$d"; done
  if [ -z "$PG_BIN" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing PostgreSQL server (apt-get install postgresql)" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) || return 1
    for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && PG_BIN="$d"; done
  fi
  [ -n "$PG_BIN" ]
}

as_pg() { if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }

# start_postgres [extra server options...]
start_postgres() {
  find_pg_bin || { echo "PostgreSQL server binaries (initdb, pg_ctl) not found; install the 'postgresql' package" >&2; return 1; }
  PG_DIR=$(mktemp -d /tmp/tandem-pg.XXXXXX)
  PG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null || echo 55432)
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/false postgres
    chown postgres "$PG_DIR"
  fi
  as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust --no-sync -E UTF8 >"$PG_DIR/initdb.log" 2>&1 \
    || { cat "$PG_DIR/initdb.log" >&2; return 1; }
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c max_connections=300 $*" start >/dev/null \
    || { cat "$PG_DIR/server.log" >&2; return 1; }
  PG_SERVER="Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=postgres"
}

stop_postgres() {
  [ -n "${PG_DIR:-}" ] || return 0
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
}
