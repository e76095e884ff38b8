// 我的签名密钥 (docs/decisions.md) in the console against the real esealsd: the system
// administrator has no such page; a seal issuer made by the administrator signs in, finds no
// key, sees a short or repeated PIN and a mismatch refused as typed (Chinese), enrols a PIN key
// (certificate shown and readable by openssl as a user certificate of the site root), is refused
// a second key without the current PIN (the field marked, the Chinese detail shown), gets a
// wrong current PIN counted and shown, changes the PIN, and the page holds at 390 px. The PIN
// never stays in the form. Run by tests/e2e/daemon.sh ... signing, which sets the environment.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { base, check, env, runBrowser, shots } from './harness.mjs';

const ADMIN_PASS = 'Console-Pass-2026!';
const USER_PASS = 'Issuer-Console-2026!';
const PIN = 'Qx7-sign-4412';
const PIN2 = 'Rw9-sign-8820';

async function text(page, sel) {
  return (await page.locator(sel).textContent()) || '';
}

async function signIn(page, name, pass) {
  await page.locator('#signin-form').waitFor({ state: 'visible', timeout: 10000 });
  await page.fill('#username', name);
  await page.fill('#password', pass);
  await page.click('#signin-submit');
}

async function changePassword(page, oldp, newp) {
  await page.locator('#pw-form').waitFor({ state: 'visible', timeout: 10000 });
  await page.fill('#pw-old', oldp);
  await page.fill('#pw-new', newp);
  await page.fill('#pw-new2', newp);
  await page.click('#pw-submit');
}

