#!/usr/bin/env bash
# Benchmark: WAL archiving under write load, Flotilla against pgBackRest's asynchronous archive-push
#
#   flotilla:   archive_command = 'flotilla wal-push --config F %p', with `flotilla agent` (the
#               daemon that pushes ready WAL ahead) running alongside
#   pgBackRest: archive_command = 'pgbackrest --stanza=bench archive-push %p' with archive-async=y,
#               spool-path, process-max=2, compress-type=zst level 3, repo1-cipher-type=aes-256-cbc
#
# Each tool gets a fresh throwaway cluster (archive_mode = on; full_page_writes = on as in production,
# unlike lib-pg.sh's default, so the WAL volume is realistic; fsync and synchronous_commit stay off,
# which only raises the load), loaded with `pgbench -i` and checkpointed, then runs
# `pgbench -c 4 -j 2 -T BENCH_SECONDS` while the archive lag is sampled every BENCH_SAMPLE seconds:
#   .ready lag: the number of pg_wal/archive_status/*.ready files (completed segments PostgreSQL
#               has not yet been told are archived);
#   LSN lag:    segments between pg_walfile_name(pg_current_wal_lsn()) and
#               pg_stat_archiver.last_archived_wal, less the one being written.
# Every archive_command call goes through a small wrapper that logs its start and end
# (date +%s%N) around the whole command, exit code, whether the file had already been pushed ahead
# when PostgreSQL asked (flotilla: a marker in the agent's spool push-done/; pgBackRest: an .ok file
# in its spool), and for flotilla whether the launcher started a JVM (a JAVA_HOME shim records it)
# or answered on its shell fast path after waiting for the daemon's marker.
# Reports max and median lag, median / p90 / max archive_command duration, the time to drain the
# backlog after pgbench stops, and a markdown block for docs/benchmarks.md.
# Targets: lag <= 2 segments; archive_command median <= 50 ms.
#
# Environment (all optional):
#   BENCH_SECONDS=120     pgbench -T duration
#   BENCH_SCALE=10        pgbench -i scale factor of the cluster it runs on
#   BENCH_CLIENTS=4       pgbench -c
#   BENCH_THREADS=2       pgbench -j
#   BENCH_SAMPLE=5        seconds between lag samples
#   BENCH_TOOLS="flotilla pgbackrest"   which sides to run, in this order
#   BENCH_DRAIN_MAX=600   seconds to wait for the backlog to drain after pgbench
#   BENCH_KEEP=1          keep the temp dir (logs, repositories) for a look afterwards
#   PG_BIN                PostgreSQL server binaries (default: pg_config --bindir)
# FLOTILLA_JAVA_OPTS is not set here: the launcher's defaults are what is being measured.
# pgBackRest is installed with apt-get when missing and we are root.
#
# Usage: deploy/bench/wal.sh                      (about 6 minutes)
#        BENCH_SECONDS=20 BENCH_SCALE=2 deploy/bench/wal.sh   (smoke run)
set -euo pipefail

here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
deploy="$(cd "$here/.." && pwd)"
repo_root="$(cd "$deploy/.." && pwd)"
flotilla="$deploy/bin/flotilla"
# shellcheck source=deploy/lib-pg.sh
source "$deploy/lib-pg.sh"

seconds="${BENCH_SECONDS:-120}"
scale="${BENCH_SCALE:-10}"
clients="${BENCH_CLIENTS:-4}"
threads="${BENCH_THREADS:-2}"
sample="${BENCH_SAMPLE:-5}"
tools="${BENCH_TOOLS:-flotilla pgbackrest}"
drain_max="${BENCH_DRAIN_MAX:-600}"

for v in seconds scale clients threads sample drain_max; do
  [[ "${!v}" =~ ^[0-9]+$ && "${!v}" -ge 1 ]] || { echo "BENCH_${v^^}: not a positive whole number: ${!v}" >&2; exit 2; }
done
for t in $tools; do
  [[ "$t" == flotilla || "$t" == pgbackrest ]] || { echo "BENCH_TOOLS: unknown tool '$t' (flotilla, pgbackrest)" >&2; exit 2; }
done
command -v java >/dev/null || { echo "java is required" >&2; exit 2; }

