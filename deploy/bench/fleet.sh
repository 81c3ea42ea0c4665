#!/usr/bin/env bash
# Benchmark: the coordinator under a simulated fleet
#
# Starts a two-member coordinator cluster as real processes on loopback (free ports, a temp dir, tokens
# in files, lease 10s, each member -Xmx1g through FLOTILLA_COORDINATOR_JAVA_OPTS, GC logging off) and
# points io.flotilla.coordinator.bench.FleetLoad at it: BENCH_AGENTS simulated agents (protocol
# clients only, in one JVM, spread over both members) say hello and heartbeat every BENCH_INTERVAL
# seconds with a random phase, while a poller reads GET /api/v1/hosts from the members in turn every
# BENCH_POLL_MS. After BENCH_WARMUP seconds it measures for BENCH_DURATION seconds:
#   heartbeat latency:  send -> ack, the ack coming once the heartbeat is stored in the cluster map;
#   hosts-list latency: request -> last byte of the response, which must name every simulated host.
# Heap per agent: each member's used heap after a full GC (jcmd GC.run, then jstat -gc) before the
# agents connect and again while they are connected, (after - before) summed over both members and
# divided by the agents. Both members count: each holds half the sockets, but both hold every host's
# state (the cluster map keeps a backup of each entry on the other member, and each member a copy to
# answer reads from).
# Target: heartbeat and hosts-list p99 under 100 ms. Prints FleetLoad's summary, the heap readings,
# the p99 / 100 ms ratios, the load average before and after, and a markdown row for docs/benchmarks.md.
#
# Environment (all optional):
#   BENCH_AGENTS=2000     simulated agents
#   BENCH_INTERVAL=10     seconds between an agent's heartbeats
#   BENCH_WARMUP=30       seconds after all agents connected before measuring
#   BENCH_DURATION=60     seconds measured
#   BENCH_POLL_MS=1000    milliseconds between GET /api/v1/hosts polls
#   BENCH_RAMP=200        new connections per second while ramping up
#   BENCH_MEMBER_HEAP=1g  -Xmx of each member
#   BENCH_KEEP=1          keep the temp dir (member configs and logs) for a look afterwards
#
# Usage: deploy/bench/fleet.sh                                              (about 2.5 minutes)
#        BENCH_AGENTS=200 BENCH_WARMUP=10 BENCH_DURATION=20 deploy/bench/fleet.sh   (smoke run)
set -euo pipefail

here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
deploy="$(cd "$here/.." && pwd)"
repo_root="$(cd "$deploy/.." && pwd)"
# shellcheck source=deploy/lib-pg.sh
source "$deploy/lib-pg.sh" # for pg_free_port only

agents="${BENCH_AGENTS:-2000}"
interval="${BENCH_INTERVAL:-10}"
warmup="${BENCH_WARMUP:-30}"
duration="${BENCH_DURATION:-60}"
poll_ms="${BENCH_POLL_MS:-1000}"
ramp="${BENCH_RAMP:-200}"
member_heap="${BENCH_MEMBER_HEAP:-1g}"
target_ms=100

for v in agents interval duration poll_ms ramp; do
  [[ "${!v}" =~ ^[0-9]+$ && "${!v}" -ge 1 ]] || { echo "BENCH_${v^^}: not a positive whole number: ${!v}" >&2; exit 2; }
done
[[ "$warmup" =~ ^[0-9]+$ ]] || { echo "BENCH_WARMUP: not a whole number: $warmup" >&2; exit 2; }
[[ "$member_heap" =~ ^[0-9]+[kKmMgG]?$ ]] || { echo "BENCH_MEMBER_HEAP: not a heap size like 1g: $member_heap" >&2; exit 2; }
for c in java jcmd jstat curl; do
  command -v "$c" >/dev/null || { echo "$c is required (a JDK, not a JRE, for jcmd and jstat)" >&2; exit 2; }
done

say() {
  printf '%s  %s\n' "$(date +%H:%M:%S)" "$*"
}

