// Routing plans and the route simulation: a plan is created from the list and opens on
// its page; entries are saved all or nothing, a bad row named under its fields; the
// simulation of a call from an address no interconnect has shows the refusal with its
// SIP code and the decision that made it. Every page passes axe.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
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
