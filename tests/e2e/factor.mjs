// The console's sign-in with a second factor (issue 13, item 10) against the real esealsd with
// its defaults ([factors] enforce): the administrator signs in with the one-time password, sets
// a password, and is then held on the enrolment page (nothing else opens); makes the token seed
// (shown once), answers with the code a GM/T 0021 token computes from it (computed here with
// node's SM3, independently of esealsd), and reaches the console. Signed out, the password
// alone is refused with the usual message; the password and the token's next code sign in.
// Run by tests/e2e/daemon.sh ... factor, which sets the environment.
import { createHash } from 'node:crypto';
import { base, check, env, runBrowser } from './harness.mjs';

const PASS = 'Factor-Console-2026!';

// GM/T 0021 with SM3: ID = T (8 bytes big-endian) || 8 zero bytes; the 32-bit words of
// SM3(seed || ID) added mod 2^32; mod 10^6.
function totp(seedHex, stepOffset) {
  const t = BigInt(Math.floor(Date.now() / 1000 / 60) + stepOffset);
  const id = Buffer.alloc(16);
  id.writeBigUInt64BE(t, 0);
  const s = createHash('sm3').update(Buffer.concat([Buffer.from(seedHex, 'hex'), id])).digest();
  let od = 0;
  for (let i = 0; i < 32; i += 4) od = (od + s.readUInt32BE(i)) >>> 0;
  return String(od % 1000000).padStart(6, '0');
}

async function text(page, sel) {
  return (await page.locator(sel).textContent()) || '';
}

await runBrowser({ width: 1280, height: 900 }, async (context, page) => {
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(base + '/');
  await page.locator('#signin-form').waitFor({ state: 'visible', timeout: 10000 });
  check((await page.locator('#signin-otp').count()) === 1, 'the sign-in form has a dynamic-password field');
  await page.fill('#username', 'admin');
  await page.fill('#password', env('ESEAL_ADMIN_OTP'));
  await page.click('#signin-submit');
  await page.locator('#pw-form').waitFor({ state: 'visible', timeout: 10000 });
  await page.fill('#pw-old', env('ESEAL_ADMIN_OTP'));
  await page.fill('#pw-new', PASS);
  await page.fill('#pw-new2', PASS);
  await page.click('#pw-submit');
  await page.locator('#fa-begin').waitFor({ state: 'visible', timeout: 10000 });
  check(true, 'after the password: the second-factor enrolment page');
  check(await page.locator('#nav').isHidden(), 'nothing else is open (no menu)');
  const api = await page.evaluate(async (u) => (await fetch(u, { credentials: 'same-origin' })).status,
    base + '/api/v1/users');
  check(api === 403, `the API refuses the session anything else (${api})`);
  await page.click('#fa-begin');
  await page.locator('#fa-seed-hex').waitFor({ state: 'visible', timeout: 10000 });
  const seed = (await text(page, '#fa-seed-hex')).trim();
  check(/^[0-9a-f]{64}$/.test(seed), 'the seed is shown once (256 bits, hex)');
  await page.fill('#fa-code', '000000');
  await page.click('#fa-submit');
  await page.locator('#fa-error').waitFor({ state: 'visible', timeout: 10000 });
  const faErr = await text(page, '#fa-error');
  check(faErr.includes('动态口令'), `a wrong code: the Chinese message (${faErr})`);
  await page.fill('#fa-code', totp(seed, 0));
  await page.click('#fa-submit');
  await page.locator('#nav-users').waitFor({ state: 'visible', timeout: 10000 });
  check(true, 'the token\'s code finishes the enrolment: the console opens');

  await page.click('#nav-signout');
  await page.locator('#signin-form').waitFor({ state: 'visible', timeout: 10000 });
  const refusal = async (pass) => {
    await page.fill('#username', 'admin');
    await page.fill('#password', pass);
    await page.click('#signin-submit');
    await page.locator('#signin-error').waitFor({ state: 'visible', timeout: 10000 });
    const m = await text(page, '#signin-error');
    await page.evaluate(() => { document.getElementById('signin-error').hidden = true; });
    return m;
  };
  const wrongPass = await refusal('Not-The-Password-1!');
  const noCode = await refusal(PASS);
  check(noCode.includes('身份认证失败') && noCode === wrongPass,
    `the password alone is refused with a wrong password's message (${noCode})`);
  await page.fill('#username', 'admin');
  await page.fill('#password', PASS);
  await page.fill('#signin-otp', totp(seed, 1));
  await page.click('#signin-submit');
  await page.locator('#nav-users').waitFor({ state: 'visible', timeout: 10000 });
  check(true, 'password and the token\'s next code: signed in');
  check(errors.length === 0, `no script errors${errors.length ? ': ' + errors.join('; ') : ''}`);
});
