#!/usr/bin/env bash
# Installs what is missing, builds DIDTron (release) and runs it on its embedded default:
# SQLite at ./data/didtron.db, no Redis, at http://127.0.0.1:3000.
# On the first start the log prints the super admin's generated password once
# (or set DIDTRON_ADMIN_EMAIL / DIDTRON_ADMIN_PASSWORD before the first start).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh --release
export PATH="$PWD/.tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
exec cargo leptos serve --release
