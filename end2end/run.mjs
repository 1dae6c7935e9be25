// Runs the browser tests against a real DIDTron: starts the built `didtron` binary on a
// fresh SQLite database, seeds a carrier and a customer user through the CLI, runs every
// spec in tests/ with node's test runner, then stops the server.
//
// Needs: a built server and site (`cargo leptos build`), /usr/bin/chromium, `npm ci` here.
// Env: DIDTRON_BIN (default ../target/debug/didtron), E2E_PORT (default 3187),
// E2E_SPECS (space-separated spec paths, default every spec under tests/).

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const bin = process.env.DIDTRON_BIN ?? join(root, 'target/debug/didtron');
const port = process.env.E2E_PORT ?? '3187';
const base = `http://127.0.0.1:${port}`;
const dir = mkdtempSync(join(tmpdir(), 'didtron-e2e-'));
const credentials = {
  E2E_ADMIN_EMAIL: 'admin@e2e.test',
  E2E_ADMIN_PASSWORD: 'e2e admin password',
  E2E_CUSTOMER_EMAIL: 'noc@northwind.test',
  E2E_CUSTOMER_PASSWORD: 'e2e customer password',
};
const database = join(dir, 'didtron.db');
const env = {
  ...process.env,
  DATABASE_URL: `sqlite://${database}?mode=rwc`,
  BIND_ADDR: `127.0.0.1:${port}`,
  PUBLIC_URL: base,
  SITE_ROOT: join(root, 'target/site'),
  DIDTRON_FILES_DIR: join(dir, 'files'),
  DIDTRON_ADMIN_EMAIL: credentials.E2E_ADMIN_EMAIL,
  DIDTRON_ADMIN_PASSWORD: credentials.E2E_ADMIN_PASSWORD,
  RUST_LOG: process.env.RUST_LOG ?? 'warn',
  // System Status collects every 5 s here, so its pages have fresh snapshots.
  STATUS_COLLECT_SECS: '5',
};

function cli(...args) {
  const r = spawnSync(bin, args, {
    env: { ...env, DIDTRON_USER_PASSWORD: credentials.E2E_CUSTOMER_PASSWORD },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`didtron ${args.join(' ')} failed:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

async function waitReady() {
  for (let i = 0; i < 150; i++) {
    try {
      const r = await fetch(`${base}/readyz`);
      if (r.ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`DIDTron did not become ready at ${base}`);
}

const server = spawn(bin, ['serve'], { env, stdio: ['ignore', 'inherit', 'inherit'] });
let code = 1;
try {
  await waitReady();
  const carrier = cli('carrier', 'create', '--name', 'Northwind Voice', '--account-code', 'NWV', '--type', 'customer', '--currency', 'EUR');
  const carrierId = carrier.match(/with id (\d+)/)[1];
  cli('user', 'create', '--email', credentials.E2E_CUSTOMER_EMAIL, '--role', 'customer', '--carrier', carrierId);
  const specs = (process.env.E2E_SPECS ?? 'tests/').split(' ').filter(Boolean);
  const run = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...specs], {
    cwd: import.meta.dirname,
    env: { ...process.env, ...credentials, BASE_URL: base, TESTDATA: join(root, 'testdata'), E2E_DATABASE: database },
    stdio: 'inherit',
  });
  code = run.status ?? 1;
} catch (e) {
  console.error(e);
} finally {
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
process.exit(code);