# --- clean-up: stop what we started and remove the temp dir however we exit ---------------------
tmp=""
member_pids=()
load_pid=""
cleanup() {
  local rc=$?
  set +e
  stop_pid "$load_pid"
  for p in "${member_pids[@]}"; do stop_pid "$p"; done
  if [[ -n "$tmp" && -d "$tmp" ]]; then
    if [[ "${BENCH_KEEP:-0}" == 1 ]]; then
      echo "kept $tmp (BENCH_KEEP=1)" >&2
    else
      rm -rf "$tmp"
    fi
  fi
  exit "$rc"
}
stop_pid() {
  local p="$1"
  [[ -n "$p" ]] || return 0
  kill "$p" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

jar="$repo_root/coordinator/target/flotilla-coordinator.jar"
if [[ ! -f "$jar" || ! -d "$repo_root/coordinator/target/lib" ]]; then
  say "building flotilla (mvn -B -q package -DskipTests)"
  (cd "$repo_root" && mvn -B -q package -DskipTests)
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/flotilla-bench-fleet.XXXXXX")"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
say "load average before: $load_before ($(nproc) cores)"

# --- two members ---------------------------------------------------------------------------------
printf '%s\n' "viewer-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" >"$tmp/viewer.token"
printf '%s\n' "agent-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" >"$tmp/agent.token"
chmod 600 "$tmp"/*.token
cluster_ports=("$(pg_free_port)" "$(pg_free_port)")
api_ports=("$(pg_free_port)" "$(pg_free_port)")
for i in 0 1; do
  cat >"$tmp/member-$i.yaml" <<EOF
cluster:
  member-name: bench-$i
  host: 127.0.0.1
  port: ${cluster_ports[$i]}
  members: ["127.0.0.1:${cluster_ports[0]}", "127.0.0.1:${cluster_ports[1]}"]
  name: bench-fleet-$$
  lease: 10s
api:
  host: 127.0.0.1
  port: ${api_ports[$i]}
tokens:
  - {name: bench-viewer, role: viewer, token-file: $tmp/viewer.token}
  - {name: bench-agents, role: agent, token-file: $tmp/agent.token, hosts: ["db-*"]}
EOF
done
member_opts="-Xmx$member_heap -XX:+ExitOnOutOfMemoryError -Xlog:gc*=off"
for i in 0 1; do
  FLOTILLA_COORDINATOR_JAVA_OPTS="$member_opts" "$deploy/bin/flotilla-coordinator" --config "$tmp/member-$i.yaml" \
    >"$tmp/member-$i.log" 2>&1 &
  member_pids+=("$!")
done
say "members starting (pids ${member_pids[*]}, API ports ${api_ports[*]}, JVM options: $member_opts)"
for i in 0 1; do
  ok=0
  for _ in $(seq 1 120); do
    if curl -fsS "http://127.0.0.1:${api_ports[$i]}/health" 2>/dev/null | grep -q '"members":2'; then ok=1; break; fi
    kill -0 "${member_pids[$i]}" 2>/dev/null || break
    sleep 0.5
  done
  if [[ "$ok" != 1 ]]; then
    echo "member $i did not become healthy in a cluster of two; its log ends:" >&2
    tail -n 20 "$tmp/member-$i.log" >&2
    exit 1
  fi
done
say "both members up, cluster of two"

# Used heap (KiB) of a JVM after a full collection: the sum of the used columns of jstat -gc.
used_heap_kib() {
  local pid="$1"
  jcmd "$pid" GC.run >/dev/null
  jstat -gc "$pid" | awk 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i }
    NR == 2 { printf "%.0f\n", $col["S0U"] + $col["S1U"] + $col["EU"] + $col["OU"] }'
}
heap_before=()
for i in 0 1; do heap_before+=("$(used_heap_kib "${member_pids[$i]}")"); done
say "used heap before (after a full GC): member 0 ${heap_before[0]} KiB, member 1 ${heap_before[1]} KiB"

# --- the load --------------------------------------------------------------------------------------
summary="$tmp/summary.json"
java_bin="${JAVA_HOME:+$JAVA_HOME/bin/}java"
# Holds the agents connected after the summary until we have read the heap, then we stop it.
"$java_bin" -Xmx512m -cp "$jar:$repo_root/coordinator/target/lib/*" io.flotilla.coordinator.bench.FleetLoad \
  --member "http://127.0.0.1:${api_ports[0]},http://127.0.0.1:${api_ports[1]}" \
  --agent-token-file "$tmp/agent.token" --viewer-token-file "$tmp/viewer.token" \
  --agents "$agents" --interval "$interval" --ramp "$ramp" --warmup "$warmup" --duration "$duration" --poll-ms "$poll_ms" \
  --summary-file "$summary" --hold 600 >"$tmp/fleet-load.out" 2> >(tee "$tmp/fleet-load.err" >&2) &
load_pid="$!"
limit=$(( agents / ramp + 60 + warmup + duration + 60 + 30 ))
for _ in $(seq 1 $(( limit * 2 ))); do
  [[ -f "$summary" ]] && break
  if ! kill -0 "$load_pid" 2>/dev/null; then
    echo "FleetLoad exited before its summary; output:" >&2
    cat "$tmp/fleet-load.out" >&2
    exit 1
  fi
  sleep 0.5
done
[[ -f "$summary" ]] || { echo "FleetLoad wrote no summary within $limit s" >&2; exit 1; }
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

connected_here=()
for i in 0 1; do
  connected_here+=("$(curl -fsS "http://127.0.0.1:${api_ports[$i]}/health" | sed -n 's/.*"agentsConnectedHere":\([0-9]*\).*/\1/p')")
done
heap_after=()
for i in 0 1; do heap_after+=("$(used_heap_kib "${member_pids[$i]}")"); done
stop_pid "$load_pid"
load_pid=""

# --- report ----------------------------------------------------------------------------------------
echo
cat "$tmp/fleet-load.out"
# Numbers from the pretty-printed JSON summary: one `"key" : value` per line, the key's first line
# after the section's opening.
j() { # section key
  awk -v s="\"$1\"" -v k="\"$2\"" '$1 == s { in_s = 1 } in_s && $1 == k { gsub(/[,"]/, "", $3); print $3; exit }' "$summary"
}
hb_p50="$(j heartbeat p50Ms)"; hb_p90="$(j heartbeat p90Ms)"; hb_p99="$(j heartbeat p99Ms)"; hb_max="$(j heartbeat maxMs)"
hl_p50="$(j hostsList p50Ms)"; hl_p99="$(j hostsList p99Ms)"; hl_max="$(j hostsList maxMs)"; hl_bytes="$(j hostsList bytesMax)"
connected="$(sed -n 's/^  "connected" : \([0-9]*\),*$/\1/p' "$summary")"
failures="$(sed -n 's/^  "failures" : \([0-9]*\),*$/\1/p' "$summary")"
acked="$(j heartbeat acked)"
ratio() { awk -v v="$1" -v t="$target_ms" 'BEGIN { if (v == "" || v == "null") print "n/a"; else printf "%.2f", v / t }'; }
delta=$(( heap_after[0] - heap_before[0] + heap_after[1] - heap_before[1] ))
per_agent="$(awk -v d="$delta" -v n="$agents" 'BEGIN { printf "%.1f", d / n }')"
echo
echo "heap (used after a full GC, KiB):   member 0 ${heap_before[0]} -> ${heap_after[0]}, member 1 ${heap_before[1]} -> ${heap_after[1]}"
echo "agents connected per member:         ${connected_here[0]} / ${connected_here[1]}"
echo "heap per agent (both members):       $per_agent KiB ($delta KiB over $agents agents)"
echo "heartbeat p99 / ${target_ms} ms target:        $(ratio "$hb_p99")"
echo "GET /api/v1/hosts p99 / ${target_ms} ms target: $(ratio "$hl_p99")"
echo "load average before / after:         $load_before / $load_after ($(nproc) cores)"
met="no"
if [[ "$(ratio "$hb_p99")" != n/a && "$(ratio "$hl_p99")" != n/a ]] \
    && awk -v a="$hb_p99" -v b="$hl_p99" -v t="$target_ms" 'BEGIN { exit !(a < t && b < t) }'; then
  met="yes"
fi
echo "target met (both p99 < ${target_ms} ms):  $met"
echo
echo "markdown row for docs/benchmarks.md:"
echo "| $agents | $interval s | $connected | $acked | $failures | $hb_p50 / $hb_p90 / $hb_p99 / $hb_max | $hl_p50 / $hl_p99 / $hl_max | $(awk -v b="$hl_bytes" 'BEGIN { printf "%.1f MiB", b / 1048576 }') | $per_agent KiB | $(ratio "$hb_p99") / $(ratio "$hl_p99") | $load_before → $load_after |"
