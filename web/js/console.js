// The eseal console: plain JavaScript, no framework, no external resources.
//
// Every API call goes through api(): JSON in and out, the session cookie (HttpOnly, set by the
// server) sent automatically, and errors turned into ApiError from the server's
// {"error": CODE, "message": TEXT} (docs/http.md). Text from the server is only ever put into
// the page with textContent, never as HTML.
'use strict';

class ApiError extends Error {
  constructor(code, message, status, problems) {
    super(message);
    this.code = code;
    this.status = status;
    // The reasons behind a refusal when the server lists them (the CA's checks of a request).
    this.problems = Array.isArray(problems) ? problems.filter((p) => typeof p === 'string') : [];
  }
}

async function api(method, path, body) {
  const opts = {
    method,
    headers: { Accept: 'application/json' },
    credentials: 'same-origin',
  };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, opts);
  } catch (e) {
    throw new ApiError('network', '无法连接服务器', 0);
  }
  let data = null;
  if ((res.headers.get('Content-Type') || '').startsWith('application/json')) {
    try {
      data = await res.json();
    } catch (e) {
      data = null;
    }
  }
  if (!res.ok) {
    const code = data && typeof data.error === 'string' ? data.error : 'http_' + res.status;
    // The error table's Chinese text, and the detail naming what is at fault (docs/http.md).
    const text = data && (data.message_zh || data.message);
    const detail = data && typeof data.detail === 'string' ? data.detail : '';
    const message =
      typeof text === 'string' ? (detail ? text + '：' + detail : text) : 'HTTP ' + res.status;
    throw new ApiError(code, message, res.status, data && data.problems);
  }
  return data;
}

const $ = (id) => document.getElementById(id);

function showError(el, text) {
  el.textContent = text;
  el.hidden = !text;
}

// The signed-in account ({name, roles, permissions, must_change_password, ...}) and what the
// page remembers across reloads of this tab (only that someone signed in: the token itself is in
// the HttpOnly cookie, out of the script's reach).
let me = null;
const SIGNED_IN = 'eseal.signed_in';

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function can(perm) {
  return !!(me && Array.isArray(me.permissions) && me.permissions.includes(perm));
}

const ROLE_NAMES = {
  system_admin: '系统管理员',
  business_admin: '业务管理员',
  audit_admin: '审计管理员',
  seal_issuer: '制章人员',
  reviewer: '审核人员',
  approver: '审批人员',
  operator: '经办人员',
  seal_keeper: '印章保管员',
};
const roleLabel = (r) => (ROLE_NAMES[r] ? `${ROLE_NAMES[r]} (${r})` : r);
let roleTable = null;

async function roles() {
  if (!roleTable) roleTable = (await api('GET', '/api/v1/roles')).roles;
  return roleTable;
}

// Check boxes for the roles into a fieldset (its legend kept).
async function fillRoles(fieldset, prefix, checked) {
  while (fieldset.children.length > 1) fieldset.removeChild(fieldset.lastChild);
  for (const r of await roles()) {
    const label = el('label');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.value = r.name;
    box.id = `${prefix}-${r.name}`;
    box.checked = !!(checked && checked.includes(r.name));
    label.htmlFor = box.id;
    label.append(box, el('span', roleLabel(r.name)));
    fieldset.appendChild(label);
  }
}

function checkedRoles(fieldset) {
  return Array.from(fieldset.querySelectorAll('input[type=checkbox]'))
    .filter((b) => b.checked)
    .map((b) => b.value);
}

// ---- Shell and navigation.

function signedOut(message) {
  me = null;
  sessionStorage.removeItem(SIGNED_IN);
  $('app').hidden = true;
  $('pwchange').hidden = true;
  $('nav').hidden = true;
  $('who').hidden = true;
  $('signin').hidden = false;
  showError($('signin-error'), message || '');
  $('username').focus();
}

// A failed call: a session that ended goes back to the sign-in form.
function handle(e, errEl) {
  if (e instanceof ApiError && e.status === 401) {
    signedOut('会话已结束，请重新登录');
    return;
  }
  if (e instanceof ApiError && e.code === 'password_change_required') {
    me.must_change_password = true;
    showPasswordChange();
    return;
  }
  showError(errEl, e instanceof ApiError ? e.message : String(e));
}

