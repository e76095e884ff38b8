// The console against the real esealsd in headless Chromium: the administrator signs in with
// the one-time password, must change it, creates an audit administrator (its one-time password
// shown once) and sees it listed; the audit administrator signs in, changes its password, sees
// only the audit page, and verifies the chain. No script, CSP or network errors. Run by
// tests/e2e/daemon.sh, which sets the environment.
import { join } from 'node:path';
import { base, check, env, runBrowser, shots } from './harness.mjs';

const ADMIN_PASS = 'Admin-Console-2026!';
const AUDIT_PASS = 'Audit-Console-2026!';

async function signIn(page, name, pass) {
  await page.fill('#username', name);
  await page.fill('#password', pass);
  await page.click('#signin-submit');
}

async function changePassword(page, oldp, newp) {
  await page.locator('#pwchange').waitFor({ state: 'visible', timeout: 10000 });
  await page.fill('#pw-old', oldp);
  await page.fill('#pw-new', newp);
  await page.fill('#pw-new2', newp);
  await page.click('#pw-submit');
}

await runBrowser({ width: 1200, height: 800 }, async (context, page) => {
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));

  const res = await page.goto(base + '/', { waitUntil: 'load' });
  check(res && res.status() === 200, 'the console loads from esealsd');

  // The administrator: one-time password, forced change.
  await signIn(page, 'admin', env('ESEAL_ADMIN_OTP'));
  await page.locator('#pwchange').waitFor({ state: 'visible', timeout: 10000 });
  check(await page.locator('#app').isHidden(), 'first sign-in: the password change comes first');
  await changePassword(page, env('ESEAL_ADMIN_OTP'), ADMIN_PASS);
  await page.locator('#users-view').waitFor({ state: 'visible', timeout: 10000 });
  check(true, 'after the change: the users page');
  check(await page.locator('#nav-users').isVisible(), 'the system administrator sees "users"');
  check(await page.locator('#nav-audit').count() === 0, 'and no audit page');
  await page.locator('#users-table tbody tr[data-name="admin"]').waitFor({ timeout: 10000 });
  check(true, 'admin is listed');

  // Create an audit administrator.
  await page.locator('#new-role-audit_admin').waitFor({ timeout: 10000 });
  await page.fill('#user-name', 'auditor1');
  await page.fill('#user-display', '审计员一');
  await page.check('#new-role-audit_admin');
  await page.click('#user-create');
  await page.locator('#otp-box').waitFor({ state: 'visible', timeout: 10000 });
  const otp = (await page.textContent('#otp-value')).trim();
  check(otp.length >= 12 && (await page.textContent('#otp-user')) === 'auditor1',
    'the one-time password is shown once');
  await page.locator('#users-table tbody tr[data-name="auditor1"]').waitFor({ timeout: 10000 });
  const row = await page.textContent('#users-table tbody tr[data-name="auditor1"]');
  check(row.includes('audit_admin') && row.includes('待改密码'), `the new user is listed (${row})`);
  await page.click('#otp-close');
  check(await page.locator('#otp-box').isHidden() && (await page.textContent('#otp-value')) === '',
    'the password is gone from the page once noted');

  // Separation of duties: the server's reason is shown.
  await page.fill('#user-name', 'mixer');
  await page.check('#new-role-audit_admin');
  await page.check('#new-role-operator');
  await page.click('#user-create');
  await page.locator('#user-error').waitFor({ state: 'visible', timeout: 10000 });
  check((await page.textContent('#user-error')).length > 0, 'mixed duties refused with the reason');
  await page.screenshot({ path: join(shots, 'daemon-users.png'), fullPage: true });

  await page.click('#nav-signout');
  await page.locator('#signin').waitFor({ state: 'visible', timeout: 10000 });
  check(true, 'signed out');

  // The audit administrator.
  await signIn(page, 'auditor1', otp);
  await changePassword(page, otp, AUDIT_PASS);
  await page.locator('#audit-view').waitFor({ state: 'visible', timeout: 10000 });
  check(await page.locator('#nav-users').count() === 0, 'the audit administrator sees no users page');
  await page.locator('#audit-table tbody tr').first().waitFor({ timeout: 10000 });
  const rows = await page.locator('#audit-table tbody tr').count();
  check(rows > 3, `the audit log lists records (${rows})`);
  await page.click('#audit-verify');
  await page.locator('#audit-result').waitFor({ state: 'visible', timeout: 20000 });
  const verdict = await page.textContent('#audit-result');
  check(verdict.includes('完整'), `verify: the chain is intact (${verdict})`);
  await page.fill('#audit-action', 'user.create');
  await page.click('#audit-search');
  await page.waitForFunction(() => {
    const r = document.querySelectorAll('#audit-table tbody tr');
    return r.length > 0 && Array.from(r).every((t) => t.children[4].textContent === 'user.create');
  }, null, { timeout: 10000 });
  check(true, 'filter by action');
  await page.screenshot({ path: join(shots, 'daemon-audit.png'), fullPage: true });

  // The mixed-duties refusal is a 400 the console logged as a failed resource: expected.
  const unexpected = problems.filter((p) => !p.includes('400'));
  check(unexpected.length === 0, `no script, CSP or network errors${unexpected.length ? ': ' + unexpected.join('; ') : ''}`);
});
