// The picture workbench (印模制作) against the real esealsd in headless Chromium: the
// administrator creates a seal issuer and a reviewer; the administrator and the reviewer have no
// such page; the issuer draws a standard seal (shown at real size: its CSS width is the
// millimetres at 96 px to the inch, beside a 50 mm ruler; the download is a PNG that `eseal
// picture info` finds 42 mm wide by its pHYs), is refused a diameter of 500 with the reason in
// Chinese and the field marked, then loads a scan the test paints in the page (a red ring of a
// known size on paper-coloured noise crossed by black lines), marks the seal by dragging the
// mouse, enters the measured diameter and gets the picture at 40 mm, the paper transparent.
// The page at 390 px, no untranslated key, no script, CSP or network errors. Run by
// tests/e2e/daemon.sh with "picture", which sets the environment.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { base, check, env, runBrowser, shots } from './harness.mjs';

const ADMIN_PASS = 'Console-Pass-2026!';
const ISSUER_PASS = 'Issuer-Console-2026!';
const REVIEWER_PASS = 'Reviewer-Console-2026!';
const CLI = env('ESEAL_CLI');
const KEYS = env('ESEAL_KEYS');

async function signIn(page, name, pass) {
  await page.locator('#username').waitFor({ state: 'visible', timeout: 10000 });
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

// A call from the page itself (its session cookie): {status, body}.
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

async function newAccount(page, name, role) {
  const r = await call(page, 'POST', '/users', { name, roles: [role] });
  check(r.status === 201 && r.body && r.body.one_time_password, `${role} ${name} created`);
  return r.body.one_time_password;
}

async function signOut(page) {
  await page.click('#nav-signout');
  await page.locator('#username').waitFor({ state: 'visible', timeout: 10000 });
}

// A scan painted in the page: 1200 x 1000 px of paper-coloured noise, black form lines, and a
// red ring 800 px across (outer edge) centred at (600, 500). PNG bytes.
async function paintScan(page) {
  const b64 = await page.evaluate(async () => {
    const c = document.createElement('canvas');
    c.width = 1200;
    c.height = 1000;
    const g = c.getContext('2d');
    const im = g.createImageData(1200, 1000);
    let s = 7;
    for (let i = 0; i < im.data.length; i += 4) {
      s = (s * 1103515245 + 12345) >>> 0;
      const n = ((s >>> 8) % 13) - 6;
      im.data[i] = 236 + n;
      im.data[i + 1] = 229 + n;
      im.data[i + 2] = 212 + n;
      im.data[i + 3] = 255;
    }
    g.putImageData(im, 0, 0);
    g.strokeStyle = '#141414';
    g.lineWidth = 4;
    for (let y = 120; y < 1000; y += 190) {
      g.beginPath();
      g.moveTo(20, y);
      g.lineTo(1180, y);
      g.stroke();
    }
    g.strokeStyle = 'rgb(205, 32, 40)';
    g.lineWidth = 24;
    g.beginPath();
    g.arc(600, 500, 400 - 12, 0, 2 * Math.PI);
    g.stroke();
    g.fillStyle = 'rgb(205, 32, 40)';
    g.fillRect(520, 420, 160, 160);
    const blob = await new Promise((res) => c.toBlob(res, 'image/png'));
    const bytes = new Uint8Array(await blob.arrayBuffer());
    let bin = '';
    for (let i = 0; i < bytes.length; i += 0x8000)
      bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return btoa(bin);
  });
  return Buffer.from(b64, 'base64');
}

// The downloaded picture's size by its pHYs, through `eseal picture info --json`.
async function downloadInfo(page, file) {
  const [dl] = await Promise.all([
    page.waitForEvent('download', { timeout: 10000 }),
    page.click('#pic-download'),
  ]);
  const path = join(KEYS, file);
  writeFileSync(path, readFileSync(await dl.path()));
  const out = execFileSync(CLI, ['picture', 'info', path, '--json'], { encoding: 'utf8' });
  return { name: dl.suggestedFilename(), info: JSON.parse(out) };
}

const near = (a, b, tol) => Math.abs(a - b) <= tol;

await runBrowser({ width: 1280, height: 900 }, async (context, page) => {
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));

  const res = await page.goto(base + '/', { waitUntil: 'load' });
  check(res && res.status() === 200, 'the console loads from esealsd');
  await signIn(page, 'admin', env('ESEAL_ADMIN_OTP'));
  await changePassword(page, env('ESEAL_ADMIN_OTP'), ADMIN_PASS);
  await page.locator('#users-view').waitFor({ state: 'visible', timeout: 10000 });
  check((await page.locator('#nav-picture').count()) === 0, 'the administrator has no picture page');
  const issuerOtp = await newAccount(page, 'issuer1', 'seal_issuer');
  const reviewerOtp = await newAccount(page, 'reviewer1', 'reviewer');
  await signOut(page);

  // The reviewer: no picture page.
  await signIn(page, 'reviewer1', reviewerOtp);
  await changePassword(page, reviewerOtp, REVIEWER_PASS);
  await page.locator('#nav-signout').waitFor({ state: 'attached', timeout: 10000 });
  check((await page.locator('#nav-picture').count()) === 0, 'a reviewer has no picture page');
  await signOut(page);

  // The issuer lands on the applications (印章申请) and has the picture page in the menu.
  await signIn(page, 'issuer1', issuerOtp);
  await changePassword(page, issuerOtp, ISSUER_PASS);
  await page.locator('#nav-picture').waitFor({ state: 'visible', timeout: 10000 });
  await page.click('#nav-picture');
  await page.locator('#picture-view').waitFor({ state: 'visible', timeout: 10000 });
  check((await page.textContent('#view-title')) === '印模制作', 'the issuer sees 印模制作');

  // A standard seal, shown at real size.
  await page.fill('#pic-name', '某某市人力资源和社会保障局');
  await page.fill('#pic-type', '公章');
  await page.fill('#pic-draw-diameter', '42');
  await page.click('#pic-draw-submit');
  await page.locator('#pic-result').waitFor({ state: 'visible', timeout: 20000 });
  await page.waitForFunction(() => document.querySelector('#pic-img').naturalWidth > 0);
  const drawn = await page.evaluate(() => {
    const i = document.querySelector('#pic-img');
    return {
      nw: i.naturalWidth,
      css: i.getBoundingClientRect().width,
      ruler: document.querySelector('#pic-ruler').getBoundingClientRect().width,
      size: document.querySelector('#pic-result-size').textContent,
      source: document.querySelector('#pic-result-source').textContent,
    };
  });
  check(drawn.nw === 992, `the drawn picture is 992 px (${drawn.nw})`);
  check(
    near(drawn.css, (42 * 96) / 25.4, 1),
    `it shows 42 mm wide in CSS millimetres (${drawn.css.toFixed(1)} px)`,
  );
  check(near(drawn.ruler, (50 * 96) / 25.4, 1), `the ruler is 50 mm (${drawn.ruler.toFixed(1)} px)`);
  check(/42\.00|41\.99/.test(drawn.size) && /毫米/.test(drawn.size), `size shown: ${drawn.size}`);
  check(/非实物印模/.test(drawn.source), `labelled as drawn, not an imprint: ${drawn.source}`);
  const d1 = await downloadInfo(page, 'drawn.png');
  check(
    near(d1.info.width_mm, 42, 0.42) && near(d1.info.height_mm, 42, 0.42) && /\.png$/.test(d1.name),
    `the download (${d1.name}) is ${d1.info.width_mm} mm by its pHYs`,
  );
  await page.screenshot({ path: join(shots, 'picture-drawn.png') });

  // A refusal: the reason in Chinese, the field marked.
  await page.fill('#pic-draw-diameter', '500');
  await page.click('#pic-draw-submit');
  await page.locator('#pic-draw-error .msg').waitFor({ state: 'visible', timeout: 10000 });
  const msg = await page.textContent('#pic-draw-error');
  check(
    /[\u4e00-\u9fff]/.test(msg) && /毫米/.test(msg) && /millimetres/.test(msg),
    `a diameter of 500 is refused, the reason in Chinese and English: ${msg}`,
  );
  check(
    (await page.getAttribute('#pic-draw-diameter', 'aria-invalid')) === 'true',
    'the diameter is marked',
  );

  // From a scan: load it, drag a box around the seal, enter the diameter measured.
  const scan = await paintScan(page);
  await page.setInputFiles('#pic-file', { name: 'scan.png', mimeType: 'image/png', buffer: scan });
  await page.locator('#pic-stage').waitFor({ state: 'visible', timeout: 10000 });
  // The whole scan on the screen for the drag.
  await page.setViewportSize({ width: 1280, height: 1800 });
  await page.locator('#pic-canvas').scrollIntoViewIfNeeded();
  const r = await page.locator('#pic-canvas').boundingBox();
  const k = r.width / 1200;
  await page.mouse.move(r.x + 150 * k, r.y + 50 * k);
  await page.mouse.down();
  await page.mouse.move(r.x + 700 * k, r.y + 600 * k, { steps: 5 });
  await page.mouse.move(r.x + 1050 * k, r.y + 950 * k, { steps: 5 });
  await page.mouse.up();
  const box = await page.evaluate(() =>
    ['x', 'y', 'w', 'h'].map((c) => Number(document.querySelector(`#pic-box-${c}`).value)),
  );
  check(
    near(box[0], 150, 4) && near(box[1], 50, 4) && near(box[2], 900, 6) && near(box[3], 900, 6),
    `the box dragged by mouse: ${box}`,
  );
  await page.fill('#pic-scan-diameter', '40');
  await page.click('#pic-scan-submit');
  await page.waitForFunction(
    () => /扫描件/.test(document.querySelector('#pic-result-source').textContent),
    null,
    { timeout: 30000 },
  );
  const scanned = await page.evaluate(() => {
    const i = document.querySelector('#pic-img');
    const c = document.createElement('canvas');
    c.width = i.naturalWidth;
    c.height = i.naturalHeight;
    const g = c.getContext('2d');
    g.drawImage(i, 0, 0);
    const corner = g.getImageData(5, 5, 1, 1).data[3];
    const middle = g.getImageData(c.width >> 1, c.height >> 1, 1, 1).data;
    const ring = g.getImageData(c.width >> 1, 6, 1, 1).data;
    const gap = g.getImageData(c.width >> 1, Math.round(c.height * 0.3), 1, 1).data[3];
    return {
      nw: i.naturalWidth,
      css: i.getBoundingClientRect().width,
      corner,
      gap,
      middle: Array.from(middle),
      ring: Array.from(ring),
    };
  });
  check(scanned.nw === 945, `the scan's picture is 40 mm at 600 dpi: ${scanned.nw} px`);
  check(near(scanned.css, (40 * 96) / 25.4, 1), `shown 40 mm wide (${scanned.css.toFixed(1)} px)`);
  check(
    scanned.corner === 0 && scanned.gap === 0,
    `the paper is transparent (corner ${scanned.corner}, inside ${scanned.gap})`,
  );
  check(
    scanned.ring[3] > 200 && scanned.ring[0] === 0xe6 && scanned.middle[3] > 200,
    `the ink is opaque red (${scanned.ring}, ${scanned.middle})`,
  );
  const d2 = await downloadInfo(page, 'scanned.png');
  check(near(d2.info.width_mm, 40, 0.4), `the scan's download is ${d2.info.width_mm} mm`);
  await page.screenshot({ path: join(shots, 'picture-scan.png') });

  // At 390 px: nothing wider than the screen; no key shown untranslated.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(100);
  const over = await page.evaluate(() => document.documentElement.scrollWidth);
  check(over <= 390, `the picture page at 390 px: no horizontal overflow (${over})`);
  const keys = await page.evaluate(() => {
    const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const out = [];
    for (let n = w.nextNode(); n; n = w.nextNode())
      if (/^(pic|page|err)_[a-z_]+$/.test(n.textContent.trim())) out.push(n.textContent.trim());
    return out;
  });
  check(keys.length === 0, `no untranslated key (${keys})`);
  await page.screenshot({ path: join(shots, 'picture-phone.png'), fullPage: true });
  // The refused drawing (400) is logged by Chromium as a failed resource: expected, nothing else.
  const unexpected = problems.filter(
    (p) => !/status of 400\b.*\/api\/v1\/pictures\/draw\)$/.test(p),
  );
  check(
    unexpected.length === 0 && problems.length === 1,
    `no script, CSP or network errors (${unexpected.join('; ')})`,
  );
});
