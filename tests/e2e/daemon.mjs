// The console against the real esealsd in headless Chromium: the administrator signs in with
// the one-time password, must change it, creates an audit administrator (its one-time password
// shown once) and sees it listed; creates an operator, changes its roles to reviewer, is refused
// (with the server's reason shown, nothing changed) roles of two duties, and has no way to change
// its own roles (no control; the API refuses it too); the audit administrator signs in, changes
// its password, sees only the audit page, verifies the chain and finds the role change and the
// refusal in the log. The administrator also creates a business administrator, has no business
// systems page, and finds the site and its root certificate (download) on the system page. The
// business administrator registers business systems (API clients) from certificate requests the
// test makes with openssl and the eseal CLI: the issued certificate is shown (copy, download) and
// carries the test's key; garbage, a request the CA's checks refuse (its problems listed) and a
// duplicate name are refused with the server's messages; disable and enable; revoke after a
// confirmation with a reason, after which it cannot be enabled. Requests signed with `eseal api
// sign` prove from node that a console-registered client works (and a revoked or disabled one
// does not). The console's own rules are checked along the way: every page at 1280 and 390 px
// (no horizontal overflow, the menu collapsed behind its button, no untranslated key),
// destructive actions red and confirmed in a dialog naming the object (cancel and Escape send
// nothing; revoke needs the name typed), error replies shown in Chinese with the server's
// English under them, one-time passwords copied, audit actions named in Chinese and times in
// Beijing time (then UTC), the export, English, a reload, a session ended elsewhere. No script,
// CSP or network errors. Run by tests/e2e/daemon.sh, which sets the environment.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { base, check, env, runBrowser, shots } from './harness.mjs';

const ADMIN_PASS = 'Console-Pass-2026!';
const AUDIT_PASS = 'Audit-Console-2026!';
const BIZ_PASS = 'Business-Console-2026!';
const CLI = env('ESEAL_CLI');
const KEYS = env('ESEAL_KEYS');

// A command's standard output (it must succeed; no PIN prompt: nothing on standard input).
function run(cmd, args) {
  const childEnv = { ...process.env };
  delete childEnv.ESEAL_PIN;
  return execFileSync(cmd, args, {
    encoding: 'utf8',
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 30000,
  });
}

// A new SM2 key (PEM file) and a certificate request for it with that subject.
function sm2Key(name) {
  const file = join(KEYS, `${name}.pem`);
  run('openssl', [
    'genpkey',
    '-algorithm',
    'EC',
    '-pkeyopt',
    'ec_paramgen_curve:SM2',
    '-out',
    file,
  ]);
  return file;
}
const csrOf = (key, subject) => run(CLI, ['key', 'csr', key, '--subject', subject]);

// A request signed as a business system (`eseal api sign`), sent from node: {status, body}.
async function signedCall(client, key, method, target) {
  const auth = run(CLI, [
    'api',
    'sign',
    '--client',
    client,
    '--key',
    key,
    '--value',
    method,
    target,
  ]);
  const r = await fetch(base + target, {
    method,
    headers: { Accept: 'application/json', Authorization: auth.trim() },
  });
  let body = null;
  try {
    body = await r.json();
  } catch (e) {
    body = null;
  }
  return { status: r.status, body };
}

// The file a download link gives (the click, the download event, the bytes).
async function download(page, selector) {
  const [dl] = await Promise.all([
    page.waitForEvent('download', { timeout: 10000 }),
    page.click(selector),
  ]);
  return { name: dl.suggestedFilename(), text: readFileSync(await dl.path(), 'utf8') };
}

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
  await page.locator('#pw-form').waitFor({ state: 'visible', timeout: 10000 });
  await page.fill('#pw-old', oldp);
  await page.fill('#pw-new', newp);
  await page.fill('#pw-new2', newp);
  await page.click('#pw-submit');
}

// The console's Chinese table (the page's own module), for the text an error name falls back to.
let ZH = null;
const zhTable = async (page) =>
  ZH || (ZH = await page.evaluate(async () => (await import('/js/core/i18n-zh.js')).zh));

// What the console must show, in Chinese, for an error reply: its message_zh, else the console's
// text for its name; the English message then shows under it, small.
async function waitError(page, box, body) {
  const zh = await zhTable(page);
  const want = body.message_zh || zh['err_' + body.error];
  await page.waitForFunction(
    ([b, m]) => (document.querySelector(`#${b} .msg`) || {}).textContent === m,
    [box, want],
    { timeout: 10000 },
  );
  const detail = await page
    .locator(`#${box} .detail`)
    .evaluateAll((ds) => ds.map((d) => d.textContent).join(' '));
  return {
    want,
    ok:
      typeof want === 'string' &&
      want.length > 0 &&
      /[\u4e00-\u9fff]/.test(want) &&
      (body.message_zh ? !body.detail || detail.includes(body.detail) : detail.includes(body.message)),
    detail,
  };
}

