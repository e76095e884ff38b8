// The console in headless Chromium against the test server (e2e_serve: the embedded console
// and a stub sign-in that refuses everyone with the error reply of the contract, message_zh
// included): the sign-in page renders with no script or CSP errors, in Chinese by default with
// Beijing time chosen; a refused sign-in shows the server's Chinese message (its English one in
// English); English is switchable and remembered across a reload; at 390 px nothing overflows.
// Screenshots go to $ESEAL_SHOTS. Run by tests/e2e/run.sh, which sets the environment.
import { join } from 'node:path';
import { base, check, runBrowser, shots } from './harness.mjs';

await runBrowser({ width: 1280, height: 800 }, async (context, page) => {
  const problems = [];
  page.on('console', (m) => {
    // The refused sign-in is meant to fail; Chromium logs it as a failed resource.
    if (m.type() === 'error' && !(m.location().url || '').endsWith('/api/v1/sessions'))
      problems.push(`console: ${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
  const sessions = [];
  page.on('request', (r) => {
    if (r.url().endsWith('/api/v1/sessions')) sessions.push(r);
  });
  const text = (sel) => page.textContent(sel);
  const overflow = () =>
    page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);

  const res = await page.goto(base + '/', { waitUntil: 'load' });
  check(res && res.status() === 200, 'the console loads (200)');
  const headers = res ? res.headers() : {};
  check(
    (headers['content-security-policy'] || '').includes("default-src 'self'"),
    'the page carries the Content-Security-Policy',
  );
  check(headers['x-frame-options'] === 'DENY', 'the page cannot be framed');

  const form = page.locator('#signin-form');
  await form.waitFor({ state: 'visible', timeout: 5000 });
  check(
    (await page.title()) === '登录 · 电子印章系统',
    `the title, in Chinese (${await page.title()})`,
  );
  check(
    (await page.getAttribute('html', 'lang')) === 'zh-CN' &&
      (await text('label[for=username]')) === '用户名' &&
      (await text('#signin-submit')) === '登录' &&
      (await text('#lang-switch')) === 'English',
    'Chinese by default (labels, button; the switch offers English)',
  );
  check(
    (await page.inputValue('#zone-select')) === 'Asia/Shanghai' &&
      (await page.locator('#zone-select option:checked').textContent()) === '北京时间',
    'times in Beijing time by default, named',
  );
  check(await page.locator('#username').isVisible(), 'the user name field is shown');
  check(
    (await page.locator('#password').getAttribute('type')) === 'password',
    'the password field hides what is typed',
  );
  check(await page.locator('#signin-error').isHidden(), 'no error before trying');
  check(
    (await page.locator('#nav').isHidden()) && (await page.locator('#nav-toggle').isHidden()),
    'no menu before a sign-in',
  );
  const bg = await page.locator('#signin').evaluate((el) => getComputedStyle(el).backgroundColor);
  check(bg === 'rgb(255, 255, 255)', `the stylesheet is applied (${bg})`);
  await page.screenshot({ path: join(shots, 'console.png'), fullPage: true });

  // The two tables have the same keys, every string non-empty.
  const tables = await page.evaluate(async () => [
    (await import('/js/core/i18n-zh.js')).zh,
    (await import('/js/core/i18n-en.js')).en,
  ]);
  const zhKeys = Object.keys(tables[0]).sort();
  const enKeys = Object.keys(tables[1]).sort();
  const onlyOne = zhKeys
    .filter((k) => !(k in tables[1]))
    .concat(enKeys.filter((k) => !(k in tables[0])));
  check(
    zhKeys.length > 200 &&
      onlyOne.length === 0 &&
      // Text around a name may be empty in one language ("业务系统 X 的证书").
      [...Object.entries(tables[0]), ...Object.entries(tables[1])].every(
        ([k, v]) => typeof v === 'string' && (v.length > 0 || /_(pre|post)$/.test(k)),
      ),
    `Chinese and English have the same ${zhKeys.length} keys${onlyOne.length ? ': ' + onlyOne : ''}`,
  );

  // Empty fields: the page says so without asking the server.
  await page.click('#signin-submit');
  await page.locator('#signin-error').waitFor({ state: 'visible', timeout: 5000 });
  check(
    (await text('#signin-error .msg')) === '请输入用户名和密码',
    'empty fields: a local message',
  );
  check(sessions.length === 0, 'empty fields: no request sent');

  // A failed sign-in: the server's Chinese message is what the page shows.
  async function refused() {
    await page.fill('#username', 'operator');
    await page.fill('#password', 'wrong password');
    const [resp] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/v1/sessions'), { timeout: 5000 }),
      page.click('#signin-submit'),
    ]);
    return resp;
  }
  const resp = await refused();
  check(resp.status() === 401, 'the sign-in is refused with 401');
  const body = await resp.json();
  check(
    body.error === 'unauthorized' &&
      typeof body.message === 'string' &&
      typeof body.message_zh === 'string',
    'the refusal is {"error","message","message_zh"}',
  );
  const req = sessions[sessions.length - 1];
  check(
    req &&
      req.method() === 'POST' &&
      (req.headers()['content-type'] || '').startsWith('application/json') &&
      JSON.stringify(req.postDataJSON()) ===
        JSON.stringify({ username: 'operator', password: 'wrong password' }),
    'the form posts JSON with exactly the user name and password',
  );
  await page.waitForFunction(
    (m) => (document.querySelector('#signin-error .msg') || {}).textContent === m,
    body.message_zh,
    { timeout: 5000 },
  );
  check(
    (await text('#signin-error .msg')) === body.message_zh,
    `the page shows the server's Chinese message (${body.message_zh})`,
  );
  check((await page.inputValue('#password')) === '', 'the password field is cleared');
  check(await page.locator('#nav').isHidden(), 'still signed out');
  await page.screenshot({ path: join(shots, 'console-error.png'), fullPage: true });

  // English, switched and remembered.
  await page.click('#lang-switch');
  await page.waitForFunction(() => document.documentElement.lang === 'en', null, { timeout: 5000 });
  check(
    (await text('label[for=username]')) === 'User name' &&
      (await text('#signin-submit')) === 'Sign in' &&
      (await text('#lang-switch')) === '中文' &&
      (await page.title()) === 'Sign in · Electronic Seal System' &&
      (await page.locator('#zone-select option:checked').textContent()) === 'Beijing time',
    'switched to English: the strings change',
  );
  await refused();
  await page.waitForFunction(
    (m) => (document.querySelector('#signin-error .msg') || {}).textContent === m,
    body.message,
    { timeout: 5000 },
  );
  check(true, `in English the server's English message is shown (${body.message})`);
  await page.reload({ waitUntil: 'load' });
  await form.waitFor({ state: 'visible', timeout: 5000 });
  check(
    (await text('#signin-submit')) === 'Sign in' &&
      (await page.getAttribute('html', 'lang')) === 'en',
    'English is remembered across a reload',
  );

  // A phone: 390 px wide, nothing wider than the screen, in both languages.
  await page.setViewportSize({ width: 390, height: 844 });
  check((await overflow()) <= 0, `390 px, English: no horizontal overflow (${await overflow()})`);
  await page.screenshot({ path: join(shots, 'console-phone-en.png'), fullPage: true });
  await page.click('#lang-switch');
  await page.waitForFunction(() => document.documentElement.lang === 'zh-CN', null, {
    timeout: 5000,
  });
  check((await text('#signin-submit')) === '登录', 'and back to Chinese');
  await refused();
  await page.locator('#signin-error .msg').waitFor({ timeout: 5000 });
  const box = await page.locator('#signin-form').boundingBox();
  check(
    (await overflow()) <= 0 && box && box.x >= 0 && box.x + box.width <= 390,
    `390 px, Chinese, with an error: no horizontal overflow, the form fits (${await overflow()})`,
  );
  await page.screenshot({ path: join(shots, 'console-phone.png'), fullPage: true });

  check(
    problems.length === 0,
    `no script, CSP or network errors${problems.length ? ': ' + problems.join('; ') : ''}`,
  );
});
