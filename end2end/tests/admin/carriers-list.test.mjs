// The carriers list at size: search, sort, filters, keyset "Load more", and
// virtualisation once more than 200 rows are loaded; services and reference data pages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, hydrated, expectAccessible, signIn, BASE_URL } from '../browser.mjs';

const admin = { email: process.env.E2E_ADMIN_EMAIL, password: process.env.E2E_ADMIN_PASSWORD };
let browser;

before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('a long carriers list loads page by page, virtualised, and searches', async () => {
  const page = await newPage(browser);
  await page.goto('/admin/carriers');
  await signIn(page, admin.email, admin.password);
  await page.waitForURL(`${BASE_URL}/admin/carriers`, { waitUntil: 'commit' });
  await hydrated(page);

  // 260 carriers through the same server function the Create dialog uses.
  const created = await page.evaluate(async () => {
    let ok = 0;
    for (let i = 0; i < 260; i += 1) {
      const n = String(i).padStart(3, '0');
      const body = new URLSearchParams({
        'form[name]': `Bulk Carrier ${n}`, 'form[account_code]': `BULK${n}`,
        'form[carrier_type]': i % 2 ? 'supplier' : 'customer', 'form[currency]': 'GBP',
      });
      const res = await fetch('/fn/admin/carriers/create', { method: 'POST', body });
      if (res.ok) ok += 1;
    }
    return ok;
  });
  assert.equal(created, 260);

  await page.reload();
  await hydrated(page);
  const table = page.getByTestId('carriers-table');
  await table.getByText('Bulk Carrier 000').waitFor();
  for (let i = 0; i < 5; i += 1) {
    const before = Number(await table.getAttribute('aria-rowcount'));
    await page.getByTestId('load-more').click();
    await page.waitForFunction(
      (n) => Number(document.querySelector('[data-testid=carriers-table]').getAttribute('aria-rowcount')) > n,
      before,
    );
  }
  const loaded = Number(await table.getAttribute('aria-rowcount')) - 1;
  assert.ok(loaded > 200, `more than 200 rows loaded (${loaded})`);
  const inDom = await table.locator('tbody tr:not([aria-hidden])').count();
  assert.ok(inDom < 80, `only the rows in view are in the page (${inDom} of ${loaded})`);
  await page.locator('.table-wrap--virtual').evaluate((el) => { el.scrollTop = el.scrollHeight; });
  await table.getByText('Bulk Carrier 259').waitFor();
  await expectAccessible(page, 'carriers list, virtualised');

  // Search (prefix on SQLite) and filters.
  await page.getByLabel('Search name or account code').fill('bulk carrier 25');
  await table.getByText('Bulk Carrier 259').waitFor();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=carriers-table] tbody tr').length === 10);
  await page.getByLabel('Type').selectOption('supplier');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=carriers-table] tbody tr').length === 5);
  // Sorted by name ascending at first; one click makes it descending.
  await page.getByRole('button', { name: /^Name/ }).click();
  await page.waitForFunction(() => document.querySelector('[data-testid=carriers-table] th[aria-sort]')?.getAttribute('aria-sort') === 'descending');
  await page.waitForFunction(() => document.querySelector('[data-testid=carriers-table] tbody tr td')?.innerText === 'Bulk Carrier 259');
});

test('services and reference data are managed from their pages', async () => {
  const page = await newPage(browser);
  await page.goto('/admin/reference?tab=pop');
  await signIn(page, admin.email, admin.password);
  await page.waitForURL(`${BASE_URL}/admin/reference?tab=pop`, { waitUntil: 'commit' });
  await hydrated(page);
  await page.getByLabel('Name').fill('London LD8');
  await page.getByRole('button', { name: 'Add to POPs' }).click();
  await page.getByTestId('reference-table').getByText('London LD8').waitFor();
  await expectAccessible(page, 'reference data, POPs');
  await page.getByRole('button', { name: 'Edit London LD8' }).click();
  await page.getByLabel('Name').fill('London LD9');
  await page.getByRole('button', { name: 'Save changes to London LD8' }).click();
  await page.getByTestId('reference-table').getByText('London LD9').waitFor();
  assert.equal(await page.getByTestId('reference-table').getByText('London LD8').count(), 0, 'renamed, not added');
  await page.getByTestId('tab-codec').click();
  await page.getByTestId('reference-table').getByText('PCMA').waitFor();
  await expectAccessible(page, 'reference data, codecs');

  await page.goto('/admin/carriers?view=services');
  await hydrated(page);
  await page.getByTestId('add-service').click();
  const dialog = page.getByRole('dialog', { name: 'Add service' });
  await dialog.getByLabel('Name').fill('Premium CLI');
  await dialog.getByRole('button', { name: 'Save service' }).click();
  await page.getByTestId('services-table').getByText('Premium CLI').waitFor();
  await expectAccessible(page, 'services view');
  assert.deepEqual(page.consoleErrors, []);
});
