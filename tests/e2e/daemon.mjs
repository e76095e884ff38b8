// The console against the real esealsd in headless Chromium: the administrator signs in with
// the one-time password, must change it, creates an audit administrator (its one-time password
// shown once) and sees it listed; creates an operator, changes its roles to reviewer, is refused
// (with the server's reason shown, nothing changed) roles of two duties, and has no way to change
// its own roles (no control; the API refuses it too); the audit administrator signs in, changes
// its password, sees only the audit page, verifies the chain and finds the role change and the
// refusal in the log. No script, CSP or network errors. Run by tests/e2e/daemon.sh, which sets
// the environment.
import { join } from 'node:path';
import { base, check, env, runBrowser, shots } from './harness.mjs';

const ADMIN_PASS = 'Admin-Console-2026!';
const AUDIT_PASS = 'Audit-Console-2026!';

async function signIn(page, name, pass) {
  await page.fill('#username', name);
  await page.fill('#password', pass);
  await page.click('#signin-submit');
}

// A call from the page itself (its session cookie): {status, body}.
async function call(page, method, path, body) {
  return page.evaluate(
    async ([m, u, b]) => {
      const opts = {
        method: m,
        headers: { Accept: 'application/json' },
        credentials: 'same-origin',
      };
      if (b !== null) {
        opts.headers['Content-Type'] = 'application/json';
        opts.body = JSON.stringify(b);
      }
      const r = await fetch(u, opts);
      let data = null;
      try {
        data = await r.json();
      } catch (e) {
        data = null;
      }
      return { status: r.status, body: data };
    },
    [method, base + '/api/v1' + path, body === undefined ? null : body],
  );
}

