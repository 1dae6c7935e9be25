#!/usr/bin/env bash
# Highest call rate a real switch holds with DIDTron routing every call (BENCHMARKS.md,
# "Kamailio + sipp"): a release DIDTron seeded with the Airtel world
# (server/examples/route_world.rs), Kamailio with DIDTron's own configuration
# (deploy/kamailio/kamailio.cfg: every INVITE asks POST /api/v1/route, every CDR is
# pushed to POST /api/v1/cdrs), a sipp UAS as the supplier, and a sipp UAC dialling the
# 300 real numbers of testdata/sipp/calls_airtel.csv. Each rate runs for DURATION
# seconds (bounded: -m rate*DURATION calls), every answered call held HOLD_MS; a rate
# passes when sipp reports no failed call. Prints one line per rate and the highest
# rate passed. Every process is stopped by its PID at the end.
#
# Env: RATES (calls per second to try, ascending; default "100 200 300 400 500 600 800"),
# DURATION (seconds per rate, default 20), HOLD_MS (default 1000), KAMAILIO_CHILDREN
# (UDP workers, default 8). Needs kamailio and sipp (scripts/setup.sh --test).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
rates=${RATES:-"100 200 300 400 500 600 800"}
duration=${DURATION:-20}
hold=${HOLD_MS:-1000}
children=${KAMAILIO_CHILDREN:-8}
proxy=15060 supplier_port=15070 customer_port=15080

cargo build --release --locked -p server --example route_world
dir=$(mktemp -d /tmp/didtron-cps.XXXXXX)
pids=()
stop_all() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -f "$dir/kamailio.pid" ] && kill "$(cat "$dir/kamailio.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop_all EXIT

coproc WORLD { RUST_LOG=warn target/release/examples/route_world; }
pids+=("$WORLD_PID")
read -r ready base key <&"${WORLD[0]}"
[ "$ready" = READY ] || { echo "the world did not start" >&2; exit 1; }
hostport=${base#http://}

sipp -sf testdata/sipp/uas_rr.xml -i 127.0.0.1 -p "$supplier_port" -nostdin \
  </dev/null >/dev/null 2>"$dir/uas.log" &
pids+=("$!")
/usr/sbin/kamailio -f deploy/kamailio/kamailio.cfg -DD -E -m 128 -M 16 -n "$children" \
  -Y "$dir" -P "$dir/kamailio.pid" \
  -A "LISTEN_ADDR=udp:127.0.0.1:$proxy" \
  -A "ROUTER_CON=\"router=>http://kamailio:$key@$hostport/api/v1;timeout=1\"" \
  -A "CDRSINK_CON=\"cdrsink=>http://kamailio:$key@$hostport/api/v1;timeout=2\"" \
  >"$dir/kamailio.out" 2>"$dir/kamailio.log" &
pids+=("$!")
sleep 1.5

best=0
for rate in $rates; do
  calls=$((rate * duration))
  limit=$((rate * (hold / 1000 + 2) * 2))
  set +e
  sipp "127.0.0.1:$proxy" -sf testdata/sipp/uac_billing.xml -inf testdata/sipp/calls_airtel.csv \
    -i 127.0.0.1 -p "$customer_port" -m "$calls" -r "$rate" -l "$limit" -d "$hold" \
    -timeout $((duration + 30)) -timeout_error -nostdin -trace_stat -stf "$dir/stat-$rate.csv" \
    >"$dir/uac-$rate.out" 2>&1
  status=$?
  set -e
  # sipp's statistics file: the last line holds the cumulative counts.
  read -r ok failed < <(awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "SuccessfulCall(C)") s = i; if ($i == "FailedCall(C)") f = i } }
    { last = $0 } END { split(last, v, ";"); print v[s], v[f] }' "$dir/stat-$rate.csv")
  echo "rate $rate cps, $duration s: $ok successful, $failed failed (sipp exit $status)"
  if [ "$status" = 0 ] && [ "${failed:-1}" = 0 ]; then best=$rate; else break; fi
  sleep 3
done
echo "highest rate held for $duration s with no failed call: $best cps (Kamailio $children UDP workers, calls held $hold ms)"
echo "logs: $dir"
