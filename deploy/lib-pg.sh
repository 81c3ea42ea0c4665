# shellcheck shell=bash
# Helpers for a throwaway PostgreSQL cluster, sourced by deploy/demo.sh and deploy/bench/*.sh.
#
#   pg_setup_bin                      find the server binaries (sets PG_BIN)
#   pg_cluster_start DIR [CONF...]    initdb into DIR/data and start on a free loopback port
#                                     (sets PG_BASE, PG_DATA, PG_PORT); extra lines go to postgresql.conf
#   pg_cluster_stop                   stop it (safe to call twice, or when it never started)
#   pg_url DB                         libpq URL for DB as the postgres superuser over TCP
#   pg_psql DB [PSQL ARGS...]         psql -X -q -A -t -v ON_ERROR_STOP=1 on DB
#
# Trust authentication on 127.0.0.1 only, no Unix socket. As root, initdb and the server run as the
# postgres OS user (PostgreSQL refuses to run as root) and DIR is made traversable for it.

PG_BIN="${PG_BIN:-}"
PG_BASE=""
PG_DATA=""
PG_PORT=""
PG_RUNNING=0

# The directory holding initdb/pg_ctl/postgres: $PG_BIN, else pg_config --bindir, else the newest
# /usr/lib/postgresql/*/bin.
pg_setup_bin() {
  if [[ -n "$PG_BIN" && -x "$PG_BIN/initdb" ]]; then
    return 0
  fi
  local d
  if command -v pg_config >/dev/null 2>&1; then
    d="$(pg_config --bindir 2>/dev/null || true)"
    if [[ -n "$d" && -x "$d/initdb" ]]; then
      PG_BIN="$d"
      return 0
    fi
  fi
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  if [[ -n "$d" && -x "$d/initdb" ]]; then
    PG_BIN="$d"
    return 0
  fi
  echo "PostgreSQL server binaries not found: set PG_BIN, or put pg_config on PATH" >&2
  return 1
}

# Runs a command as the cluster's owner: the postgres OS user when we are root, else ourselves.
pg_as_owner() {
  if [[ "$(id -u)" -eq 0 ]]; then
    (cd "$PG_BASE" && runuser -u postgres -- "$@")
  else
    (cd "$PG_BASE" && "$@")
  fi
}

# Prints a TCP port on 127.0.0.1 that nothing listens on (python3 if present, else probing).
pg_free_port() {
  local p
  if command -v python3 >/dev/null 2>&1 \
      && p="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()' 2>/dev/null)" \
      && [[ "$p" =~ ^[0-9]+$ ]]; then
    echo "$p"
    return 0
  fi
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 30000))
    # A refused connection means the port is free.
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  echo "no free TCP port found" >&2
  return 1
}

pg_cluster_start() {
  local base="$1"
  shift
  pg_setup_bin
  PG_BASE="$base"
  PG_DATA="$base/data"
  mkdir -p "$base"
  if [[ "$(id -u)" -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || { echo "running as root needs a 'postgres' OS user to run the server" >&2; return 1; }
    chown postgres: "$base"
    # DIR's parent is the caller's own temp dir, which mktemp -d makes 0700: let postgres through.
    chmod o+x "$(dirname "$base")"
    runuser -u postgres -- test -x "$base" \
      || { echo "the postgres OS user cannot reach $base: use a TMPDIR that every user can traverse" >&2; return 1; }
  fi
  pg_as_owner "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync >"$base/initdb.log" 2>&1 \
    || { cat "$base/initdb.log" >&2; return 1; }
  local conf
  conf="$(printf '%s\n' "listen_addresses = '127.0.0.1'" "unix_socket_directories = ''" "fsync = off" \
    "synchronous_commit = off" "full_page_writes = off" "max_connections = 40" "shared_buffers = 128MB" "$@")"
  # The port is picked just before starting; if another process grabs it meanwhile, try another.
  local attempt
  for attempt in 1 2 3; do
    PG_PORT="$(pg_free_port)"
    printf '%s\nport = %s\n' "$conf" "$PG_PORT" | pg_as_owner tee "$PG_DATA/postgresql.auto.conf" >/dev/null
    if pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$base/server.log" -w -t 60 start >/dev/null 2>&1; then
      PG_RUNNING=1
      return 0
    fi
    echo "PostgreSQL did not start on port $PG_PORT (attempt $attempt); log:" >&2
    tail -n 5 "$base/server.log" >&2 || true
  done
  return 1
}

pg_cluster_stop() {
  if [[ "$PG_RUNNING" -eq 1 ]]; then
    pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 30 stop >/dev/null 2>&1 \
      || pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    PG_RUNNING=0
  fi
}

pg_url() {
  echo "postgresql://postgres@127.0.0.1:$PG_PORT/$1"
}

pg_psql() {
  local db="$1"
  shift
  "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -d "$(pg_url "$db")" "$@"
}
