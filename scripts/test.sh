#!/usr/bin/env bash
# Installs what is missing, starts PostgreSQL and Redis if they are not running, and runs
# every check and test: rustfmt, clippy (server and wasm32), unit + service + HTTP
# integration tests on SQLite and on PostgreSQL + Redis, and the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
./scripts/setup.sh --test
export PATH="$HOME/.cargo/bin:$PATH"
step() { printf '\n==> %s  (+%ss)\n' "$*" "$(( $(date +%s) - started ))"; }
# A one-off build (CI's clean clone) gains nothing from incremental caches but their disk.
if [ "${CI:-}" = true ]; then export CARGO_INCREMENTAL=0; fi
df -h . | tail -1 | awk '{print "disk: " $4 " free of " $2}'

step "starting PostgreSQL and Redis if needed"
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  version=$(ls /etc/postgresql | sort -n | tail -1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; then
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/didtron-test.log
fi
for _ in $(seq 1 50); do
  pg_isready -h 127.0.0.1 -p 5432 -q && redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG && break
  sleep 0.2
done
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export TEST_REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379/0}"
# Databases left by an interrupted earlier run.
psql "$TEST_DATABASE_URL" -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'didtron_test_%'" \
  | while read -r db; do psql "$TEST_DATABASE_URL" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)"; done

step "cargo fmt --check"
cargo fmt --all --check

step "clippy: server side"
cargo clippy --workspace --exclude frontend --all-targets --locked -- -D warnings

step "clippy: wasm32 (frontend + app hydrate)"
cargo clippy -p frontend --target wasm32-unknown-unknown --locked -- -D warnings

step "building the server and the WASM site (cargo leptos build)"
cargo leptos build --cargo-locked

step "unit, service and HTTP integration tests (SQLite, PostgreSQL + Redis)"
CI=${CI:-true} cargo test --workspace --exclude frontend --locked

step "browser tests (Playwright + axe, Debian chromium)"
(cd end2end && node run.mjs)

step "all checks and tests passed"