function showPasswordChange() {
  $('signin').hidden = true;
  $('app').hidden = true;
  $('pwchange').hidden = false;
  showError($('pw-error'), '');
  $('pw-old').focus();
}

const VIEWS = ['users', 'clients', 'audit', 'system'];

// The pages of the roles' permissions (the first is where one lands), then what everyone has.
function buildNav() {
  const nav = $('nav');
  nav.replaceChildren();
  const pages = [];
  if (can('accounts')) pages.push(['users', '用户管理']);
  if (can('clients')) pages.push(['clients', '业务系统']);
  if (can('audit')) pages.push(['audit', '审计日志']);
  for (const [id, text] of [...pages, ['system', '系统信息']]) {
    const b = el('button', text);
    b.type = 'button';
    b.id = `nav-${id}`;
    b.addEventListener('click', () => showPage(id));
    nav.appendChild(b);
  }
  const out = el('button', '退出');
  out.type = 'button';
  out.id = 'nav-signout';
  out.addEventListener('click', signOut);
  nav.appendChild(out);
  nav.hidden = false;
  return pages;
}

function showApp(session) {
  me = session && session.user ? session.user : null;
  if (!me) return signedOut('');
  sessionStorage.setItem(SIGNED_IN, '1');
  $('signin').hidden = true;
  $('who').textContent = `${me.display_name || me.name} (${me.name})`;
  $('who').hidden = false;
  if (me.must_change_password) return showPasswordChange();
  $('pwchange').hidden = true;
  $('app').hidden = false;
  const pages = buildNav();
  if (pages.length) return showPage(pages[0][0]);
  $('view-title').textContent = '欢迎';
  $('welcome').textContent = `角色：${(me.roles || []).map(roleLabel).join('，') || '无'}`;
  $('welcome').hidden = false;
  for (const v of VIEWS) $(`${v}-view`).hidden = true;
}

function showPage(id) {
  for (const b of $('nav').querySelectorAll('button')) {
    if (b.id === `nav-${id}`) b.setAttribute('aria-current', 'page');
    else b.removeAttribute('aria-current');
  }
  $('welcome').hidden = true;
  for (const v of VIEWS) $(`${v}-view`).hidden = v !== id;
  if (id === 'users') {
    $('view-title').textContent = '用户管理';
    loadUsers(true);
    fillRoles($('user-roles'), 'new-role', []).catch((e) => handle(e, $('user-error')));
  } else if (id === 'clients') {
    $('view-title').textContent = '业务系统';
    $('revoke-form').hidden = true;
    revokeTarget = null;
    clientResult('');
    fillClientRoles();
    loadClients(true);
  } else if (id === 'audit') {
    $('view-title').textContent = '审计日志';
    loadAudit(true);
  } else if (id === 'system') {
    $('view-title').textContent = '系统信息';
    loadSystem();
  }
}

async function signOut() {
  try {
    await api('DELETE', '/api/v1/sessions/current');
  } catch (e) {
    // Already ended: nothing to do.
  }
  signedOut('');
}

// ---- Users (system administrators).

let usersCursor = null;

function userRow(u) {
  const tr = el('tr');
  tr.dataset.name = u.name;
  const state = u.disabled
    ? '已禁用'
    : u.locked
      ? '已锁定'
      : u.must_change_password
        ? '待改密码'
        : '正常';
  tr.append(
    el('td', u.name),
    el('td', u.display_name),
    el('td', (u.roles || []).map(roleLabel).join('，')),
    el('td', state),
  );
  const actions = el('td');
  if (u.name !== me.name) {
    const mk = (text, cls, fn) => {
      const b = el('button', text, 'small ' + cls);
      b.type = 'button';
      b.addEventListener('click', fn);
      actions.appendChild(b);
    };
    mk('修改角色', 'act-roles', () => editRoles(u));
    if (u.disabled) mk('启用', 'act-enable', () => userAction(u.name, 'enable'));
    else mk('禁用', 'act-disable', () => userAction(u.name, 'disable'));
    mk('重置密码', 'act-reset', () => userAction(u.name, 'reset-password'));
  }
  tr.appendChild(actions);
  return tr;
}

