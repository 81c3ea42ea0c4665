#!/usr/bin/env bash
# Benchmark: `flotilla backup` against the equivalent shell pipeline
#
#   pg_dump -Fc -Z0 | zstd -3 | gpg --batch --symmetric --cipher-algo AES256 -z 0 ... -o FILE
#
# on a throwaway PostgreSQL cluster holding a database of about 1 GB: pgbench tables (which
# compress over 100x) plus a table of random-ish text and numbers that compresses about 2x like
# real data. Each side runs BENCH_RUNS times, alternating (A B B A ...), so cache warm-up and
# background load hit both alike. Reports wall time (best and median), the flotilla/pipeline time
# ratio, peak RSS, stored sizes, and a markdown block for docs/benchmarks.md.
#
# Peak RSS is measured per process with GNU time (/usr/bin/time -v), or, without it, by sampling
# VmHWM in /proc/<pid>/status every 50 ms:
#   pipeline: the SUM of the peaks of pg_dump, zstd and gpg (they run at the same time);
#   flotilla: the peak of the JVM, and separately of the pg_dump it runs (through a wrapper in a
#             private postgres.bin directory); the sum is reported too.
#
# Environment (all optional):
#   BENCH_SCALE=20        pgbench scale factor (1 = ~15 MB, nearly all compressible filler)
#   BENCH_RANDOM_MB=700   approximate size of the extra random-data table (heap + primary key)
#   BENCH_RUNS=2          runs of each side
#   BENCH_LOAD_JOBS=2     parallel sessions loading the random table
#   BENCH_VERIFY=1        after the runs, check both outputs decrypt and decompress (0 to skip)
#   BENCH_NO_GNU_TIME=1   force the /proc sampling fallback even if /usr/bin/time exists
#   PG_BIN                PostgreSQL server binaries (default: pg_config --bindir)
# FLOTILLA_JAVA_OPTS is not set here: the launcher's defaults are what is being measured.
#
# Usage: deploy/bench/logical.sh                                   (~1 GB, a few minutes)
#        BENCH_SCALE=2 BENCH_RANDOM_MB=70 deploy/bench/logical.sh  (~100 MB smoke run)
set -euo pipefail

here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
deploy="$(cd "$here/.." && pwd)"
repo_root="$(cd "$deploy/.." && pwd)"
flotilla="$deploy/bin/flotilla"
# shellcheck source=deploy/lib-pg.sh
source "$deploy/lib-pg.sh"

scale="${BENCH_SCALE:-20}"
random_mb="${BENCH_RANDOM_MB:-700}"
runs="${BENCH_RUNS:-2}"
load_jobs="${BENCH_LOAD_JOBS:-2}"
verify="${BENCH_VERIFY:-1}"
db=bench

for v in scale random_mb runs load_jobs; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || { echo "BENCH_${v^^}: not a whole number: ${!v}" >&2; exit 2; }
done
((runs >= 1 && load_jobs >= 1)) || { echo "BENCH_RUNS and BENCH_LOAD_JOBS must be at least 1" >&2; exit 2; }
for tool in gpg zstd java; do
  command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 2; }
done

say() {
  printf '%s  %s\n' "$(date +%H:%M:%S)" "$*"
}

