#!/usr/bin/env bash
# Flotilla demo: back up a database into a local repository, list, verify, restore it into a copy
# and check that the copy holds exactly the same data; then start a coordinator member and the agent
# daemon, ask the coordinator's API for a backup and show the host's state and compliance.
#
# Everything happens in a throwaway PostgreSQL cluster and a temporary directory, both removed on
# exit (success, failure or Ctrl-C). Needs PostgreSQL server binaries (pg_config --bindir or
# /usr/lib/postgresql/*/bin; override with PG_BIN) and Java 17. As root, the server runs as the
# postgres OS user. Builds the agent with Maven first if agent/target/flotilla-agent.jar is missing.
#
# Usage: deploy/demo.sh          (from any directory; exits 0 when the restored copy matches)
set -euo pipefail

here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
repo_root="$(cd "$here/.." && pwd)"
flotilla="$here/bin/flotilla"
# shellcheck source=deploy/lib-pg.sh
source "$here/lib-pg.sh"

db=shop
copy="${db}_copy"

heading() {
  printf '\n==> %s\n' "$*"
}

# --- clean-up: stop the server and remove the temp dir however we exit --------------------------
tmp=""
cleanup() {
  local rc=$?
  set +e
  [[ -n "${agent_pid:-}" ]] && kill "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null
  [[ -n "${coord_pid:-}" ]] && kill "$coord_pid" 2>/dev/null && wait "$coord_pid" 2>/dev/null
  pg_cluster_stop
  [[ -n "$tmp" && -d "$tmp" ]] && rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- build the agent if needed -----------------------------------------------------------------
if [[ ! -f "$repo_root/agent/target/flotilla-agent.jar" || ! -d "$repo_root/agent/target/lib" \
      || ! -f "$repo_root/coordinator/target/flotilla-coordinator.jar" ]]; then
  heading "building flotilla (mvn -B -q package -DskipTests)"
  (cd "$repo_root" && mvn -B -q package -DskipTests)
fi

# --- a throwaway cluster -----------------------------------------------------------------------
tmp="$(mktemp -d "${TMPDIR:-/tmp}/flotilla-demo.XXXXXX")"
pg_setup_bin
heading "starting a throwaway PostgreSQL cluster ($PG_BIN) in $tmp"
pg_cluster_start "$tmp/pg"
echo "listening on 127.0.0.1:$PG_PORT"

# --- sample data: customers and orders with non-ASCII text, a view, a sequence -------------------
heading "loading sample data into database '$db'"
pg_psql postgres -c "CREATE DATABASE $db"
pg_psql "$db" <<'SQL'
CREATE TABLE customers (
  id      int PRIMARY KEY,
  name    text NOT NULL,
  city    text,
  email   text,
  joined  date NOT NULL
);
INSERT INTO customers
SELECT i,
       (ARRAY['Zoë', 'José', 'Müller', 'Øyvind', 'Łucja', 'Ærøskøbing AS', '山田太郎', 'Иван', 'Σοφία', 'Ahmed'])[1 + i % 10] || ' #' || i,
       (ARRAY['São Paulo', 'Zürich', 'Kraków', 'Reykjavík', '東京', 'Москва', 'Αθήνα', NULL])[1 + i % 8],
       'customer' || i || '@example.com',
       DATE '2020-01-01' + (i * 7) % 1500
FROM generate_series(1, 3000) i;

CREATE TABLE orders (
  id          bigserial PRIMARY KEY,
  customer_id int NOT NULL REFERENCES customers (id),
  amount      numeric(10, 2) NOT NULL,
  status      text NOT NULL CHECK (status IN ('new', 'paid', 'shipped', 'cancelled')),
  note        text,
  ordered_at  timestamptz NOT NULL
);
INSERT INTO orders (customer_id, amount, status, note, ordered_at)
SELECT 1 + (i * 37) % 3000,
       ((i * 7919) % 100000) / 100.0,
       (ARRAY['new', 'paid', 'shipped', 'cancelled'])[1 + i % 4],
       CASE WHEN i % 5 = 0 THEN 'Lieferung bitte an die Rückseite — ☎ ' || i END,
       TIMESTAMPTZ '2024-01-01 00:00:00+00' + i * INTERVAL '17 minutes'
FROM generate_series(1, 8000) i;
CREATE INDEX orders_customer ON orders (customer_id);

CREATE VIEW customer_totals AS
  SELECT c.id, c.name, count(o.id) AS orders, coalesce(sum(o.amount), 0) AS total
  FROM customers c LEFT JOIN orders o ON o.customer_id = c.id
  GROUP BY c.id, c.name;

CREATE SEQUENCE invoice_no START 1000;
DO $$ BEGIN PERFORM nextval('invoice_no') FROM generate_series(1, 42); END $$;
COMMENT ON TABLE customers IS 'Kunden — customers';
SQL
pg_psql "$db" -c "SELECT 'customers: ' || (SELECT count(*) FROM customers) || ' rows, orders: ' || (SELECT count(*) FROM orders)
  || ' rows, invoice_no at ' || (SELECT last_value FROM invoice_no) || ', size ' || pg_size_pretty(pg_database_size(current_database()))"

# --- passphrase, repository and agent config ----------------------------------------------------
mkdir -m 700 "$tmp/agent"
passfile="$tmp/agent/passphrase"
(umask 077 && echo "demo passphrase $RANDOM-$RANDOM-$RANDOM" >"$passfile")
config="$tmp/agent/agent.yaml"
cat >"$config" <<YAML
host: demo
postgres:
  url: $(pg_url postgres)
  bin: $PG_BIN
repositories:
  - name: primary
    url: file://$tmp/repo
encryption:
  passphrase-file: $passfile
compression:
  algorithm: zstd
  level: 3
lock-directory: $tmp/agent
YAML
heading "agent config ($config)"
cat "$config"

# --- the Flotilla commands ----------------------------------------------------------------------
heading "flotilla backup --database $db"
"$flotilla" backup --config "$config" --database "$db" | tee "$tmp/backup.out"
backup_id="$(tail -n 1 "$tmp/backup.out")"

heading "flotilla list"
"$flotilla" list --config "$config"

heading "flotilla verify"
"$flotilla" verify --config "$config"

heading "flotilla restore --backup $backup_id --database $db --target-database $copy"
"$flotilla" restore --config "$config" --backup "$backup_id" --database "$db" --target-database "$copy"

heading "repository contents"
(cd "$tmp/repo" && find . -type f | sort)

# --- compare the original and the copy ---------------------------------------------------------
heading "comparing $db with $copy"
# One line per table: row count and md5 of all rows in a fixed order; then sequences and views.
fingerprint() {
  local target="$1" rel rels
  mapfile -t rels < <(pg_psql "$db" -c "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables
                                         WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1")
  for rel in "${rels[@]}"; do
    pg_psql "$target" -c "SELECT '$rel ' || count(*) || ' rows md5=' || md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM $rel t"
  done
  pg_psql "$target" -c "SELECT 'sequence ' || sequencename || ' last_value=' || last_value FROM pg_sequences ORDER BY 1"
  pg_psql "$target" -c "SELECT 'view ' || viewname || ' md5=' || md5(definition) FROM pg_views
                        WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
}
fingerprint "$db" >"$tmp/original.txt"
fingerprint "$copy" >"$tmp/copy.txt" || true
cat "$tmp/original.txt"
if diff -u "$tmp/original.txt" "$tmp/copy.txt"; then
  echo "restored copy matches the original"
else
  echo "MISMATCH: the restored copy differs from the original (diff above)" >&2
  exit 1
fi

# --- the coordinator: one member, the agent daemon connected, a backup through the API ----------
heading "starting a coordinator member and the agent daemon"
api_port="$(pg_free_port)"
hz_port="$(pg_free_port)"
echo "demo-viewer-$RANDOM$RANDOM" >"$tmp/viewer.token"
echo "demo-operator-$RANDOM$RANDOM" >"$tmp/operator.token"
echo "demo-agent-$RANDOM$RANDOM" >"$tmp/agent.token"
cat >"$tmp/coordinator.yaml" <<YAML
cluster: {member-name: demo-1, host: 127.0.0.1, port: $hz_port, members: ["127.0.0.1:$hz_port"], lease: 5s}
api: {host: 127.0.0.1, port: $api_port}
tokens:
  - {name: viewer, role: viewer, token-file: $tmp/viewer.token}
  - {name: operator, role: operator, token-file: $tmp/operator.token}
  - {name: agents, role: agent, token-file: $tmp/agent.token}
repositories:
  - {name: primary, url: "file://$tmp/repo"}
policies:
  - {name: nightly, hosts: ["demo"], schedule: "30 2 * * *", time-zone: Europe/Berlin, kind: logical, all: true, rpo: 26h}
YAML
cat >>"$config" <<YAML
coordinator:
  url: ws://127.0.0.1:$api_port
  token-file: $tmp/agent.token
  heartbeat-seconds: 2
YAML
"$here/bin/flotilla-coordinator" --config "$tmp/coordinator.yaml" >"$tmp/coordinator.log" 2>&1 &
coord_pid=$!
api() { curl -fsS -H "Authorization: Bearer $(cat "$tmp/$1.token")" "${@:3}" "http://127.0.0.1:$api_port$2"; }
for _ in $(seq 1 120); do curl -fsS "http://127.0.0.1:$api_port/health" >/dev/null 2>&1 && break; sleep 0.5; done
"$flotilla" agent --config "$config" >"$tmp/agent.log" 2>&1 &
agent_pid=$!
connected=""
for _ in $(seq 1 120); do api viewer /api/v1/hosts/demo 2>/dev/null | grep -q '"connected":true' && connected=1 && break; sleep 0.5; done
if [[ -z "$connected" ]]; then
  echo "the agent did not connect to the coordinator:" >&2
  tail -n 5 "$tmp/agent.log" "$tmp/coordinator.log" >&2
  exit 1
fi
echo "member up on 127.0.0.1:$api_port; agent connected"

heading "POST /api/v1/hosts/demo/backups (operator token)"
job="$(api operator /api/v1/hosts/demo/backups -X POST -H 'Content-Type: application/json' -d '{"databases": ["'"$db"'"]}')"
echo "$job"
job_id="$(sed -n 's/.*"jobId":"\([^"]*\)".*/\1/p' <<<"$job")"
state=""
for _ in $(seq 1 120); do
  state="$(api viewer "/api/v1/jobs/$job_id" | sed -n 's/.*"state":"\([a-z-]*\)".*/\1/p')"
  [[ "$state" == succeeded || "$state" == failed ]] && break
  sleep 0.5
done
echo "job $job_id: $state"
[[ "$state" == succeeded ]] || { echo "the coordinator's backup did not succeed:" >&2; tail -n 5 "$tmp/agent.log" >&2; exit 1; }

heading "GET /api/v1/compliance"
api viewer /api/v1/compliance
echo
heading "GET /metrics (excerpt)"
api viewer /metrics | grep -E '^flotilla_(last_backup_success|rpo_seconds|compliance_state\{.*met)' || true

