#!/usr/bin/env bash
# Benchmark: volume (directory) backups, Flotilla against the equivalent shell pipeline
#
#   tar -cf - --listed-incremental=SNAR -C DIR . | zstd -3 | gpg --batch --symmetric --cipher-algo AES256 -z 0 ... -o FILE
#   flotilla backup --kind volume --volume bench [--incremental]
#
# on a generated tree of about BENCH_MB MiB of mixed files: many small ones (0.5-32 KiB, a quarter
# of the bytes), medium ones (64 KiB-4 MiB, a quarter), a few large ones (32-256 MiB, half), each
# class half compressible (log-like text, ~4x with zstd -3) and half random (incompressible).
# First a full backup by each side, then 1% of the files (by count, chosen at random; the same
# ones for both sides) are rewritten and each side makes an incremental backup: flotilla
# --incremental (size/mtime/mode against the previous backup), the pipeline GNU tar's
# --listed-incremental snapshot. The tree is read once before timing so both sides find it in the
# page cache. Each side runs BENCH_RUNS times per phase, alternating which goes first. Reports wall
# time (best), the flotilla/pipeline ratio, stored sizes, peak RSS (GNU time), and a markdown row.
#
# Environment (all optional):
#   BENCH_MB=2048        approximate size of the tree in MiB
#   BENCH_RUNS=1         runs of each side per phase (full, incremental)
#   BENCH_VERIFY=1       restore flotilla's incremental and compare it with the tree (diff -r, modes
#                        and mtimes); decrypt and test the pipeline's output (0 to skip)
#   BENCH_KEEP=1         keep the temp dir afterwards
#   BENCH_ZSTD_WORKERS=0 compression.workers in flotilla's config (extra zstd threads; default config: 0)
# FLOTILLA_JAVA_OPTS is not set here: the launcher's defaults are what is being measured.
#
# Usage: deploy/bench/volume.sh                    (2 GiB, a few minutes)
#        BENCH_MB=200 deploy/bench/volume.sh       (smoke run)
set -euo pipefail

here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
deploy="$(cd "$here/.." && pwd)"
repo_root="$(cd "$deploy/.." && pwd)"
flotilla="$deploy/bin/flotilla"

size_mb="${BENCH_MB:-2048}"
runs="${BENCH_RUNS:-1}"
verify="${BENCH_VERIFY:-1}"
for v in size_mb runs; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || { echo "${v}: not a whole number: ${!v}" >&2; exit 2; }
done
((runs >= 1 && size_mb >= 10)) || { echo "BENCH_RUNS must be at least 1 and BENCH_MB at least 10" >&2; exit 2; }
for tool in gpg zstd tar java python3; do
  command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 2; }
done

say() {
  printf '%s  %s\n' "$(date +%H:%M:%S)" "$*"
}

