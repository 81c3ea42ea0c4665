#!/usr/bin/env bash
# Benchmark: physical (base) backup and restore, Flotilla against pgBackRest and pg_basebackup
#
#   flotilla:      flotilla backup --kind physical          / flotilla restore --kind physical --pgdata DIR
#   pgBackRest:    pgbackrest backup --type=full            / pgbackrest restore --pg1-path=DIR
#                  (compress-type=zst level 3, process-max=2, repo1-cipher-type=aes-256-cbc)
#   pg_basebackup: pg_basebackup -Ft -X none -c fast -D - | zstd -3 > FILE   / zstd -dc FILE | tar -x -C DIR
#                  (no encryption: the reference for "read, compress, write")
#
# on a throwaway cluster loaded with `pgbench -i -s BENCH_SCALE` (60: about 0.9 GiB). Flotilla and
# pgBackRest both compress with zstd level 3 and encrypt with AES-256; Flotilla uses its default 2
# zstd worker threads, pgBackRest process-max=2. Each tool's backup needs its own WAL archiving, so
# archive_command is switched before each tool's backup (ALTER SYSTEM + pg_reload_conf(), then a WAL
# switch and a wait until nothing is left to archive, outside the timed part):
#   flotilla:   flotilla wal-push, with the `flotilla agent` daemon running as it would in production
#   pgBackRest: pgbackrest archive-push, archive-async=y
# Every tool runs as the postgres OS user, as it would on a database host. Timed is the wall time
# of the command, JVM start included. The data is in the page cache (the machine has far more RAM
# than the database), so this measures CPU (checksums, compression, encryption) more than disks.
# CPU time (user + sys) and peak RSS of the flotilla and pgbackrest commands come from GNU time.
# With BENCH_VERIFY=1 each restored copy is started (on another port, archive_mode off) and its
# pgbench_accounts row count checked, after the timings.
#
# Environment (all optional):
#   BENCH_SCALE=60        pgbench scale factor (1 = ~15 MiB)
#   BENCH_RUNS=1          backup + restore rounds per tool (the order rotates each round)
#   BENCH_TOOLS="flotilla pgbackrest basebackup"   which sides to run
#   BENCH_VERIFY=1        start each restored copy and count rows (0 to skip)
#   BENCH_KEEP=1          keep the temp dir afterwards
#   PG_BIN                PostgreSQL server binaries (default: pg_config --bindir)
# FLOTILLA_JAVA_OPTS is not set here: the launcher's defaults are what is being measured.
# pgBackRest is installed with apt-get when missing and we are root.
#
# Usage: deploy/bench/physical.sh                     (scale 60, about 10 minutes)
#        BENCH_SCALE=5 deploy/bench/physical.sh       (smoke run)
set -euo pipefail

here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
deploy="$(cd "$here/.." && pwd)"
repo_root="$(cd "$deploy/.." && pwd)"
flotilla="$deploy/bin/flotilla"
# shellcheck source=deploy/lib-pg.sh
source "$deploy/lib-pg.sh"

scale="${BENCH_SCALE:-60}"
runs="${BENCH_RUNS:-1}"
tools="${BENCH_TOOLS:-flotilla pgbackrest basebackup}"
verify="${BENCH_VERIFY:-1}"
db=bench

for v in scale runs; do
  [[ "${!v}" =~ ^[0-9]+$ && "${!v}" -ge 1 ]] || { echo "BENCH_${v^^}: not a positive whole number: ${!v}" >&2; exit 2; }
done
for t in $tools; do
  [[ "$t" == flotilla || "$t" == pgbackrest || "$t" == basebackup ]] \
    || { echo "BENCH_TOOLS: unknown tool '$t' (flotilla, pgbackrest, basebackup)" >&2; exit 2; }
done
for tool in java zstd tar; do
  command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 2; }
done

say() {
  printf '%s  %s\n' "$(date +%H:%M:%S)" "$*"
}

if ! command -v pgbackrest >/dev/null; then
  if [[ "$(id -u)" -eq 0 ]]; then
    say "installing pgbackrest (apt-get install -y pgbackrest)"
    apt-get install -y -q pgbackrest >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q pgbackrest >/dev/null; }
  else
    echo "pgbackrest is required: apt-get install pgbackrest" >&2
    exit 2
  fi
fi