async function loadUsers(first) {
  const body = $('users-table').tBodies[0];
  showError($('users-error'), '');
  try {
    if (first) usersCursor = null;
    const q = usersCursor ? `?limit=50&cursor=${encodeURIComponent(usersCursor)}` : '?limit=50';
    const page = await api('GET', '/api/v1/users' + q);
    if (first) body.replaceChildren();
    for (const u of page.items) body.appendChild(userRow(u));
    usersCursor = page.next_cursor;
    $('users-more').hidden = !usersCursor;
  } catch (e) {
    handle(e, $('users-error'));
  }
}

function showOnce(name, password) {
  $('otp-user').textContent = name;
  $('otp-value').textContent = password;
  $('otp-box').hidden = false;
}

async function createUser(ev) {
  ev.preventDefault();
  const err = $('user-error');
  const name = $('user-name').value.trim();
  if (!name) return showError(err, '请输入用户名');
  showError(err, '');
  $('user-create').disabled = true;
  try {
    const res = await api('POST', '/api/v1/users', {
      name,
      display_name: $('user-display').value.trim(),
      roles: checkedRoles($('user-roles')),
    });
    $('user-name').value = '';
    $('user-display').value = '';
    for (const b of $('user-roles').querySelectorAll('input')) b.checked = false;
    showOnce(res.user.name, res.one_time_password);
    await loadUsers(true);
  } catch (e) {
    handle(e, err);
  } finally {
    $('user-create').disabled = false;
  }
}

let rolesTarget = null;

async function editRoles(u) {
  rolesTarget = u.name;
  $('roles-user').textContent = u.name;
  showError($('roles-error'), '');
  try {
    await fillRoles($('roles-edit'), 'edit-role', u.roles);
    $('roles-form').hidden = false;
  } catch (e) {
    handle(e, $('users-error'));
  }
}

async function saveRoles(ev) {
  ev.preventDefault();
  try {
    await api('PUT', `/api/v1/users/${encodeURIComponent(rolesTarget)}/roles`, {
      roles: checkedRoles($('roles-edit')),
    });
    $('roles-form').hidden = true;
    await loadUsers(true);
  } catch (e) {
    handle(e, $('roles-error'));
  }
}

async function userAction(name, action) {
  showError($('users-error'), '');
  try {
    const res = await api('POST', `/api/v1/users/${encodeURIComponent(name)}/${action}`);
    if (res && res.one_time_password) showOnce(name, res.one_time_password);
    await loadUsers(true);
  } catch (e) {
    handle(e, $('users-error'));
  }
}

// ---- Files for download and copying (no inline script, no data from elsewhere: a blob URL of
// this page's own making).

const blobUrls = new Map();

function offerDownload(a, text, filename) {
  if (blobUrls.has(a)) URL.revokeObjectURL(blobUrls.get(a));
  const url = URL.createObjectURL(new Blob([text], { type: 'application/x-pem-file' }));
  blobUrls.set(a, url);
  a.href = url;
  a.download = filename;
}

async function copyText(textarea, status) {
  let done = false;
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(textarea.value);
      done = true;
    }
  } catch (e) {
    done = false;
  }
  if (!done) {
    textarea.focus();
    textarea.select();
    try {
      done = document.execCommand('copy');
    } catch (e) {
      done = false;
    }
  }
  status.textContent = done ? '已复制' : '无法访问剪贴板：证书已选中，请按 Ctrl+C 复制';
}

// ---- Business systems (API clients; business administrators).

// The roles a business system may hold: business duties on documents only (the server enforces
// it; administration and audit are people's, in this console).
const CLIENT_ROLES = ['operator', 'approver', 'reviewer', 'seal_issuer'];
let clientsCursor = null;

function fillClientRoles() {
  const fieldset = $('client-roles');
  if (fieldset.querySelector('input')) return;
  for (const r of CLIENT_ROLES) {
    const label = el('label');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.value = r;
    box.id = `client-role-${r}`;
    label.htmlFor = box.id;
    label.append(box, el('span', roleLabel(r)));
    fieldset.appendChild(label);
  }
}

const day = (iso) => (typeof iso === 'string' ? iso.slice(0, 10) : '');

function clientState(c) {
  if (c.revoked) return '已吊销';
  if (c.disabled) return '已禁用';
  const now = Date.now();
  if (Date.parse(c.not_after) < now) return '证书已过期';
  if (Date.parse(c.not_before) > now) return '证书未生效';
  return '正常';
}

