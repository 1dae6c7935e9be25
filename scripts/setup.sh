#!/usr/bin/env bash
# Installs whatever this machine lacks to build (and, with --test, to test) DIDTron.
# Idempotent: each step is skipped when its tool is already there.
#   scripts/setup.sh            build tools: wasm32 target, cargo-leptos, wasm-bindgen
#   scripts/setup.sh --release  + wasm-opt (npm binaryen 132) for release builds
#   scripts/setup.sh --test     + chromium, PostgreSQL/Redis servers, Kamailio and sipp
#                               (the real switch of the call tests), aiosmtpd (the real
#                               SMTP server of the mail tests), sqlite3 (the browser
#                               tests' hand on the database), end2end npm packages
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

release=0
testing=0
for arg in "$@"; do
  case "$arg" in
    --release) release=1 ;;
    --test) testing=1 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

step() { printf '\n==> %s\n' "$*"; }
apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# cargo-leptos 0.3.11 needs rustc >= 1.96; 0.3.10 builds on 1.95 (../shared/TOOLCHAIN.md).
if ! cargo leptos --version 2>/dev/null | grep -q '^cargo-leptos 0.3.10$'; then
  step "installing cargo-leptos 0.3.10 (10-25 minutes on 2 cores, once)"
  cargo install cargo-leptos@0.3.10 --locked
fi

# The wasm-bindgen CLI must match Cargo.lock exactly; without --locked (see TOOLCHAIN.md).
wbg_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wbg_version" ]; then
  step "installing wasm-bindgen-cli $wbg_version (5-8 minutes, once)"
  cargo install wasm-bindgen-cli --version "$wbg_version" --force
fi

if ! command -v npm >/dev/null; then
  step "installing Node.js and npm"
  apt_install nodejs npm
fi

if [ "$release" = 1 ] && [ ! -x .tools/node_modules/.bin/wasm-opt ]; then
  # Debian's binaryen 108 makes a wasm that never hydrates; npm's 132 works.
  step "installing wasm-opt (npm binaryen 132) into .tools/"
  npm install --prefix .tools --no-audit --no-fund --silent binaryen@132.0.0
fi

if [ "$testing" = 1 ]; then
  if [ ! -x /usr/bin/chromium ]; then
    step "installing Debian's chromium for the browser tests"
    apt_install chromium
  fi
  if ! command -v pg_ctlcluster >/dev/null; then
    step "installing PostgreSQL"
    apt_install postgresql
  fi
  if ! command -v redis-server >/dev/null; then
    step "installing Redis"
    apt_install redis-server
  fi
  if [ ! -x /usr/sbin/kamailio ] || [ ! -x /usr/bin/sipp ] \
    || [ ! -f /usr/lib/x86_64-linux-gnu/kamailio/modules/acc_json.so ] \
    || [ ! -f /usr/lib/x86_64-linux-gnu/kamailio/modules/http_client.so ] \
    || [ ! -f /usr/lib/x86_64-linux-gnu/kamailio/modules/jansson.so ]; then
    step "installing Kamailio and sipp (deploy/kamailio/README.md)"
    apt_install --no-install-recommends kamailio kamailio-utils-modules \
      kamailio-extra-modules kamailio-json-modules sip-tester
  fi
  if ! command -v sqlite3 >/dev/null; then
    step "installing sqlite3 (the browser tests stop the status collector through it)"
    apt_install --no-install-recommends sqlite3
  fi
  if ! /usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null; then
    step "installing aiosmtpd (python3-aiosmtpd), the SMTP server of the mail tests"
    apt_install --no-install-recommends python3-aiosmtpd
  fi
  if [ ! -d end2end/node_modules/playwright-core ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
    step "installing the end2end packages (playwright-core, axe)"
    (cd end2end && npm ci --no-audit --no-fund --silent)
  fi
fi
