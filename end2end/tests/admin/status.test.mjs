// System Status: every tab opens with its figures and their time and passes axe; a budget
// set in the portal is breached, marked, turns the status yellow, raises its alert (which
// is acknowledged) and shows in the audit log; an alert rule is validated and saved; live
// refresh pauses while the browser tab is hidden and resumes when it is shown. The test
// server collects every 5 s (run.mjs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { launch, newPage, hydrated, expectAccessible, signIn, BASE_URL } from '../browser.mjs';

/** Runs SQL on the test server's SQLite database (Debian's sqlite3). */
function sql(statement) {
  const r = spawnSync('sqlite3', ['-cmd', '.timeout 10000', process.env.E2E_DATABASE, statement], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sqlite3 failed: ${r.stderr}`);
  return r.stdout;
}

const admin = { email: process.env.E2E_ADMIN_EMAIL, password: process.env.E2E_ADMIN_PASSWORD };
let browser;

before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const TABS = [
  ['Overview', 'layers'],
  ['Performance Budgets', 'budgets-panel'],
  ['Health Checks', 'health-panel'],
  ['API & Errors', 'api-panel'],
  ['Database', 'database-panel'],
  ['Jobs', 'jobs-panel'],
  ['Cache & Storage', 'cache-panel'],
  ['Integrations', 'integrations-panel'],
  ['Portals', 'portals-panel'],
  ['Alerts', 'open-alerts'],
  ['Audit / Changes', 'audit-panel'],
];

async function openStatus(page, path = '/admin/status') {
  await page.goto(path);
  if (new URL(page.url()).pathname === '/sign-in') {
    await signIn(page, admin.email, admin.password);
    await page.waitForURL(`${BASE_URL}${path}`, { waitUntil: 'commit' });
  }
  await hydrated(page);
}

/** Clicks "Refresh now" until `check()` holds (the collector runs every 5 s). */
async function refreshUntil(page, check, what) {
  for (let i = 0; i < 30; i++) {
    if (await check()) return;
    await page.waitForTimeout(1500);
    await page.getByTestId('refresh-status').click();
    await page.waitForTimeout(500);
  }
  assert.fail(`never: ${what}`);
}

test('every tab shows its figures with their time and passes axe', async () => {
  const page = await newPage(browser);
  await openStatus(page);
  const level = page.getByTestId('status-level');
  await level.waitFor();
  assert.match(await level.getAttribute('data-level'), /^(green|yellow|red)$/);
  assert.match(await level.innerText(), /(Green|Yellow|Red) — /);
  const dot = page.getByTestId('status-dot');
  assert.match(await dot.textContent(), /^System status: .+\s*\d+\s*, (no open alert|\d+ open alerts?)$/);
  assert.equal(await page.getByTestId('live-state').getAttribute('data-live'), 'on');
  for (const [name, panel] of TABS) {
    await page.getByRole('tab', { name, exact: true }).click();
    const section = page.getByTestId(panel);
    await section.waitFor();
    await section.getByTestId('panel-updated').getByText(/^Updated \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/).waitFor();
    assert.match(new URL(page.url()).search, /tab=/, `${name} is in the URL`);
    await expectAccessible(page, `System status, ${name}`);
  }
  // The figures: the database answers, the file store writes, this server's requests are counted.
  await page.getByRole('tab', { name: 'Health Checks' }).click();
  const database = page.getByTestId('health-table').locator('tr[data-check="database"]');
  assert.match(await database.innerText(), /Database\s+OK/);
  assert.match(await page.getByTestId('health-table').locator('tr[data-check="storage"]').innerText(), /OK/);
  await page.getByRole('tab', { name: 'API & Errors' }).click();
  await refreshUntil(page, async () =>
    (await page.getByTestId('api-panel').getByText('/fn/admin/status', { exact: true }).count()) > 0,
    'the status server function is counted');
  // Every page of the admin portal has the status dot.
  await page.goto('/admin/carriers');
  await hydrated(page);
  await page.getByTestId('status-dot').waitFor();
  assert.deepEqual(page.consoleErrors, []);
});

test('a budget breached is marked, turns the status yellow, alerts, and is audited', async () => {
  const page = await newPage(browser);
  await openStatus(page, '/admin/status?tab=budgets');
  const table = page.getByTestId('budgets-table');
  // The page's own server function is measured; give it a budget it cannot meet.
  await refreshUntil(page, async () => (await table.getByText('/fn/admin/status', { exact: true }).count()) > 0,
    'the status server function is measured');
  await page.getByRole('button', { name: 'Set budget of /fn/admin/status', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Performance budget' });
  await dialog.getByLabel('Budget (ms)').fill('0');
  await dialog.getByRole('button', { name: 'Save budget' }).click();
  await dialog.getByText(/Enter a budget from 0\.001 ms/).waitFor();
  await dialog.getByLabel('Budget (ms)').fill('0.001');
  await dialog.getByRole('button', { name: 'Save budget' }).click();
  await page.getByTestId('toasts').getByText('Budget saved').first().waitFor();
  await page.getByTestId('budget-rows').getByText('p95 ≤ 0.001 ms').waitFor();

  const row = table.locator('tr', { has: page.getByText('/fn/admin/status', { exact: true }) });
  await refreshUntil(page, async () => /Over budget/.test(await row.innerText()), 'the row is over budget');
  assert.match(await row.getAttribute('class'), /row--breach/);
  assert.match(await row.innerText(), /p95 ≤ 1 µs/);
  await refreshUntil(page, async () => (await page.getByTestId('status-level').getAttribute('data-level')) !== 'green',
    'the status is no longer green');
  assert.match(await page.getByTestId('status-reasons').innerText(), /over its budget: fn \/fn\/admin\/status|operations over their budgets/);
  await page.getByTestId('trend-chart').locator('svg[role="img"]').waitFor();
  await expectAccessible(page, 'budgets over budget');

  // Its alert is open; acknowledging it is recorded.
  await page.getByRole('tab', { name: 'Alerts' }).click();
  const open = page.getByTestId('open-alerts');
  await open.getByText('Performance budget breached').first().waitFor();
  await page.getByRole('button', { name: 'Acknowledge Performance budget breached' }).click();
  await page.getByTestId('toasts').getByText('Alert acknowledged').first().waitFor();
  await open.locator('tr', { hasText: 'Performance budget breached' }).getByText(admin.email).waitFor();

  await page.getByRole('tab', { name: 'Audit / Changes' }).click();
  await page.getByLabel('What').selectOption('status_budget');
  const audit = page.getByTestId('audit-table');
  await audit.getByText(admin.email).first().waitFor();
  assert.match(await audit.innerText(), /status_budget \d+[\s\S]*budget_us: — → 1/);
  await page.getByLabel('What').selectOption('status_alert');
  await audit.getByText(/status: open → acknowledged/).first().waitFor();
  await expectAccessible(page, 'audit log');

  // Removed again: DIDTron's default applies.
  await page.getByRole('tab', { name: 'Performance Budgets' }).click();
  await page.getByRole('button', { name: 'Remove budget of fn /fn/admin/status' }).click();
  await page.getByRole('dialog', { name: 'Confirm remove' }).getByRole('button', { name: 'Remove' }).click();
  await page.getByTestId('toasts').getByText('Budget removed').first().waitFor();
  await page.getByTestId('budget-overrides').getByText("None: DIDTron's defaults apply.").waitFor();
  // The refused budget's 422 is expected (Chrome logs it).
  assert.deepEqual(page.consoleErrors.filter((e) => !e.includes('status of 422')), []);
});

test('an alert rule is checked in the form, saved, listed and deleted', async () => {
  const page = await newPage(browser);
  await openStatus(page, '/admin/status?tab=alerts');
  await page.getByTestId('new-rule').click();
  const dialog = page.getByRole('dialog', { name: 'Alert rule' });
  await dialog.getByLabel('Threshold').fill('lots');
  await dialog.getByRole('button', { name: 'Save rule' }).click();
  await dialog.getByText('Give the rule a name of 1 to 120 characters.').waitFor();
  await dialog.getByText('Enter a number, e.g. 5 or 2.5.').waitFor();
  await dialog.getByLabel('Name').fill('CDR ingest silent');
  await dialog.getByLabel('Metric').selectOption('switch.last_cdr_age_s');
  await dialog.getByLabel('Threshold').fill('900');
  await dialog.getByLabel('For (seconds)').fill('60');
  await dialog.getByLabel('Recipients').fill('noc@carrier.example');
  await dialog.getByRole('button', { name: 'Save rule' }).click();
  await page.getByTestId('toasts').getByText('Alert rule saved').first().waitFor();
  const row = page.getByTestId('rules-table').locator('tr', { hasText: 'CDR ingest silent' });
  await row.waitFor();
  assert.match(await row.innerText(), /Time since the last CDR above 900 s for 60 s[\s\S]*Warning[\s\S]*noc@carrier\.example/);
  await expectAccessible(page, 'alert rules');
  await row.getByRole('button', { name: 'Delete rule CDR ingest silent' }).click();
  await page.getByRole('dialog', { name: 'Confirm delete' }).getByRole('button', { name: 'Delete' }).click();
  await page.getByTestId('toasts').getByText('Alert rule deleted').first().waitFor();
  await row.waitFor({ state: 'detached' });
  assert.deepEqual(page.consoleErrors, []);
});

test('live refresh pauses while the tab is hidden and resumes when it is shown', async () => {
  const page = await newPage(browser);
  await page.clock.install();
  let reads = 0;
  page.on('request', (r) => { if (new URL(r.url()).pathname === '/fn/admin/status') reads += 1; });
  await openStatus(page);
  await page.getByTestId('status-level').waitFor();
  const live = page.getByTestId('live-state');
  assert.equal(await live.getAttribute('data-live'), 'on');
  const first = reads;
  await page.clock.runFor(31_000);
  await page.waitForFunction(() => true);
  for (let i = 0; i < 20 && reads === first; i++) await page.waitForTimeout(100);
  assert.ok(reads > first, 'refreshed after 30 s');

  const setVisibility = (state) => page.evaluate((state) => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => state });
    document.dispatchEvent(new Event('visibilitychange'));
  }, state);
  await setVisibility('hidden');
  await page.clock.runFor(2_000);
  await page.waitForFunction(() => document.querySelector('[data-testid="live-state"]').dataset.live === 'paused');
  assert.equal(await live.innerText(), 'Paused while this tab is hidden');
  const hidden = reads;
  await page.clock.runFor(95_000);
  await page.waitForTimeout(500);
  assert.equal(reads, hidden, 'no refresh while hidden');

  await setVisibility('visible');
  await page.clock.runFor(1_500);
  await page.waitForFunction(() => document.querySelector('[data-testid="live-state"]').dataset.live === 'on');
  for (let i = 0; i < 20 && reads === hidden; i++) await page.waitForTimeout(100);
  assert.ok(reads > hidden, 'refreshed at once when shown');

  // Turned off: nothing more.
  await page.getByTestId('live-switch').locator('input').uncheck();
  await page.clock.runFor(2_000);
  await page.waitForFunction(() => document.querySelector('[data-testid="live-state"]').dataset.live === 'off');
  const off = reads;
  await page.clock.runFor(61_000);
  await page.waitForTimeout(300);
  assert.equal(reads, off, 'no refresh when live is off');
  assert.deepEqual(page.consoleErrors, []);
});

test('a collector that cannot run shows the yellow, then the red banner, and recovers', async () => {
  const page = await newPage(browser);
  await openStatus(page);
  await page.getByTestId('status-level').waitFor();
  // Another "instance" holds the collector's lease and never collects.
  sql("UPDATE leases SET holder = 'hung-instance', expires_at = '9999-12-31 00:00:00+00:00'");
  try {
    const banner = page.getByTestId('stale-banner');
    const staleness = async () => ((await banner.count()) ? banner.getAttribute('data-staleness') : 'fresh');
    await refreshUntil(page, async () => (await staleness()) === 'stale', 'the yellow banner');
    assert.match(await banner.getAttribute('class'), /alert--warn/);
    assert.match(await banner.innerText(), /over two collector periods of 5 s\): the collector is late/);
    await expectAccessible(page, 'status with the yellow banner');
    await refreshUntil(page, async () => (await staleness()) === 'stopped', 'the red banner');
    assert.match(await banner.getAttribute('class'), /alert--crit/);
    assert.match(await banner.innerText(), /the collector has stopped/);
    await page.reload();
    await hydrated(page);
    await page.getByTestId('status-dot').getByText('Collector stopped').waitFor();
    await expectAccessible(page, 'status with the red banner');
  } finally {
    sql('DELETE FROM leases');
  }
  await refreshUntil(page, async () => (await page.getByTestId('stale-banner').count()) === 0, 'fresh again');
  assert.deepEqual(page.consoleErrors, []);
});
