// CDRs, balances and API keys: a key is created in the portal and shown once; a switch
// posts a CDR with it; the CDR (from an address no interconnect has) is listed as
// rejected with its reason, opens with the record as received, and can be processed
// again; the 24 hour spend, totals and balances pages load and a payment is posted; a revoked key is refused. Every page passes axe.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, hydrated, expectAccessible, signIn, BASE_URL } from '../browser.mjs';

const admin = { email: process.env.E2E_ADMIN_EMAIL, password: process.env.E2E_ADMIN_PASSWORD };
let browser;

before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function toast(page, text) {
  await page.getByTestId('toasts').getByText(text).first().waitFor();
}

function postCdr(key, record) {
  return fetch(`${BASE_URL}/api/v1/cdrs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(record),
  });
}

test('a switch key is created, CDRs arrive with it and are explained, and revoking stops it', async () => {
  const page = await newPage(browser);
  await page.goto('/admin/api-keys');
  await signIn(page, admin.email, admin.password);
  await page.waitForURL(`${BASE_URL}/admin/api-keys`, { waitUntil: 'commit' });
  await hydrated(page);
  await page.getByText('No API key yet').or(page.getByTestId('api-keys-table')).first().waitFor();
  await expectAccessible(page, 'API keys page');

  await page.getByTestId('create-api-key').click();
  const dialog = page.getByRole('dialog', { name: 'Create API key' });
  await dialog.getByLabel('Name').fill('kamailio-e2e');
  await dialog.getByRole('button', { name: 'Create key' }).click();
  const shown = dialog.getByTestId('new-api-key');
  await shown.waitFor();
  const key = (await shown.locator('code').textContent()).trim();
  assert.match(key, /^dtk_[0-9a-f]{48}$/);
  await expectAccessible(page, 'new API key dialog');
  await dialog.getByRole('button', { name: 'Close' }).click();
  const keys = page.getByTestId('api-keys-table');
  const keyRow = keys.locator('tr', { hasText: 'kamailio-e2e' });
  await keyRow.getByText('never').waitFor();
  assert.ok(!(await page.content()).includes(key), 'the key is not shown again');

  // The switch posts a CDR from an address no interconnect has: stored, rejected.
  const now = Date.now() / 1000;
  const record = {
    callid: `e2e-${Date.now()}@127.0.0.1`, caller: '44207000000', callee: '1555000',
    src_ip: '198.18.0.77', route: 'sip:127.0.0.1:5070', sip_code: '200', sip_reason: 'OK',
    setup_time: (now - 10).toFixed(3), start_time: (now - 9).toFixed(3), end_time: now.toFixed(3),
    duration: '9.000',
  };
  let res = await postCdr(key, record);
  assert.equal(res.status, 200);
  assert.deepEqual(
    (({ stored, rejected }) => ({ stored, rejected }))(await res.json()),
    { stored: 1, rejected: 1 },
  );
  res = await postCdr(key, record);
  assert.equal((await res.json()).duplicates, 1, 'a replay changes nothing');

  await page.goto('/admin/cdrs');
  await hydrated(page);
  const table = page.getByTestId('cdrs-table');
  const row = table.locator('tr', { hasText: '1555000' }).first();
  await row.getByText('no ingress interconnect has the source address 198.18.0.77').waitFor();
  await expectAccessible(page, 'CDRs list');
  const problems = page.getByTestId('cdr-problems');
  await problems.locator('summary').click();
  await problems.getByRole('button', { name: 'Show the rejected CDRs: unknown_source' }).click();
  await row.waitFor();
  await expectAccessible(page, 'CDRs needing attention');
  await page.getByLabel('Status').selectOption('unrated');
  await page.getByText('No CDR matches').or(table.locator('tr', { hasText: 'unrated' })).first().waitFor();
  assert.equal(await table.locator('tr', { hasText: '198.18.0.77' }).count(), 0);
  await page.getByLabel('Status').selectOption('rejected');
  await row.waitFor();

  await row.getByRole('link').first().click();
  await page.waitForURL(/\/admin\/cdrs\/\d+$/);
  await hydrated(page);
  await page.getByTestId('cdr-reason').getByText('198.18.0.77').waitFor();
  await page.getByTestId('cdr-facts').getByText('not routed').or(page.getByTestId('cdr-facts').getByText('sip:127.0.0.1:5070')).first().waitFor();
  assert.ok((await page.locator('pre.raw').textContent()).includes('"src_ip": "198.18.0.77"'));
  await expectAccessible(page, 'CDR page');
  await page.getByTestId('reprocess-one').click();
  await toast(page, 'Processed again: still not rated');

  // A switch's queue asks to keep what cannot be read: the bad line is kept (rejected,
  // `unreadable`, with its text), the record sent with it is stored.
  const broken = `{"callid":"e2e-broken-${Date.now()}", truncated`;
  res = await fetch(`${BASE_URL}/api/v1/cdrs?unreadable=store`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-ndjson' },
    body: `${JSON.stringify({ ...record, callid: `e2e-kept-${Date.now()}@127.0.0.1` })}\n${broken}\n`,
  });
  assert.equal(res.status, 200);
  const kept = await res.json();
  assert.deepEqual([kept.stored, kept.rejected, kept.unreadable], [2, 2, 1]);
  assert.match(kept.unreadable_records[0], /^record 2 \(line 2\): not JSON/);
  await page.goto('/admin/cdrs');
  await hydrated(page);
  await page.getByTestId('cdr-problems').locator('summary').click();
  await page.getByTestId('cdr-problems')
    .getByRole('button', { name: 'Show the rejected CDRs: unreadable' }).click();
  const unreadable = table.locator('tr', { hasText: 'the record cannot be read: record 2 (line 2): not JSON' }).first();
  await unreadable.waitFor();
  await unreadable.getByRole('link').first().click();
  await page.waitForURL(/\/admin\/cdrs\/\d+$/);
  await hydrated(page);
  await page.getByRole('heading', { name: 'Unreadable record' }).waitFor();
  await page.getByText('DIDTron could not read it, so it is kept as it came').waitFor();
  await page.getByTestId('cdr-reason').getByText(/^the record cannot be read: record 2 \(line 2\): not JSON/).waitFor();
  assert.equal(await page.locator('pre.raw').textContent(), broken);
  await expectAccessible(page, 'unreadable CDR page');

  await page.goto('/admin/spend');
  await hydrated(page);
  await page.getByTestId('spend-as-of').waitFor();
  await expectAccessible(page, '24 hour spend');

  await page.goto('/admin/totals?period=7d');
  await hydrated(page);
  await page.getByTestId('totals-period').waitFor();
  assert.equal(await page.getByRole('link', { name: '7 days' }).getAttribute('aria-current'), 'page');
  await expectAccessible(page, 'balance and totals');

  await page.goto('/admin/balances');
  await hydrated(page);
  // A carrier of its own, through the create dialog's server function.
  const created = await page.evaluate(async () => {
    const body = new URLSearchParams({
      'form[name]': 'Ledger Test Carrier', 'form[account_code]': 'LEDGER1',
      'form[carrier_type]': 'customer', 'form[currency]': 'EUR',
    });
    return (await fetch('/fn/admin/carriers/create', { method: 'POST', body })).ok;
  });
  assert.ok(created);
  await page.reload();
  await hydrated(page);
  const balances = page.getByTestId('balances-table');
  const ledgerRow = balances.locator('tr', { hasText: 'Ledger Test Carrier' });
  await ledgerRow.getByText('none yet').waitFor();
  // The ledger check ran when the server started: every balance equals its ledger.
  await page.getByTestId('ledger-check').getByText(/^Ledger check at .* UTC: (all \d+ running balances equal their ledger|no running balance yet)\.$/).waitFor();
  await expectAccessible(page, 'carrier balances');
  await page.getByRole('button', { name: 'Post payment to Ledger Test Carrier' }).click();
  const post = page.getByRole('dialog', { name: 'Post payment or adjustment' });
  await post.getByText("To Ledger Test Carrier's account, in EUR.").waitFor();
  await post.getByLabel('Amount').fill('25.5');
  await post.getByLabel('Note').fill('wire 42');
  await expectAccessible(page, 'post payment dialog');
  await post.getByRole('button', { name: 'Post' }).click();
  await toast(page, 'Posted to the ledger');
  await ledgerRow.locator('td', { hasText: '25.5000' }).first().waitFor();

  // Revoked: the switch is refused.
  await page.goto('/admin/api-keys');
  await hydrated(page);
  await page.getByRole('button', { name: 'Revoke API key kamailio-e2e' }).click();
  const confirm = page.getByRole('dialog', { name: 'Confirm revoke' });
  await confirm.getByText('Revoke API key kamailio-e2e? This cannot be undone.').waitFor();
  await confirm.getByRole('button', { name: 'Revoke', exact: true }).click();
  await toast(page, 'API key revoked');
  await page.getByTestId('api-keys-table').locator('tr', { hasText: 'kamailio-e2e' }).getByText('revoked').waitFor();
  assert.equal((await postCdr(key, record)).status, 401);
  assert.deepEqual(page.consoleErrors, []);
});

test('a CDR file is uploaded and imported; a file with a bad line stores nothing and names it', async () => {
  const page = await newPage(browser);
  await page.goto('/admin/cdr-files');
  await signIn(page, admin.email, admin.password);
  await page.waitForURL(`${BASE_URL}/admin/cdr-files`, { waitUntil: 'commit' });
  await hydrated(page);
  await page.getByText('No CDR file imported yet').or(page.getByTestId('cdr-imports')).first().waitFor();
  await expectAccessible(page, 'CDR files page');

  // Master.csv without a customer is refused at once, naming the field.
  const stamp = Date.now();
  const day = new Date(Date.now() - 86400e3).toISOString().slice(0, 10);
  const master = `"ACME","1001","4420${stamp % 1e6}","default","","SIP/1001-1","","Dial","","${day} 10:00:00","${day} 10:00:02","${day} 10:00:32",32,30,"ANSWERED","DOCUMENTATION","ast-e2e-${stamp}",""\n`;
  await page.getByLabel('CDR file').setInputFiles({ name: 'Master.csv', mimeType: 'text/csv', buffer: Buffer.from(master) });
  await page.getByRole('button', { name: 'Upload and import' }).click();
  await page.getByRole('alert').filter({ hasText: 'Customer interconnect: Master.csv has no source addresses' }).waitFor();

  // JSON lines from an address no interconnect has: stored, rejected, listed.
  await hydrated(page);
  const now = Date.now() / 1000;
  const line = JSON.stringify({
    callid: `file-e2e-${stamp}`, caller: '44207000000', callee: '1555001', src_ip: '198.18.0.78',
    route: '', sip_code: '486', sip_reason: 'Busy', setup_time: (now - 20).toFixed(3),
    start_time: (now - 19).toFixed(3), end_time: (now - 19).toFixed(3), duration: '0',
  });
  await page.getByLabel('CDR file').setInputFiles({ name: `acc-${stamp}.ndjson`, mimeType: 'application/json', buffer: Buffer.from(`${line}\n`) });
  await page.getByRole('button', { name: 'Upload and import' }).click();
  await page.waitForURL(/uploaded=/);
  await hydrated(page);
  const row = page.getByTestId('cdr-import-row').filter({ hasText: `acc-${stamp}.ndjson` });
  await row.getByText('Done').waitFor({ timeout: 30_000 });
  assert.deepEqual(
    await row.locator('td.num').allTextContents(),
    ['1 / 1', '1', '0', '0', '1', '0'],
    'progress, stored, rated, unrated, rejected, already stored',
  );

  // A CSV with one bad line: failed, nothing stored, the line named.
  const csv = `call_id,source_ip,b_number,start,billsec\ncsv-e2e-${stamp},198.18.0.78,4420,${day} 12:00:00,sixty\n`;
  await page.getByLabel('CDR file').setInputFiles({ name: `day-${stamp}.csv`, mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await page.getByRole('button', { name: 'Upload and import' }).click();
  await page.waitForURL(/uploaded=/);
  await hydrated(page);
  const failed = page.getByTestId('cdr-import-row').filter({ hasText: `day-${stamp}.csv` });
  await failed.getByText('Failed').waitFor({ timeout: 30_000 });
  await page.getByText('Line 2: billsec `sixty` is not seconds').waitFor();
  await expectAccessible(page, 'CDR files with a failed import');

  await page.goto(`/admin/cdrs`);
  await hydrated(page);
  await page.getByTestId('cdrs-table').locator('tr', { hasText: '1555001' }).first().waitFor();
  await page.close();
});

test('re-rating shows the difference first and names a bad period', async () => {
  const page = await newPage(browser);
  await page.goto('/admin/rerate');
  await signIn(page, admin.email, admin.password);
  await page.waitForURL(`${BASE_URL}/admin/rerate`, { waitUntil: 'commit' });
  await hydrated(page);
  await expectAccessible(page, 'Re-rating page');
  await page.getByLabel('First day (UTC)').fill('2026-02-01');
  await page.getByLabel('Last day (UTC)').fill('2026-01-01');
  await page.getByRole('button', { name: 'Show the difference' }).click();
  await page.getByText('The last day is before the first.').waitFor();

  const today = new Date().toISOString().slice(0, 10);
  await page.getByLabel('First day (UTC)').fill(today);
  await page.getByLabel('Last day (UTC)').fill(today);
  await page.getByRole('button', { name: 'Show the difference' }).click();
  const result = page.getByTestId('rerate-result');
  await result.getByText(/rated calls in the period; \d+ would be priced differently/).waitFor();
  await expectAccessible(page, 'Re-rating difference');
  await page.close();
});

test('a pull source is added, and a pull that cannot reach it says why', async () => {
  const page = await newPage(browser);
  await page.goto('/admin/cdr-files');
  await signIn(page, admin.email, admin.password);
  await page.waitForURL(`${BASE_URL}/admin/cdr-files`, { waitUntil: 'commit' });
  await hydrated(page);
  await page.getByTestId('add-pull-source').click();
  const dialog = page.getByRole('dialog', { name: 'Add pull source' });
  const name = `softswitch-${Date.now()}`;
  await dialog.getByLabel('Name').fill(name);
  await dialog.getByLabel('Page endpoint').fill('ftp://nowhere');
  await dialog.getByRole('button', { name: 'Add source' }).click();
  await dialog.getByText('Enter the page endpoint as http').waitFor();
  await expectAccessible(page, 'Add pull source dialog');
  // Port 9 (discard) is closed here: the pull cannot connect.
  await dialog.getByLabel('Page endpoint').fill('http://127.0.0.1:9/cdrs');
  await dialog.getByRole('button', { name: 'Add source' }).click();
  await toast(page, 'Pull source added');
  const row = page.getByTestId('pull-sources').locator('tr', { hasText: name });
  await row.waitFor();
  // (The server's own scheduler may pull it first; either way it fails, and says why.)
  await row.getByRole('button', { name: `Pull ${name} now` }).click();
  await toast(page, 'Not pulled:');
  await row.getByText('Failing').waitFor();
  await row.getByText('cannot reach http://127.0.0.1:9/cdrs').waitFor();
  await expectAccessible(page, 'CDR files with a failing pull source');
  await page.close();
});

test('the CDR list is exported to CSV in the background and downloaded', async () => {
  const page = await newPage(browser);
  await page.goto('/admin/cdrs');
  await signIn(page, admin.email, admin.password);
  await page.waitForURL(`${BASE_URL}/admin/cdrs`, { waitUntil: 'commit' });
  await hydrated(page);
  await page.getByLabel('Status').selectOption('rejected');
  await page.getByTestId('export-cdrs').click();
  await toast(page, 'Export queued');
  const exports = page.getByTestId('cdr-exports');
  const link = exports.getByRole('link', { name: /Download CSV/ }).first();
  await link.waitFor({ timeout: 30_000 });
  await exports.getByText(/status rejected — \d+ rows/).first().waitFor();
  await expectAccessible(page, 'CDRs with an export');
  const res = await page.request.get(await link.getAttribute('href'));
  assert.equal(res.status(), 200);
  assert.match(res.headers()['content-disposition'], /attachment; filename="cdrs-export-\d+\.csv"/);
  const text = await res.text();
  assert.ok(text.startsWith('id,call_id,leg,status,reason,setup_at'), text.slice(0, 80));
  assert.ok(text.split('\n').slice(1).filter(Boolean).every((line) => line.includes(',rejected,')));
  await page.close();
});