function clientRow(c) {
  const tr = el('tr');
  tr.dataset.name = c.name;
  const validity = el('td', `${day(c.not_before)} 至 ${day(c.not_after)}`);
  validity.title = `${c.not_before} – ${c.not_after}`;
  const name = el('td', c.name);
  if (c.subject) name.title = c.subject;
  tr.append(
    name,
    el('td', (c.roles || []).map(roleLabel).join('，')),
    el('td', c.serial, 'mono'),
    validity,
    el('td', clientState(c), c.revoked ? 'state bad' : c.disabled ? 'state off' : 'state'),
  );
  const actions = el('td');
  const mk = (text, cls, fn) => {
    const b = el('button', text, 'small ' + cls);
    b.type = 'button';
    b.addEventListener('click', fn);
    actions.appendChild(b);
  };
  mk('证书', 'act-cert', () => showClientCert(c.name));
  if (!c.revoked) {
    if (c.disabled) mk('启用', 'act-enable', () => clientAction(c.name, 'enable'));
    else mk('禁用', 'act-disable', () => clientAction(c.name, 'disable'));
    mk('吊销', 'act-revoke', () => askRevoke(c.name));
  }
  tr.appendChild(actions);
  return tr;
}

async function loadClients(first) {
  const body = $('clients-table').tBodies[0];
  showError($('clients-error'), '');
  try {
    if (first) clientsCursor = null;
    const q = clientsCursor ? `?limit=50&cursor=${encodeURIComponent(clientsCursor)}` : '?limit=50';
    const page = await api('GET', '/api/v1/clients' + q);
    if (first) body.replaceChildren();
    for (const c of page.items) body.appendChild(clientRow(c));
    clientsCursor = page.next_cursor;
    $('clients-more').hidden = !clientsCursor;
  } catch (e) {
    handle(e, $('clients-error'));
  }
}

function showProblems(list) {
  const ul = $('client-problems');
  ul.replaceChildren(...list.map((p) => el('li', p)));
  ul.hidden = list.length === 0;
}

function showCert(client, pem) {
  $('cert-client').textContent = client.name;
  $('cert-serial').textContent = client.serial;
  $('cert-pem').value = pem;
  $('cert-status').textContent = '';
  offerDownload($('cert-download'), pem, `${client.name}.crt`);
  $('cert-box').hidden = false;
}

// A PEM request or certificate: which of the two the server is given follows its label; no
// label (DER in base64, or anything else) goes as a request and the server says what is wrong.
function pemKind(text) {
  return /-----BEGIN (X509 |TRUSTED )?CERTIFICATE-----/.test(text) ? 'certificate' : 'csr';
}

async function createClient(ev) {
  ev.preventDefault();
  const err = $('client-error');
  const name = $('client-name').value.trim();
  const pem = $('client-pem').value.trim();
  const subject = $('client-subject').value.trim();
  const days = $('client-days').value.trim();
  const roles = checkedRoles($('client-roles'));
  showProblems([]);
  if (!name) return showError(err, '请输入系统名称');
  if (!roles.length) return showError(err, '请至少选择一个角色');
  if (!pem) return showError(err, '请粘贴证书请求（CSR）或证书');
  showError(err, '');
  const body = { name, roles };
  body[pemKind(pem)] = pem + '\n';
  if (subject) body.subject = subject;
  if (days) body.days = Number(days);
  $('client-create').disabled = true;
  try {
    const res = await api('POST', '/api/v1/clients', body);
    for (const id of ['client-name', 'client-pem', 'client-subject', 'client-days', 'client-file'])
      $(id).value = '';
    for (const b of $('client-roles').querySelectorAll('input')) b.checked = false;
    showCert(res.client, res.certificate);
    await loadClients(true);
  } catch (e) {
    handle(e, err);
    if (e instanceof ApiError) showProblems(e.problems);
  } finally {
    $('client-create').disabled = false;
  }
}

async function showClientCert(name) {
  showError($('clients-error'), '');
  try {
    const res = await api('GET', `/api/v1/clients/${encodeURIComponent(name)}`);
    showCert(res.client, res.certificate);
  } catch (e) {
    handle(e, $('clients-error'));
  }
}

function clientResult(text, bad) {
  const out = $('clients-result');
  out.textContent = text;
  out.className = bad ? 'result bad' : 'result';
  out.hidden = !text;
}