tmp=""
cleanup() {
  local rc=$?
  set +e
  [[ -n "${GNUPGHOME:-}" && -d "$GNUPGHOME" ]] && gpgconf --kill gpg-agent >/dev/null 2>&1
  if [[ -n "$tmp" && -d "$tmp" ]]; then
    if [[ "${BENCH_KEEP:-0}" == 1 ]]; then
      echo "kept $tmp (BENCH_KEEP=1)" >&2
    else
      rm -rf "$tmp"
    fi
  fi
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

tmp="$(mktemp -d "${TMPDIR:-/tmp}/flotilla-bench-volume.XXXXXX")"
mkdir -m 700 "$tmp/gnupg" "$tmp/agent" "$tmp/times" "$tmp/out"
export GNUPGHOME="$tmp/gnupg"
gpg --batch --list-keys >/dev/null 2>&1 || true

if [[ -x /usr/bin/time ]]; then
  measure() { /usr/bin/time -v -o "$@"; }
  rss_method="GNU time -v"
else
  measure() { shift; "$@"; }
  rss_method="not measured (no /usr/bin/time)"
fi
rss_kb() { [[ -f "$1" ]] && awk -F': *' '/Maximum resident set size/ { print $2 }' "$1" || echo 0; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
kb_mib() { awk -v k="$1" 'BEGIN { printf "%.0f MiB", k / 1024 }'; }
now_ns() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'; }

# --- the tree ----------------------------------------------------------------------------------
tree="$tmp/tree"
say "generating a tree of ~$size_mb MiB in $tree"
python3 - "$tree" "$size_mb" <<'PY'
import os, random, sys
root, total = sys.argv[1], int(sys.argv[2]) * 1024 * 1024
rnd = random.Random(42)
words = "alpha bravo charlie delta echo foxtrot golf hotel india juliett kilo lima".split()
levels = ["INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"]

def text(n):
    # log-like lines: timestamps, ids, numbers, a few words; zstd -3 gets about 4x
    out, size = [], 0
    while size < n:
        line = "2026-11-%02dT%02d:%02d:%02d.%03dZ %s req=%08x user=%d path=/api/v1/%s/%d status=%d bytes=%d %s\n" % (
            rnd.randint(1, 28), rnd.randint(0, 23), rnd.randint(0, 59), rnd.randint(0, 59), rnd.randint(0, 999),
            rnd.choice(levels), rnd.getrandbits(32), rnd.randint(1, 99999), rnd.choice(words), rnd.randint(1, 10**6),
            rnd.choice((200, 200, 200, 201, 304, 404, 500)), rnd.randint(0, 10**6), " ".join(rnd.choices(words, k=rnd.randint(0, 4))))
        out.append(line)
        size += len(line)
    return "".join(out).encode()[:n]

def write(path, n, compressible):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        left = n
        while left > 0:
            chunk = min(left, 4 << 20)
            f.write(text(chunk) if compressible else os.urandom(chunk))
            left -= chunk

classes = [(0.25, 512, 32 << 10, "small"), (0.25, 64 << 10, 4 << 20, "medium"), (0.50, 32 << 20, 256 << 20, "large")]
count = 0
for share, lo, hi, name in classes:
    budget, i = int(total * share), 0
    while budget > 0:
        n = min(budget, rnd.randint(lo, hi))
        d = os.path.join(root, name, "d%03d" % (i // 200), "e%02d" % (i % 7))
        write(os.path.join(d, "f%06d.%s" % (i, "log" if i % 2 == 0 else "bin")), n, i % 2 == 0)
        budget -= n
        i += 1
    count += i
print(count)
PY
files="$(find "$tree" -type f | wc -l)"
tree_bytes="$(du -sb "$tree" | cut -f1)"
say "tree: $files files, $(mib "$tree_bytes")"
say "reading the tree once (page cache)"
tar -cf - -C "$tree" . | cat >/dev/null

# --- flotilla's config -------------------------------------------------------------------------
passfile="$tmp/agent/passphrase"
(umask 077 && echo "bench passphrase $RANDOM-$RANDOM-$RANDOM" >"$passfile")
config="$tmp/agent/agent.yaml"
cat >"$config" <<YAML
host: bench
postgres:
  url: postgresql://postgres@127.0.0.1:1/postgres   # not used by volume backups
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
volumes:
  - name: bench
    path: $tree
YAML

# --- the two sides -----------------------------------------------------------------------------
declare -A t_best size rss

record() { # phase side seconds bytes rss_kb
  local key="$1.$2"
  if [[ -z "${t_best[$key]:-}" ]] || awk -v a="$3" -v b="${t_best[$key]}" 'BEGIN { exit !(a < b) }'; then
    t_best[$key]="$3"
  fi
  size[$key]="$4"
  if [[ -z "${rss[$key]:-}" || "$5" -gt "${rss[$key]}" ]]; then
    rss[$key]="$5"
  fi
}

run_pipeline() { # phase run
  local phase="$1" i="$2" out="$tmp/out/pipeline-$1-$2.tar.zst.gpg" t0 t1
  # a full run starts from an empty snapshot; an incremental run from the snapshot the last full run left
  if [[ "$phase" == full ]]; then rm -f "$tmp/snar-full"; snar="$tmp/snar-full"; else cp "$tmp/snar-full.done" "$tmp/snar-inc"; snar="$tmp/snar-inc"; fi
  t0="$(now_ns)"
  measure "$tmp/times/p-$phase-$i.tar" tar -cf - --listed-incremental="$snar" -C "$tree" . \
    | measure "$tmp/times/p-$phase-$i.zstd" zstd -3 -q \
    | measure "$tmp/times/p-$phase-$i.gpg" gpg --batch --symmetric --cipher-algo AES256 -z 0 --passphrase-file "$passfile" \
        --pinentry-mode loopback -o "$out"
  t1="$(now_ns)"
  if [[ "$phase" == full ]]; then
    cp "$tmp/snar-full" "$tmp/snar-full.done"
  fi
  local r=$(($(rss_kb "$tmp/times/p-$phase-$i.tar") + $(rss_kb "$tmp/times/p-$phase-$i.zstd") + $(rss_kb "$tmp/times/p-$phase-$i.gpg")))
  record "$phase" pipeline "$(secs "$t0" "$t1")" "$(stat -c %s "$out")" "$r"
  say "$phase run $i pipeline: $(secs "$t0" "$t1") s, stored $(mib "$(stat -c %s "$out")"), peak RSS $(kb_mib "$r") (tar+zstd+gpg)"
  last_pipeline_out="$out"
}

full_id=""
run_flotilla() { # phase run
  local phase="$1" i="$2" t0 t1 id obj
  local args=(backup --config "$config" --kind volume --volume bench)
  [[ "$phase" == incremental ]] && args+=(--incremental)
  t0="$(now_ns)"
  measure "$tmp/times/f-$phase-$i.java" "$flotilla" "${args[@]}" >"$tmp/f-$phase-$i.out"
  t1="$(now_ns)"
  id="$(tail -n 1 "$tmp/f-$phase-$i.out")"
  obj="$tmp/repo/hosts/bench/backups/$id/volumes/bench.tar.zst.gpg"
  record "$phase" flotilla "$(secs "$t0" "$t1")" "$(stat -c %s "$obj")" "$(rss_kb "$tmp/times/f-$phase-$i.java")"
  say "$phase run $i flotilla: $(secs "$t0" "$t1") s, stored $(mib "$(stat -c %s "$obj")"), peak RSS $(kb_mib "$(rss_kb "$tmp/times/f-$phase-$i.java")") (JVM), backup $id"
  if [[ "$phase" == full ]]; then
    full_id="$id"
  else
    say "  flotilla: $(grep -o '[0-9]* stored, [0-9]* unchanged' "$tmp/f-$phase-$i.out" || true) files"
    last_inc_id="$id"
    # the next incremental run compares with the same full backup, as the pipeline's does; the last one stays for the check
    if ((i < runs)); then
      rm -rf "$tmp/repo/hosts/bench/backups/$id"
    fi
  fi
}

phase_runs() { # phase
  for ((i = 1; i <= runs; i++)); do
    if ((i % 2 == 1)); then run_pipeline "$1" "$i"; run_flotilla "$1" "$i"; else run_flotilla "$1" "$i"; run_pipeline "$1" "$i"; fi
    if [[ "$1" == full && "$i" -lt "$runs" ]]; then
      # one full backup on disk at a time; the last one stays as the incremental's base
      rm -rf "$tmp/repo/hosts/bench/backups/$full_id"
    fi
  done
}

say "full backups: $runs run(s) of each side, alternating; peak RSS by $rss_method"
phase_runs full

changed=$(((files + 99) / 100))
say "changing 1% of the files: $changed of $files (rewritten with new contents, same size class)"
python3 - "$tree" "$changed" <<'PY'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
paths = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs)
rnd = random.Random(7)
for p in rnd.sample(paths, n):
    size = os.path.getsize(p)
    with open(p, "r+b") as f:  # rewrite a block in the middle, grow by a little
        f.seek(size // 2)
        f.write(os.urandom(min(size, 4096) or 1))
        f.seek(0, 2)
        f.write(b"changed\n")
PY
tar -cf - -C "$tree" . | cat >/dev/null

say "incremental backups: $runs run(s) of each side"
phase_runs incremental

if [[ "$verify" == 1 ]]; then
  say "checking: gpg -d | zstd -t of the pipeline's output; flotilla restore of the incremental compared with the tree"
  gpg -q --batch --pinentry-mode loopback --passphrase-file "$passfile" -d "$last_pipeline_out" | zstd -t -q
  "$flotilla" restore --config "$config" --kind volume --volume bench --backup "$last_inc_id" --to "$tmp/restored" >/dev/null
  diff -r --no-dereference "$tree" "$tmp/restored" >/dev/null
  (cd "$tree" && find . -printf '%p %m %T@\n' | sort) >"$tmp/attrs.tree"
  (cd "$tmp/restored" && find . -printf '%p %m %T@\n' | sort) >"$tmp/attrs.restored"
  cmp -s "$tmp/attrs.tree" "$tmp/attrs.restored" || { echo "restored modes or mtimes differ" >&2; exit 1; }
  rm -rf "$tmp/restored"
  say "both sound; the restored tree equals the source (contents, modes, mtimes)"
fi

# --- summary -----------------------------------------------------------------------------------
ratio() { awk -v f="$1" -v p="$2" 'BEGIN { printf "%.2f", f / p }'; }
cores="$(nproc)"
load="$(cut -d' ' -f1-3 /proc/loadavg)"
cat <<EOF

== flotilla volume backup vs tar | zstd -3 | gpg (best of $runs run(s) each) ==
tree:        $files files, $(mib "$tree_bytes") (BENCH_MB=$size_mb); $changed files changed before the incremental
full:        pipeline ${t_best[full.pipeline]} s, stored $(mib "${size[full.pipeline]}");  flotilla ${t_best[full.flotilla]} s, stored $(mib "${size[full.flotilla]}")
             ratio flotilla/pipeline: $(ratio "${t_best[full.flotilla]}" "${t_best[full.pipeline]}")
incremental: pipeline ${t_best[incremental.pipeline]} s, stored $(mib "${size[incremental.pipeline]}");  flotilla ${t_best[incremental.flotilla]} s, stored $(mib "${size[incremental.flotilla]}")
             ratio flotilla/pipeline: $(ratio "${t_best[incremental.flotilla]}" "${t_best[incremental.pipeline]}")
peak RSS:    pipeline $(kb_mib "${rss[full.pipeline]}") (tar + zstd + gpg), flotilla $(kb_mib "${rss[full.flotilla]}") (JVM), full backup; by $rss_method
flotilla:    ${BENCH_ZSTD_WORKERS:-0} extra zstd worker thread(s) (BENCH_ZSTD_WORKERS); the pipeline's zstd -3 is single-threaded
machine:     $cores cores; load average at the end $load; zstd $(zstd -V | grep -o 'v[0-9.]*' | head -n 1); $(gpg --version | head -n 1); $(tar --version | head -n 1)

Markdown for docs/benchmarks.md:

| Date | Tree | Phase | Pipeline time | Flotilla time | Flotilla / pipeline | Pipeline stored | Flotilla stored |
|---|---|---|---|---|---|---|---|
| $(date +%Y-%m-%d) | $files files, $(mib "$tree_bytes") | full | ${t_best[full.pipeline]} s | ${t_best[full.flotilla]} s | $(ratio "${t_best[full.flotilla]}" "${t_best[full.pipeline]}") | $(mib "${size[full.pipeline]}") | $(mib "${size[full.flotilla]}") |
| | | incremental (1% of files changed) | ${t_best[incremental.pipeline]} s | ${t_best[incremental.flotilla]} s | $(ratio "${t_best[incremental.flotilla]}" "${t_best[incremental.pipeline]}") | $(mib "${size[incremental.pipeline]}") | $(mib "${size[incremental.flotilla]}") |
EOF