# --- clean-up: stop what we started and remove the temp dir however we exit ---------------------
tmp=""
agent_pid=""
verify_dirs=()
cleanup() {
  local rc=$?
  set +e
  stop_agent
  for d in "${verify_dirs[@]}"; do
    [[ -f "$d/postmaster.pid" ]] && pg_as_owner "$PG_BIN/pg_ctl" -D "$d" -m immediate -w -t 30 stop >/dev/null 2>&1
  done
  pg_cluster_stop
  if [[ -n "$tmp" && -d "$tmp" ]]; then
    if [[ "${BENCH_KEEP:-0}" == 1 ]]; then
      echo "kept $tmp (BENCH_KEEP=1)" >&2
    else
      rm -rf "$tmp"
    fi
  fi
  exit "$rc"
}
stop_agent() {
  if [[ -n "$agent_pid" ]]; then
    kill "$agent_pid" 2>/dev/null || true
    wait "$agent_pid" 2>/dev/null || true
    agent_pid=""
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ ! -f "$repo_root/agent/target/flotilla-agent.jar" || ! -d "$repo_root/agent/target/lib" ]]; then
  say "building flotilla (mvn -B -q package -DskipTests)"
  (cd "$repo_root" && mvn -B -q package -DskipTests)
fi
if [[ -n "${FLOTILLA_JAVA_OPTS:-}" ]]; then
  say "note: FLOTILLA_JAVA_OPTS is set ($FLOTILLA_JAVA_OPTS): the launcher's default JVM options are NOT what is measured"
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/flotilla-bench-physical.XXXXXX")"

# The launcher runs in place (deploy/bin/flotilla with agent/target), not from a snapshot copy: the
# build's class-data-sharing archive agent/target/flotilla.jsa records the jar and lib paths it was
# made for, and the JVM silently ignores it for a copied tree, so a copy would measure a slower
# start-up than users get. Do not rebuild while a benchmark runs.
[[ -r "$repo_root/agent/target/flotilla.jsa" ]] \
  || say "note: $repo_root/agent/target/flotilla.jsa is missing: the JVM starts without the build's CDS archive"

