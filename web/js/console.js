// The eseal console: plain JavaScript, no framework, no external resources.
//
// Every API call goes through api(): JSON in and out, the session cookie (HttpOnly, set by the
// server) sent automatically, and errors turned into ApiError from the server's
// {"error": CODE, "message": TEXT} (docs/http.md). Text from the server is only ever put into
// the page with textContent, never as HTML.
'use strict';

class ApiError extends Error {
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status;
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
    const message = data && typeof data.message === 'string' ? data.message : 'HTTP ' + res.status;
    throw new ApiError(code, message, res.status);
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

function buildNav() {
  const nav = $('nav');
  nav.replaceChildren();
  const pages = [];
  if (can('accounts')) pages.push(['users', '用户管理']);
  if (can('audit')) pages.push(['audit', '审计日志']);
  for (const [id, text] of pages) {
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
  $('users-view').hidden = true;
  $('audit-view').hidden = true;
}

function showPage(id) {
  for (const b of $('nav').querySelectorAll('button')) {
    if (b.id === `nav-${id}`) b.setAttribute('aria-current', 'page');
    else b.removeAttribute('aria-current');
  }
  $('welcome').hidden = true;
  $('users-view').hidden = id !== 'users';
  $('audit-view').hidden = id !== 'audit';
  if (id === 'users') {
    $('view-title').textContent = '用户管理';
    loadUsers(true);
    fillRoles($('user-roles'), 'new-role', []).catch((e) => handle(e, $('user-error')));
  } else if (id === 'audit') {
    $('view-title').textContent = '审计日志';
    loadAudit(true);
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
  const state = u.disabled ? '已禁用' : u.locked ? '已锁定' : u.must_change_password ? '待改密码' : '正常';
  tr.append(el('td', u.name), el('td', u.display_name), el('td', (u.roles || []).map(roleLabel).join('，')),
    el('td', state));
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

// ---- Audit (audit administrators).

let auditCursor = null;

function auditQuery() {
  const q = new URLSearchParams();
  const actor = $('audit-actor').value.trim();
  const action = $('audit-action').value.trim();
  if (actor) q.set('actor', actor);
  if (action) q.set('action', action);
  for (const [id, key] of [['audit-from', 'from'], ['audit-to', 'to']]) {
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
      tr.append(el('td', r.seq), el('td', r.time), el('td', r.actor), el('td', r.role),
        el('td', r.action), el('td', r.object), detail);
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
