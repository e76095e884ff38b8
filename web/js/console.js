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

// The page shell after sign-in: a title and a view the pages of later issues fill in.
function showApp(session) {
  $('signin').hidden = true;
  $('app').hidden = false;
  $('nav').hidden = false;
  const who = session && session.user && session.user.name;
  $('who').textContent = who ? String(who) : '';
  $('who').hidden = !who;
  $('view-title').textContent = '欢迎';
}

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

document.addEventListener('DOMContentLoaded', () => {
  setupSignIn();
  $('username').focus();
});
