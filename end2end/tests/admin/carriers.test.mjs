// Carriers module: create a carrier, fill every tab, add an ingress interconnect with an
// address and two codecs (one relay-only), translation rules with "try it", a contact
// and a credit alert; reload and check every value persisted; axe-scan the list and
// every tab.
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

async function openTab(page, key, check) {
  await page.getByTestId(`tab-${key}`).click();
  await page.waitForURL((u) => new URL(u).searchParams.get('tab') === key);
  if (check) await check();
}

test('a carrier is created, every tab filled and saved, and everything persists', async () => {
  const page = await newPage(browser);
  await page.goto('/admin/carriers');
  await signIn(page, admin.email, admin.password);
  await page.waitForURL(`${BASE_URL}/admin/carriers`, { waitUntil: 'commit' });
  await hydrated(page);
  await page.getByLabel('Search name or account code').fill('northw');
  await page.getByTestId('carriers-table').getByText('Northwind Voice').waitFor();
  await expectAccessible(page, 'carriers list');
  for (const view of ['Interconnects', 'Services']) {
    await page.getByRole('link', { name: view, exact: true }).click();
    await page.getByRole('table', { name: view }).waitFor();
    await expectAccessible(page, `carriers list, ${view} view`);
  }
  await page.getByRole('link', { name: 'Carriers', exact: true }).first().click();

  // Create.
  await page.getByTestId('create-carrier').click();
  const dialog = page.getByRole('dialog', { name: 'Create carrier' });
  await dialog.getByLabel('Name').fill('Zeta Networks');
  await dialog.getByLabel('Account code').fill('zeta-01');
  await dialog.getByLabel('Type').selectOption('both');
  await dialog.getByLabel('Currency').fill('usd');
  await dialog.getByRole('button', { name: 'Create carrier' }).click();
  await page.waitForURL(/\/admin\/carriers\/\d+\?tab=details/);
  const carrierUrl = page.url().split('?')[0];
  await page.getByRole('heading', { name: 'Zeta Networks' }).waitFor();

  // Carrier Details.
  await page.getByLabel('Website').fill('https://zeta.example');
  await page.getByLabel('Timezone for reports').selectOption('Europe/London');
  await page.getByLabel('PCMA').check();
  await page.getByLabel('NOC e-mail').fill('noc@zeta.example');
  await page.getByLabel(/Max concurrent calls, all ingress/).fill('30');
  await expectAccessible(page, 'Carrier Details tab');
  await page.getByRole('button', { name: 'Save details' }).click();
  await toast(page, 'Carrier details saved');
  // The traffic limit is stored: it is there after a reload.
  await page.reload();
  await hydrated(page);
  assert.equal(await page.getByLabel(/Max concurrent calls, all ingress/).inputValue(), '30');

  // Accounting: a bad value is named, then a good one saves.
  await openTab(page, 'accounting');
  await page.getByLabel('Billing mode').selectOption('postpaid');
  await page.getByLabel('Credit limit (USD)').fill('-10');
  await page.getByRole('button', { name: 'Save accounting' }).click();
  await page.getByText(/cannot be negative/).waitFor();
  await page.getByLabel('Credit limit (USD)').fill('2500');
  await page.getByLabel('Billing cycle').selectOption('weekly');
  await page.getByLabel('Payment terms (days)').fill('3');
  await page.getByLabel('Invoice e-mail').fill('billing@zeta.example');
  await expectAccessible(page, 'Accounting Details tab');
  await page.getByRole('button', { name: 'Save accounting' }).click();
  await toast(page, 'Accounting details saved');
  assert.equal(await page.getByTestId('billing-term').innerText(), 'weekly 7/3');

  // Unsaved changes: leaving the tab asks first; "stay" keeps the tab and the edit.
  await page.getByLabel('Tax id').fill('GB123456789');
  page.once('dialog', (d) => d.dismiss());
  await page.getByTestId('tab-contacts').click();
  assert.equal(new URL(page.url()).searchParams.get('tab'), 'accounting');
  assert.equal(await page.getByLabel('Tax id').inputValue(), 'GB123456789');
  page.once('dialog', (d) => d.accept());

  // Contact.
  await openTab(page, 'contacts');
  await page.getByTestId('add-contact').click();
  const contact = page.getByRole('dialog', { name: 'Contact' });
  await contact.getByLabel('Role').selectOption('noc');
  await contact.getByLabel('Name').fill('Jane Roe');
  await contact.getByLabel('E-mail').fill('jane@zeta.example');
  await contact.getByRole('button', { name: 'Save contact' }).click();
  await page.getByTestId('contacts-table').getByText('Jane Roe').waitFor();
  await expectAccessible(page, 'Contact Details tab');

  // Credit alert.
  await openTab(page, 'alerts');
  await page.getByTestId('add-credit-alert').click();
  const alertDialog = page.getByRole('dialog', { name: 'Credit alert' });
  await alertDialog.getByLabel(/falls below/).fill('100');
  await alertDialog.getByLabel('Recipients').fill('billing@zeta.example');
  await alertDialog.getByRole('button', { name: 'Save credit alert' }).click();
  await page.getByTestId('alerts-table').getByText('billing@zeta.example').waitFor();
  await page.getByTestId('alerts-table').getByText('never').waitFor();
  await expectAccessible(page, 'Credit Alerts tab');

  // Ingress interconnect.
  await openTab(page, 'interconnects');
  await expectAccessible(page, 'Interconnects tab');
  await page.getByTestId('add-interconnect').click();
  const ic = page.getByRole('dialog', { name: 'Add interconnect' });
  await ic.getByLabel('Name').fill('Zeta in');
  await ic.getByLabel('Direction').selectOption('ingress');
  await ic.getByRole('button', { name: 'Add interconnect' }).click();
  await page.waitForURL(/\/interconnects\/\d+$/);
  const icUrl = page.url();
  await page.getByRole('heading', { name: 'Zeta in' }).waitFor();
  const tabs = await page.getByRole('tab').allInnerTexts();
  assert.deepEqual(tabs, ['Services', 'Validation', 'Translation', 'Media', 'Signalling'], 'ingress: five tabs');
  await expectAccessible(page, 'interconnect Services tab');

  await openTab(page, 'signalling');
  await page.getByLabel('Address', { exact: true }).fill('192.0.2.10');
  await page.getByRole('button', { name: 'Add address' }).click();
  await page.getByTestId('addresses-table').getByText('192.0.2.10').waitFor();
  await page.getByLabel(/Max calls per second/).fill('20');
  await page.getByRole('button', { name: 'Save signalling' }).click();
  await toast(page, 'Signalling saved');
  await expectAccessible(page, 'interconnect Signalling tab');

  await openTab(page, 'media');
  for (const codec of ['PCMA', 'G729']) {
    await page.getByLabel('Add codec').selectOption(codec);
    await page.getByTestId('add-codec').click();
  }
  // Order: G729 down below PCMA and back up again leaves PCMA first.
  await page.getByRole('button', { name: 'Move PCMA down' }).click();
  assert.match(await page.getByTestId('codec-list').getByRole('listitem').nth(0).innerText(), /G729/);
  await page.getByRole('button', { name: 'Move PCMA up' }).click();
  await page.getByTestId('codec-list').getByRole('listitem').nth(1).getByLabel(/Relay only/).check();
  await page.getByRole('button', { name: 'Save media' }).click();
  await toast(page, 'Media settings saved');
  await expectAccessible(page, 'interconnect Media tab');

  await openTab(page, 'translation');
  await page.getByTestId('add-rule').click();
  await page.getByTestId('rule-0').getByLabel('Digits to strip').fill('2');
  await page.getByTestId('add-rule').click();
  await page.getByTestId('rule-1').getByLabel('Action').selectOption('prepend');
  await page.getByTestId('rule-1').getByLabel('Digits to prepend').fill('44');
  await page.getByRole('button', { name: 'Move rule 1 down' }).click();
  assert.equal(await page.getByTestId('rule-0').getByLabel('Action').inputValue(), 'prepend');
  await page.getByRole('button', { name: 'Move rule 2 up' }).click();
  await page.getByLabel('B-number in').fill('0020712345');
  await page.getByTestId('try-b-out').getByText('4420712345').waitFor();
  await page.getByRole('button', { name: 'Save translation' }).click();
  await toast(page, 'Translation rules saved');
  await expectAccessible(page, 'interconnect Translation tab');

  await openTab(page, 'validation');
  await expectAccessible(page, 'interconnect Validation tab');

  // Reload: everything persisted.
  await page.goto(`${icUrl}?tab=media`);
  await hydrated(page);
  const codecs = page.getByTestId('codec-list').getByRole('listitem');
  assert.equal(await codecs.count(), 2);
  assert.match(await codecs.nth(0).innerText(), /PCMA/);
  assert.match(await codecs.nth(1).innerText(), /G729/);
  assert.equal(await codecs.nth(1).getByLabel(/Relay only/).isChecked(), true);
  assert.equal(await codecs.nth(0).getByLabel(/Relay only/).isChecked(), false);
  await page.goto(`${icUrl}?tab=translation`);
  await hydrated(page);
  assert.equal(await page.getByTestId('rule-1').getByLabel('Digits to prepend').inputValue(), '44');
  await page.goto(`${icUrl}?tab=signalling`);
  await hydrated(page);
  await page.getByTestId('addresses-table').getByText('192.0.2.10').waitFor();
  assert.equal(await page.getByLabel(/Max calls per second/).inputValue(), '20');

  await page.goto(`${carrierUrl}?tab=details`);
  await hydrated(page);
  assert.equal(await page.getByLabel('Website').inputValue(), 'https://zeta.example');
  assert.equal(await page.getByLabel('Account code').inputValue(), 'ZETA-01');
  assert.equal(await page.getByLabel('Timezone for reports').inputValue(), 'Europe/London');
  assert.equal(await page.getByLabel('PCMA').isChecked(), true);
  await page.goto(`${carrierUrl}?tab=accounting`);
  await hydrated(page);
  assert.equal(await page.getByLabel('Credit limit (USD)').inputValue(), '2500.00');
  assert.equal(await page.getByLabel('Billing mode').inputValue(), 'postpaid');
  await page.goto(`${carrierUrl}?tab=contacts`);
  await hydrated(page);
  await page.getByTestId('contacts-table').getByText('jane@zeta.example').waitFor();
  await page.goto(`${carrierUrl}?tab=alerts`);
  await hydrated(page);
  await page.getByTestId('alerts-table').getByText('billing@zeta.example').waitFor();
  await page.goto(`${carrierUrl}?tab=interconnects`);
  await hydrated(page);
  await page.getByTestId('carrier-interconnects').getByText('Zeta in').waitFor();
  await page.goto(`${carrierUrl}?tab=history`);
  await hydrated(page);
  // The table's rows load after its header: wait for them before reading it.
  await page.getByTestId('history-table').getByText('timezone').first().waitFor();
  assert.match(await page.getByTestId('history-table').innerText(), /timezone/);
  await expectAccessible(page, 'History tab');

  // An egress interconnect has a sixth tab, Monitoring.
  await page.goto(`${carrierUrl}?tab=interconnects`);
  await hydrated(page);
  await page.getByTestId('add-interconnect').click();
  const out = page.getByRole('dialog', { name: 'Add interconnect' });
  await out.getByLabel('Name').fill('Zeta out');
  await out.getByLabel('Direction').selectOption('egress');
  await out.getByRole('button', { name: 'Add interconnect' }).click();
  await page.getByRole('heading', { name: 'Zeta out' }).waitFor();
  assert.deepEqual(await page.getByRole('tab').allInnerTexts(),
    ['Services', 'Validation', 'Translation', 'Media', 'Signalling', 'Monitoring'], 'egress: six tabs');
  await openTab(page, 'monitoring');
  await page.getByLabel(/ASR falls below/).fill('35');
  await page.getByRole('button', { name: 'Save monitoring' }).click();
  await page.getByText(/recipient/i).first().waitFor();
  await page.getByLabel('Alert recipients').fill('noc@zeta.example');
  await page.getByRole('button', { name: 'Save monitoring' }).click();
  await toast(page, 'Monitoring saved');
  await expectAccessible(page, 'interconnect Monitoring tab');
  assert.deepEqual(page.consoleErrors.filter((e) => !e.includes('status of 422')), []);
});
