// Rate plans module: create a supplier deck, upload Airtel's real rate notice, read the
// preview (letterhead, counts), publish it, search its rates, rate a number, see the
// revision and download its export; a file with bad lines cannot be published until its
// bad lines are skipped; every page and tab passes axe.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { launch, newPage, hydrated, expectAccessible, signIn, BASE_URL } from '../browser.mjs';

const admin = { email: process.env.E2E_ADMIN_EMAIL, password: process.env.E2E_ADMIN_PASSWORD };
const airtel = join(process.env.TESTDATA, 'rate-decks/airtel-wholesale-gold-plus-2023-05-09.xlsx');
let browser;

before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function toast(page, text) {
  await page.getByTestId('toasts').getByText(text).first().waitFor();
}

async function openTab(page, key) {
  await page.getByTestId(`tab-${key}`).click();
  await page.waitForURL((u) => new URL(u).searchParams.get('tab') === key);
}

async function stat(page, label) {
  const tile = page.getByTestId('change-counts').locator('.stat', { hasText: label }).first();
  return (await tile.locator('.stat__value').textContent()).trim();
}

test('a carrier rate notice is uploaded, previewed, published, searched and rated', async () => {
  const page = await newPage(browser);
  await page.goto('/admin/rate-plans');
  await signIn(page, admin.email, admin.password);
  await page.waitForURL(`${BASE_URL}/admin/rate-plans`, { waitUntil: 'commit' });
  await hydrated(page);
  await page.getByRole('table', { name: 'Rate plans' }).or(page.getByText('No rate plan yet')).first().waitFor();
  await expectAccessible(page, 'rate plans list');

  await page.getByTestId('create-rate-plan').click();
  const dialog = page.getByRole('dialog', { name: 'Create rate plan' });
  await dialog.getByLabel('Name').fill('Airtel Wholesale Gold+');
  await dialog.getByLabel('Kind').selectOption('supplier');
  await dialog.getByLabel('Currency').fill('USD');
  await expectAccessible(page, 'create rate plan dialog');
  await dialog.getByRole('button', { name: 'Save rate plan' }).click();
  await page.waitForURL(/\/admin\/rate-plans\/\d+\?tab=imports/);
  const planUrl = page.url().split('?')[0];
  await page.getByRole('heading', { name: 'Airtel Wholesale Gold+' }).waitFor();
  await hydrated(page);
  await expectAccessible(page, 'Imports tab');

  // Upload the workbook as Airtel sent it: a plain form post, then the import page.
  await page.locator('#deck-file').setInputFiles(airtel);
  await page.getByRole('button', { name: 'Upload and preview' }).click();
  await page.waitForURL(/\/imports\/\d+$/);
  await hydrated(page);
  await page.getByTestId('import-preview').waitFor({ timeout: 60_000 });
  assert.equal(await stat(page, 'New'), '18254');
  assert.equal(await stat(page, 'Lines read'), '18254');
  const facts = await page.getByTestId('import-preview').locator('dl.facts').textContent();
  for (const want of ['Pricing', 'line 15', 'USD', '2023-05-16', '2023-05-10', 'Wholesale Gold+']) {
    assert.ok(facts.includes(want), `preview shows ${want}: ${facts}`);
  }
  await page.getByTestId('preview-rows').getByText('Abkhazia-A Mobile-Mobile').waitFor();
  await expectAccessible(page, 'import preview');

  await page.getByTestId('publish').click();
  await page.getByTestId('import-report').getByText('Published as revision 1').waitFor({ timeout: 60_000 });
  await expectAccessible(page, 'import report');

  // Rates: search by code.
  await page.goto(`${planUrl}?tab=rates`);
  await hydrated(page);
  await page.getByLabel('Code or destination').fill('9370');
  const rates = page.getByTestId('rates-table');
  await rates.getByText('Afghanistan-AWCC-Mobile').waitFor();
  assert.equal(await rates.locator('tbody tr').count(), 1);
  await page.getByLabel('Code or destination').fill('Cameroon-MTN');
  await rates.getByText('237681').first().waitFor();
  await expectAccessible(page, 'Rates tab');

  // Rate a number at a date after the increase.
  await openTab(page, 'rate-number');
  await page.getByLabel('Number', { exact: true }).fill('+237 681 234567');
  await page.getByLabel('Date and time (UTC)').fill('2023-06-01T00:00');
  await page.getByRole('button', { name: 'Rate number' }).click();
  const rating = page.getByTestId('rating');
  await rating.getByText('237681').waitFor();
  assert.ok((await rating.textContent()).includes('0.2310'));
  await expectAccessible(page, 'Rate a number tab');

  // Revisions, and the export of revision 1.
  await openTab(page, 'revisions');
  const revisions = page.getByTestId('revisions-table');
  await revisions.locator('tbody tr').first().waitFor();
  assert.ok((await revisions.textContent()).includes('18254'));
  await expectAccessible(page, 'Revisions tab');
  const csv = await page.request.get(`${planUrl}/revisions/1/export.csv`);
  assert.equal(csv.status(), 200);
  assert.equal((await csv.text()).trim().split('\n').length, 18255);
  const xlsx = await page.request.get(`${planUrl}/revisions/1/export.xlsx`);
  assert.equal(xlsx.status(), 200);
  assert.equal((await xlsx.body()).subarray(0, 2).toString(), 'PK');

  await openTab(page, 'settings');
  await page.getByLabel('Name').waitFor();
  await expectAccessible(page, 'Settings tab');
  assert.deepEqual(page.consoleErrors, []);
});