async function call(page, method, path, body) {
  return page.evaluate(
    async ([m, u, b]) => {
      const opts = { method: m, headers: { Accept: 'application/json' }, credentials: 'same-origin' };
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

await runBrowser({ width: 1280, height: 900 }, async (context, page) => {
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(base + '/');
  await signIn(page, 'admin', env('ESEAL_ADMIN_OTP'));
  await changePassword(page, env('ESEAL_ADMIN_OTP'), ADMIN_PASS);
  await page.locator('#nav-users').waitFor({ state: 'visible', timeout: 10000 });
  check((await page.locator('#nav-signing').count()) === 0,
    'the system administrator has no signing-key page (takes no decisions)');
  const made = await call(page, 'POST', '/users', { name: 'issuer1', roles: ['seal_issuer'] });
  check(made.status === 201, `the administrator makes a seal issuer (${made.status})`);
  const otp = made.body && made.body.one_time_password;
  await page.click('#nav-signout');
  await signIn(page, 'issuer1', otp);
  await changePassword(page, otp, USER_PASS);
  await page.locator('#nav-signing').waitFor({ state: 'visible', timeout: 10000 });
  check((await text(page, '#nav-signing')).includes('我的签名密钥'), 'the menu names 我的签名密钥');
  await page.click('#nav-signing');
  await page.locator('#sk-enrol-form').waitFor({ state: 'visible', timeout: 10000 });
  await page.locator('#sk-none').waitFor({ state: 'visible', timeout: 10000 });
  check(true, 'no key yet: said so');
  check(await page.locator('#sk-change').isHidden(), 'no PIN change without a key');

  // As typed: length, repeat, mismatch.
  await page.fill('#sk-pin', '123');
  check((await text(page, '#sk-pin-hint')).includes('签名口令须为'), 'a short PIN: said as typed');
  check((await page.getAttribute('#sk-pin', 'aria-invalid')) === 'true', 'and the field marked');
  await page.fill('#sk-pin', 'aaaaaaaa');
  check((await text(page, '#sk-pin-hint')).includes('同一字符'), 'a repeated character: said');
  await page.fill('#sk-pin', PIN);
  await page.fill('#sk-pin2', PIN + 'x');
  check((await text(page, '#sk-pin-hint')).includes('不一致'), 'a mismatch: said');
  await page.click('#sk-enrol-submit');
  await page.locator('#sk-enrol-error').waitFor({ state: 'visible', timeout: 10000 });
  check((await call(page, 'GET', '/me/signing-key')).status === 404, 'nothing was sent');

  // Enrolment.
  await page.fill('#sk-pin', PIN);
  await page.fill('#sk-pin2', PIN);
  await page.click('#sk-enrol-submit');
  await page.locator('#sk-enrol-result').waitFor({ state: 'visible', timeout: 20000 });
  check((await text(page, '#sk-enrol-result')).includes('已启用'), 'enrolled: said in Chinese');
  check((await page.inputValue('#sk-pin')) === '' && (await page.inputValue('#sk-pin2')) === '',
    'the PIN is cleared from the form');
  check((await text(page, '#sk-kind')).includes('签名口令'), 'the key kind shown');
  check((await text(page, '#sk-subject')).includes('CN=issuer1'), 'the subject is the account');
  const pem = await page.inputValue('#sk-cert');
  check(pem.includes('BEGIN CERTIFICATE'), 'the certificate shown');
  const root = (await call(page, 'GET', '/system')).body.root_certificate;
  const dir = env('ESEAL_KEYS');
  writeFileSync(join(dir, 'sk.pem'), pem);
  writeFileSync(join(dir, 'root.pem'), root);
  let verified = '';
  try {
    verified = execFileSync('openssl', ['verify', '-vfyopt', 'distid:1234567812345678', '-CAfile',
      join(dir, 'root.pem'), join(dir, 'sk.pem')]).toString();
  } catch (e) {
    verified = String(e.stdout || e);
  }
  check(verified.includes('OK'), `openssl verifies the certificate with the site root (${verified.trim()})`);
  check(await page.locator('#sk-change').isVisible(), 'the PIN change is offered');

  // A second key without the current PIN: the field named, in Chinese.
  await page.fill('#sk-pin', PIN2);
  await page.fill('#sk-pin2', PIN2);
  await page.click('#sk-enrol-submit');
  await page.locator('#sk-enrol-error').waitFor({ state: 'visible', timeout: 10000 });
  const e1 = await text(page, '#sk-enrol-error');
  check(e1.includes('当前签名口令'), `a second key without the current PIN: the Chinese detail (${e1})`);
  check((await page.getAttribute('#sk-old-pin', 'aria-invalid')) === 'true', 'old_pin marked');

  // A wrong current PIN: counted, shown.
  await page.fill('#sk-change-old', 'Wrong-pin-000');
  await page.fill('#sk-change-new', PIN2);
  await page.fill('#sk-change-new2', PIN2);
  await page.click('#sk-change-submit');
  await page.locator('#sk-change-error').waitFor({ state: 'visible', timeout: 20000 });
  const e2 = await text(page, '#sk-change-error');
  check(/口令|PIN/.test(e2) && /[\u4e00-\u9fff]/.test(e2), `a wrong PIN: Chinese (${e2})`);
  await page.waitForFunction(() => (document.getElementById('sk-failures') || {}).textContent.includes('1'),
    null, { timeout: 10000 });
  check(true, 'the wrong PIN is counted on the page');
  await page.fill('#sk-change-old', PIN);
  await page.fill('#sk-change-new', PIN2);
  await page.fill('#sk-change-new2', PIN2);
  await page.click('#sk-change-submit');
  await page.locator('#sk-change-result').waitFor({ state: 'visible', timeout: 20000 });
  check((await text(page, '#sk-change-result')).includes('已修改'), 'the PIN changed');
  await page.waitForFunction(() => (document.getElementById('sk-failures') || {}).textContent.includes('0'),
    null, { timeout: 10000 });
  check(true, 'the count is back to 0');
  await page.screenshot({ path: join(shots, 'signing.png'), fullPage: true });

  // English, and a phone.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(100);
  const over = await page.evaluate(() => document.documentElement.scrollWidth);
  check(over <= 390, `at 390 px: no horizontal overflow (scrollWidth ${over})`);
  await page.screenshot({ path: join(shots, 'signing-phone.png'), fullPage: true });
  const keys = await page.evaluate(() =>
    Array.from(document.querySelectorAll('#outlet *'))
      .map((e) => (e.children.length ? '' : e.textContent || ''))
      .filter((s) => /^(sk|page)_[a-z_]+$/.test(s.trim())));
  check(keys.length === 0, `no untranslated key (${keys})`);
  check(errors.length === 0, `no script errors${errors.length ? ': ' + errors.join('; ') : ''}`);
});