const rolesOf = async (page, name) => {
  const r = await call(page, 'GET', `/users/${name}`);
  return r.status === 200 ? JSON.stringify(r.body.user.roles) : `HTTP ${r.status}`;
};

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
  check((await page.locator('#nav-audit').count()) === 0, 'and no audit page');
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
  check(
    otp.length >= 12 && (await page.textContent('#otp-user')) === 'auditor1',
    'the one-time password is shown once',
  );
  await page.locator('#users-table tbody tr[data-name="auditor1"]').waitFor({ timeout: 10000 });
  const row = await page.textContent('#users-table tbody tr[data-name="auditor1"]');
  check(row.includes('audit_admin') && row.includes('待改密码'), `the new user is listed (${row})`);
  await page.click('#otp-close');
  check(
    (await page.locator('#otp-box').isHidden()) && (await page.textContent('#otp-value')) === '',
    'the password is gone from the page once noted',
  );

  // Separation of duties: the server's reason is shown.
  await page.fill('#user-name', 'mixer');
  await page.check('#new-role-audit_admin');
  await page.check('#new-role-operator');
  await page.click('#user-create');
  await page.locator('#user-error').waitFor({ state: 'visible', timeout: 10000 });
  check((await page.textContent('#user-error')).length > 0, 'mixed duties refused with the reason');
  await page.screenshot({ path: join(shots, 'daemon-users.png'), fullPage: true });
  await page.fill('#user-name', '');
  for (const r of ['audit_admin', 'operator']) await page.uncheck(`#new-role-${r}`);

  // Change a user's roles: an operator becomes a reviewer.
  await page.fill('#user-name', 'clerk1');
  await page.fill('#user-display', '经办一');
  await page.check('#new-role-operator');
  await page.click('#user-create');
  await page.locator('#otp-box').waitFor({ state: 'visible', timeout: 10000 });
  await page.click('#otp-close');
  const clerk = page.locator('#users-table tbody tr[data-name="clerk1"]');
  await clerk.waitFor({ timeout: 10000 });
  check((await rolesOf(page, 'clerk1')) === '["operator"]', 'clerk1 is created as an operator');
  await clerk.locator('button.act-roles').click();
  await page.locator('#roles-form').waitFor({ state: 'visible', timeout: 10000 });
  check(
    (await page.textContent('#roles-user')) === 'clerk1' &&
      (await page.isChecked('#edit-role-operator')) &&
      !(await page.isChecked('#edit-role-reviewer')),
    'the role editor opens for clerk1 with its current roles ticked',
  );
  await page.uncheck('#edit-role-operator');
  await page.check('#edit-role-reviewer');
  const [put] = await Promise.all([
    page.waitForResponse(
      (r) => r.url().endsWith('/api/v1/users/clerk1/roles') && r.request().method() === 'PUT',
      { timeout: 10000 },
    ),
    page.click('#roles-save'),
  ]);
  check(
    put.status() === 200 &&
      JSON.stringify(put.request().postDataJSON()) === JSON.stringify({ roles: ['reviewer'] }),
    `the editor PUTs {"roles":["reviewer"]} (${put.status()})`,
  );
  await page.locator('#roles-form').waitFor({ state: 'hidden', timeout: 10000 });
  await page.waitForFunction(
    () => {
      const t = document.querySelector('#users-table tbody tr[data-name="clerk1"]');
      return t && t.children[2].textContent.includes('reviewer');
    },
    null,
    { timeout: 10000 },
  );
  const changed = await clerk.locator('td').nth(2).textContent();
  check(
    changed.includes('reviewer') && !changed.includes('operator'),
    `the list shows the new roles (${changed})`,
  );
  check((await rolesOf(page, 'clerk1')) === '["reviewer"]', 'the API shows the new roles');

  // Roles of two duties: the server's reason in the editor, and nothing changes.
  await clerk.locator('button.act-roles').click();
  await page.locator('#roles-form').waitFor({ state: 'visible', timeout: 10000 });
  check(
    (await page.isChecked('#edit-role-reviewer')) &&
      (await page.locator('#roles-error').isHidden()),
    'the editor reopens with reviewer ticked and no error',
  );
  await page.uncheck('#edit-role-reviewer');
  await page.check('#edit-role-operator');
  await page.check('#edit-role-audit_admin');
  const [bad] = await Promise.all([
    page.waitForResponse(
      (r) => r.url().endsWith('/api/v1/users/clerk1/roles') && r.request().method() === 'PUT',
      { timeout: 10000 },
    ),
    page.click('#roles-save'),
  ]);
  const badBody = await bad.json();
  check(
    bad.status() === 400 &&
      typeof badBody.message === 'string' &&
      badBody.message.includes('audit duties cannot be combined'),
    `operator + audit_admin refused with 400 and the reason (${bad.status()} ${badBody.message})`,
  );
  await page.waitForFunction(
    (m) => document.getElementById('roles-error').textContent === m,
    badBody.message,
    { timeout: 10000 },
  );
  check(
    (await page.locator('#roles-error').isVisible()) &&
      (await page.locator('#roles-form').isVisible()),
    "the editor stays open and shows the server's reason",
  );
  await page.screenshot({ path: join(shots, 'daemon-roles.png'), fullPage: true });
  check(
    (await rolesOf(page, 'clerk1')) === '["reviewer"]',
    'the refused change changed nothing (API)',
  );
  const kept = await clerk.locator('td').nth(2).textContent();
  check(
    kept.includes('reviewer') && !kept.includes('operator') && !kept.includes('audit_admin'),
    `nor the list (${kept})`,
  );
  await page.click('#roles-cancel');
  check(await page.locator('#roles-form').isHidden(), 'cancel closes the editor');

  // One's own roles: no control for them, and the API refuses (403, audited) anyway.
  const self = page.locator('#users-table tbody tr[data-name="admin"]');
  check(
    (await self.locator('button.act-roles').count()) === 0 &&
      (await self.locator('button').count()) === 0,
    "the administrator's own row offers no role change (nor any other action)",
  );
  const own = await call(page, 'PUT', '/users/admin/roles', { roles: ['system_admin'] });
  check(
    own.status === 403 && own.body && own.body.error === 'forbidden',
    `changing one's own roles through the API: 403 forbidden (${own.status} ${
      own.body && own.body.message
    })`,
  );
  const meNow = await call(page, 'GET', '/sessions/current');
  check(
    meNow.status === 200 && JSON.stringify(meNow.body.user.roles) === '["system_admin"]',
    'the administrator is still system_admin',
  );

  await page.click('#nav-signout');
  await page.locator('#signin').waitFor({ state: 'visible', timeout: 10000 });
  check(true, 'signed out');

  // The audit administrator.
  await signIn(page, 'auditor1', otp);
  await changePassword(page, otp, AUDIT_PASS);
  await page.locator('#audit-view').waitFor({ state: 'visible', timeout: 10000 });
  check(
    (await page.locator('#nav-users').count()) === 0,
    'the audit administrator sees no users page',
  );
  await page.locator('#audit-table tbody tr').first().waitFor({ timeout: 10000 });
  const rows = await page.locator('#audit-table tbody tr').count();
  check(rows > 3, `the audit log lists records (${rows})`);
  await page.click('#audit-verify');
  await page.locator('#audit-result').waitFor({ state: 'visible', timeout: 20000 });
  const verdict = await page.textContent('#audit-result');
  check(verdict.includes('完整'), `verify: the chain is intact (${verdict})`);
  await page.fill('#audit-action', 'user.create');
  await page.click('#audit-search');
  await page.waitForFunction(
    () => {
      const r = document.querySelectorAll('#audit-table tbody tr');
      return (
        r.length > 0 && Array.from(r).every((t) => t.children[4].textContent === 'user.create')
      );
    },
    null,
    { timeout: 10000 },
  );
  check(true, 'filter by action');

  // The role change is in the trail (once: the refused two-duty change wrote nothing), and so is
  // the administrator's attempt at its own roles.
  const auditRows = () =>
    page.$$eval('#audit-table tbody tr', (rs) =>
      rs.map((t) => Array.from(t.children).map((c) => c.textContent)),
    );
  await page.fill('#audit-action', 'user.roles');
  await page.click('#audit-search');
  await page.waitForFunction(
    () => {
      const r = document.querySelectorAll('#audit-table tbody tr');
      return r.length > 0 && Array.from(r).every((t) => t.children[4].textContent === 'user.roles');
    },
    null,
    { timeout: 10000 },
  );
  const roleRecs = await auditRows();
  check(
    roleRecs.length === 1 &&
      roleRecs[0][2] === 'admin' &&
      roleRecs[0][5] === 'user:clerk1' &&
      roleRecs[0][6] === 'roles operator -> reviewer',
    `the audit log records the role change (${JSON.stringify(roleRecs)})`,
  );
  await page.fill('#audit-action', 'access.denied');
  await page.click('#audit-search');
  await page.waitForFunction(
    () => {
      const r = document.querySelectorAll('#audit-table tbody tr');
      return (
        r.length > 0 && Array.from(r).every((t) => t.children[4].textContent === 'access.denied')
      );
    },
    null,
    { timeout: 10000 },
  );
  const denied = await auditRows();
  check(
    denied.some((r) => r[2] === 'admin' && r[5] === 'user.roles'),
    `and the refused change of the administrator's own roles (${JSON.stringify(denied)})`,
  );
  await page.screenshot({ path: join(shots, 'daemon-audit.png'), fullPage: true });

  // The mixed-duties refusals (400) and the own-roles attempt (403) are logged by Chromium as
  // failed resources: expected, and nothing else.
  const unexpected = problems.filter(
    (p) => !/status of 40[03]\b.*\/api\/v1\/users(\/[a-z0-9]+\/roles)?\)$/.test(p),
  );
  check(
    unexpected.length === 0,
    `no script, CSP or network errors${unexpected.length ? ': ' + unexpected.join('; ') : ''}`,
  );
});