async function clientAction(name, action) {
  showError($('clients-error'), '');
  clientResult('');
  try {
    await api('POST', `/api/v1/clients/${encodeURIComponent(name)}/${action}`);
    clientResult(`业务系统 ${name} 已${action === 'enable' ? '启用' : '禁用'}`);
    await loadClients(true);
  } catch (e) {
    handle(e, $('clients-error'));
  }
}

let revokeTarget = null;

function askRevoke(name) {
  revokeTarget = name;
  $('revoke-client').textContent = name;
  $('revoke-reason').value = 'cessationOfOperation';
  showError($('revoke-error'), '');
  $('revoke-form').hidden = false;
  $('revoke-reason').focus();
}

async function confirmRevoke(ev) {
  ev.preventDefault();
  const name = revokeTarget;
  if (!name) return;
  clientResult('');
  $('revoke-confirm').disabled = true;
  try {
    const res = await api('POST', `/api/v1/clients/${encodeURIComponent(name)}/revoke`, {
      reason: $('revoke-reason').value,
    });
    $('revoke-form').hidden = true;
    revokeTarget = null;
    if (res.certificate_revoked) clientResult(`业务系统 ${name} 已吊销，其证书已在 CA 吊销`);
    else clientResult(`业务系统 ${name} 已吊销，但其证书未能在 CA 吊销（见服务日志）`, true);
    await loadClients(true);
  } catch (e) {
    handle(e, $('revoke-error'));
  } finally {
    $('revoke-confirm').disabled = false;
  }
}

function readPemFile() {
  const f = $('client-file').files[0];
  if (!f) return;
  if (f.size > 16384) return showError($('client-error'), '文件过大：证书请求或证书应小于 16 KB');
  const reader = new FileReader();
  reader.onload = () => {
    $('client-pem').value = String(reader.result);
    showError($('client-error'), '');
  };
  reader.onerror = () => showError($('client-error'), '无法读取文件');
  reader.readAsText(f);
}

// ---- About this site (every signed-in user; GET /api/v1/system is public).

const TIER_NAMES = {
  ministry: '部级',
  province: '省级',
  city: '地市级',
  'national-simulator': '全国模拟',
};
const SYSTEM_NAMES = {
  making: '电子印章制作',
  status: '电子印章状态',
  app: '电子印章应用',
  mgmt: '电子印章管理',
  conformance: '符合性检测',
};
const named = (table, v) => (table[v] ? `${table[v]} (${v})` : v);

async function loadSystem() {
  showError($('system-error'), '');
  try {
    const s = await api('GET', '/api/v1/system');
    $('sys-name').textContent = s.name || '';
    $('sys-tier').textContent = s.tier ? named(TIER_NAMES, s.tier) : '';
    $('sys-division').textContent = s.division || '';
    $('sys-systems').textContent = Array.isArray(s.systems)
      ? s.systems.map((x) => named(SYSTEM_NAMES, x)).join('，')
      : '';
    $('sys-url').textContent = s.public_url || '';
    const auth = s.api_auth || {};
    $('sys-auth').textContent = auth.scheme
      ? `${auth.scheme}（SM2 ID ${auth.sm2_id}，时钟偏差不超过 ${auth.clock_skew_seconds} 秒）`
      : '';
    const root = s.root_certificate || '';
    $('sys-root').value = root;
    const file = `${(s.name || 'eseal').replace(/[^A-Za-z0-9_.-]+/g, '_')}-root.crt`;
    offerDownload($('sys-root-download'), root, file);
  } catch (e) {
    handle(e, $('system-error'));
  }
}

// ---- Audit (audit administrators).

let auditCursor = null;

function auditQuery() {
  const q = new URLSearchParams();
  const actor = $('audit-actor').value.trim();
  const action = $('audit-action').value.trim();
  if (actor) q.set('actor', actor);
  if (action) q.set('action', action);
  for (const [id, key] of [
    ['audit-from', 'from'],
    ['audit-to', 'to'],
  ]) {
    const v = $(id).value;
    if (v) q.set(key, String(new Date(v).getTime()));
  }
  return q;
}