is_root() { [[ "$(id -u)" -eq 0 ]]; }
give_pg() { if is_root; then chown -R postgres: "$@"; fi; }
# Runs CMD as the server's OS user in this process (exec), so $! of `(as_pg ...) &` is CMD itself.
as_pg() {
  if is_root; then
    exec setpriv --reuid=postgres --regid=postgres --init-groups env HOME="$tmp" "$@"
  else
    exec "$@"
  fi
}
now_ns() { date +%s%N; }
# timed OUT CMD...: runs CMD as the server's OS user in $tmp; with GNU time, writes "user sys maxrss_kb"
# to OUT (CPU of CMD and the children it waited for, e.g. pgBackRest's worker processes).
timed() {
  local out="$1"
  shift
  if [[ -x /usr/bin/time ]]; then
    (cd "$tmp" && as_pg /usr/bin/time -f '%U %S %M' -o "$out" "$@")
  else
    (cd "$tmp" && as_pg "$@")
  fi
}
cpu_of() { [[ -s "$1" ]] && awk '{ printf "%.1f", $1 + $2 }' "$1" || echo n/a; }
rss_of() { [[ -s "$1" ]] && awk '{ printf "%.0f MiB", $3 / 1024 }' "$1" || echo n/a; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
du_b() { du -sb "$1" | awk '{ print $1 }'; }

# --- the cluster, the two tools' configuration, the data -----------------------------------------
pg_setup_bin
pg_version="$("$PG_BIN/postgres" --version | awk '{ print $3 }')"
mkdir -p "$tmp/sock" "$tmp/agent" "$tmp/repo" "$tmp/pgbr/repo" "$tmp/pgbr/spool" "$tmp/pgbr/lock" "$tmp/pgbr/log" "$tmp/out"
chmod o+x "$tmp"
give_pg "$tmp/sock" "$tmp/agent" "$tmp/repo" "$tmp/pgbr" "$tmp/out"
config="$tmp/agent/agent.yaml"
pgbr="$tmp/pgbr/pgbackrest.conf"
flotilla_archive="$flotilla wal-push --config $config %p"
pgbr_archive="pgbackrest --config=$pgbr --stanza=$db archive-push %p"

say "starting a throwaway PostgreSQL cluster ($PG_BIN) in $tmp"
pg_cluster_start "$tmp/pg" "unix_socket_directories = '$tmp/sock'" "archive_mode = on" "archive_timeout = 0" \
  "archive_command = '$flotilla_archive'" "max_wal_size = 4GB" "checkpoint_timeout = 30min" "maintenance_work_mem = 256MB"

(umask 077 && echo "bench passphrase $RANDOM-$RANDOM-$RANDOM" >"$tmp/agent/passphrase")
cat >"$config" <<YAML
host: $db
postgres:
  url: $(pg_url postgres)
  bin: $PG_BIN
  data-directory: $PG_DATA
repositories:
  - name: primary
    url: file://$tmp/repo
encryption:
  passphrase-file: $tmp/agent/passphrase
compression:
  algorithm: zstd
  level: 3
lock-directory: $tmp/agent
YAML
cat >"$pgbr" <<CONF
[global]
repo1-path=$tmp/pgbr/repo
repo1-cipher-type=aes-256-cbc
repo1-cipher-pass=bench-passphrase-$RANDOM-$RANDOM-$RANDOM
repo1-retention-full=9999
compress-type=zst
compress-level=3
process-max=2
archive-async=y
spool-path=$tmp/pgbr/spool
lock-path=$tmp/pgbr/lock
log-path=$tmp/pgbr/log
log-level-console=warn
log-level-file=info
start-fast=y

[$db]
pg1-path=$PG_DATA
pg1-port=$PG_PORT
pg1-socket-path=$tmp/sock
CONF
chmod 640 "$pgbr"
give_pg "$tmp/agent" "$tmp/pgbr"

(cd "$tmp" && as_pg "$flotilla" agent --config "$config") >"$tmp/out/agent.log" 2>&1 &
agent_pid=$!
deadline=$((SECONDS + 120))
until grep -q "WAL service running" "$tmp/out/agent.log"; do
  kill -0 "$agent_pid" 2>/dev/null || { cat "$tmp/out/agent.log" >&2; echo "flotilla agent exited" >&2; exit 1; }
  ((SECONDS < deadline)) || { cat "$tmp/out/agent.log" >&2; echo "flotilla agent did not start" >&2; exit 1; }
  sleep 0.2
done
pg_as_owner pgbackrest --config="$pgbr" --stanza="$db" stanza-create >"$tmp/out/pgbr-stanza.log" 2>&1 \
  || { cat "$tmp/out/pgbr-stanza.log" >&2; exit 1; }
say "flotilla agent daemon running (pid $agent_pid); pgBackRest stanza created"

pg_psql postgres -c "CREATE DATABASE $db"
url="$(pg_url "$db")"
say "loading pgbench tables, scale $scale"
"$PG_BIN/pgbench" -i -q -s "$scale" "$url" >"$tmp/out/pgbench.log" 2>&1 || { cat "$tmp/out/pgbench.log" >&2; exit 1; }
pg_psql "$db" -c "VACUUM (FREEZE, ANALYZE)"
pg_psql postgres -c "CHECKPOINT"
cluster_bytes="$(pg_psql postgres -c "SELECT sum(pg_database_size(oid))::bigint FROM pg_database")"
pgdata_bytes="$(du_b "$PG_DATA")"
expected_rows=$((scale * 100000))
say "cluster: $(mib "$cluster_bytes") in databases, PGDATA $(mib "$pgdata_bytes") on disk"

# Points archive_command at one tool and waits until everything is archived (not timed).
current_archiver=flotilla
use_archiver() { # flotilla | pgbackrest
  local want="$1" cmd status="$PG_DATA/pg_wal/archive_status" limit=$((SECONDS + 600))
  if [[ "$want" != "$current_archiver" ]]; then
    [[ "$want" == flotilla ]] && cmd="$flotilla_archive" || cmd="$pgbr_archive"
    pg_psql postgres -c "ALTER SYSTEM SET archive_command = '$cmd'"
    pg_psql postgres -c "SELECT pg_reload_conf()" >/dev/null
    current_archiver="$want"
    sleep 1
  fi
  pg_psql postgres -c "SELECT pg_switch_wal()" >/dev/null
  while [[ -n "$(find "$status" -maxdepth 1 -name '*.ready' -print -quit)" ]]; do
    ((SECONDS < limit)) || { tail -n 20 "$tmp/pg/server.log" >&2; echo "archiving through $want did not catch up" >&2; exit 1; }
    sleep 0.2
  done
  if [[ "$want" == pgbackrest ]]; then
    pg_as_owner pgbackrest --config="$pgbr" --stanza="$db" check >"$tmp/out/pgbr-check.log" 2>&1 \
      || { cat "$tmp/out/pgbr-check.log" >&2; exit 1; }
  fi
}

declare -A B R S RS # backup time, restore time, stored bytes, restored bytes: KEY = tool.run
declare -A NOTE

backup_flotilla() { # run -> sets B, S
  local i="$1" t0 t1 id
  use_archiver flotilla
  t0="$(now_ns)"
  timed "$tmp/out/flotilla-backup-$i.time" "$flotilla" backup --kind physical --config "$config" \
    >"$tmp/out/flotilla-backup-$i.out" 2>"$tmp/out/flotilla-backup-$i.err" \
    || { cat "$tmp/out/flotilla-backup-$i.err" >&2; exit 1; }
  t1="$(now_ns)"
  id="$(tail -n 1 "$tmp/out/flotilla-backup-$i.out")"
  B[flotilla.$i]="$(secs "$t0" "$t1")"
  S[flotilla.$i]="$(du_b "$tmp/repo/hosts/$db/backups/$id")"
  NOTE[flotilla]="$(head -n 1 "$tmp/out/flotilla-backup-$i.out")"
}

restore_flotilla() {
  local i="$1" dir="$tmp/restore/flotilla-$1" t0 t1
  mkdir -p "$dir" && chmod 700 "$dir" && give_pg "$dir"
  t0="$(now_ns)"
  timed "$tmp/out/flotilla-restore-$i.time" "$flotilla" restore --kind physical --backup latest --pgdata "$dir" --config "$config" \
    >"$tmp/out/flotilla-restore-$i.out" 2>"$tmp/out/flotilla-restore-$i.err" || { cat "$tmp/out/flotilla-restore-$i.err" >&2; exit 1; }
  t1="$(now_ns)"
  R[flotilla.$i]="$(secs "$t0" "$t1")"
  RS[flotilla.$i]="$(du_b "$dir")"
}

pgbr_last_backup() {
  find "$tmp/pgbr/repo/backup/$db" -maxdepth 1 -type d -name '*F' -printf '%f\n' | sort | tail -n 1
}

backup_pgbackrest() {
  local i="$1" t0 t1 label
  use_archiver pgbackrest
  t0="$(now_ns)"
  timed "$tmp/out/pgbackrest-backup-$i.time" pgbackrest --config="$pgbr" --stanza="$db" --type=full backup >"$tmp/out/pgbr-backup-$i.out" 2>&1 \
    || { cat "$tmp/out/pgbr-backup-$i.out" >&2; exit 1; }
  t1="$(now_ns)"
  label="$(pgbr_last_backup)"
  B[pgbackrest.$i]="$(secs "$t0" "$t1")"
  S[pgbackrest.$i]="$(du_b "$tmp/pgbr/repo/backup/$db/$label")"
}

restore_pgbackrest() {
  local i="$1" dir="$tmp/restore/pgbackrest-$1" t0 t1
  mkdir -p "$dir" && chmod 700 "$dir" && give_pg "$dir"
  t0="$(now_ns)"
  timed "$tmp/out/pgbackrest-restore-$i.time" pgbackrest --config="$pgbr" --stanza="$db" --pg1-path="$dir" restore \
    >"$tmp/out/pgbr-restore-$i.out" 2>&1 \
    || { cat "$tmp/out/pgbr-restore-$i.out" >&2; exit 1; }
  t1="$(now_ns)"
  R[pgbackrest.$i]="$(secs "$t0" "$t1")"
  RS[pgbackrest.$i]="$(du_b "$dir")"
}

backup_basebackup() {
  local i="$1" out="$tmp/out/basebackup-$1.tar.zst" t0 t1
  # -X none: the WAL comes from whichever archive_command is active (any of the two will do).
  use_archiver "$current_archiver"
  t0="$(now_ns)"
  "$PG_BIN/pg_basebackup" -d "$(pg_url postgres)" -Ft -X none -c fast -D - 2>"$tmp/out/basebackup-$i.err" | zstd -3 -q >"$out" \
    || { cat "$tmp/out/basebackup-$i.err" >&2; exit 1; }
  t1="$(now_ns)"
  B[basebackup.$i]="$(secs "$t0" "$t1")"
  S[basebackup.$i]="$(stat -c %s "$out")"
  NOTE[basebackup]="$current_archiver"
}

restore_basebackup() {
  local i="$1" dir="$tmp/restore/basebackup-$1" t0 t1
  mkdir -p "$dir" && chmod 700 "$dir" && give_pg "$dir"
  t0="$(now_ns)"
  (cd "$tmp" && as_pg bash -c 'zstd -dc -q "$1" | tar -xf - -C "$2"' _ "$tmp/out/basebackup-$i.tar.zst" "$dir") \
    || { echo "restoring the pg_basebackup tar failed" >&2; exit 1; }
  t1="$(now_ns)"
  R[basebackup.$i]="$(secs "$t0" "$t1")"
  RS[basebackup.$i]="$(du_b "$dir")"
}

mkdir -p "$tmp/restore"
give_pg "$tmp/restore"
read -r -a order <<<"$tools"
say "$runs round(s) of backup then restore per tool; order rotates each round"
for ((i = 1; i <= runs; i++)); do
  n=${#order[@]}
  for ((k = 0; k < n; k++)); do
    t="${order[$(((k + i - 1) % n))]}"
    "backup_$t" "$i"
    say "round $i $t backup: ${B[$t.$i]} s, stored $(mib "${S[$t.$i]}")"
  done
  for ((k = 0; k < n; k++)); do
    t="${order[$(((k + i - 1) % n))]}"
    [[ "$i" -gt 1 ]] && { pg_as_owner rm -rf "$tmp/restore/$t-$((i - 1))"; }
    "restore_$t" "$i"
    say "round $i $t restore: ${R[$t.$i]} s, restored $(mib "${RS[$t.$i]}")"
  done
done

# --- verification: start each restored copy and count the rows --------------------------------
declare -A V
if [[ "$verify" == 1 ]]; then
  say "verifying: starting each restored copy (archive_mode off, another port) and counting pgbench_accounts"
  for t in $tools; do
    dir="$tmp/restore/$t-$runs"
    if [[ "$t" == basebackup ]]; then
      # pg_basebackup -X none leaves recovery to the archive that was active during its run.
      if [[ "${NOTE[basebackup]}" == pgbackrest ]]; then
        rc="pgbackrest --config=$pgbr --stanza=$db --pg1-path=$dir archive-get %f \"%p\""
      else
        rc="$flotilla wal-fetch --config $config %f %p"
      fi
      printf "restore_command = '%s'\n" "${rc//\'/\'\'}" | pg_as_owner tee -a "$dir/postgresql.auto.conf" >/dev/null
      pg_as_owner touch "$dir/recovery.signal"
    fi
    port="$(pg_free_port)"
    verify_dirs+=("$dir")
    t0="$(now_ns)"
    if pg_as_owner "$PG_BIN/pg_ctl" -D "$dir" -l "$tmp/out/verify-$t.log" -w -t 600 \
        -o "-p $port -c archive_mode=off -c unix_socket_directories='$tmp/sock'" start >/dev/null 2>&1; then
      rows="$("$PG_BIN/psql" -X -q -A -t -d "postgresql://postgres@127.0.0.1:$port/$db" -c "SELECT count(*) FROM pgbench_accounts" 2>&1 || true)"
      V[$t]="$rows rows (expected $expected_rows), up in $(secs "$t0" "$(now_ns)") s"
      [[ "$rows" == "$expected_rows" ]] || V[$t]="FAILED: ${V[$t]}"
    else
      V[$t]="FAILED: did not start; see log below"
      tail -n 15 "$tmp/out/verify-$t.log" >&2
    fi
    pg_as_owner "$PG_BIN/pg_ctl" -D "$dir" -m fast -w -t 60 stop >/dev/null 2>&1 || true
    say "$t: ${V[$t]}"
  done
fi

# --- summary -----------------------------------------------------------------------------------
best() { printf '%s\n' "$@" | sort -g | head -n 1; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.2f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
declare -A BB BM RB RM
for t in $tools; do
  bs=() rs=()
  for ((i = 1; i <= runs; i++)); do bs+=("${B[$t.$i]}"); rs+=("${R[$t.$i]}"); done
  BB[$t]="$(best "${bs[@]}")"; BM[$t]="$(median "${bs[@]}")"
  RB[$t]="$(best "${rs[@]}")"; RM[$t]="$(median "${rs[@]}")"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }
has() { [[ " $tools " == *" $1 "* ]]; }
cores="$(nproc)"
cpu="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)"
load="$(cut -d ' ' -f 1-3 /proc/loadavg)"
label() { case "$1" in flotilla) echo "flotilla" ;; pgbackrest) echo "pgBackRest" ;; basebackup) echo "pg_basebackup + zstd -3" ;; esac; }

