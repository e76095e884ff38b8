// The console in headless Chromium (playwright-core, Debian's chromium): the sign-in form
// renders with no script or CSP errors, a failed sign-in shows the server's own message, and
// screenshots go to $ESEAL_SHOTS. Run by tests/e2e/run.sh, which sets the environment.
import { join } from 'node:path';
import { base, check, runBrowser, shots } from './harness.mjs';

await runBrowser({ width: 1024, height: 720 }, async (context, page) => {
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

  const res = await page.goto(base + '/', { waitUntil: 'load' });
  check(res && res.status() === 200, 'the console loads (200)');
  const headers = res ? res.headers() : {};
  check((headers['content-security-policy'] || '').includes("default-src 'self'"),
        'the page carries the Content-Security-Policy');
  check(headers['x-frame-options'] === 'DENY', 'the page cannot be framed');
  check((await page.title()) === '电子印章系统', 'the title');

  const form = page.locator('#signin-form');
  await form.waitFor({ state: 'visible', timeout: 5000 });
  check(await page.locator('#username').isVisible(), 'the user name field is shown');
  check((await page.locator('#password').getAttribute('type')) === 'password',
        'the password field hides what is typed');
  check(await page.locator('#signin-submit').isEnabled(), 'the sign-in button is enabled');
  check(await page.locator('#signin-error').isHidden(), 'no error before trying');
  check(await page.locator('#app').isHidden(), 'the page shell waits for a sign-in');
  // The stylesheet applied (the CSP let it in): the card has its white background.
  const bg = await page.locator('#signin').evaluate((el) => getComputedStyle(el).backgroundColor);
  check(bg === 'rgb(255, 255, 255)', `the stylesheet is applied (${bg})`);
  await page.screenshot({ path: join(shots, 'console.png'), fullPage: true });

  // Empty fields: the page says so without asking the server.
  await page.click('#signin-submit');
  await page.locator('#signin-error').waitFor({ state: 'visible', timeout: 5000 });
  check((await page.textContent('#signin-error')) === '请输入用户名和密码',
        'empty fields: a local message');
  check(sessions.length === 0, 'empty fields: no request sent');

  // A failed sign-in: the server's {"error","message"} is what the page shows.
  await page.fill('#username', 'operator');
  await page.fill('#password', 'wrong password');
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/v1/sessions'), { timeout: 5000 }),
    page.click('#signin-submit'),
  ]);
  check(resp.status() === 401, 'the sign-in is refused with 401');
  const body = await resp.json();
  check(body.error === 'unauthorized' && typeof body.message === 'string' &&
          typeof body.message_zh === 'string',
        'the refusal is {"error","message","message_zh",...}');
  // The console shows the table's Chinese text and the detail.
  const shown = body.detail ? body.message_zh + '：' + body.detail : body.message_zh;
  const req = sessions[sessions.length - 1];
  check(req && req.method() === 'POST' &&
          (req.headers()['content-type'] || '').startsWith('application/json'),
        'the form posts JSON');
  check(req && JSON.stringify(req.postDataJSON()) ===
          JSON.stringify({ username: 'operator', password: 'wrong password' }),
        'the body holds exactly the user name and password');
  await page.waitForFunction(
    (m) => document.getElementById('signin-error').textContent === m, shown,
    { timeout: 5000 });
  check(await page.locator('#signin-error').isVisible(), 'the error is shown');
  check((await page.textContent('#signin-error')) === shown,
        `the page shows the server's message (${shown})`);
  check((await page.inputValue('#password')) === '', 'the password field is cleared');
  check(await page.locator('#app').isHidden(), 'still signed out');
  await page.screenshot({ path: join(shots, 'console-error.png'), fullPage: true });

  check(problems.length === 0, `no script, CSP or network errors${problems.length ? ': ' + problems.join('; ') : ''}`);
});