# --- clean-up: stop the server and remove the temp dir however we exit --------------------------
tmp=""
cleanup() {
  local rc=$?
  set +e
  pg_cluster_stop
  # gpg starts a gpg-agent for the private GNUPGHOME; stop it before removing its home.
  [[ -n "${GNUPGHOME:-}" && -d "$GNUPGHOME" ]] && gpgconf --kill gpg-agent >/dev/null 2>&1
  [[ -n "$tmp" && -d "$tmp" ]] && rm -rf "$tmp"
  exit "$rc"
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

tmp="$(mktemp -d "${TMPDIR:-/tmp}/flotilla-bench.XXXXXX")"
mkdir -m 700 "$tmp/gnupg" "$tmp/agent" "$tmp/times"

# Every run measures the same build: a snapshot of the launcher, jar and libraries (a rebuild in
# the working tree during the benchmark would otherwise swap classes under a running JVM). The
# launcher finds the jar relative to itself, so the copy is used unchanged.
mkdir -p "$tmp/flotilla/deploy/bin" "$tmp/flotilla/agent/target"
cp "$flotilla" "$tmp/flotilla/deploy/bin/flotilla"
cp "$repo_root/agent/target/flotilla-agent.jar" "$tmp/flotilla/agent/target/"
cp -r "$repo_root/agent/target/lib" "$tmp/flotilla/agent/target/lib"
flotilla="$tmp/flotilla/deploy/bin/flotilla"
export GNUPGHOME="$tmp/gnupg"
gpg --batch --list-keys >/dev/null 2>&1 || true # creates the keybox now, not during the first run

# --- measuring helper: `measure OUT CMD...` runs CMD with stdin/stdout passed through and writes
#     "Maximum resident set size (kbytes): N" to OUT (GNU time's format either way) ----------------
measure="$tmp/measure"
cat >"$measure" <<'EOF'
#!/usr/bin/env bash
out="$1"
shift
if [[ -x /usr/bin/time && -z "${BENCH_NO_GNU_TIME:-}" ]]; then
  exec /usr/bin/time -v -o "$out" "$@"
fi
# Fallback: sample the process's high-water mark until it exits (the last sample is at most 50 ms old).
"$@" <&0 &
pid=$!
peak=0
while :; do
  hwm=""
  if [[ -r /proc/$pid/status ]]; then
    while read -r key value _; do
      [[ "$key" == VmHWM: ]] && hwm="$value"
    done <"/proc/$pid/status" 2>/dev/null || true
  fi
  [[ -z "$hwm" ]] && break # exited (or a zombie)
  ((hwm > peak)) && peak="$hwm"
  sleep 0.05
done
rc=0
wait "$pid" || rc=$?
printf 'Maximum resident set size (kbytes): %s\n' "$peak" >"$out"
exit "$rc"
EOF
chmod +x "$measure"
if [[ -x /usr/bin/time && -z "${BENCH_NO_GNU_TIME:-}" ]]; then
  rss_method="GNU time -v (per process)"
else
  rss_method="sampling /proc/<pid>/status VmHWM every 50 ms"
fi

rss_kb() { # peak RSS in kB from a measure output file
  awk -F': *' '/Maximum resident set size/ { print $2 }' "$1"
}
mib() { # bytes -> "123.4 MiB"
  awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'
}
kb_mib() { # kB -> "123 MiB"
  awk -v k="$1" 'BEGIN { printf "%.0f MiB", k / 1024 }'
}
now_ns() {
  date +%s%N
}

# --- the cluster and the data ------------------------------------------------------------------
pg_setup_bin
say "starting a throwaway PostgreSQL cluster ($PG_BIN) in $tmp"
pg_cluster_start "$tmp/pg" "wal_level = minimal" "max_wal_senders = 0" "max_wal_size = 8GB" \
  "checkpoint_timeout = 30min" "maintenance_work_mem = 256MB"
pg_psql postgres -c "CREATE DATABASE $db"
url="$(pg_url "$db")"

say "loading pgbench tables, scale $scale"
"$PG_BIN/pgbench" -i -q -s "$scale" -I dtg "$url" >"$tmp/pgbench.log" 2>&1 || { cat "$tmp/pgbench.log" >&2; exit 1; }

if ((random_mb > 0)); then
  pg_psql "$db" <<'SQL'
CREATE TABLE bench_events (
  id          bigint NOT NULL,
  created_at  timestamptz NOT NULL,
  account_id  int NOT NULL,
  kind        text NOT NULL,
  amount      numeric(12, 2),
  score       double precision,
  ref         text,
  note        text
);
SQL
  # Rows lo .. min(lo + n - 1, total): timestamps, ids, amounts, hex digests, words and numbers.
  cat >"$tmp/chunk.sql" <<'SQL'
INSERT INTO bench_events
SELECT i,
       TIMESTAMPTZ '2025-01-01 00:00:00+00' + random() * INTERVAL '365 days',
       (random() * 1000000)::int,
       (ARRAY['login', 'logout', 'purchase', 'refund', 'view', 'search', 'signup', 'error'])[1 + (random() * 7)::int],
       round((random() * 10000)::numeric, 2),
       random() * 1000,
       md5(random()::text),
       (ARRAY['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliett', 'kilo', 'lima'])[1 + (random() * 11)::int]
         || ' ' || (random() * 100000)::int || ' ' || substr(md5(random()::text), 1, 1 + (random() * 24)::int)
         || ' ' || (ARRAY['ok', 'pending', 'failed', 'retry'])[1 + (random() * 3)::int]
FROM generate_series(:lo, least(:lo + :n - 1, :total)) i;
SQL
  chunk=200000
  load_chunk() { # lo total
    pg_psql "$db" -v lo="$1" -v n="$chunk" -v total="$2" -f "$tmp/chunk.sql"
  }
  # Calibrate on the first chunk: heap bytes per row, plus ~22 bytes per row of primary key.
  load_chunk 1 "$chunk"
  per_row="$(pg_psql "$db" -c "SELECT pg_relation_size('bench_events') / count(*) + 22 FROM bench_events")"
  total=$((random_mb * 1048576 / per_row))
  ((total < chunk)) && total=$chunk
  say "loading bench_events: $total rows (~$random_mb MB), $load_jobs sessions"
  if ((total > chunk)); then
    export -f load_chunk pg_psql pg_url
    export PG_BIN PG_PORT db chunk tmp
    seq $((chunk + 1)) "$chunk" "$total" | xargs -P "$load_jobs" -I '{}' bash -c 'set -euo pipefail; load_chunk {} '"$total"
  fi
  pg_psql "$db" -c "ALTER TABLE bench_events ADD PRIMARY KEY (id)"
fi
say "primary keys, VACUUM (FREEZE, ANALYZE), CHECKPOINT"
"$PG_BIN/pgbench" -i -q -I p "$url" >>"$tmp/pgbench.log" 2>&1 || { cat "$tmp/pgbench.log" >&2; exit 1; }
pg_psql "$db" -c "VACUUM (FREEZE, ANALYZE)"
pg_psql postgres -c "CHECKPOINT"
db_bytes="$(pg_psql "$db" -c "SELECT pg_database_size(current_database())")"
say "database $db: $(mib "$db_bytes") (pg_database_size)"

# --- flotilla's config, with a postgres.bin whose pg_dump is measured ---------------------------
passfile="$tmp/agent/passphrase"
(umask 077 && echo "bench passphrase $RANDOM-$RANDOM-$RANDOM" >"$passfile")
mkdir "$tmp/pgbin"
for f in "$PG_BIN"/*; do
  ln -s "$f" "$tmp/pgbin/$(basename "$f")"
done
rm "$tmp/pgbin/pg_dump"
cat >"$tmp/pgbin/pg_dump" <<EOF
#!/usr/bin/env bash
# pg_dump, its peak RSS written to \$BENCH_PGDUMP_OUT (set per flotilla run by logical.sh)
exec "$measure" "\${BENCH_PGDUMP_OUT:-/dev/null}" "$PG_BIN/pg_dump" "\$@"
EOF
chmod +x "$tmp/pgbin/pg_dump"
config="$tmp/agent/agent.yaml"
cat >"$config" <<YAML
host: bench
postgres:
  url: $(pg_url postgres)
  bin: $tmp/pgbin
repositories:
  - name: primary
    url: file://$tmp/repo
encryption:
  passphrase-file: $passfile
compression:
  algorithm: zstd
  level: 3
  workers: ${BENCH_ZSTD_WORKERS:-0}
lock-directory: $tmp/agent
YAML

# --- the two sides -----------------------------------------------------------------------------
declare -a p_time p_rss p_size f_time f_rss f_pgdump f_size

run_pipeline() { # run number
  local i="$1" out="$tmp/pipeline.dump.zst.gpg" t0 t1
  rm -f "$out"
  t0="$(now_ns)"
  "$measure" "$tmp/times/p$i.pg_dump" "$PG_BIN/pg_dump" -Fc -Z0 -d "$url" \
    | "$measure" "$tmp/times/p$i.zstd" zstd -3 -q \
    | "$measure" "$tmp/times/p$i.gpg" gpg --batch --symmetric --cipher-algo AES256 -z 0 --passphrase-file "$passfile" \
        --pinentry-mode loopback -o "$out"
  t1="$(now_ns)"
  p_time[i]="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')"
  p_rss[i]=$(($(rss_kb "$tmp/times/p$i.pg_dump") + $(rss_kb "$tmp/times/p$i.zstd") + $(rss_kb "$tmp/times/p$i.gpg")))
  p_size[i]="$(stat -c %s "$out")"
  say "run $i pipeline: ${p_time[i]} s, stored $(mib "${p_size[i]}"), peak RSS $(kb_mib "${p_rss[i]}") =" \
    "pg_dump $(kb_mib "$(rss_kb "$tmp/times/p$i.pg_dump")") + zstd $(kb_mib "$(rss_kb "$tmp/times/p$i.zstd")")" \
    "+ gpg $(kb_mib "$(rss_kb "$tmp/times/p$i.gpg")")"
  [[ "$i" -eq "$runs" ]] || rm -f "$out" # keep the last output for the check below
}

last_backup=""
run_flotilla() { # run number
  local i="$1" t0 t1 id
  [[ -n "$last_backup" ]] && rm -rf "$tmp/repo/hosts/bench/backups/$last_backup" # one backup at a time on disk
  t0="$(now_ns)"
  BENCH_PGDUMP_OUT="$tmp/times/f$i.pg_dump" "$measure" "$tmp/times/f$i.java" \
    "$flotilla" backup --config "$config" --database "$db" >"$tmp/f$i.out"
  t1="$(now_ns)"
  id="$(tail -n 1 "$tmp/f$i.out")"
  last_backup="$id"
  f_time[i]="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')"
  f_rss[i]="$(rss_kb "$tmp/times/f$i.java")"
  f_pgdump[i]="$(rss_kb "$tmp/times/f$i.pg_dump")"
  f_size[i]="$(stat -c %s "$tmp/repo/hosts/bench/backups/$id/db/$db.dump.zst.gpg")"
  say "run $i flotilla: ${f_time[i]} s, stored $(mib "${f_size[i]}"), peak RSS JVM $(kb_mib "${f_rss[i]}")" \
    "(+ pg_dump $(kb_mib "${f_pgdump[i]}")), backup $id"
}

say "$runs run(s) of each side, alternating; peak RSS by $rss_method"
for ((i = 1; i <= runs; i++)); do
  if ((i % 2 == 1)); then
    run_pipeline "$i"
    run_flotilla "$i"
  else
    run_flotilla "$i"
    run_pipeline "$i"
  fi
done

if [[ "$verify" == 1 ]]; then
  say "checking the last outputs: gpg -d | zstd -t, and flotilla verify"
  gpg -q --batch --pinentry-mode loopback --passphrase-file "$passfile" -d "$tmp/pipeline.dump.zst.gpg" | zstd -t -q
  "$flotilla" verify --config "$config" --backup "$last_backup" >/dev/null
  say "both outputs are sound"
fi

# --- summary -----------------------------------------------------------------------------------
best() { printf '%s\n' "$@" | sort -g | head -n 1; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.2f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
maxof() { printf '%s\n' "$@" | sort -g | tail -n 1; }

p_best="$(best "${p_time[@]}")"
f_best="$(best "${f_time[@]}")"
p_med="$(median "${p_time[@]}")"
f_med="$(median "${f_time[@]}")"
ratio_best="$(awk -v f="$f_best" -v p="$p_best" 'BEGIN { printf "%.2f", f / p }')"
ratio_med="$(awk -v f="$f_med" -v p="$p_med" 'BEGIN { printf "%.2f", f / p }')"
p_rss_max="$(maxof "${p_rss[@]}")"
f_rss_max="$(maxof "${f_rss[@]}")"
f_pgdump_max="$(maxof "${f_pgdump[@]}")"
p_size_last="${p_size[$runs]}"
f_size_last="${f_size[$runs]}"
cores="$(nproc)"
plain="$(sed -n "s/^database $db: \(.*\) dumped,.*/\1/p" "$tmp/f$runs.out")"
cpu="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)"
pg_version="$("$PG_BIN/postgres" --version | awk '{ print $3 }')"

cat <<EOF

== flotilla backup vs pg_dump | zstd -3 | gpg ($runs run(s) each, alternating) ==
database size (pg_database_size): $(mib "$db_bytes")   [pgbench scale $scale + ~$random_mb MB random table]
pg_dump output: $plain (plain -Fc -Z0, as flotilla reports it)
stored size:    pipeline $(mib "$p_size_last"), flotilla $(mib "$f_size_last")
wall time:      pipeline best ${p_best} s / median ${p_med} s;  flotilla best ${f_best} s / median ${f_med} s
ratio flotilla_time / pipeline_time: ${ratio_best} (best), ${ratio_med} (median)
peak RSS:       pipeline $(kb_mib "$p_rss_max") (sum of the peaks of pg_dump + zstd + gpg; max over runs)
                flotilla $(kb_mib "$f_rss_max") (JVM) + $(kb_mib "$f_pgdump_max") (its pg_dump) = $(kb_mib $((f_rss_max + f_pgdump_max)))
                measured by $rss_method
machine:        $cores cores${cpu:+, $cpu}; PostgreSQL $pg_version; zstd $(zstd -V | grep -o 'v[0-9.]*' | head -n 1); $(gpg --version | head -n 1)
note:           flotilla ran with ${BENCH_ZSTD_WORKERS:-0} extra zstd worker thread(s) (BENCH_ZSTD_WORKERS; default config: 0); the pipeline's zstd -3 is single-threaded.

Markdown for docs/benchmarks.md:

| Date | Machine | DB size | Pipeline time | Flotilla time | Flotilla / pipeline | Pipeline stored | Flotilla stored | Pipeline peak RSS (pg_dump+zstd+gpg) | Flotilla peak RSS (JVM + pg_dump) |
|---|---|---|---|---|---|---|---|---|---|
| $(date +%Y-%m-%d) | $cores cores, PG $pg_version | $(mib "$db_bytes") | ${p_best} s | ${f_best} s | ${ratio_best} | $(mib "$p_size_last") | $(mib "$f_size_last") | $(kb_mib "$p_rss_max") | $(kb_mib "$f_rss_max") + $(kb_mib "$f_pgdump_max") |
EOF
