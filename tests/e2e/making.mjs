// The making system's console pages (web/js/pages/applications.js, seals.js) against the real
// esealsd: a seal issuer enters an application (a wrong citizen ID number is named while
// typing, in Chinese), uploads the materials and the picture and submits with the signing PIN;
// a reviewer sees the materials beside the data and approves; the issuer executes after the
// confirmation dialog; the registry shows the seal with its history, and the delivery is
// recorded after its confirmation; a second seal, reviewed with a USBKey, is delivered by an
// issuer whose key is in a USBKey through the delivery's own box (deliver-usb). Run by tests/e2e/daemon.sh ... making, which sets the
// environment.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { base, check, env, runBrowser } from './harness.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const PASS = 'Making-Console-2026!';
const USER_PASS = 'Making-User-2026!x';
const KEYS = env('ESEAL_KEYS');
const CLI = env('ESEAL_CLI');

const run = (cmd, args) =>
  execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30000 });
const keyFile = join(KEYS, 'token.pem');
run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:SM2', '-out', keyFile]);
const CSR = run(CLI, ['key', 'csr', keyFile, '--subject', '/C=CN/CN=token']);
const PNG = join(HERE, '..', 'data', 'seal.png');
const PDF = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n');

async function call(page, method, path, body) {
  return page.evaluate(
    async ([m, u, b]) => {
      const opts = { method: m, headers: { Accept: 'application/json' }, credentials: 'same-origin' };
      if (b !== null) {
        opts.headers['Content-Type'] = 'application/json';
        opts.body = JSON.stringify(b);
      }
      const r = await fetch(u, opts);
      return { status: r.status, body: await r.json().catch(() => null) };
    },
    [method, path, body === undefined ? null : body],
  );
}

async function signIn(page, name, pass, newPass) {
  await page.locator('#signin-form').waitFor({ state: 'visible', timeout: 10000 });
  await page.fill('#username', name);
  await page.fill('#password', pass);
  await page.click('#signin-submit');
  if (newPass) {
    await page.locator('#pw-form').waitFor({ state: 'visible', timeout: 10000 });
    await page.fill('#pw-old', pass);
    await page.fill('#pw-new', newPass);
    await page.fill('#pw-new2', newPass);
    await page.click('#pw-submit');
  }
  await page.locator('#nav-signout').waitFor({ state: 'visible', timeout: 10000 });
}

const PIN = '135790';

// A decision-taker's signing key under PIN (POST /api/v1/me/signing-key), from the page's session.
async function enrol(page) {
  const r = await call(page, 'POST', '/api/v1/me/signing-key', { pin: PIN });
  return r.status;
}

async function signOut(page) {
  await page.click('#nav-signout');
  await page.locator('#signin-form').waitFor({ state: 'visible', timeout: 10000 });
}

const text = async (page, sel) => ((await page.locator(sel).textContent()) || '').trim();