echo
echo "== physical backup and restore: pgbench scale $scale, $(mib "$cluster_bytes") in databases, PGDATA $(mib "$pgdata_bytes"); $runs round(s) =="
printf '%-24s %-22s %-22s %-14s %-14s\n' "" "backup best / median" "restore best / median" "stored" "restored"
for t in $tools; do
  printf '%-24s %-22s %-22s %-14s %-14s\n' "$(label "$t")" "${BB[$t]} / ${BM[$t]} s" "${RB[$t]} / ${RM[$t]} s" \
    "$(mib "${S[$t.$runs]}")" "$(mib "${RS[$t.$runs]}")"
done
if has flotilla && has pgbackrest; then
  rb="$(ratio "${BB[flotilla]}" "${BB[pgbackrest]}")"; rbm="$(ratio "${BM[flotilla]}" "${BM[pgbackrest]}")"
  rr="$(ratio "${RB[flotilla]}" "${RB[pgbackrest]}")"; rrm="$(ratio "${RM[flotilla]}" "${RM[pgbackrest]}")"
  echo "ratio flotilla / pgBackRest: backup ${rb} (best), ${rbm} (median); restore ${rr} (best), ${rrm} (median)"
  echo "target flotilla time <= pgBackRest time: backup $(awk -v r="$rb" 'BEGIN { print (r <= 1 ? "met" : "NOT met") }')," \
    "restore $(awk -v r="$rr" 'BEGIN { print (r <= 1 ? "met" : "NOT met") }') (best times)"
