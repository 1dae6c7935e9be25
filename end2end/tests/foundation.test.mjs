// Foundation: sign-in through the real UI, the admin and customer shells, the role
// guard, sign-out, and axe scans of every page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, hydrated, expectAccessible, signIn, BASE_URL } from './browser.mjs';

const admin = { email: process.env.E2E_ADMIN_EMAIL, password: process.env.E2E_ADMIN_PASSWORD };
const customer = { email: process.env.E2E_CUSTOMER_EMAIL, password: process.env.E2E_CUSTOMER_PASSWORD };
let browser;

before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('the sign-in page is accessible and explains a wrong password', async () => {
  const page = await newPage(browser);
  await page.goto('/sign-in');
  await hydrated(page);
  await expectAccessible(page, 'sign-in');
  await signIn(page, admin.email, 'not the right password');
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.innerText(), /e-mail address or password is not right/);
  assert.equal(new URL(page.url()).pathname, '/sign-in');
  // The refused sign-in is a 401 (Chrome logs it); nothing else may fail.
  assert.deepEqual(page.consoleErrors.filter((e) => !e.includes('status of 401')), []);
});

test('an admin signs in, sees the dashboard and signs out', async () => {
  const page = await newPage(browser);
  await page.goto('/admin/users');
  assert.equal(new URL(page.url()).pathname, '/sign-in', 'signed-out visitor is sent to sign-in');
  await signIn(page, admin.email, admin.password);
  await page.waitForURL(`${BASE_URL}/admin/users`);
  await page.getByRole('heading', { name: 'Users' }).waitFor();
  assert.match(await page.getByTestId('users-table').innerText(), /noc@northwind\.test/);

  await page.getByTestId('nav-dashboard').click();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  const counts = page.getByTestId('dashboard-counts');
  await counts.waitFor();
  const text = await counts.innerText();
  // Other specs may add carriers; the seeded one is active.
  assert.match(text, /Carriers\s+(\d+)\s+\1 active/);
  assert.match(text, /Customer users\s+1/);
  assert.equal(await page.getByTestId('signed-in-user').innerText(), admin.email);
  await hydrated(page);
  await expectAccessible(page, 'admin dashboard');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(`${BASE_URL}/sign-in`);
  const again = await page.goto('/admin');
  assert.equal(new URL(page.url()).pathname, '/sign-in', 'signed out for real');
  assert.equal(again.status(), 200);
  assert.deepEqual(page.consoleErrors, []);
});

test('a customer gets the portal and is refused the admin portal', async () => {
  const page = await newPage(browser);
  await page.goto('/sign-in');
  await signIn(page, customer.email, customer.password);
  await page.waitForURL(`${BASE_URL}/portal`);
  await page.getByRole('heading', { name: 'Northwind Voice' }).waitFor();
  assert.match(await page.getByTestId('portal-summary').innerText(), /NWV/);
  await hydrated(page);
  await expectAccessible(page, 'portal dashboard');

  const refused = await page.goto('/admin');
  assert.equal(refused.status(), 403);
  await page.getByRole('heading', { name: 'No access' }).waitFor();
  await hydrated(page);
  await expectAccessible(page, '403 page');
});

test('the customer portal works at phone width', async () => {
  const context = await browser.newContext({ baseURL: BASE_URL, viewport: { width: 375, height: 740 } });
  const page = await context.newPage();
  await page.goto('/sign-in');
  await signIn(page, customer.email, customer.password);
  await page.waitForURL(`${BASE_URL}/portal`);
  await page.getByRole('heading', { name: 'Northwind Voice' }).waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page scrolls sideways by ${overflow}px at 375px`);
  await context.close();
});

test('an unknown page answers 404 with a page', async () => {
  const page = await newPage(browser);
  const res = await page.goto('/no-such-page');
  assert.equal(res.status(), 404);
  await page.getByRole('heading', { name: 'Page not found' }).waitFor();
  await hydrated(page);
  await expectAccessible(page, '404 page');
});
