// The mail outbox: a credit alert set in the portal fires when a posting leaves the
// carrier's available credit below it; its message is in the outbox, queued (this server
// has no SMTP_URL, and the page says so), and opens whole. Both pages pass axe.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, hydrated, expectAccessible, signIn, BASE_URL } from '../browser.mjs';

const admin = { email: process.env.E2E_ADMIN_EMAIL, password: process.env.E2E_ADMIN_PASSWORD };
let browser;

before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('a credit alert writes its message to the outbox, which says how mail leaves', async () => {
  const page = await newPage(browser);
  await page.goto('/admin/mail');
  await signIn(page, admin.email, admin.password);
  await page.waitForURL(`${BASE_URL}/admin/mail`, { waitUntil: 'commit' });
  await hydrated(page);
  await page.getByTestId('mail-delivery').getByText(/SMTP is not configured \(SMTP_URL\)/).waitFor();
  await expectAccessible(page, 'mail outbox');

  // A carrier with a credit alert at 100 EUR, from the carrier's Credit Alerts tab.
  const id = await page.evaluate(async () => {
    const body = new URLSearchParams({
      'form[name]': 'Mailtest Telecom', 'form[account_code]': 'MAILT1',
      'form[carrier_type]': 'customer', 'form[currency]': 'EUR',
    });
    const res = await fetch('/fn/admin/carriers/create', { method: 'POST', body, headers: { accept: 'application/json' } });
    return res.ok ? await res.json() : null;
  });
  assert.ok(Number.isInteger(id), `carrier created: ${id}`);
  await page.goto(`/admin/carriers/${id}?tab=alerts`);
  await hydrated(page);
  await page.getByTestId('add-credit-alert').click();
  const alertDialog = page.getByRole('dialog', { name: 'Credit alert' });
  await alertDialog.getByLabel(/falls below/).fill('100');
  await alertDialog.getByLabel('Recipients').fill('billing@mailtest.example');
  await alertDialog.getByRole('button', { name: 'Save credit alert' }).click();
  await page.getByTestId('alerts-table').getByText('billing@mailtest.example').waitFor();

  // A payment of 25.50 leaves 25.50 available: below 100, the alert fires.
  await page.goto('/admin/balances');
  await hydrated(page);
  await page.getByRole('button', { name: 'Post payment to Mailtest Telecom' }).click();
  const post = page.getByRole('dialog', { name: 'Post payment or adjustment' });
  await post.getByLabel('Amount').fill('25.5');
  await post.getByLabel('Note').fill('first payment');
  await post.getByRole('button', { name: 'Post' }).click();
  await page.getByTestId('toasts').getByText('Posted to the ledger').first().waitFor();

  await page.goto('/admin/mail');
  await hydrated(page);
  const table = page.getByTestId('mail-table');
  const row = table.locator('tr', { hasText: 'Credit alert: Mailtest Telecom below 100' });
  await row.waitFor();
  assert.match(await row.innerText(), /billing@mailtest\.example[\s\S]*queued/);
  await page.getByLabel('Status').selectOption('sent');
  await page.getByText('No message.').waitFor();
  await page.getByLabel('Status').selectOption('queued');
  await row.waitFor();

  await row.getByRole('link').click();
  await page.waitForURL(/\/admin\/mail\/\d+$/);
  await page.getByRole('heading', { name: 'Credit alert: Mailtest Telecom below 100' }).waitFor();
  assert.equal(await page.getByTestId('mail-status').innerText(), 'queued');
  const body = await page.getByTestId('mail-body').innerText();
  assert.match(body, /The available credit of Mailtest Telecom \(MAILT1\) is 25\.5/);
  assert.equal(await page.getByTestId('send-again').count(), 0, 'only a failed message is sent again');
  await expectAccessible(page, 'mail message');
  assert.deepEqual(page.consoleErrors, []);
});