// A time as the console shows it in a zone: "2026-12-07 15:04:05".
function wall(iso, zone) {
  const f = new Intl.DateTimeFormat('en-CA', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
  const o = {};
  for (const x of f.formatToParts(new Date(iso))) o[x.type] = x.value;
  return `${o.year}-${o.month}-${o.day} ${o.hour}:${o.minute}:${o.second}`;
}

// The page at 390 px: nothing wider than the screen, the menu collapsed behind its button (and
// opening), a screenshot; then back to the desktop width.
async function atPhone(page, name) {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(100);
  const over = await page.evaluate(() => document.documentElement.scrollWidth);
  check(over <= 390, `${name} at 390 px: no horizontal overflow (scrollWidth ${over})`);
  const wide = await page.evaluate(() =>
    Array.from(document.querySelectorAll('#outlet *'))
      .filter((e) => e.getClientRects().length && e.getBoundingClientRect().right > 391)
      .map((e) => e.id || e.tagName + '.' + e.className)
      .slice(0, 5),
  );
  check(wide.length === 0, `${name} at 390 px: every element within the screen (${wide})`);
  // A string missing from the tables shows as its key: none on the page.
  const keys = await page.evaluate(() => {
    const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const out = [];
    const key =
      /^(page|col|act|state|err|action|role|tier|system|reason|sys|audit|user|client|cert|confirm|pw|signin|zone|lang|nav|download|otp)_[A-Za-z_-]+$/;
    for (let n = w.nextNode(); n; n = w.nextNode()) {
      if (key.test(n.textContent.trim())) out.push(n.textContent.trim());
    }
    return out;
  });
  check(keys.length === 0, `${name}: no untranslated key shown (${keys})`);
  check(
    (await page.locator('#nav-toggle').isVisible()) &&
      (await page.locator('#nav-signout').isHidden()),
    `${name} at 390 px: the menu is collapsed behind its button`,
  );
  await page.screenshot({ path: join(shots, `daemon-${name}-phone.png`) });
  await page.click('#nav-toggle');
  check(
    (await page.locator('#nav-signout').isVisible()) &&
      (await page.getAttribute('#nav-toggle', 'aria-expanded')) === 'true',
    `${name} at 390 px: the button opens the menu`,
  );
  await page.click('#nav-toggle');
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.waitForTimeout(100);
}

await runBrowser({ width: 1280, height: 800 }, async (context, page) => {
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
  await page.locator('#pw-form').waitFor({ state: 'visible', timeout: 10000 });
  check(await page.locator('#nav').isHidden(), 'first sign-in: the password change comes first');
  await changePassword(page, env('ESEAL_ADMIN_OTP'), ADMIN_PASS);
  await page.locator('#users-view').waitFor({ state: 'visible', timeout: 10000 });
  check(true, 'after the change: the users page');
  check(await page.locator('#nav-users').isVisible(), 'the system administrator sees "users"');
  check((await page.locator('#nav-audit').count()) === 0, 'and no audit page');
  await page.locator('#users-table tbody tr[data-name="admin"]').waitFor({ timeout: 10000 });
  check(true, 'admin is listed');

  // The system administrator cannot create an audit administrator (hardening 13.4): the server
  // refuses with its reason; the first one is the daemon's ("auditor").
  await page.locator('#new-role-audit_admin').waitFor({ timeout: 10000 });
  await page.fill('#user-name', 'auditor1');
  await page.check('#new-role-audit_admin');
  const [refusedAudit] = await Promise.all([
    page.waitForResponse(
      (r) => r.url().endsWith('/api/v1/users') && r.request().method() === 'POST',
      { timeout: 10000 },
    ),
    page.click('#user-create'),
  ]);
  await page.locator('#user-error').waitFor({ state: 'visible', timeout: 10000 });
  check(
    refusedAudit.status() === 403 &&
      (await page.locator('#otp-box').isHidden()) &&
      (await page.locator('#users-table tbody tr[data-name="auditor1"]').count()) === 0,
    `an audit administrator by the system administrator: refused (${refusedAudit.status()}), no password shown`,
  );
  await page.uncheck('#new-role-audit_admin');

  // Create a reviewer.
  await page.fill('#user-name', 'reviewer1');
  await page.fill('#user-display', '审核员一');
  await page.check('#new-role-reviewer');
  await page.click('#user-create');
  await page.locator('#otp-box').waitFor({ state: 'visible', timeout: 10000 });
  const otp = (await page.textContent('#otp-value')).trim();
  check(
    otp.length >= 12 && (await page.textContent('#otp-user')) === 'reviewer1',
    'the one-time password is shown once',
  );
  await page.locator('#users-table tbody tr[data-name="reviewer1"]').waitFor({ timeout: 10000 });
  const row = await page.textContent('#users-table tbody tr[data-name="reviewer1"]');
  check(row.includes('reviewer') && row.includes('待改密码'), `the new user is listed (${row})`);
  await page.click('#otp-close');
  check(
    (await page.locator('#otp-box').isHidden()) && (await page.textContent('#otp-value')) === '',
    'the password is gone from the page once noted',
  );
  await page.uncheck('#new-role-reviewer');

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
      typeof badBody.detail === 'string' &&
      badBody.detail.includes('audit duties cannot be combined'),
    `operator + audit_admin refused with 400 and the reason (${bad.status()} ${badBody.detail})`,
  );
  const rolesErr = await waitError(page, 'roles-error', badBody);
  check(
    rolesErr.ok,
    `the reason in Chinese (${rolesErr.want}), the server's English under it (${rolesErr.detail})`,
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

  // Disable: destructive, so styled as such and confirmed in a dialog naming the user; cancel
  // sends nothing and changes nothing.
  const userPosts = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && r.url().includes('/api/v1/users/clerk1/')) userPosts.push(r.url());
  });
  const disableBtn = clerk.locator('button.act-disable');
  const colour = await disableBtn.evaluate((b) => getComputedStyle(b).color);
  const createColour = await page
    .locator('#user-create')
    .evaluate((b) => getComputedStyle(b).backgroundColor);
  check(
    (await disableBtn.getAttribute('class')).includes('danger') &&
      colour === 'rgb(179, 38, 30)' &&
      createColour !== 'rgb(179, 38, 30)',
    `"disable" looks dangerous (red ${colour}), unlike the main action (${createColour})`,
  );
  await disableBtn.click();
  await page.locator('#confirm-dialog').waitFor({ state: 'visible', timeout: 10000 });
  check(
    (await page.textContent('#confirm-name')) === '用户 clerk1' &&
      (await page.textContent('#confirm-title')) === '禁用用户' &&
      userPosts.length === 0,
    `disable asks first, naming the user (${await page.textContent('#confirm-name')})`,
  );
  await page.screenshot({ path: join(shots, 'daemon-users-confirm.png') });
  await page.click('#confirm-cancel');
  await page.locator('#confirm-dialog').waitFor({ state: 'detached', timeout: 10000 });
  const still = await call(page, 'GET', '/users/clerk1');
  check(
    userPosts.length === 0 && still.body.user.disabled === false,
    'cancelled: nothing sent, clerk1 still enabled',
  );
  await disableBtn.click();
  await page.locator('#confirm-dialog').waitFor({ state: 'visible', timeout: 10000 });
  await page.keyboard.press('Escape');
  await page.locator('#confirm-dialog').waitFor({ state: 'detached', timeout: 10000 });
  check(
    userPosts.length === 0 &&
      (await call(page, 'GET', '/users/clerk1')).body.user.disabled === false,
    'Escape cancels too: nothing sent',
  );
  await disableBtn.click();
  await page.click('#confirm-ok');
  await page.waitForFunction(
    () => {
      const t = document.querySelector('#users-table tbody tr[data-name="clerk1"]');
      return t && t.children[3].textContent === '已禁用';
    },
    null,
    { timeout: 10000 },
  );
  check(
    (await call(page, 'GET', '/users/clerk1')).body.user.disabled === true &&
      (await page.textContent('#users-result')) === '用户 clerk1 已禁用',
    'confirmed: clerk1 is disabled, and the page says so',
  );
  await clerk.locator('button.act-enable').click();
  await page.waitForFunction(
    () => {
      const t = document.querySelector('#users-table tbody tr[data-name="clerk1"]');
      return t && t.children[3].textContent !== '已禁用' && t.querySelector('button.act-disable');
    },
    null,
    { timeout: 10000 },
  );
  check(
    (await call(page, 'GET', '/users/clerk1')).body.user.disabled === false,
    'enable needs no confirmation',
  );

  // Reset a password: confirmed, then the one-time password with a copy button.
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  await clerk.locator('button.act-reset').click();
  await page.locator('#confirm-dialog').waitFor({ state: 'visible', timeout: 10000 });
  check(
    (await page.textContent('#confirm-name')) === '用户 clerk1',
    'a password reset asks first, naming the user',
  );
  await page.click('#confirm-ok');
  await page.locator('#otp-box').waitFor({ state: 'visible', timeout: 10000 });
  const resetOtp = (await page.textContent('#otp-value')).trim();
  await page.click('#otp-copy');
  await page.waitForFunction(() => document.getElementById('otp-status').textContent !== '', null, {
    timeout: 10000,
  });
  const otpCopied = await page.evaluate(() => navigator.clipboard.readText());
  check(
    resetOtp.length >= 12 &&
      (await page.textContent('#otp-user')) === 'clerk1' &&
      otpCopied === resetOtp &&
      (await page.textContent('#otp-status')) === '已复制',
    'the new one-time password is shown once and its copy button copies it',
  );
  await page.screenshot({ path: join(shots, 'daemon-users-otp.png'), fullPage: true });
  await page.click('#otp-close');

  await atPhone(page, 'users');

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

  // A business administrator for the business systems.
  await page.fill('#user-name', 'bizadmin1');
  await page.fill('#user-display', '业务管理员一');
  await page.check('#new-role-business_admin');
  await page.click('#user-create');
  await page.locator('#otp-box').waitFor({ state: 'visible', timeout: 10000 });
  const bizOtp = (await page.textContent('#otp-value')).trim();
  await page.click('#otp-close');
  check(
    bizOtp.length >= 12 && (await rolesOf(page, 'bizadmin1')) === '["business_admin"]',
    'the administrator creates a business administrator',
  );

  // The system administrator has no business systems page (and the API agrees), but the page of
  // the site like everyone.
  check(
    (await page.locator('#nav-clients').count()) === 0,
    'the system administrator sees no "business systems"',
  );
  const adminClients = await call(page, 'GET', '/clients');
  check(adminClients.status === 403, `nor may list them through the API (${adminClients.status})`);
  const sys = await call(page, 'GET', '/system');
  check(
    sys.status === 200 &&
      typeof sys.body.root_certificate === 'string' &&
      sys.body.root_certificate.startsWith('-----BEGIN CERTIFICATE-----'),
    'GET /api/v1/system gives the root certificate',
  );
  check(await page.locator('#nav-system').isVisible(), 'the system administrator sees "system"');
  await page.click('#nav-system');
  await page.locator('#system-view').waitFor({ state: 'visible', timeout: 10000 });
  await page.waitForFunction(() => document.getElementById('sys-root').value !== '', null, {
    timeout: 10000,
  });
  check(
    (await page.textContent('#sys-name')) === sys.body.name &&
      (await page.textContent('#sys-url')) === sys.body.public_url &&
      sys.body.public_url === base + '/' &&
      (await page.textContent('#sys-tier')).includes(`(${sys.body.tier})`),
    `the system page shows the site, its tier and address (${await page.textContent('#sys-name')}, ${await page.textContent('#sys-tier')}, ${await page.textContent('#sys-url')})`,
  );
  check(
    (await page.inputValue('#sys-root')) === sys.body.root_certificate &&
      (await page.locator('#users-view').isHidden()),
    'and the root certificate (only that page shown)',
  );
  const rootFile = await download(page, '#sys-root-download');
  const rootPath = join(KEYS, 'root.crt');
  writeFileSync(rootPath, rootFile.text);
  const rootSubject = run('openssl', ['x509', '-in', rootPath, '-noout', '-subject']);
  check(
    rootFile.text === sys.body.root_certificate &&
      rootFile.name.endsWith('-root.crt') &&
      rootSubject.startsWith('subject='),
    `the root certificate downloads (${rootFile.name}: ${rootSubject.trim()})`,
  );
  const [crlDl] = await Promise.all([
    page.waitForEvent('download', { timeout: 10000 }),
    page.click('#sys-crl-download'),
  ]);
  const crlPath = join(KEYS, 'root.crl');
  await crlDl.saveAs(crlPath);
  const crlIssuer = run('openssl', ['crl', '-inform', 'DER', '-in', crlPath, '-noout', '-issuer']);
  check(
    crlIssuer.startsWith('issuer=') && crlIssuer.slice(7).trim() === rootSubject.slice(8).trim(),
    `the root's CRL downloads and openssl reads it (${crlIssuer.trim()})`,
  );
  await page.screenshot({ path: join(shots, 'daemon-system.png'), fullPage: true });
  // A reload keeps the session (the cookie) and the page (the hash).
  await page.reload({ waitUntil: 'load' });
  await page.waitForFunction(() => document.getElementById('sys-root')?.value !== '', null, {
    timeout: 10000,
  });
  check(
    new URL(page.url()).hash === '#/system' &&
      (await page.getAttribute('#nav-system', 'aria-current')) === 'page',
    'a reload comes back to the same page, still signed in',
  );
  await atPhone(page, 'system');
  // On a phone the menu opens, and a page is one tap away.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.click('#nav-toggle');
  await page.click('#nav-users');
  await page.locator('#users-table').waitFor({ timeout: 10000 });
  check(
    (await page.locator('#nav-signout').isHidden()) &&
      (await page.getAttribute('#nav-users', 'aria-current')) === 'page',
    'at 390 px the menu leads to a page and closes',
  );
  await page.setViewportSize({ width: 1280, height: 800 });

  await page.click('#nav-signout');
  await page.locator('#signin').waitFor({ state: 'visible', timeout: 10000 });
  check(true, 'signed out');

  // ---- The business administrator: business systems (API clients).
  await signIn(page, 'bizadmin1', bizOtp);
  // The password form on a phone: it fits.
  await page.locator('#pw-form').waitFor({ state: 'visible', timeout: 10000 });
  await page.setViewportSize({ width: 390, height: 844 });
  const pwOver = await page.evaluate(() => document.documentElement.scrollWidth);
  check(pwOver <= 390, `the password change at 390 px: no horizontal overflow (${pwOver})`);
  await page.screenshot({ path: join(shots, 'daemon-password-phone.png') });
  await page.setViewportSize({ width: 1280, height: 800 });
  await changePassword(page, bizOtp, BIZ_PASS);
  await page.locator('#clients-view').waitFor({ state: 'visible', timeout: 10000 });
  check(
    (await page.locator('#nav-clients').getAttribute('aria-current')) === 'page' &&
      (await page.locator('#nav-users').count()) === 0 &&
      (await page.locator('#nav-audit').count()) === 0 &&
      (await page.locator('#nav-system').isVisible()),
    'the business administrator lands on "business systems" (no users or audit page)',
  );
  const roleBoxes = await page.$$eval('#client-roles input[type=checkbox]', (bs) =>
    bs.map((b) => b.value),
  );
  check(
    JSON.stringify(roleBoxes) === '["operator","approver","reviewer","seal_issuer"]',
    `the role choices are the four client roles (${roleBoxes})`,
  );

  const clientRow = (name) => page.locator(`#clients-table tbody tr[data-name="${name}"]`);
  const cells = (name) =>
    clientRow(name)
      .locator('td')
      .evaluateAll((tds) => tds.map((t) => t.textContent));
  const waitState = (name, state) =>
    page.waitForFunction(
      ([n, st]) => {
        const t = document.querySelector(`#clients-table tbody tr[data-name="${n}"]`);
        return t && t.children[4].textContent === st;
      },
      [name, state],
      { timeout: 10000 },
    );
  const clientPosts = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && r.url().includes('/api/v1/clients')) clientPosts.push(r.url());
  });
  // Submits the registration form: the POST's response.
  async function register(name, roles, pem, subject) {
    await page.fill('#client-name', name);
    for (const r of roleBoxes) await page.setChecked(`#client-role-${r}`, roles.includes(r));
    await page.fill('#client-pem', pem);
    await page.fill('#client-subject', subject || '');
    const [resp] = await Promise.all([
      page.waitForResponse(
        (r) => r.url() === base + '/api/v1/clients' && r.request().method() === 'POST',
        { timeout: 20000 },
      ),
      page.click('#client-create'),
    ]);
    return resp;
  }

  // Register "erp" from a certificate request the test made.
  const erpKey = sm2Key('erp');
  const erpCsr = csrOf(erpKey, '/C=CN/O=E2E Org/CN=erp');
  check(erpCsr.startsWith('-----BEGIN CERTIFICATE REQUEST-----'), 'eseal key csr makes a request');
  const reg = await register('erp', ['operator'], erpCsr);
  const regBody = await reg.json();
  const sent = reg.request().postDataJSON();
  check(
    reg.status() === 201 &&
      sent.name === 'erp' &&
      JSON.stringify(sent.roles) === '["operator"]' &&
      sent.csr.trim() === erpCsr.trim() &&
      !('certificate' in sent) &&
      !('subject' in sent),
    `the page posts {name, roles, csr} and the client is registered (${reg.status()})`,
  );
  await page.locator('#cert-box').waitFor({ state: 'visible', timeout: 10000 });
  const erpCert = regBody.certificate;
  check(
    (await page.textContent('#cert-client')) === 'erp' &&
      (await page.textContent('#cert-serial')) === regBody.client.serial &&
      (await page.inputValue('#cert-pem')) === erpCert &&
      erpCert.startsWith('-----BEGIN CERTIFICATE-----'),
    'the issued certificate is shown with its serial',
  );
  const erpCertPath = join(KEYS, 'erp.crt');
  writeFileSync(erpCertPath, erpCert);
  const certPub = run('openssl', ['x509', '-in', erpCertPath, '-noout', '-pubkey']);
  const keyPub = run('openssl', ['pkey', '-in', erpKey, '-pubout']);
  const certSubject = run('openssl', ['x509', '-in', erpCertPath, '-noout', '-subject']);
  check(
    certPub === keyPub && /CN\s*=\s*erp\b/.test(certSubject),
    `the certificate carries the test's key and subject (${certSubject.trim()})`,
  );
  // SM2 with the default ID (GM/T 0009), which OpenSSL 3's verify needs to be told.
  let verified = '';
  try {
    verified = run('openssl', [
      'verify',
      '-vfyopt',
      'distid:1234567812345678',
      '-CAfile',
      rootPath,
      erpCertPath,
    ]);
  } catch (e) {
    verified = String(e.stderr || e);
  }
  check(verified.trim().endsWith(': OK'), `it is issued by the site's root (${verified.trim()})`);
  const certFile = await download(page, '#cert-download');
  check(
    certFile.name === 'erp.crt' && certFile.text === erpCert,
    `the certificate downloads (${certFile.name})`,
  );
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  await page.click('#cert-copy');
  await page.waitForFunction(
    () => document.getElementById('cert-status').textContent !== '',
    null,
    {
      timeout: 10000,
    },
  );
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  check(
    (await page.textContent('#cert-status')) === '已复制' && copied === erpCert,
    'and copies to the clipboard',
  );
  await clientRow('erp').waitFor({ timeout: 10000 });
  const erpCells = await cells('erp');
  check(
    (await page.textContent('#clients-table thead th:nth-child(4)')) === '有效期（北京时间）',
    'the validity column names its zone',
  );
  check(
    erpCells[0] === 'erp' &&
      erpCells[1].includes('operator') &&
      erpCells[2] === regBody.client.serial &&
      erpCells[3].includes(wall(regBody.client.not_before, 'Asia/Shanghai').slice(0, 10)) &&
      erpCells[3].includes(wall(regBody.client.not_after, 'Asia/Shanghai').slice(0, 10)) &&
      erpCells[4] === '正常',
    `erp is listed with roles, serial, validity and state (${erpCells.join(' | ')})`,
  );
  check(
    (await page.inputValue('#client-name')) === '' && (await page.inputValue('#client-pem')) === '',
    'the form is cleared after the registration',
  );
  await page.click('#cert-close');
  check(
    (await page.locator('#cert-box').isHidden()) && (await page.inputValue('#cert-pem')) === '',
    'the certificate box closes',
  );

  // Garbage instead of a request: the server's message.
  const junk = await register('junk1', ['operator'], 'garbage, not a request');
  const junkBody = await junk.json();
  check(
    junk.status() === 400 && typeof junkBody.message === 'string',
    `garbage is refused with 400 (${junkBody.message})`,
  );
  const junkErr = await waitError(page, 'client-error', junkBody);
  check(junkErr.ok, `garbage: in Chinese (${junkErr.want}; ${junkErr.detail})`);
  check(
    (await page.locator('#client-error').isVisible()) &&
      (await page.locator('#client-error ul.problems').count()) === 0 &&
      (await page.locator('#cert-box').isHidden()),
    "the page shows the server's message (and no certificate)",
  );
  check(
    (await page.inputValue('#client-name')) === 'junk1' &&
      (await call(page, 'GET', '/clients/junk1')).status === 404,
    'the form keeps what was typed; nothing was registered',
  );

  // A request the CA's checks refuse (no CN): the problems are listed; with a subject given in
  // the form the same request is issued.
  const hrKey = sm2Key('hrsys');
  const hrCsr = csrOf(hrKey, '/C=CN/O=E2E Org');
  const lint = await register('hrsys', ['approver'], hrCsr);
  const lintBody = await lint.json();
  check(
    lint.status() === 422 &&
      lintBody.error === 'lint' &&
      lintBody.field === 'csr' &&
      Array.isArray(lintBody.problems) &&
      lintBody.problems.length > 0,
    `a request without CN fails the CA's checks (${JSON.stringify(lintBody.problems)})`,
  );
  await page.locator('#client-error ul.problems li').first().waitFor({ timeout: 10000 });
  const shownProblems = await page.$$eval('#client-error ul.problems li', (ls) =>
    ls.map((l) => l.textContent),
  );
  const lintErr = await waitError(page, 'client-error', lintBody);
  check(
    lintErr.ok &&
      JSON.stringify(shownProblems) === JSON.stringify(lintBody.problems) &&
      (await page.getAttribute('#client-pem', 'aria-invalid')) === 'true',
    `the page shows the message and the CA's problems (${shownProblems})`,
  );
  await page.screenshot({ path: join(shots, 'daemon-clients-problems.png'), fullPage: true });
  const hr = await register('hrsys', ['approver'], hrCsr, '/C=CN/O=E2E Org/CN=hrsys');
  const hrBody = await hr.json();
  check(
    hr.status() === 201 &&
      hr.request().postDataJSON().subject === '/C=CN/O=E2E Org/CN=hrsys' &&
      hrBody.client.subject.includes('CN=hrsys'),
    `with a subject in the form it is issued (${hr.status()} ${hrBody.client && hrBody.client.subject})`,
  );
  check(
    (await page.locator('#client-error').isHidden()) &&
      (await page.locator('#client-error ul.problems').count()) === 0,
    'the error and the problems are gone',
  );
  await page.click('#cert-close');

  // A name taken: conflict.
  const dup = await register('erp', ['reviewer'], csrOf(sm2Key('erp2'), '/C=CN/O=E2E Org/CN=erp'));
  const dupBody = await dup.json();
  check(
    dup.status() === 409 && dupBody.error === 'conflict',
    `a second "erp" is refused with 409 conflict (${dupBody.message})`,
  );
  const dupErr = await waitError(page, 'client-error', dupBody);
  check(dupErr.ok, `the page shows the conflict in Chinese (${dupErr.want}; ${dupErr.detail})`);
  check(
    (await clientRow('erp').count()) === 1 && !(await cells('erp'))[1].includes('reviewer'),
    'erp is unchanged',
  );

  // Disable and enable: the client's signed requests follow.
  const me1 = await signedCall('erp', erpKey, 'GET', '/api/v1/clients/me');
  check(
    me1.status === 200 && me1.body.client.name === 'erp',
    `erp signs a request (${me1.status})`,
  );
  await clientRow('erp').locator('button.act-disable').click();
  await page.locator('#confirm-dialog').waitFor({ state: 'visible', timeout: 10000 });
  check(
    (await page.textContent('#confirm-name')) === '业务系统 erp',
    'disabling a business system asks first, naming it',
  );
  await page.click('#confirm-ok');
  await waitState('erp', '已禁用');
  check(
    (await clientRow('erp').locator('button.act-enable').count()) === 1 &&
      (await clientRow('erp').locator('button.act-disable').count()) === 0,
    'disabled: the row says so and offers "enable"',
  );
  const me2 = await signedCall('erp', erpKey, 'GET', '/api/v1/clients/me');
  check(me2.status === 401, `a disabled client's signed request is refused (${me2.status})`);
  await clientRow('erp').locator('button.act-enable').click();
  await waitState('erp', '正常');
  const me3 = await signedCall('erp', erpKey, 'GET', '/api/v1/clients/me');
  check(
    me3.status === 200 && (await clientRow('erp').locator('button.act-disable').count()) === 1,
    `enabled again: listed as such, and its requests pass (${me3.status})`,
  );

  // Revoke: a confirmation with a reason first; cancelled, nothing happens.
  const postsBefore = clientPosts.length;
  await clientRow('erp').locator('button.act-revoke').click();
  await page.locator('#confirm-dialog').waitFor({ state: 'visible', timeout: 10000 });
  check(
    (await page.textContent('#confirm-name')) === '业务系统 erp' &&
      clientPosts.length === postsBefore,
    'revoke asks for a confirmation first, naming the system (nothing sent)',
  );
  check(
    (await page.locator('#confirm-ok').isDisabled()) &&
      (await page.locator('#confirm-type').isVisible()),
    'irreversible: the confirm button waits for the name to be typed',
  );
  await page.fill('#confirm-type', 'er');
  check(await page.locator('#confirm-ok').isDisabled(), 'a wrong name does not confirm');
  await page.screenshot({ path: join(shots, 'daemon-clients-revoke.png') });
  await page.click('#confirm-cancel');
  await page.locator('#confirm-dialog').waitFor({ state: 'detached', timeout: 10000 });
  check(
    (await page.locator('#confirm-dialog').count()) === 0 &&
      clientPosts.length === postsBefore &&
      (await cells('erp'))[4] === '正常',
    'cancelled: nothing revoked',
  );
  await clientRow('erp').locator('button.act-revoke').click();
  await page.locator('#confirm-dialog').waitFor({ state: 'visible', timeout: 10000 });
  await page.selectOption('#revoke-reason', 'keyCompromise');
  await page.fill('#confirm-type', 'erp');
  const [rev] = await Promise.all([
    page.waitForResponse(
      (r) => r.url().endsWith('/api/v1/clients/erp/revoke') && r.request().method() === 'POST',
      { timeout: 20000 },
    ),
    page.click('#confirm-ok'),
  ]);
  const revBody = await rev.json();
  check(
    rev.status() === 200 &&
      JSON.stringify(rev.request().postDataJSON()) === '{"reason":"keyCompromise"}' &&
      revBody.client.revoked === true &&
      revBody.certificate_revoked === true,
    `confirmed: revoked with the reason chosen, its certificate too (${rev.status()})`,
  );
  await waitState('erp', '已吊销');
  const revRow = clientRow('erp');
  check(
    (await page.locator('#confirm-dialog').count()) === 0 &&
      (await revRow.locator('button.act-enable').count()) === 0 &&
      (await revRow.locator('button.act-disable').count()) === 0 &&
      (await revRow.locator('button.act-revoke').count()) === 0 &&
      (await revRow.locator('button.act-cert').count()) === 1,
    'the row says revoked: no enable, disable or revoke any more',
  );
  check(
    (await page.textContent('#clients-result')).includes('已吊销'),
    `the page reports it (${await page.textContent('#clients-result')})`,
  );
  const reEnable = await call(page, 'POST', '/clients/erp/enable');
  check(
    reEnable.status === 400 && /revoked/.test(reEnable.body.detail),
    `and the API refuses to enable it (${reEnable.status} ${reEnable.body.detail})`,
  );
  const me4 = await signedCall('erp', erpKey, 'GET', '/api/v1/clients/me');
  check(me4.status === 401, `the revoked client's signed requests are refused (${me4.status})`);

  // The other console-registered client works: a request signed by `eseal api sign`.
  const me5 = await signedCall('hrsys', hrKey, 'GET', '/api/v1/clients/me');
  check(
    me5.status === 200 &&
      me5.body.client.name === 'hrsys' &&
      JSON.stringify(me5.body.client.roles) === '["approver"]' &&
      me5.body.client.permissions.includes('sign_approve') &&
      me5.body.client.serial === hrBody.client.serial,
    `hrsys, registered in the console, signs GET /api/v1/clients/me (${me5.status} ${JSON.stringify(
      me5.body && me5.body.client && me5.body.client.permissions,
    )})`,
  );
  await clientRow('hrsys').locator('button.act-cert').click();
  await page.locator('#cert-box').waitFor({ state: 'visible', timeout: 10000 });
  await page.waitForFunction(() => document.getElementById('cert-client').textContent === 'hrsys');
  check(
    (await page.inputValue('#cert-pem')) === hrBody.certificate,
    "a listed client's certificate can be shown again",
  );
  await page.screenshot({ path: join(shots, 'daemon-clients.png'), fullPage: true });
  await page.click('#cert-close');
  await atPhone(page, 'clients');

  await page.click('#nav-signout');
  await page.locator('#signin').waitFor({ state: 'visible', timeout: 10000 });
  check(true, 'the business administrator signs out');

  // The audit administrator.
  await signIn(page, 'auditor', env('ESEAL_AUDITOR_OTP'));
  await changePassword(page, env('ESEAL_AUDITOR_OTP'), AUDIT_PASS);
  await page.locator('#audit-view').waitFor({ state: 'visible', timeout: 10000 });
  check(
    (await page.locator('#nav-users').count()) === 1,
    'the audit administrator lands on the audit log, and has a users page (audit administrators)',
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
        r.length > 0 &&
        Array.from(r).every(
          (t) => t.children[4].querySelector('[data-action]')?.dataset.action === 'user.create',
        )
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
      return (
        r.length > 0 &&
        Array.from(r).every(
          (t) => t.children[4].querySelector('[data-action]')?.dataset.action === 'user.roles',
        )
      );
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
        r.length > 0 &&
        Array.from(r).every(
          (t) => t.children[4].querySelector('[data-action]')?.dataset.action === 'access.denied',
        )
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
  await page.fill('#audit-action', 'client.revoke');
  await page.click('#audit-search');
  await page.waitForFunction(
    () => {
      const r = document.querySelectorAll('#audit-table tbody tr');
      return (
        r.length > 0 &&
        Array.from(r).every(
          (t) => t.children[4].querySelector('[data-action]')?.dataset.action === 'client.revoke',
        )
      );
    },
    null,
    { timeout: 10000 },
  );
  const revRecs = await auditRows();
  check(
    revRecs.length === 1 &&
      revRecs[0][2] === 'bizadmin1' &&
      revRecs[0][5] === 'client:erp' &&
      revRecs[0][6].includes('reason=keyCompromise'),
    `the audit log records the revocation (${JSON.stringify(revRecs)})`,
  );
  await page.screenshot({ path: join(shots, 'daemon-audit.png'), fullPage: true });

  // Action codes named in Chinese, the code beside; times in Beijing time, the zone named.
  check(
    (await page.textContent('#audit-table tbody tr:first-child .action-name')) === '吊销业务系统' &&
      (await page.textContent('#audit-table tbody tr:first-child .action .code')) ===
        'client.revoke',
    'the action is named in Chinese (吊销业务系统) with its code',
  );
  const recs = await call(page, 'GET', '/audit?action=client.revoke');
  const recTime = recs.body.items[0].time;
  const shownTime = () => page.textContent('#audit-table tbody tr:first-child td.time');
  check(
    (await page.textContent('#audit-table thead th:nth-child(2)')) === '时间（北京时间）' &&
      (await shownTime()) === wall(recTime, 'Asia/Shanghai') &&
      (await page.textContent('#audit-zone')).includes('北京时间'),
    `times in Beijing time, named (${recTime} shown as ${await shownTime()})`,
  );
  await page.selectOption('#zone-select', 'UTC');
  await page.waitForFunction(
    () =>
      (document.querySelector('#audit-table thead th:nth-child(2)') || {}).textContent ===
      '时间（协调世界时 (UTC)）',
    null,
    { timeout: 10000 },
  );
  await page.locator('#audit-table tbody tr').first().waitFor({ timeout: 10000 });
  await page.fill('#audit-action', 'client.revoke');
  await page.click('#audit-search');
  await page.waitForFunction(
    () => document.querySelectorAll('#audit-table tbody tr').length === 1,
    null,
    { timeout: 10000 },
  );
  check(
    (await shownTime()) === wall(recTime, 'UTC'),
    `switched to UTC: the same record at ${await shownTime()}`,
  );
  await page.selectOption('#zone-select', 'Asia/Shanghai');

  // The selection exported (JSON Lines, the filter applied).
  await page.fill('#audit-action', 'client.revoke');
  await page.click('#audit-search');
  const exp = await download(page, '#audit-export');
  const lines = exp.text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const expRecs = lines.filter((l) => l.type === 'record');
  check(
    expRecs.length === 1 &&
      expRecs[0].action === 'client.revoke' &&
      // The list gives whole seconds, the export milliseconds.
      Math.floor(Date.parse(expRecs[0].time) / 1000) === Date.parse(recTime) / 1000,
    `export: JSON Lines of the selection (${exp.name}, ${lines.length} lines: ${
      expRecs.length && expRecs[0].action
    } ${expRecs.length && expRecs[0].time} ${recTime})`,
  );

  // English: the page's strings and the action names change; the choice stays.
  await page.click('#lang-switch');
  await page.waitForFunction(() => document.documentElement.lang === 'en', null, { timeout: 5000 });
  await page.fill('#audit-action', 'client.revoke');
  await page.click('#audit-search');
  await page.waitForFunction(
    () =>
      (document.querySelector('#audit-table tbody tr:first-child .action-name') || {})
        .textContent === 'Business system revoked',
    null,
    { timeout: 10000 },
  );
  check(
    (await page.textContent('#view-title')) === 'Audit log' &&
      (await page.textContent('#nav-audit')) === 'Audit log' &&
      (await page.textContent('#audit-table thead th:nth-child(2)')) === 'Time (Beijing time)',
    'in English: title, menu, columns and action names',
  );
  await page.screenshot({ path: join(shots, 'daemon-audit-en.png'), fullPage: true });
  await page.click('#lang-switch');
  await page.waitForFunction(() => document.documentElement.lang === 'zh-CN', null, {
    timeout: 5000,
  });
  check((await page.textContent('#view-title')) === '审计日志', 'and back to Chinese');
  await page.locator('#audit-table tbody tr').first().waitFor({ timeout: 10000 });
  await atPhone(page, 'audit');

  // The session ends elsewhere: the next call leads back to the sign-in page, which says why.
  const ended = await call(page, 'DELETE', '/sessions/current');
  await page.click('#audit-search');
  await page.locator('#signin-form').waitFor({ state: 'visible', timeout: 10000 });
  check(
    ended.status === 204 &&
      (await page.textContent('#signin-error .msg')) === '会话已结束，请重新登录' &&
      (await page.locator('#nav').isHidden()),
    'a session that ended: back to the sign-in page with the reason',
  );

  // The mixed-duties refusals (400), the own-roles attempt (403), the system administrator's
  // look at the business systems (403), the refused registrations (400, 409), the look for the
  // one refused (404) and the attempt to enable a revoked client (400) are logged by Chromium as failed resources: expected, and
  // nothing else.
  const unexpected = problems.filter(
    (p) =>
      !/status of 40[03]\b.*\/api\/v1\/users(\/[a-z0-9]+\/roles)?\)$/.test(p) &&
      !/status of (40[039]|422)\b.*\/api\/v1\/clients(\/erp\/enable)?\)$/.test(p) &&
      !/status of 404\b.*\/api\/v1\/clients\/junk1\)$/.test(p) &&
      // The search after the session ended.
      !/status of 401\b.*\/api\/v1\/audit\?/.test(p),
  );
  check(
    unexpected.length === 0,
    `no script, CSP or network errors${unexpected.length ? ': ' + unexpected.join('; ') : ''}`,
  );
});
