// Every call to the server: JSON in and out, the session cookie (HttpOnly, set by the server)
// sent automatically, and every error reply turned into an ApiError carrying the server's
// {"error", "message", "message_zh", "field", "detail", "problems"} (docs/http.md). Nothing here
// touches the page.

export class ApiError extends Error {
  constructor(code, status, data) {
    const d = data && typeof data === 'object' ? data : {};
    const str = (v) => (typeof v === 'string' && v ? v : '');
    super(str(d.message) || `HTTP ${status}`);
    this.code = code;
    this.status = status;
    this.message_zh = str(d.message_zh);
    this.field = str(d.field);
    this.detail = str(d.detail);
    this.detail_zh = str(d.detail_zh); // the field's problem in Chinese, where the server gives it
    // The reasons behind a refusal when the server lists them (the CA's checks of a request).
    this.problems = Array.isArray(d.problems)
      ? d.problems.filter((p) => typeof p === 'string')
      : [];
  }
}

// The parsed JSON reply (null when the reply has none). Throws ApiError: 'network' (status 0)
// when the server cannot be reached, the reply's "error" otherwise ('http_<status>' when the
// reply is not the JSON of the contract).
export async function api(method, path, body) {
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
    throw new ApiError('network', 0, null);
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
    throw new ApiError(code, res.status, data);
  }
  return data;
}

// One page of a paged list (GET path?limit=&cursor=): {items, next_cursor}.
export async function page(path, params, cursor) {
  const q = new URLSearchParams(params || {});
  if (cursor) q.set('cursor', cursor);
  const s = q.toString();
  const r = await api('GET', s ? `${path}?${s}` : path);
  return {
    items: r && Array.isArray(r.items) ? r.items : [],
    next_cursor: r && typeof r.next_cursor === 'string' ? r.next_cursor : null,
  };
}

export const enc = encodeURIComponent;