fi
for t in flotilla pgbackrest; do
  has "$t" || continue
  echo "$(label "$t") round $runs: backup CPU $(cpu_of "$tmp/out/$t-backup-$runs.time") s, peak RSS $(rss_of "$tmp/out/$t-backup-$runs.time");" \
    "restore CPU $(cpu_of "$tmp/out/$t-restore-$runs.time") s, peak RSS $(rss_of "$tmp/out/$t-restore-$runs.time") (user + sys, GNU time)"
done
has flotilla && echo "flotilla reported: ${NOTE[flotilla]}"
has basebackup && echo "pg_basebackup ran with archive_command = ${NOTE[basebackup]} (-X none); its output is not encrypted"
if [[ "$verify" == 1 ]]; then
  for t in $tools; do echo "verify $(label "$t"): ${V[$t]}"; done
fi
echo "machine: $cores cores${cpu:+, $cpu}; PostgreSQL $pg_version; $(pgbackrest version); zstd $(zstd -V | grep -o 'v[0-9.]*' | head -n 1);" \
  "load average at the end $load (shared machine: noisy)"
echo
echo "Markdown for docs/benchmarks.md:"
echo
echo "| Date | Tool | Backup best / median | Restore best / median | Stored | Restored |"
echo "|---|---|---|---|---|---|"
for t in $tools; do
  echo "| $(date +%Y-%m-%d) | $(label "$t") | ${BB[$t]} / ${BM[$t]} s | ${RB[$t]} / ${RM[$t]} s | $(mib "${S[$t.$runs]}") | $(mib "${RS[$t.$runs]}") |"
done
if has flotilla && has pgbackrest; then
  echo
  echo "Flotilla / pgBackRest: backup ${rb} (best) / ${rbm} (median), restore ${rr} (best) / ${rrm} (median);" \
    "pgbench scale $scale, $(mib "$cluster_bytes") in databases, $runs round(s), $cores cores, PostgreSQL $pg_version."
fi
if [[ "$verify" == 1 ]]; then
  for t in $tools; do
    [[ "${V[$t]}" != FAILED* ]] || { echo "verification of $(label "$t") FAILED" >&2; exit 1; }
  done
fi