test('a file with bad lines publishes only when they are skipped, and says which', async () => {
  const page = await newPage(browser);
  await page.goto('/admin/rate-plans');
  await signIn(page, admin.email, admin.password);
  await page.waitForURL(`${BASE_URL}/admin/rate-plans`, { waitUntil: 'commit' });
  await hydrated(page);
  await page.getByTestId('create-rate-plan').click();
  const dialog = page.getByRole('dialog', { name: 'Create rate plan' });
  await dialog.getByLabel('Name').fill('Retail A-Z');
  await dialog.getByLabel('Kind').selectOption('customer');
  await dialog.getByRole('button', { name: 'Save rate plan' }).click();
  await page.waitForURL(/\/admin\/rate-plans\/\d+\?tab=imports/);
  await hydrated(page);

  const dir = mkdtempSync(join(tmpdir(), 'deck-'));
  const file = join(dir, 'retail.csv');
  writeFileSync(file, 'Destination;Code;Rate\nUK;44;0,01\nUK Mobile;447700, 447701;0.05\nBad;44a;0.01\n');
  await page.locator('#deck-file').setInputFiles(file);
  await page.getByRole('button', { name: 'Upload and preview' }).click();
  await page.waitForURL(/\/imports\/\d+$/);
  await hydrated(page);
  const errors = page.getByTestId('line-errors');
  await errors.waitFor({ timeout: 30_000 });
  const text = await errors.textContent();
  assert.ok(text.includes('rate: `0,01` is not a decimal number'), text);
  assert.ok(text.includes('code: `44a` is not digits'), text);
  const publish = page.getByTestId('publish');
  assert.equal(await publish.isDisabled(), true, 'bad lines block publishing');
  await expectAccessible(page, 'import preview with errors');
  await page.getByLabel(/Skip the 2 bad lines/).check();
  await publish.click();
  const report = page.getByTestId('import-report');
  await report.getByText('Published as revision 1').waitFor({ timeout: 30_000 });
  assert.ok((await report.textContent()).includes('Skipped lines: 2'));

  // Derive the customer plan from Airtel's deck with a 10 % markup.
  const planUrl = page.url().replace(/\/imports\/\d+$/, '');
  await page.goto(`${planUrl}?tab=derive`);
  await hydrated(page);
  await page.getByLabel(/Airtel Wholesale Gold\+ \(USD\)/).check();
  await page.getByLabel('Markup (%)').fill('10');
  await expectAccessible(page, 'Derive tab');
  await page.getByRole('button', { name: 'Preview derivation' }).click();
  const result = page.getByTestId('derive-result');
  await result.getByText('What deriving would change').waitFor();
  assert.ok((await result.textContent()).includes('18254'));
  await page.getByTestId('publish-derivation').click();
  await result.getByText('Published as revision 2').waitFor({ timeout: 30_000 });
  await page.goto(`${planUrl}?tab=rate-number`);
  await hydrated(page);
  await page.getByLabel('Number', { exact: true }).fill('9370123456');
  await page.getByRole('button', { name: 'Rate number' }).click();
  // Airtel's 0.1635 + 10 % = 0.17985, rounded up to 4 decimals.
  await page.getByTestId('rating').getByText('0.1799').waitFor();
  assert.deepEqual(page.consoleErrors, []);
});