await runBrowser({ width: 1280, height: 1000 }, async (context, page) => {
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(base + '/');
  await signIn(page, 'admin', env('ESEAL_ADMIN_OTP'), PASS);
  const otp = {};
  for (const [name, roles] of [
    ['issuer', ['seal_issuer']],
    ['reviewer', ['reviewer']],
    ['tokrev', ['reviewer']],
    ['tokiss', ['seal_issuer']],
  ]) {
    const r = await call(page, 'POST', '/api/v1/users', { name, display_name: name, roles });
    otp[name] = r.body && r.body.one_time_password;
    check(r.status === 201, `the administrator creates ${name} (${r.status})`);
  }
  check((await page.locator('#nav-applications').count()) === 0,
    'the administrator has no seal pages in the menu');
  await signOut(page);

  // The issuer: the form, checked as one types.
  await signIn(page, 'issuer', otp.issuer, USER_PASS);
  check((await enrol(page)) === 201, 'the issuer enrols a signing key');
  await page.click('#nav-applications');
  await page.locator('#app-form').waitFor({ state: 'visible', timeout: 10000 });
  await page.fill('#app-agent_idno', '11010519491231002Y');
  const hint = await text(page, '#app-agent_idno-hint');
  check(hint.includes('公民身份号码'), `a wrong citizen ID number is named while typing (${hint})`);
  await page.fill('#app-uscc', '11370306MB2867521X');
  check((await text(page, '#app-uscc-hint')).includes('统一社会信用代码'),
    'a wrong check character of the credit code is named while typing');
  const values = {
    uscc: '11370306MB2867521U',
    division: '350102',
    unit_name: '福州市鼓楼区人力资源和社会保障局',
    agent_name: '张三',
    agent_idno: '11010519491231002X',
    agent_mobile: '13800138000',
    unit_address: '福建省福州市鼓楼区某路1号',
    approver_name: '福州市人力资源和社会保障局',
    approver_division: '350100',
    seal_name: '福州市鼓楼区人力资源和社会保障局',
  };
  // The division is chosen from GET /api/v1/divisions: by name or by the digits of its code.
  await page.fill('#app-division', '福州');
  await page.waitForFunction(() => document.querySelector('#division-list option[value="350100"]'), null, { timeout: 10000 });
  check(true, 'typing 福州 offers 福州市 (350100) in the division list');
  await page.fill('#app-division', '3501');
  await page.waitForFunction(() => document.querySelector('#division-list option[value="350102"]'), null, { timeout: 10000 });
  check(true, 'typing 3501 offers its counties, 鼓楼区 (350102) among them');
  for (const [k, v] of Object.entries(values)) await page.fill('#app-' + k, v);
  await page.waitForFunction(() => (document.getElementById('app-division-name')?.textContent || '').includes('鼓楼区'), null, { timeout: 10000 });
  check(true, 'the chosen division is named (福州市鼓楼区)');
  check((await text(page, '#app-agent_idno-hint')) === '' && (await text(page, '#app-uscc-hint')) === '',
    'corrected fields: no complaint');
  // The server's own check, named in Chinese: a mobile number the form would let through
  // is not possible, so send a division the server does not know.
  await page.fill('#app-division', '990000');
  await page.click('#app-create');
  await page.locator('#app-error').waitFor({ state: 'visible', timeout: 10000 });
  const serverErr = await text(page, '#app-error');
  check(serverErr.includes('行政区划') &&
      (await page.locator('#app-division[aria-invalid=true]').count()) === 1,
    `a division that is not in the list is refused, named in Chinese and marked (${serverErr})`);
  await page.fill('#app-division', '350102');
  await page.fill('#app-csr', CSR);
  await page.click('#app-create');
  await page.locator('#app-detail-title').waitFor({ state: 'visible', timeout: 10000 });
  const title = await text(page, '#app-detail-title');
  check(title.includes('草稿'), `a draft is saved and opened (${title})`);
  check((await text(page, '#app-data')).includes('1101**********002X'),
    'the citizen ID number is shown masked');
  for (const name of ['application_form', 'agent_id_card', 'agent_contact', 'licence']) {
    await page.selectOption('#mat-name', name);
    await page.setInputFiles('#mat-file', { name: `${name}.pdf`, mimeType: 'application/pdf', buffer: PDF });
    await page.click('#mat-upload');
    await page.locator(`#app-materials [data-name="${name}"]`).waitFor({ timeout: 10000 });
  }
  check((await page.locator('#app-materials .material').count()) === 4, 'four materials uploaded');
  await page.setInputFiles('#pic-file', { name: 'seal.png', mimeType: 'image/png', buffer: readFileSync(PNG) });
  await page.fill('#pic-w', '42');
  await page.fill('#pic-h', '42');
  await page.click('#pic-upload');
  await page.waitForFunction(() => (document.body.textContent || '').includes('42×42 mm'), null, { timeout: 10000 });
  check(true, 'the seal picture is stored with its size');
  await page.fill('#app-pin', PIN);
  await page.click('#app-submit');
  await page.waitForFunction(() => (document.getElementById('app-detail-title')?.textContent || '').includes('待审核'), null, { timeout: 10000 });
  check(true, 'submitted: the application waits for review');
  const id = await page.locator('#app-detail').getAttribute('data-id');
  await signOut(page);

  // The reviewer: the materials beside the data, the verdict.
  await signIn(page, 'reviewer', otp.reviewer, USER_PASS);
  check((await enrol(page)) === 201, 'the reviewer enrols a signing key');
  await page.click('#nav-applications');
  check((await page.locator('#app-form').count()) === 0, 'a reviewer has no application form');
  await page.locator(`#apps-table tr[data-name="${id}"] .act-open`).click();
  await page.locator('#app-approve').waitFor({ state: 'visible', timeout: 10000 });
  const opened = await page
    .waitForFunction(() => document.querySelectorAll('#app-materials .material-box a').length === 4,
      null, { timeout: 10000 })
    .then(() => true, () => false);
  check(opened, 'the reviewer can open each material beside the data');
  await page.fill('#app-opinion', '材料齐全，同意');
  await page.fill('#app-pin', PIN);
  await page.click('#app-approve');
  await page.waitForFunction(() => (document.getElementById('app-detail-title')?.textContent || '').includes('已通过'), null, { timeout: 10000 });
  check(true, 'approved');
  await signOut(page);

  // The issuer executes, after the confirmation.
  await signIn(page, 'issuer', USER_PASS);
  await page.click('#nav-applications');
  await page.locator(`#apps-table tr[data-name="${id}"] .act-open`).click();
  await page.locator('#app-execute').waitFor({ state: 'visible', timeout: 10000 });
  await page.fill('#app-pin', PIN);
  await page.click('#app-execute');
  await page.locator('#confirm-dialog').waitFor({ state: 'visible', timeout: 10000 });
  await page.click('#confirm-cancel');
  check((await text(page, '#app-detail-title')).includes('已通过'), 'cancelled confirmation: nothing done');
  await page.click('#app-execute');
  await page.click('#confirm-ok');
  await page.waitForFunction(() => (document.getElementById('app-detail-title')?.textContent || '').includes('已制作'), null, { timeout: 20000 });
  const data = await text(page, '#app-data');
  const code = (data.match(/RS[0-9]{14}/) || [''])[0];
  check(code !== '', `executed: the seal ${code} is made`);

  // The registry: the seal, its history, the delivery.
  await page.click('#nav-seals');
  await page.fill('#seal-q-code', code);
  await page.click('#seal-search-go');
  await page.locator(`#seals-table tr[data-name="${code}"] .act-open`).click();
  await page.locator('#seal-detail-title').waitFor({ state: 'visible', timeout: 10000 });
  check((await page.locator('#seal-history li').count()) === 1, 'the seal\'s history: made');
  check((await page.inputValue('#seal-cert')).includes('BEGIN CERTIFICATE'), 'its certificate is shown');
  await page.fill('#deliver-to', '张三');
  await page.fill('#deliver-pin', PIN);
  await page.click('#seal-deliver');
  await page.click('#confirm-ok');
  await page.waitForFunction(() => (document.getElementById('seal-data')?.textContent || '').includes('张三'), null, { timeout: 10000 });
  check(true, 'the delivery is recorded');

  // Import of other vendors' seals: the seal just made (refused: its code is in this system's
  // own industry code space) and a file that is no seal (refused), each with its reason.
  const eslB64 = await page.evaluate(async (c) => {
    const r = await fetch(`/api/v1/seals/${c}/esl`);
    const b = new Uint8Array(await r.arrayBuffer());
    let s = '';
    for (const x of b) s += String.fromCharCode(x);
    return btoa(s);
  }, code);
  await page.fill('#import-vendor', '旧系统');
  await page.setInputFiles('#import-files', [
    { name: 'made.esl', mimeType: 'application/octet-stream', buffer: Buffer.from(eslB64, 'base64') },
    { name: 'junk.esl', mimeType: 'application/octet-stream', buffer: PDF },
  ]);
  await page.check('#import-unverified');
  await page.fill('#import-pin', PIN);
  await page.click('#import-go');
  await page.locator('#import-summary').waitFor({ state: 'visible', timeout: 20000 });
  const summary = await text(page, '#import-summary');
  check(summary.includes('导入 0 枚') && summary.includes('拒绝 2 个'), `import: both refused (${summary})`);
  const made = await text(page, '#import-items tr[data-name="made.esl"]');
  check(made.includes('拒绝') && made.includes('本系统的行业印章编码空间'), `import: our own seal refused for its code (${made})`);
  const junk = await text(page, '#import-items tr[data-name="junk.esl"]');
  check(junk.includes('拒绝') && junk.includes('不是电子印章'), `import: a file that is no seal refused for its format (${junk})`);
  await page.screenshot({ path: join(env('ESEAL_SHOTS'), 'making-seal.png') });

  // A second application, reviewed by a reviewer whose signing key is in a USBKey
  // (libsoftskf.so): the console gives the bytes to sign and the command, the person signs
  // them with `eseal decision sign --key skf:...` and pastes the signature.
  const app2 = await call(page, 'POST', '/api/v1/applications', {
    kind: 'apply', scope: 'industry', carrier: 'usbkey', unit_type: 'organ', seal_type: 1,
    ...values, seal_name: 'USBKey审核测试章', csr: CSR,
  });
  check(app2.status === 201, `a second application (${app2.status})`);
  const id2 = app2.body.application.id;
  const put = (path, bytes, type) =>
    page.evaluate(
      async ([u, b, tp]) =>
        (await fetch(u, { method: 'PUT', credentials: 'same-origin',
          headers: { 'Content-Type': tp, Accept: 'application/json' },
          body: new Uint8Array(b) })).status,
      [path, Array.from(bytes), type],
    );
  let puts = 0;
  for (const name of ['application_form', 'agent_id_card', 'agent_contact', 'licence'])
    puts += (await put(`/api/v1/applications/${id2}/materials/${name}`, PDF, 'application/pdf')) === 200;
  // Its picture from the picture workbench, put onto the draft there.
  await page.click('#nav-picture');
  await page.locator('#picture-view').waitFor({ state: 'visible', timeout: 10000 });
  await page.fill('#pic-name', 'USBKey审核测试单位');
  await page.fill('#pic-type', '公章');
  await page.fill('#pic-draw-diameter', '40');
  await page.click('#pic-draw-submit');
  await page.locator('#pic-to-app').waitFor({ state: 'visible', timeout: 20000 });
  await page.selectOption('#pic-app', String(id2));
  await page.click('#pic-to-app');
  await page.locator('#pic-to-app-result').waitFor({ state: 'visible', timeout: 10000 });
  const withPic = await call(page, 'GET', `/api/v1/applications/${id2}`);
  check(withPic.body.application.has_picture && withPic.body.application.width_mm === 40,
    `the workbench puts its picture onto the draft (${await text(page, '#pic-to-app-result')})`);
  const sub = await call(page, 'POST', `/api/v1/applications/${id2}/submit`, { pin: PIN });
  check(puts === 4 && sub.status === 200, `... with its materials, submitted (${puts}, ${sub.status})`);
  await signOut(page);

  const SKF = env('ESEAL_SOFTSKF');
  const skfEnv = { ...process.env, SOFTSKF_DIR: join(KEYS, 'skf'), ESEAL_SO_PIN: 'so-pin-87654321', ESEAL_PIN: '12345678' };
  const cli = (args) =>
    execFileSync(CLI, args, { encoding: 'utf8', env: skfEnv, stdio: ['ignore', 'pipe', 'pipe'], timeout: 30000 });
  mkdirSync(skfEnv.SOFTSKF_DIR, { recursive: true });
  const KEY = `skf:${SKF}#TOKEN1/STAFF/TOKREV`;
  cli(['token', 'init', `skf:${SKF}#TOKEN1/STAFF`, '--create-device']);
  cli(['token', 'gen', KEY, '-o', join(KEYS, 'tokrev.pub')]);
  const tokCsr = cli(['key', 'csr', KEY, '--subject', '/C=CN/CN=tokrev']);
  await signIn(page, 'tokrev', otp.tokrev, USER_PASS);
  const enrolled = await call(page, 'POST', '/api/v1/me/signing-key', { csr: tokCsr });
  check(enrolled.status === 201 && enrolled.body.kind === 'token',
    `the reviewer enrols the USBKey's key (${enrolled.status})`);
  await page.click('#nav-applications');
  await page.locator(`#apps-table tr[data-name="${id2}"] .act-open`).click();
  await page.locator('#usb-box').waitFor({ state: 'visible', timeout: 10000 });
  await page.click('#usb-box summary');
  await page.fill('#app-opinion', '材料齐全，USBKey 签名同意');
  await page.selectOption('#usb-verdict', 'approve');
  await page.click('#usb-fetch');
  await page.locator('#usb-tbs').waitFor({ state: 'visible', timeout: 10000 });
  const command = await text(page, '#usb-command');
  check(command.startsWith("eseal decision sign --key 'skf:") && command.endsWith(`decision-${id2}-review.tbs`),
    `the exact command to sign is shown (${command})`);
  check((await page.getAttribute('#usb-download', 'download')) === `decision-${id2}-review.tbs`,
    'the bytes can be saved under that name');
  const tbsFile = join(KEYS, `decision-${id2}-review.tbs`);
  writeFileSync(tbsFile, Buffer.from(await page.inputValue('#usb-tbs'), 'base64'));
  const signature = cli(['decision', 'sign', '--key', KEY, tbsFile]).trim();
  check(signature.length > 60, 'eseal decision sign signs them with the USBKey');
  await page.fill('#usb-sig', signature);
  await page.click('#usb-send');
  await page.waitForFunction(() => (document.getElementById('app-detail-title')?.textContent || '').includes('已通过'), null, { timeout: 10000 });
  check(true, 'approved with the USBKey\'s signature');
  const decs = await call(page, 'GET', `/api/v1/decisions?application=${id2}`);
  check(decs.status === 200 && decs.body.items.some((d) => d.actor === 'tokrev' && d.action === 'application.review'),
    'the review is stored as signed by the reviewer');
  await signOut(page);

  // The issuer executes it; another issuer, whose signing key is in a USBKey, delivers the
  // seal through 印章登记's USBKey box (deliver-usb): the bytes of the delivery to the
  // recipient typed are fetched and saved, signed with `eseal decision sign --key skf:...`,
  // pasted and sent after the confirmation.
  await signIn(page, 'issuer', USER_PASS);
  const ex2 = await call(page, 'POST', `/api/v1/applications/${id2}/execute`, { pin: PIN });
  const code2 = ex2.body && ex2.body.application ? ex2.body.application.made_code : '';
  check(ex2.status === 200 && /^RS[0-9]{14}$/.test(code2), `the second seal is made (${ex2.status} ${code2})`);
  await signOut(page);
  const KEY2 = `skf:${SKF}#TOKEN1/STAFF/TOKISS`;
  cli(['token', 'gen', KEY2, '-o', join(KEYS, 'tokiss.pub')]);
  const issCsr = cli(['key', 'csr', KEY2, '--subject', '/C=CN/CN=tokiss']);
  await signIn(page, 'tokiss', otp.tokiss, USER_PASS);
  const enrolled2 = await call(page, 'POST', '/api/v1/me/signing-key', { csr: issCsr });
  check(enrolled2.status === 201 && enrolled2.body.kind === 'token',
    `the second issuer enrols the USBKey's key (${enrolled2.status})`);
  await page.click('#nav-seals');
  await page.fill('#seal-q-code', code2);
  await page.click('#seal-search-go');
  await page.locator(`#seals-table tr[data-name="${code2}"] .act-open`).click();
  await page.locator('#deliver-usb').waitFor({ state: 'visible', timeout: 10000 });
  await page.fill('#deliver-to', '李四');
  await page.click('#deliver-usb summary');
  // Sent before anything is fetched: the box says what is missing, nothing is done.
  await page.click('#deliver-usb-send');
  check((await page.locator('#confirm-dialog').isVisible()) === false,
    'send before the bytes are fetched and signed: no confirmation, nothing sent');
  await page.click('#deliver-usb-fetch');
  await page.locator('#deliver-usb-download').waitFor({ state: 'visible', timeout: 10000 });
  const dcmd = await text(page, '#deliver-usb-command');
  check(dcmd.startsWith("eseal decision sign --key 'skf:") && dcmd.endsWith(`deliver-${code2}.tbs`),
    `the exact command to sign the delivery is shown (${dcmd})`);
  check((await page.getAttribute('#deliver-usb-download', 'download')) === `deliver-${code2}.tbs`,
    'the delivery\'s bytes can be saved under that name');
  // Saved as a person would: the link's download.
  const dtbs = join(KEYS, `deliver-${code2}.tbs`);
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 10000 }),
    page.click('#deliver-usb-download')]);
  await download.saveAs(dtbs);
  const dtext = readFileSync(dtbs).toString('utf8');
  check(download.suggestedFilename() === `deliver-${code2}.tbs` && dtext.includes(code2) && dtext.includes('李四'),
    `the saved bytes name the seal and the recipient (${download.suggestedFilename()})`);
  const dsig = cli(['decision', 'sign', '--key', KEY2, dtbs]).trim();
  check(dsig.length > 60, 'eseal decision sign signs the delivery with the USBKey');
  await page.fill('#deliver-usb-sig', dsig);
  // The confirmation cancelled: nothing recorded.
  await page.click('#deliver-usb-send');
  await page.locator('#confirm-dialog').waitFor({ state: 'visible', timeout: 10000 });
  await page.click('#confirm-cancel');
  const still = await call(page, 'GET', `/api/v1/seals/${code2}`);
  check(still.status === 200 && !still.body.seal.delivered_at, 'cancelled confirmation: not delivered');
  await page.click('#deliver-usb-send');
  await page.locator('#confirm-dialog').waitFor({ state: 'visible', timeout: 10000 });
  await page.click('#confirm-ok');
  await page.waitForFunction(() => (document.getElementById('seal-data')?.textContent || '').includes('李四'), null, { timeout: 10000 });
  const dlv = await call(page, 'GET', `/api/v1/seals/${code2}`);
  check(dlv.status === 200 && dlv.body.seal.delivered_to === '李四' && dlv.body.seal.delivered_by === 'tokiss',
    `the seal shows as delivered to 李四 by tokiss (${dlv.body && dlv.body.seal && dlv.body.seal.delivered_by})`);
  check((await page.locator('#deliver-usb').count()) === 0, 'the delivery boxes are gone once delivered');
  const ddecs = await call(page, 'GET', '/api/v1/decisions?actor=tokiss');
  check(ddecs.status === 200 && ddecs.body.items.some((d) => d.actor === 'tokiss' && d.action === 'seal.deliver'),
    'the delivery is stored as signed by the second issuer');
  await page.locator('#seal-data').scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(env('ESEAL_SHOTS'), 'making-deliver-usb.png') });

  // The holder renews the first seal online, without an account, through the page reached
  // from the sign-in (pages/renewal.js): the request signed offline with the seal's key
  // (`eseal making renew-request --dry-run -o`), its file chosen and sent.
  const first = await call(page, 'GET', `/api/v1/seals/${code}`);
  const serial1 = first.body.seal.cert_serial;
  await signOut(page);
  const newKey = join(KEYS, 'token2.pem');
  run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:SM2', '-out', newKey]);
  writeFileSync(join(KEYS, 'token2.csr'), run(CLI, ['key', 'csr', newKey, '--subject', '/C=CN/CN=token']));
  const rjson = join(KEYS, 'renewal.json');
  const dry = run(CLI, ['making', 'renew-request', '--dry-run', '-o', rjson, '--code', code, '--serial', serial1,
    '--key', keyFile, '--csr', join(KEYS, 'token2.csr'), '--until', '2040-01-01', '--contact', '张三 13800138000']);
  check(dry.includes('nothing sent'), `the request signed offline (${dry.trim()})`);
  await page.click('#signin-renewal');
  await page.locator('#renewal-intro').waitFor({ state: 'visible', timeout: 10000 });
  check((await text(page, '#view-title')).includes('在线续期') && (await text(page, '#renewal-intro')).includes('续期') && (await text(page, '#renewal-step2')).includes('--dry-run -o renewal.json'),
    'the sign-in page leads to the online renewal, which explains the offline signing in Chinese');
  await page.fill('#renewal-json', '{"not":"a request"}');
  await page.click('#renewal-send');
  await page.locator('#renewal-error').waitFor({ state: 'visible', timeout: 10000 });
  check((await text(page, '#renewal-error')).includes('不是续期申请文件'), 'a text that is no request: named, nothing sent');
  // A request whose signature is not the seal key's: the server's refusal, in Chinese.
  const otherJson = join(KEYS, 'other.json');
  run(CLI, ['making', 'renew-request', '--dry-run', '-o', otherJson, '--code', code, '--serial', serial1,
    '--key', newKey, '--csr', join(KEYS, 'token2.csr'), '--until', '2040-01-01', '--contact', '冒名']);
  const other = JSON.parse(readFileSync(otherJson, 'utf8'));
  await page.fill('#renewal-json', JSON.stringify({ request: other.request, signature: other.signature }));
  await page.click('#renewal-send');
  await page.waitForFunction(() => (document.getElementById('renewal-error')?.textContent || '').includes('签名'), null, { timeout: 10000 });
  check(true, `a request signed with another key: refused, in Chinese (${await text(page, '#renewal-error')})`);
  await page.fill('#renewal-json', '');
  await page.setInputFiles('#renewal-file', rjson);
  await page.waitForFunction(() => (document.getElementById('renewal-json')?.value || '').includes('signature'), null, { timeout: 10000 });
  await page.click('#renewal-send');
  await page.locator('#renewal-result').waitFor({ state: 'visible', timeout: 10000 });
  const rdone = await text(page, '#renewal-result');
  check(rdone.includes('续期申请已提交'), `the file chosen and sent: entered (${rdone})`);
  await page.screenshot({ path: join(env('ESEAL_SHOTS'), 'making-renewal.png') });
  await page.click('#renewal-back');
  await page.locator('#signin-form').waitFor({ state: 'visible', timeout: 10000 });
  await signIn(page, 'reviewer', USER_PASS);
  const apps = await call(page, 'GET', '/api/v1/applications?state=submitted');
  check(apps.status === 200 && apps.body.items.some((a) => a.kind === 'renew' && a.seal_code === code),
    `the reviewer finds the submitted renewal of ${code}`);
  check(errors.length === 0, `no script errors${errors.length ? ': ' + errors.join('; ') : ''}`);
});