say() {
  printf '%s  %s\n' "$(date +%H:%M:%S)" "$*"
}

if [[ " $tools " == *" pgbackrest "* ]] && ! command -v pgbackrest >/dev/null; then
  if [[ "$(id -u)" -eq 0 ]]; then
    say "installing pgbackrest (apt-get install -y pgbackrest)"
    apt-get install -y -q pgbackrest >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q pgbackrest >/dev/null; }
  else
    echo "pgbackrest is required: apt-get install pgbackrest (or BENCH_TOOLS=flotilla)" >&2
    exit 2
  fi
fi

# --- clean-up: stop what we started and remove the temp dir however we exit ---------------------
tmp=""
agent_pid=""
cleanup() {
  local rc=$?
  set +e
  stop_agent
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

tmp="$(mktemp -d "${TMPDIR:-/tmp}/flotilla-bench-wal.XXXXXX")"

# The launcher runs in place (deploy/bin/flotilla with agent/target), not from a snapshot copy: the
# build's class-data-sharing archive agent/target/flotilla.jsa records the jar and lib paths it was
# made for, and the JVM silently ignores it for a copied tree, so a copy would measure a slower
# start-up than users get. Do not rebuild while a benchmark runs.
[[ -r "$repo_root/agent/target/flotilla.jsa" ]] \
  || say "note: $repo_root/agent/target/flotilla.jsa is missing: the JVM starts without the build's CDS archive"

is_root() { [[ "$(id -u)" -eq 0 ]]; }
# chown to the server's OS user when we are root (archive_command runs as that user).
give_pg() { if is_root; then chown -R postgres: "$@"; fi; }
# Runs CMD as the server's OS user in the current process (exec), so $! of `as_pg ... &` is CMD.
as_pg() {
  if is_root; then
    exec setpriv --reuid=postgres --regid=postgres --init-groups env HOME="$tmp" "$@"
  else
    exec "$@"
  fi
}

# The archive_command wrapper: LOG MARKER CMD... where MARKER is a path with %f for the file name
# whose existence before the call means "already pushed ahead". The timed part is the whole command
# (for flotilla: the launcher, including its fast path's wait for the daemon's marker, or the JVM it
# starts). Whether a JVM was started is recorded exactly, not guessed from the duration: the wrapper
# points JAVA_HOME at a shim whose bin/java creates a flag file and then execs the real java (same
# JVM binary and arguments, so the CDS archive still applies; it costs the JVM path one extra exec of
# a small shell script and the fast path nothing). The JVM path writes the same push-done marker as
# the daemon, so a marker after the call would not tell the two apart.
# Logs: start_ns end_ns rc ahead name jvm
if [[ -n "${JAVA_HOME:-}" ]]; then real_java="$(readlink -f "$JAVA_HOME/bin/java")"; else real_java="$(readlink -f "$(command -v java)")"; fi
mkdir -p "$tmp/jvm-shim/bin"
cat >"$tmp/jvm-shim/bin/java" <<EOF
#!/bin/sh
[ -n "\${BENCH_JVM_FLAG:-}" ] && : >"\$BENCH_JVM_FLAG"
exec "$real_java" "\$@"
EOF
chmod 755 "$tmp/jvm-shim/bin/java"
wrapper="$tmp/archive-wrap"
cat >"$wrapper" <<EOF
#!/usr/bin/env bash
shim_home="$tmp/jvm-shim"
EOF
cat >>"$wrapper" <<'EOF'
log="$1"; marker="$2"; shift 2
name="${*: -1}"; name="${name##*/}"
ahead=0
[[ -e "${marker//%f/$name}" ]] && ahead=1
flag="$log.jvm.$$"
rm -f "$flag"
t0="$(date +%s%N)"
rc=0
JAVA_HOME="$shim_home" BENCH_JVM_FLAG="$flag" "$@" || rc=$?
t1="$(date +%s%N)"
jvm=0
[[ -e "$flag" ]] && jvm=1 && rm -f "$flag"
echo "$t0 $t1 $rc $ahead $name $jvm" >>"$log"
exit "$rc"
EOF
chmod 755 "$wrapper"

now_ns() { date +%s%N; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "n/a"; exit } printf "%g", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
pct() { sort -g | awk -v p="$1" '{ v[NR] = $1 } END { if (NR == 0) { print "n/a"; exit } i = int(NR * p / 100 + 0.999); if (i < 1) i = 1; printf "%g", v[i] }'; }
maxv() { sort -g | tail -n 1; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }

# Segment number of a WAL segment file name (24 hex digits), for a segment size in bytes.
segno() {
  local name="$1" size="$2"
  echo $(( 16#${name:8:8} * (0x100000000 / size) + 16#${name:16:8} ))
}

pg_setup_bin
pg_version="$("$PG_BIN/postgres" --version | awk '{ print $3 }')"
declare -A R # results: R[tool.key]

run_side() { # tool
  local tool="$1" base="$tmp/$1" sock="$tmp/$1/sock" log="$tmp/$1/archive-calls.log" cmd marker conf=""
  mkdir -p "$base" "$sock"
  : >"$log"
  give_pg "$base"
  chmod o+x "$tmp"
  local config="$base/agent.yaml" pgbr="$base/pgbackrest.conf"
  case "$tool" in
    flotilla)
      mkdir -p "$base/agent" "$base/repo"
      cmd="$flotilla wal-push --config $config %p"
      marker="$base/agent/flotilla-bench-spool/push-done/%f"
      ;;
    pgbackrest)
      mkdir -p "$base/pgbr/repo" "$base/pgbr/spool" "$base/pgbr/lock" "$base/pgbr/log"
      cmd="pgbackrest --config=$pgbr --stanza=bench archive-push %p"
      marker="$base/pgbr/spool/archive/bench/out/%f.ok"
      ;;
  esac
  give_pg "$base"
  say "[$tool] starting a throwaway cluster with archive_mode = on"
  pg_cluster_start "$base/pg" "unix_socket_directories = '$sock'" "archive_mode = on" "archive_timeout = 0" \
    "archive_command = '$wrapper $log $marker $cmd'" "full_page_writes = on"
  local url
  url="$(pg_url postgres)"

  case "$tool" in
    flotilla)
      (umask 077 && echo "bench passphrase $RANDOM-$RANDOM-$RANDOM" >"$base/agent/passphrase")
      cat >"$config" <<YAML
host: bench
postgres:
  url: $url
  bin: $PG_BIN
  data-directory: $PG_DATA
repositories:
  - name: primary
    url: file://$base/repo
encryption:
  passphrase-file: $base/agent/passphrase
compression:
  algorithm: zstd
  level: 3
lock-directory: $base/agent
YAML
      give_pg "$base/agent" "$base/repo" "$config"
      (cd "$base" && as_pg "$flotilla" agent --config "$config") >"$base/agent.log" 2>&1 &
      agent_pid=$!
      local deadline=$((SECONDS + 120))
      until grep -q "WAL service running" "$base/agent.log"; do
        kill -0 "$agent_pid" 2>/dev/null || { cat "$base/agent.log" >&2; echo "flotilla agent exited" >&2; exit 1; }
        ((SECONDS < deadline)) || { cat "$base/agent.log" >&2; echo "flotilla agent did not start" >&2; exit 1; }
        sleep 0.2
      done
      R[$tool.version]="$("$flotilla" --version 2>/dev/null | head -n 1)"
      say "[$tool] agent daemon running (pid $agent_pid)"
      ;;
    pgbackrest)
      cat >"$pgbr" <<CONF
