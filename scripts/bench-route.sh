#!/usr/bin/env bash
# Load test of the routing API over loopback HTTP (BENCHMARKS.md, "Routing API over HTTP"):
# a release DIDTron seeded with the Airtel world (server/examples/route_world.rs: the
# real deck, a +10 % customer plan, a least-cost routing plan; SQLite, or PostgreSQL +
# Redis when TEST_DATABASE_URL and TEST_REDIS_URL are set), then wrk posting routing
# requests for the 300 real numbers of testdata/sipp/calls_airtel.csv.
#
# Env: CONNECTIONS (default 32), THREADS (default 1), DURATION (default 20s), EXPLAIN
# (0: requests say "explain": false, as DIDTron's Kamailio configuration sends them).
# IN_PROGRESS (default 5000): how many call ids the requests cycle through (route.lua).
# PIN=1: DIDTron on CPU 0 and wrk on CPU 1 (taskset), so that neither waits for the
# other's core; otherwise wrk and the server share the machine's cores.
# TOKIO_WORKER_THREADS (tokio's own variable) is passed on to DIDTron: 1 leaves the
# second core to wrk (the goal's run in BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y --no-install-recommends wrk; else sudo apt-get install -y --no-install-recommends wrk; fi
fi
cargo build --release --locked -p server --example route_world

server_cpu=() load_cpu=()
if [ "${PIN:-0}" = 1 ]; then server_cpu=(taskset -c 0) load_cpu=(taskset -c 1); fi
coproc WORLD { RUST_LOG=warn "${server_cpu[@]}" target/release/examples/route_world; }
read -r ready base key <&"${WORLD[0]}"
[ "$ready" = READY ] || { echo "the world did not start" >&2; exit 1; }
# Warm up, then measure.
DIDTRON_KEY=$key "${load_cpu[@]}" wrk -t1 -c4 -d2s -s scripts/route.lua "$base/api/v1/route" >/dev/null
DIDTRON_KEY=$key "${load_cpu[@]}" wrk -t"${THREADS:-1}" -c"${CONNECTIONS:-32}" -d"${DURATION:-20s}" --latency \
  -s scripts/route.lua "$base/api/v1/route"
# One answer, to show what was measured.
curl -s -H "Authorization: Bearer $key" -H 'content-type: application/json' \
  -d '{"source_ip":"127.0.0.1","a_number":"442079000000","b_number":"917562929406","call_id":"sample"}' \
  "$base/api/v1/route" | head -c 400; echo
exec {WORLD[1]}>&-
wait "$WORLD_PID" 2>/dev/null || true