async function loadAudit(first) {
  const body = $('audit-table').tBodies[0];
  showError($('audit-error'), '');
  try {
    const q = auditQuery();
    q.set('limit', '100');
    if (first) auditCursor = null;
    if (auditCursor) q.set('cursor', auditCursor);
    const page = await api('GET', '/api/v1/audit?' + q.toString());
    if (first) body.replaceChildren();
    for (const r of page.items) {
      const tr = el('tr');
      const detail = el('td', r.detail, 'detail');
      tr.append(
        el('td', r.seq),
        el('td', r.time),
        el('td', r.actor),
        el('td', r.role),
        el('td', r.action),
        el('td', r.object),
        detail,
      );
      body.appendChild(tr);
    }
    auditCursor = page.next_cursor;
    $('audit-more').hidden = !auditCursor;
  } catch (e) {
    handle(e, $('audit-error'));
  }
}

async function verifyAudit() {
  const out = $('audit-result');
  out.hidden = true;
  showError($('audit-error'), '');
  $('audit-verify').disabled = true;
  try {
    const rep = await api('GET', '/api/v1/audit/verify');
    if (rep.intact) {
      out.textContent = `审计链完整：${rep.records} 条记录，签名全部有效`;
      out.className = 'result ok';
    } else {
      const n = Array.isArray(rep.findings) ? rep.findings.length : 0;
      const first = n ? rep.findings[0].text || '' : '';
      out.textContent = `审计链已被篡改：${n} 处问题。${first}`;
      out.className = 'result bad';
    }
    out.hidden = false;
  } catch (e) {
    handle(e, $('audit-error'));
  } finally {
    $('audit-verify').disabled = false;
  }
}

// ---- Sign-in and password change.

function setupSignIn() {
  const form = $('signin-form');
  const err = $('signin-error');
  const submit = $('signin-submit');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const username = $('username').value.trim();
    const password = $('password').value;
    if (!username || !password) {
      showError(err, '请输入用户名和密码');
      return;
    }
    showError(err, '');
    submit.disabled = true;
    try {
      const session = await api('POST', '/api/v1/sessions', { username, password });
      $('password').value = '';
      showApp(session);
    } catch (e) {
      showError(err, e instanceof ApiError ? e.message : '登录失败');
      $('password').value = '';
      $('password').focus();
    } finally {
      submit.disabled = false;
    }
  });
}

function setupPasswordChange() {
  $('pw-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const err = $('pw-error');
    const oldp = $('pw-old').value;
    const newp = $('pw-new').value;
    if (!oldp || !newp) return showError(err, '请输入当前密码和新密码');
    if (newp !== $('pw-new2').value) return showError(err, '两次输入的新密码不一致');
    showError(err, '');
    $('pw-submit').disabled = true;
    try {
      await api('POST', '/api/v1/users/me/password', { old_password: oldp, new_password: newp });
      for (const id of ['pw-old', 'pw-new', 'pw-new2']) $(id).value = '';
      showApp(await api('GET', '/api/v1/sessions/current'));
    } catch (e) {
      handle(e, err);
    } finally {
      $('pw-submit').disabled = false;
    }
  });
}

document.addEventListener('DOMContentLoaded', () => {
  setupSignIn();
  setupPasswordChange();
  $('user-form').addEventListener('submit', createUser);
  $('users-more').addEventListener('click', () => loadUsers(false));
  $('otp-close').addEventListener('click', () => {
    $('otp-value').textContent = '';
    $('otp-box').hidden = true;
  });
  $('roles-form').addEventListener('submit', saveRoles);
  $('roles-cancel').addEventListener('click', () => {
    $('roles-form').hidden = true;
  });
  $('client-form').addEventListener('submit', createClient);
  $('client-file').addEventListener('change', readPemFile);
  $('clients-more').addEventListener('click', () => loadClients(false));
  $('cert-copy').addEventListener('click', () => copyText($('cert-pem'), $('cert-status')));
  $('cert-close').addEventListener('click', () => {
    $('cert-box').hidden = true;
    $('cert-pem').value = '';
  });
  $('revoke-form').addEventListener('submit', confirmRevoke);
  $('revoke-cancel').addEventListener('click', () => {
    $('revoke-form').hidden = true;
    revokeTarget = null;
  });
  $('audit-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    loadAudit(true);
  });
  $('audit-more').addEventListener('click', () => loadAudit(false));
  $('audit-verify').addEventListener('click', verifyAudit);
  $('username').focus();
  // A reload of a signed-in tab: ask the server whether the session still lives.
  if (sessionStorage.getItem(SIGNED_IN)) {
    api('GET', '/api/v1/sessions/current').then(showApp, () => signedOut(''));
  }
});
