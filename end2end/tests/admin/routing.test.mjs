// Routing plans and the route simulation: a plan is created from the list and opens on
// its page; entries are saved all or nothing, a bad row named under its fields; the
// simulation of a call from an address no interconnect has shows the refusal with its
// SIP code and the decision that made it. Then a whole world built through the admin UI
// (a supplier deck and a customer plan uploaded as CSV, a supplier and a customer
// service, a routing plan sending 44 to the supplier, a supplier carrier with an egress
// interconnect and a postpaid customer carrier with credit and an ingress address): a
// call to 44 2071 is routed to the supplier at buy 0.0100, sell 0.0200, margin 0.0100
// with every decision passed (credit included), and a call to 44 7700 is refused 503
// because the margin guard leaves out the supplier, whose 447 rate is above the sell
// price. Every page passes axe.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { launch, newPage, hydrated, expectAccessible, signIn, BASE_URL } from '../browser.mjs';

const admin = { email: process.env.E2E_ADMIN_EMAIL, password: process.env.E2E_ADMIN_PASSWORD };
let browser;

before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('a routing plan is created, its entries are checked, and a call is simulated', async () => {
  const page = await newPage(browser);
  await page.goto('/admin/routing-plans');
  await signIn(page, admin.email, admin.password);
  await page.waitForURL(`${BASE_URL}/admin/routing-plans`, { waitUntil: 'commit' });
  await hydrated(page);
  await page.getByText(/No routing plan yet/).waitFor();
  await expectAccessible(page, 'routing plans (empty)');

  await page.getByRole('button', { name: 'New routing plan' }).click();
  const dialog = page.getByRole('dialog', { name: 'New routing plan' });
  await dialog.getByLabel('Name').fill('E2E least cost');
  await dialog.getByLabel('Least margin (%)').fill('2.555');
  await dialog.getByRole('button', { name: 'Save plan' }).click();
  await dialog.getByText(/at most 2 decimals/).waitFor();
  await dialog.getByLabel('Least margin (%)').fill('2.5');
  await dialog.getByRole('button', { name: 'Save plan' }).click();
  await page.waitForURL(/\/admin\/routing-plans\/\d+$/);
  await page.getByRole('heading', { name: 'E2E least cost' }).waitFor();
  await page.getByText('No service uses this plan yet').waitFor();
  assert.equal(await page.getByLabel('Least margin (%)').inputValue(), '2.5');

  // A row with a bad prefix and no supplier service: nothing is saved, both named.
  const entries = page.getByTestId('routing-entries');
  await entries.getByRole('button', { name: 'Add entry' }).click();
  await entries.getByLabel('Prefix (row 1)').fill('91x');
  await entries.getByRole('button', { name: 'Save entries' }).click();
  await entries.getByText(/Row 1: A prefix is 1 to 15 digits/).waitFor();
  await entries.getByText(/Row 1: Choose the supplier service/).waitFor();
  await expectAccessible(page, 'routing plan');

  await page.goto('/admin/routing-plans');
  await hydrated(page);
  const row = page.getByTestId('routing-plans-table').locator('tr', { hasText: 'E2E least cost' });
  await row.waitFor();
  assert.match(await row.innerText(), /Least cost \(LCR\)\s+3\s+2\.5 %\s+0\s+no service/);

  // A call from an address no interconnect has: refused 403, by the ingress decision.
  await page.goto('/admin/route-simulation');
  await hydrated(page);
  await expectAccessible(page, 'route simulation');
  const form = page.getByTestId('simulation-form');
  await form.getByRole('button', { name: 'Simulate' }).click();
  await form.getByText(/Choose the customer's interconnect, or enter the address/).waitFor();
  await form.getByLabel('Source address').fill('192.0.2.77');
  await form.getByLabel('B-number as dialled').fill('442071234567');
  await form.getByRole('button', { name: 'Simulate' }).click();
  const outcome = page.getByTestId('simulation-outcome');
  await outcome.waitFor();
  assert.match(await outcome.innerText(), /Refused with 403: unknown source: no ingress interconnect has the address 192\.0\.2\.77/);
  assert.match(await page.getByTestId('simulation-steps').innerText(), /ingress — refused/);
  await expectAccessible(page, 'route simulation result');
  // The refused entries answer 422 (a validation error the page shows); nothing else.
  assert.deepEqual(page.consoleErrors.filter((e) => !e.includes('status of 422')), []);
});

async function toast(page, text) {
  await page.getByTestId('toasts').getByText(text).first().waitFor();
}

async function openTab(page, key) {
  await page.getByTestId(`tab-${key}`).click();
  await page.waitForURL((u) => new URL(u).searchParams.get('tab') === key);
}

/** A rate plan in USD with `csv` published as its revision 1; `rows` new codes. */
async function ratePlan(page, dir, name, kind, csv, rows) {
  await page.goto('/admin/rate-plans');
  await hydrated(page);
  await page.getByTestId('create-rate-plan').click();
  const dialog = page.getByRole('dialog', { name: 'Create rate plan' });
  await dialog.getByLabel('Name').fill(name);
  await dialog.getByLabel('Kind').selectOption(kind);
  await dialog.getByLabel('Currency').fill('USD');
  await dialog.getByRole('button', { name: 'Save rate plan' }).click();
  await page.waitForURL(/\/admin\/rate-plans\/\d+\?tab=imports/);
  await page.getByRole('heading', { name }).waitFor();
  await hydrated(page);
  // No date column and no letterhead: the rates are in force from the upload on.
  const file = join(dir, `${kind}.csv`);
  writeFileSync(file, csv);
  await page.locator('#deck-file').setInputFiles(file);
  await page.getByRole('button', { name: 'Upload and preview' }).click();
  await page.waitForURL(/\/imports\/\d+$/);
  await hydrated(page);
  await page.getByTestId('import-preview').waitFor({ timeout: 30_000 });
  const tile = page.getByTestId('change-counts').locator('.stat', { hasText: 'New' }).first();
  assert.equal((await tile.locator('.stat__value').textContent()).trim(), String(rows), `${name}: new codes`);
  await page.getByTestId('publish').click();
  await page.getByTestId('import-report').getByText('Published as revision 1').waitFor({ timeout: 30_000 });
}

/** A service from the Services view's "Add service" dialog. */
async function addService(page, { name, direction, ratePlan, routingPlan }) {
  await page.goto('/admin/carriers?view=services');
  await hydrated(page);
  await page.getByTestId('add-service').click();
  const dialog = page.getByRole('dialog', { name: 'Add service' });
  await dialog.getByLabel('Name').fill(name);
  await dialog.getByLabel('Direction').selectOption(direction);
  await dialog.getByLabel('Status').selectOption('active');
  // Customer services list customer plans, supplier services supplier decks.
  await dialog.getByLabel('Rate plan').selectOption({ label: ratePlan });
  if (routingPlan) await dialog.getByLabel('Routing plan').selectOption({ label: routingPlan });
  await dialog.getByRole('button', { name: 'Save service' }).click();
  await toast(page, 'Service saved');
  await page.getByTestId('services-table').getByText(name, { exact: true }).waitFor();
}

/** A USD carrier from the list's "Create carrier" dialog; returns its page's URL. */
async function addCarrier(page, { name, code, type }) {
  await page.goto('/admin/carriers');
  await hydrated(page);
  await page.getByTestId('create-carrier').click();
  const dialog = page.getByRole('dialog', { name: 'Create carrier' });
  await dialog.getByLabel('Name').fill(name);
  await dialog.getByLabel('Account code').fill(code);
  await dialog.getByLabel('Type').selectOption(type);
  await dialog.getByLabel('Currency').fill('USD');
  await dialog.getByRole('button', { name: 'Create carrier' }).click();
  await page.waitForURL(/\/admin\/carriers\/\d+\?tab=details/);
  await page.getByRole('heading', { name }).waitFor();
  return page.url().split('?')[0];
}

/** An interconnect of the carrier at `carrierUrl` that buys or sells `service` and has `address`. */
async function addInterconnect(page, carrierUrl, { name, direction, service, address }) {
  await page.goto(`${carrierUrl}?tab=interconnects`);
  await hydrated(page);
  await page.getByTestId('add-interconnect').click();
  const dialog = page.getByRole('dialog', { name: 'Add interconnect' });
  await dialog.getByLabel('Name').fill(name);
  await dialog.getByLabel('Direction').selectOption(direction);
  await dialog.getByRole('button', { name: 'Add interconnect' }).click();
  await page.waitForURL(/\/interconnects\/\d+$/);
  await page.getByRole('heading', { name }).waitFor();
  await hydrated(page);
  const services = page.getByTestId('services-form');
  await services.getByRole('heading', { name: direction === 'ingress' ? 'Services it buys' : 'Services it sells' }).waitFor();
  await services.getByLabel(service, { exact: true }).check();
  await services.getByRole('button', { name: 'Save services' }).click();
  await toast(page, 'Services saved');
  await openTab(page, 'signalling');
  await page.getByLabel('Address', { exact: true }).fill(address);
  await page.getByRole('button', { name: 'Add address' }).click();
  await page.getByTestId('addresses-table').getByText(address).waitFor();
}

test('the simulation explains a routed call and one the margin guard refuses', async () => {
  const page = await newPage(browser);
  await page.goto('/admin/rate-plans');
  await signIn(page, admin.email, admin.password);
  await page.waitForURL(`${BASE_URL}/admin/rate-plans`, { waitUntil: 'commit' });
  await hydrated(page);

  // What we buy (UK 0.01, UK mobiles 0.05) and what we sell (all of UK at 0.02).
  const dir = mkdtempSync(join(tmpdir(), 'sim-decks-'));
  await ratePlan(page, dir, 'E2E Sim supplier deck', 'supplier',
    'Destination;Code;Rate\nUK;44;0.0100\nUK Mobile;447;0.0500\n', 2);
  await ratePlan(page, dir, 'E2E Sim customer plan', 'customer', 'Destination;Code;Rate\nUK;44;0.0200\n', 1);

  await addService(page, { name: 'Sim UK supply', direction: 'supplier', ratePlan: 'E2E Sim supplier deck' });

  // The routing plan: every number under 44 may go to the supplier service.
  await page.goto('/admin/routing-plans');
  await hydrated(page);
  await page.getByRole('button', { name: 'New routing plan' }).click();
  const planDialog = page.getByRole('dialog', { name: 'New routing plan' });
  await planDialog.getByLabel('Name').fill('E2E Sim UK routes');
  await planDialog.getByLabel('Least margin (%)').fill('10');
  await planDialog.getByRole('button', { name: 'Save plan' }).click();
  await page.waitForURL(/\/admin\/routing-plans\/\d+$/);
  const planUrl = page.url();
  await page.getByRole('heading', { name: 'E2E Sim UK routes' }).waitFor();
  const entries = page.getByTestId('routing-entries');
  await entries.getByRole('button', { name: 'Add entry' }).click();
  await entries.getByLabel('Prefix (row 1)').fill('44');
  await entries.getByLabel('Supplier service (row 1)').selectOption({ label: 'Sim UK supply' });
  await entries.getByRole('button', { name: 'Save entries' }).click();
  await toast(page, 'Entries saved');

  await addService(page, {
    name: 'Sim UK retail', direction: 'customer', ratePlan: 'E2E Sim customer plan', routingPlan: 'E2E Sim UK routes',
  });
  await page.goto(planUrl);
  await hydrated(page);
  await page.getByText('Routes the calls of Sim UK retail.').waitFor();
  assert.equal(await page.getByTestId('routing-entries').getByLabel('Prefix (row 1)').inputValue(), '44');

  // The supplier sells the supplier service on an egress interconnect with an address.
  const supplier = await addCarrier(page, { name: 'E2E Sim Supplier', code: 'SIMSUP', type: 'supplier' });
  await addInterconnect(page, supplier, {
    name: 'Sim UK out', direction: 'egress', service: 'Sim UK supply', address: '198.51.100.20',
  });

  // The customer: postpaid with 100 USD of credit, buying the customer service.
  const customer = await addCarrier(page, { name: 'E2E Sim Customer', code: 'SIMCUS', type: 'customer' });
  await openTab(page, 'accounting');
  await page.getByLabel('Billing mode').selectOption('postpaid');
  await page.getByLabel('Credit limit (USD)').fill('100');
  await page.getByRole('button', { name: 'Save accounting' }).click();
  await toast(page, 'Accounting details saved');
  await addInterconnect(page, customer, {
    name: 'Sim UK in', direction: 'ingress', service: 'Sim UK retail', address: '203.0.113.50',
  });

  // A call to a UK geographic number, from the customer's address.
  await page.goto('/admin/route-simulation');
  await hydrated(page);
  const form = page.getByTestId('simulation-form');
  await form.getByLabel('Source address').fill('203.0.113.50');
  await form.getByLabel('B-number as dialled').fill('442071234567');
  const outcome = page.getByTestId('simulation-outcome');
  // The server rebuilds its routing table from the database every 250 ms: the address
  // saved just before may not be in the table yet, so simulate again (up to ~5 s) until
  // the call is routed.
  for (let attempt = 1; ; attempt++) {
    await form.getByRole('button', { name: 'Simulate' }).click();
    try {
      await outcome.filter({ hasText: /^Routed/ }).waitFor({ timeout: 1000 });
      break;
    } catch (e) {
      if (attempt === 5) throw new Error(`not routed: ${await outcome.innerText().catch(() => 'no outcome')}`);
    }
  }
  assert.equal(await outcome.innerText(), 'Routed over 1 route(s); calls last at most 7200 s.');
  const routes = page.getByTestId('simulation-routes');
  assert.deepEqual(await routes.locator('thead th').allInnerTexts(),
    ['#', 'Supplier', 'Send to', 'Code', 'Buy / min', 'Sell / min', 'Margin / min', 'Longest call (s)']);
  assert.equal(await routes.locator('tbody tr').count(), 1);
  assert.deepEqual(await routes.locator('tbody tr').first().locator('td').allInnerTexts(), [
    '1', 'E2E Sim Supplier (Sim UK out)', '442071234567 → sip:198.51.100.20:5060', '44 UK',
    '0.0100 USD', '0.0200 USD', '0.0100 USD', '7200',
  ]);
  const steps = page.getByTestId('simulation-steps').getByRole('listitem');
  assert.deepEqual(await steps.allInnerTexts(), [
    'ingress — passed: Sim UK in of E2E Sim Customer',
    'account — passed: E2E Sim Customer active, not blocked',
    'validation — passed: the number rules accept the call',
    'translation — passed: B 442071234567 unchanged',
    'sell rate — passed: 44 (UK) at 0.0200/min, a minute costs 0.0200',
    'capacity — passed: not checked: a simulation holds no channel and counts no call',
    'credit — passed: 100.0000 available: calls up to 7200 s',
    'routes — passed: 1 route(s) by Least cost (LCR) for prefix 44',
  ]);
  assert.equal(await page.getByTestId('simulation-excluded').count(), 0, 'nobody left out');
  await expectAccessible(page, 'route simulation, routed call');

  // A UK mobile, chosen by the customer's interconnect: the supplier buys 447 at 0.05,
  // above the 0.02 the customer pays, so the margin guard leaves it out and nothing is left.
  await form.getByLabel('Source address').fill('');
  await form.getByLabel('Customer interconnect').selectOption({ label: 'E2E Sim Customer — Sim UK in' });
  await form.getByLabel('B-number as dialled').fill('447700900123');
  await form.getByRole('button', { name: 'Simulate' }).click();
  await outcome.filter({ hasText: /^Refused/ }).waitFor();
  const guard = 'margin guard: buys at 0.0500/min (a minute costs 0.0500), above the sell price 0.0200';
  assert.equal(await outcome.innerText(),
    `Refused with 503: no route left: every supplier the routing plan lists for prefix 44 was excluded (E2E Sim Supplier (Sim UK out): ${guard})`);
  assert.deepEqual(await page.getByTestId('simulation-excluded').getByRole('listitem').allInnerTexts(),
    [`E2E Sim Supplier (Sim UK out): ${guard}`]);
  const refused = await page.getByTestId('simulation-steps').getByRole('listitem').allInnerTexts();
  assert.equal(refused.at(-2), 'credit — passed: 100.0000 available: calls up to 7200 s');
  assert.match(refused.at(-1), /^routes — refused: no route left: every supplier the routing plan lists for prefix 44 was excluded/);
  assert.equal(await page.getByTestId('simulation-routes').count(), 0, 'no route offered');

  // The switch routes a real call: until its CDR arrives, it holds what its longest call
  // may cost (7200 s at 0.02/min: 2.40), and Carrier balances says so.
  await page.goto('/admin/api-keys');
  await hydrated(page);
  await page.getByTestId('create-api-key').click();
  const keyDialog = page.getByRole('dialog', { name: 'Create API key' });
  await keyDialog.getByLabel('Name').fill('sim-switch');
  await keyDialog.getByRole('button', { name: 'Create key' }).click();
  const key = (await keyDialog.getByTestId('new-api-key').locator('code').textContent()).trim();
  await keyDialog.getByRole('button', { name: 'Close' }).click();
  const callId = `e2e-held-${Date.now()}`;
  const routed = await fetch(`${BASE_URL}/api/v1/route`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      source_ip: '203.0.113.50', a_number: '442070000000', b_number: '442071234567',
      call_id: callId, explain: false,
    }),
  });
  const answer = await routed.json();
  assert.equal(answer.action, 'route', JSON.stringify(answer));
  assert.equal(answer.routes[0].max_duration_s, 7200);
  await page.goto('/admin/balances');
  await hydrated(page);
  const customerRow = page.getByTestId('balances-table').locator('tr', { hasText: 'E2E Sim Customer' });
  await customerRow.getByTestId('held-by-calls').getByText(/^2\.40+ held by 1 call in progress$/).waitFor();
  await expectAccessible(page, 'carrier balances with a call in progress');

  // Its CDR gives the credit back.
  const now = Date.now();
  const cdr = await fetch(`${BASE_URL}/api/v1/cdrs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      call_id: callId, source_ip: '203.0.113.50', a_number: '442070000000', b_number: '442071234567',
      setup_time: new Date(now - 5000).toISOString(), end_time: new Date(now - 1000).toISOString(),
      sip_code: 487,
    }),
  });
  assert.equal(cdr.status, 200, await cdr.text());
  await page.reload();
  await hydrated(page);
  await customerRow.waitFor();
  assert.equal(await customerRow.getByTestId('held-by-calls').count(), 0, 'the CDR gave the credit back');
  assert.deepEqual(page.consoleErrors, []);
});