[global]
repo1-path=$base/pgbr/repo
repo1-cipher-type=aes-256-cbc
repo1-cipher-pass=bench-passphrase-$RANDOM-$RANDOM-$RANDOM
compress-type=zst
compress-level=3
process-max=2
archive-async=y
spool-path=$base/pgbr/spool
lock-path=$base/pgbr/lock
log-path=$base/pgbr/log
log-level-console=warn
log-level-file=info
start-fast=y

[bench]
pg1-path=$PG_DATA
pg1-port=$PG_PORT
pg1-socket-path=$sock
CONF
      chmod 640 "$pgbr"
      give_pg "$pgbr"
      pg_as_owner pgbackrest --config="$pgbr" --stanza=bench stanza-create >"$base/pgbr-stanza.log" 2>&1 \
        || { cat "$base/pgbr-stanza.log" >&2; exit 1; }
      pg_as_owner pgbackrest --config="$pgbr" --stanza=bench check >"$base/pgbr-check.log" 2>&1 \
        || { cat "$base/pgbr-check.log" >&2; exit 1; }
      R[$tool.version]="$(pgbackrest version)"
      say "[$tool] stanza created, check passed"
      ;;
  esac

  say "[$tool] pgbench -i -s $scale"
  "$PG_BIN/pgbench" -i -q -s "$scale" "$url" >"$base/pgbench-init.log" 2>&1 || { cat "$base/pgbench-init.log" >&2; exit 1; }
  pg_psql postgres -c "CHECKPOINT" >/dev/null
  pg_psql postgres -c "SELECT pg_switch_wal()" >/dev/null

  local segsize status="$PG_DATA/pg_wal/archive_status"
  segsize="$(pg_psql postgres -c "SELECT setting::bigint * CASE unit WHEN 'B' THEN 1 WHEN 'kB' THEN 1024 WHEN 'MB' THEN 1048576 ELSE 1 END FROM pg_settings WHERE name = 'wal_segment_size'")"
  ready_count() { find "$status" -maxdepth 1 -name '*.ready' 2>/dev/null | wc -l; }
  wait_drained() { # seconds; prints the seconds it took
    local t0 limit=$((SECONDS + $1))
    t0="$(now_ns)"
    while (($(ready_count) > 0)); do
      ((SECONDS < limit)) || { echo "timeout"; return 0; }
      sleep 0.2
    done
    awk -v a="$t0" -v b="$(now_ns)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'
  }
  say "[$tool] waiting for the load's WAL to be archived ($(ready_count) ready)"
  [[ "$(wait_drained "$drain_max")" != timeout ]] || { tail -n 20 "$base/pg/server.log" >&2; echo "[$tool] archiving did not catch up" >&2; exit 1; }

  local lsn0 arch0 t_start t_end samples="$base/samples"
  : >"$samples"
  lsn0="$(pg_psql postgres -c "SELECT pg_current_wal_lsn()")"
  arch0="$(pg_psql postgres -c "SELECT archived_count FROM pg_stat_archiver")"
  say "[$tool] pgbench -c $clients -j $threads -T $seconds, sampling the archive lag every $sample s"
  t_start="$(now_ns)"
  "$PG_BIN/pgbench" -n -c "$clients" -j "$threads" -T "$seconds" "$url" >"$base/pgbench.log" 2>&1 &
  local bench_pid=$! next=$((SECONDS + sample)) row cur last lag
  while kill -0 "$bench_pid" 2>/dev/null; do
    if ((SECONDS >= next)); then
      next=$((next + sample))
      row="$(pg_psql postgres -F ' ' -c "SELECT pg_walfile_name(pg_current_wal_lsn()), coalesce(last_archived_wal, '-') FROM pg_stat_archiver" 2>/dev/null || true)"
      cur="${row%% *}"
      last="${row##* }"
      lag=""
      if [[ "$cur" =~ ^[0-9A-F]{24}$ && "$last" =~ ^[0-9A-F]{24}$ ]]; then
        lag=$(($(segno "$cur" "$segsize") - $(segno "$last" "$segsize") - 1))
        ((lag < 0)) && lag=0
      fi
      echo "$(ready_count) ${lag:--}" >>"$samples"
    fi
    sleep 0.2
  done
  wait "$bench_pid" || { cat "$base/pgbench.log" >&2; exit 1; }
  t_end="$(now_ns)"
  local lsn1 drain
  lsn1="$(pg_psql postgres -c "SELECT pg_current_wal_lsn()")"
  R[$tool.ready_at_end]="$(ready_count)"
  drain="$(wait_drained "$drain_max")"
  say "[$tool] pgbench done; backlog of ${R[$tool.ready_at_end]} drained in $drain s"

  R[$tool.tps]="$(awk '/^tps = / { printf "%.0f", $3; exit }' "$base/pgbench.log")"
  R[$tool.wal_bytes]="$(pg_psql postgres -c "SELECT pg_wal_lsn_diff('$lsn1', '$lsn0')::bigint")"
  R[$tool.wal_segments]="$(awk -v b="${R[$tool.wal_bytes]}" -v s="$segsize" 'BEGIN { printf "%.0f", b / s }')"
  R[$tool.wal_rate]="$(awk -v b="${R[$tool.wal_bytes]}" -v a="$t_start" -v e="$t_end" 'BEGIN { printf "%.1f", b / 1048576 / ((e - a) / 1e9) }')"
  R[$tool.samples]="$(wc -l <"$samples")"
  R[$tool.ready_max]="$(awk '{ print $1 }' "$samples" | maxv)"
  R[$tool.ready_med]="$(awk '{ print $1 }' "$samples" | median)"
  R[$tool.lsn_max]="$(awk '$2 != "-" { print $2 }' "$samples" | maxv)"
  R[$tool.lsn_med]="$(awk '$2 != "-" { print $2 }' "$samples" | median)"
  R[$tool.drain]="$drain"
  # archive_command calls that started during pgbench or the drain after it
  local calls="$base/calls"
  awk -v a="$t_start" '$1 >= a' "$log" >"$calls"
  R[$tool.calls]="$(wc -l <"$calls")"
  R[$tool.failed]="$(awk '$3 != 0' "$calls" | wc -l)"
  R[$tool.ahead]="$(awk '$3 == 0 && $4 == 1' "$calls" | wc -l)"
  R[$tool.cmd_med]="$(awk '$3 == 0 { printf "%.1f\n", ($2 - $1) / 1e6 }' "$calls" | median)"
  R[$tool.cmd_p90]="$(awk '$3 == 0 { printf "%.1f\n", ($2 - $1) / 1e6 }' "$calls" | pct 90)"
  R[$tool.cmd_max]="$(awk '$3 == 0 { printf "%.1f\n", ($2 - $1) / 1e6 }' "$calls" | maxv)"
  R[$tool.cmd_med_ahead]="$(awk '$3 == 0 && $4 == 1 { printf "%.1f\n", ($2 - $1) / 1e6 }' "$calls" | median)"
  R[$tool.cmd_med_cold]="$(awk '$3 == 0 && $4 == 0 { printf "%.1f\n", ($2 - $1) / 1e6 }' "$calls" | median)"
  # no marker before the call: answered without a JVM (the launcher waited for the daemon) or by a JVM
  R[$tool.waited]="$(awk '$3 == 0 && $4 == 0 && $6 == 0' "$calls" | wc -l)"
  R[$tool.jvm]="$(awk '$6 == 1' "$calls" | wc -l)"
  R[$tool.cmd_med_waited]="$(awk '$3 == 0 && $4 == 0 && $6 == 0 { printf "%.1f\n", ($2 - $1) / 1e6 }' "$calls" | median)"
  R[$tool.cmd_p90_waited]="$(awk '$3 == 0 && $4 == 0 && $6 == 0 { printf "%.1f\n", ($2 - $1) / 1e6 }' "$calls" | pct 90)"
  R[$tool.cmd_med_jvm]="$(awk '$3 == 0 && $6 == 1 { printf "%.1f\n", ($2 - $1) / 1e6 }' "$calls" | median)"
  if [[ "$tool" == pgbackrest ]]; then # no launcher: "waited" means pgBackRest's own call, not a fast path
    R[$tool.waited]="–"; R[$tool.jvm]="–"; R[$tool.cmd_med_waited]="–"; R[$tool.cmd_p90_waited]="–"; R[$tool.cmd_med_jvm]="–"
  fi
  R[$tool.archived]=$(($(pg_psql postgres -c "SELECT archived_count FROM pg_stat_archiver") - arch0))
  R[$tool.pg_failed]="$(pg_psql postgres -c "SELECT failed_count FROM pg_stat_archiver")"
  case "$tool" in
    flotilla)
      R[$tool.stored]="$(find "$base/repo" -type f -path '*/wal/*' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')"
      R[$tool.objects]="$(find "$base/repo" -type f -path '*/wal/*' -name '????????????????????????.*' | wc -l)"
      ;;
    pgbackrest)
      R[$tool.stored]="$(find "$base/pgbr/repo/archive" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')"
      R[$tool.objects]="$(find "$base/pgbr/repo/archive" -type f -name '????????????????????????-*' | wc -l)"
      ;;
  esac
  say "[$tool] lag (.ready) max ${R[$tool.ready_max]} median ${R[$tool.ready_med]}; archive_command median ${R[$tool.cmd_med]} ms" \
    "over ${R[$tool.calls]} calls (${R[$tool.failed]} failed, ${R[$tool.ahead]} already pushed ahead)"

  stop_agent
  pg_cluster_stop
}

