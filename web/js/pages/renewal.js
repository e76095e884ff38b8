// Online self-service renewal for the holder of a seal (docs/making.md "Self-service
// renewal"): no account, no session. The page explains the two steps on the holder's own
// computer — a request for the token's new key (`eseal key csr`), then the renewal request
// signed with the seal's current key and written to a file (`eseal making renew-request
// --dry-run -o`) — and takes that file (or its text pasted) to POST /api/v1/renewals. The
// server's answer is shown in the viewer's language: the application entered, or the refusal
// with its reason. Reached from the sign-in page; its back button returns there.
import { api } from '../core/api.js';
import { button, el } from '../core/dom.js';
import { errorBox, field, showError, showResult } from '../core/form.js';
import { t } from '../core/i18n.js';

let view = null;

const STEP1 = "eseal key csr --key 'skf:LIB#DEVICE/APPLICATION/NEWKEY' --subject /C=CN/CN=token -o new.csr";
const STEP2 =
  "eseal making renew-request --dry-run -o renewal.json --code 印章编码 --serial 证书序列号 \\\n" +
  "    --key 'skf:LIB#DEVICE/APPLICATION/SEALKEY' --csr new.csr --until 2030-01-01 --contact '联系人 电话'";

// The {request, signature} of the file's text, or null when it is not that JSON.
function bodyOf(text) {
  try {
    const o = JSON.parse(text);
    if (o && typeof o.request === 'string' && typeof o.signature === 'string')
      return { request: o.request, signature: o.signature };
  } catch (e) {
    // not JSON
  }
  return null;
}

export default {
  id: 'renewal',
  permission: null,
  title: 'rn_title',
  card: true,

  // ctx.backToSignIn(): the sign-in page again.
  mount(root, ctx) {
    const v = { alive: true };
    view = v;
    root.append(
      el('p', t('rn_intro'), 'note', { id: 'renewal-intro' }),
      el('p', t('rn_step1'), null),
      el('pre', STEP1, 'mono command', { id: 'renewal-step1' }),
      el('p', t('rn_step2'), null),
      el('pre', STEP2, 'mono command', { id: 'renewal-step2' }),
      el('p', t('rn_step3'), 'note'),
    );
    const [fileL, fileI] = field('renewal-file', 'rn_file', { type: 'file', accept: '.json,application/json' });
    const [textL, textI] = field(
      'renewal-json',
      'rn_paste',
      { rows: 4, spellcheck: false, className: 'mono', 'data-field': 'request' },
      'textarea',
    );
    const err = errorBox('renewal-error');
    const result = el('p', null, 'result', { id: 'renewal-result', role: 'status' });
    result.hidden = true;
    fileI.addEventListener('change', async () => {
      const f = fileI.files && fileI.files[0];
      if (f && f.size <= 128 * 1024) textI.value = await f.text();
    });
    const send = button(
      t('rn_send'),
      '',
      async () => {
        showError(err, null);
        showResult(result, '');
        const body = bodyOf(textI.value.trim());
        if (!body) return showError(err, t('rn_not_request'));
        send.disabled = true;
        try {
          const r = await api('POST', '/api/v1/renewals', body);
          if (!v.alive) return;
          showResult(result, t('rn_done', { id: r.application_id }));
          textI.value = '';
          fileI.value = '';
        } catch (e) {
          if (v.alive) showError(err, e);
        } finally {
          send.disabled = false;
        }
      },
      { id: 'renewal-send' },
    );
    const back = button(t('rn_back'), 'secondary', () => ctx.backToSignIn(), { id: 'renewal-back' });
    const acts = el('div', null, 'actions');
    acts.append(send, back);
    root.append(fileL, fileI, textL, textI, err, result, acts);
  },

  unmount() {
    if (view) view.alive = false;
    view = null;
  },
};