for t in $tools; do
  run_side "$t"
done

# --- summary -----------------------------------------------------------------------------------
met() { # value limit -> "met" / "NOT met"
  awk -v v="$1" -v l="$2" 'BEGIN { if (v == "n/a" || v == "") print "n/a"; else if (v + 0 <= l + 0) print "met"; else print "NOT met" }'
}
cores="$(nproc)"
cpu="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)"
load="$(cut -d ' ' -f 1-3 /proc/loadavg)"
row() { # label key [suffix]
  local line
  line="$(printf '%-42s' "$1")"
  for t in $tools; do
    line+="$(printf '%-26s' "${R[$t.$2]:-n/a}${3:-}")"
  done
  echo "$line"
}

echo
echo "== WAL archiving: pgbench -c $clients -j $threads -T $seconds on pgbench scale $scale, lag sampled every $sample s =="
header="$(printf '%-42s' "")"
for t in $tools; do header+="$(printf '%-26s' "$t")"; done
echo "$header"
row "version" version
row "pgbench tps" tps
row "WAL written (segments)" wal_segments
row "WAL rate (MiB/s)" wal_rate
row "lag samples" samples
row "lag .ready max (segments)" ready_max
row "lag .ready median (segments)" ready_med
row "lag LSN max (segments)" lsn_max
row "lag LSN median (segments)" lsn_med
row "archive_command calls" calls
row "  failed (PostgreSQL retried)" failed
row "  already pushed ahead when called" ahead
row "archive_command median (ms)" cmd_med
row "archive_command p90 (ms)" cmd_p90
row "archive_command max (ms)" cmd_max
row "  median when pushed ahead (ms)" cmd_med_ahead
row "  median when not pushed ahead (ms)" cmd_med_cold
row "  fast path after waiting for the daemon" waited
row "  JVM started (wal-push in Java)" jvm
for t in $tools; do R[$t.cmd_waited]="${R[$t.cmd_med_waited]} / ${R[$t.cmd_p90_waited]}"; done
row "  median / p90 when waited (ms)" cmd_waited
row "  median when a JVM ran (ms)" cmd_med_jvm
row "backlog when pgbench stopped" ready_at_end
row "drain time after pgbench (s)" drain
row "archived (pg_stat_archiver delta)" archived
row "WAL segments in the repository" objects
for t in $tools; do R[$t.stored_mib]="$(mib "${R[$t.stored]}")"; done
row "WAL stored in the repository" stored_mib
for t in $tools; do
  R[$t.t_lag]="$(met "${R[$t.ready_max]}" 2)"
  R[$t.t_cmd]="$(met "${R[$t.cmd_med]}" 50)"
done
row "target lag <= 2 segments (max .ready)" t_lag
row "target archive_command median <= 50 ms" t_cmd
echo "machine: $cores cores${cpu:+, $cpu}; PostgreSQL $pg_version; load average at the end $load (shared machine: noisy)"
echo
echo "Markdown for docs/benchmarks.md:"
echo
echo "| Date | Tool | tps | WAL MiB/s | Lag max / median (.ready) | Lag max / median (LSN) | archive_command median / p90 / max | Calls: marker there / waited / JVM | Drain after load |"
echo "|---|---|---|---|---|---|---|---|---|"
for t in $tools; do
  echo "| $(date +%Y-%m-%d) | $t | ${R[$t.tps]} | ${R[$t.wal_rate]} | ${R[$t.ready_max]} / ${R[$t.ready_med]} | ${R[$t.lsn_max]} / ${R[$t.lsn_med]} |" \
    "${R[$t.cmd_med]} / ${R[$t.cmd_p90]} / ${R[$t.cmd_max]} ms | ${R[$t.ahead]} / ${R[$t.waited]} / ${R[$t.jvm]} of ${R[$t.calls]} | ${R[$t.drain]} s |"
done
