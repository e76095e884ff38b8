// The seal registry (docs/making.md): search by code, name, credit code and state; one seal with
// its certificate and history (its status events); the seal file to download; delivery (the
// seal issuer, with the signing PIN, confirmed first); and the lifecycle actions, each of which
// starts an application of its kind for this seal (reviewed and executed on the applications
// page). The seal issuer imports other vendors' seals (.esl) into the registry and reads each
// file's outcome (docs/making.md "Import of other vendors' seals").
import { api, enc, page } from '../core/api.js';
import { button, el } from '../core/dom.js';
import { confirmDialog } from '../core/dialog.js';
import { errorBox, field, showError, showResult } from '../core/form.js';
import { t } from '../core/i18n.js';
import { formatDay, formatTimeZoned } from '../core/time.js';
import { pagedTable } from '../core/table.js';

const LIFECYCLE = ['change', 'loss', 'cancel', 'renew', 'replace', 'suspend', 'restore'];
const SEAL_STATES = ['active', 'suspended', 'lost', 'cancelled'];

let view = null;

// The bytes of a File in base64.
async function base64Of(file) {
  const b = new Uint8Array(await file.arrayBuffer());
  let s = '';
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}

// A delivery signed with a USBKey (docs/making.md "Signing with a USBKey"): the bytes of the
// delivery to the recipient typed above are fetched and saved, signed with `eseal decision
// sign` on the issuer's machine, and the signature pasted or uploaded; sent with the bytes'
// time instead of a PIN, after the same confirmation.
function deliverUsbKey(s, toI) {
  const box = el('details', null, 'panel usbkey', { id: 'deliver-usb' });
  box.append(el('summary', t('mk_usb_title')), el('p', t('mk_usb_note'), 'note'));
  const err = errorBox();
  const dl = el('a', t('mk_usb_download'), null, { id: 'deliver-usb-download' });
  const cmd = el('code', null, 'mono', { id: 'deliver-usb-command' });
  dl.hidden = true;
  let fetched = null;
  const fetchBtn = button(
    t('mk_usb_fetch'),
    'secondary',
    async () => {
      try {
        const r = await api(
          'GET',
          `/api/v1/seals/${enc(s.code)}/decision-tbs?to=${enc(toI.value)}`,
        );
        fetched = { to: toI.value, at: r.at };
        const raw = Uint8Array.from(atob(r.tbs), (c) => c.charCodeAt(0));
        const file = `deliver-${s.code}.tbs`;
        dl.href = URL.createObjectURL(new Blob([raw], { type: 'application/octet-stream' }));
        dl.download = file;
        dl.hidden = false;
        cmd.textContent = `eseal decision sign --key 'skf:LIB#DEVICE/APPLICATION/CONTAINER' ${file}`;
        showError(err, null);
      } catch (e) {
        showError(err, e);
      }
    },
    { id: 'deliver-usb-fetch' },
  );
  const sigIn = el('textarea', null, 'mono', {
    id: 'deliver-usb-sig',
    rows: 3,
    spellcheck: false,
    placeholder: t('mk_usb_sig_hint'),
  });
  const send = button(
    t('mk_usb_send'),
    '',
    async () => {
      if (!fetched || !sigIn.value.trim() || fetched.to !== toI.value) {
        showError(err, t('mk_usb_missing'));
        return;
      }
      const yes = await confirmDialog({
        title: t('mk_deliver_title'),
        object: s.code,
        body: t('mk_deliver_body', { to: fetched.to }),
        ok: t('mk_deliver'),
      });
      if (!yes) return;
      try {
        await api('POST', `/api/v1/seals/${enc(s.code)}/deliver`, {
          to: fetched.to,
          signature: sigIn.value.replace(/\s+/g, ''),
          at: fetched.at,
        });
        showResult(err, t('mk_delivered_ok'));
        box.dispatchEvent(new CustomEvent('delivered', { bubbles: true }));
      } catch (e) {
        showError(err, e);
      }
    },
    { id: 'deliver-usb-send' },
  );
  box.append(
    fetchBtn,
    dl,
    el('p', t('mk_usb_sign'), 'note'),
    cmd,
    el('label', t('mk_usb_sig'), null, { htmlFor: 'deliver-usb-sig' }),
    sigIn,
    send,
    err,
  );
  return box;
}

// The import of other vendors' seals: vendor, files, trust roots, the flag, the signing PIN;
// the batch's report as a table.
function importPanel(ctx, onDone) {
  const box = el('section', null, 'panel', { id: 'seal-import' });
  box.append(el('h2', t('mk_import_title')));
  const form = el('form', null, 'toolbar', { id: 'import-form', noValidate: true });
  const [vL, vI] = field('import-vendor', 'mk_import_vendor', { maxLength: 100 });
  const fI = el('input', null, null, { id: 'import-files', type: 'file', multiple: true });
  const rI = el('input', null, null, { id: 'import-roots', type: 'file', multiple: true });
  const uI = el('input', null, null, { id: 'import-unverified', type: 'checkbox' });
  const unverified = el('label', null, 'check', { htmlFor: 'import-unverified' });
  unverified.append(uI, ' ' + t('mk_import_unverified'));
  const [pL, pI] = field('import-pin', 'mk_pin', { type: 'password' });
  form.append(
    vL,
    vI,
    el('label', t('mk_import_files'), null, { htmlFor: 'import-files' }),
    fI,
    el('label', t('mk_import_roots'), null, { htmlFor: 'import-roots' }),
    rI,
    unverified,
    pL,
    pI,
    el('button', t('mk_import_go'), null, { id: 'import-go', type: 'submit' }),
  );
  const err = errorBox('import-error');
  const report = el('div', null, null, { id: 'import-report' });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    report.replaceChildren();
    try {
      const files = [];
      for (const f of fI.files) files.push({ name: f.name, data: await base64Of(f) });
      const roots = [];
      for (const f of rI.files) roots.push(await base64Of(f));
      const r = await api('POST', '/api/v1/seals/imports', {
        vendor: vI.value.trim(),
        files,
        roots,
        allow_unverified: uI.checked,
        pin: pI.value,
      });
      const b = r.import;
      report.append(
        el(
          'p',
          t('mk_import_summary', {
            id: b.id,
            imported: b.imported,
            duplicates: b.duplicates,
            refused: b.refused,
          }),
          'result',
          { id: 'import-summary', role: 'status' },
        ),
      );
      const tb = el('table', null, 'grid', { id: 'import-items' });
      const head = el('tr');
      for (const k of ['mk_import_file', 'mk_import_outcome', 'mk_col_code', 'mk_import_reason'])
        head.append(el('th', t(k)));
      tb.append(head);
      for (const o of b.items) {
        const tr = el('tr', null, 'outcome-' + o.outcome, { 'data-name': o.name });
        tr.append(
          el('td', o.name),
          el('td', t('mk_import_' + o.outcome)),
          el('td', o.code || '', 'mono'),
          el('td', o.message_zh || o.message || ''),
        );
        tb.append(tr);
      }
      report.append(tb);
      onDone();
    } catch (e) {
      ctx.fail(e, err);
    }
  });
  box.append(form, err, report);
  return box;
}

export default {
  id: 'seals',
  permission: ['seal_apply', 'seal_review', 'seal_make'],
  title: 'page_seals',

  mount(root, ctx) {
    const v = { alive: true };
    view = v;
    const search = el('form', null, 'toolbar', { id: 'seal-search', noValidate: true });
    const q = {};
    for (const f of ['code', 'name', 'uscc']) {
      const [l, i] = field('seal-q-' + f, 'mk_q_' + f, { maxLength: 200 });
      q[f] = i;
      search.append(l, i);
    }
    const stateSel = el('select', null, null, { id: 'seal-q-state' });
    stateSel.append(el('option', t('mk_all'), null, { value: '' }));
    for (const s of SEAL_STATES)
      stateSel.append(el('option', t('mk_seal_' + s), null, { value: s }));
    search.append(el('label', t('mk_col_state'), null, { htmlFor: 'seal-q-state' }), stateSel);
    search.append(el('button', t('mk_search'), null, { id: 'seal-search-go', type: 'submit' }));
    search.addEventListener('submit', (ev) => {
      ev.preventDefault();
      table.reload();
    });
    const listErr = errorBox('seals-error');
    const params = () => {
      const p = {};
      for (const f of ['code', 'name', 'uscc']) if (q[f].value.trim()) p[f] = q[f].value.trim();
      if (stateSel.value) p.state = stateSel.value;
      return p;
    };
    const table = pagedTable({
      id: 'seals-table',
      rowKey: (s) => s.code,
      columns: [
        { title: 'mk_col_code', cell: (s) => s.code, cls: 'mono' },
        { title: 'mk_f_seal_name', cell: (s) => s.seal_name },
        { title: 'mk_f_unit_name', cell: (s) => s.unit_name },
        { title: 'mk_col_state', cell: (s) => t('mk_seal_' + s.state), cls: 'state' },
        {
          title: 'mk_col_validity',
          cell: (s) => `${formatDay(s.valid_start)} – ${formatDay(s.valid_end)}`,
        },
        {
          title: 'mk_col_open',
          cell: (s) => button(t('mk_open'), 'small secondary act-open', () => open(s.code)),
        },
      ],
      load: (cursor) => page('/api/v1/seals', params(), cursor),
      onError: (e) => ctx.fail(e, listErr),
    });

    const detail = el('section', null, 'panel', { id: 'seal-detail' });
    detail.hidden = true;
    const detailErr = errorBox('seal-detail-error');
    const result = el('p', null, 'result', { id: 'seal-result', role: 'status' });
    result.hidden = true;

    async function open(code) {
      let r;
      try {
        r = await api('GET', `/api/v1/seals/${enc(code)}`);
      } catch (e) {
        ctx.fail(e, listErr);
        return;
      }
      const s = r.seal;
      detail.replaceChildren();
      detail.hidden = false;
      detail.dataset.code = s.code;
      detail.append(el('h2', `${s.seal_name} · ${s.code}`, null, { id: 'seal-detail-title' }));
      const data = el('dl', null, 'fields', { id: 'seal-data' });
      const row = (k, val) => val && data.append(el('dt', t(k)), el('dd', String(val)));
      row('mk_col_state', t('mk_seal_' + s.state));
      row('mk_f_unit_name', s.unit_name);
      row('mk_f_uscc', s.uscc);
      row('mk_cert_serial', s.cert_serial);
      row('mk_col_validity', `${formatTimeZoned(s.valid_start)} – ${formatTimeZoned(s.valid_end)}`);
      row('mk_made_by', `${s.made_by} · ${formatTimeZoned(s.made_at)}`);
      if (s.source === 'imported')
        row('mk_import_source', `${s.vendor} · ${t(s.verified ? 'mk_import_verified' : 'mk_import_unverified_seal')}`);
      if (s.delivered_at)
        row('mk_delivered', `${s.delivered_to} · ${s.delivered_by} · ${formatTimeZoned(s.delivered_at)}`);
      detail.append(data);
      detail.append(
        el('a', t('mk_download_esl'), 'button secondary', {
          id: 'seal-esl',
          href: `/api/v1/seals/${enc(s.code)}/esl`,
          download: `${s.code}.esl`,
        }),
      );
      if (s.has_package && ctx.can('seal_make'))
        detail.append(
          el('a', t('mk_download_package'), 'button secondary', {
            id: 'seal-package',
            href: `/api/v1/seals/${enc(s.code)}/package`,
            download: `${s.code}.package.der`,
          }),
        );
      const cert = el('textarea', null, 'mono', {
        id: 'seal-cert',
        rows: 6,
        readOnly: true,
        spellcheck: false,
      });
      cert.value = r.certificate || '';
      detail.append(el('h3', t('mk_certificate')), cert);
      const hist = el('ol', null, 'history', { id: 'seal-history' });
      for (const e of r.history)
        hist.append(
          el(
            'li',
            `#${e.seq} ${formatTimeZoned(e.effective_at)} ${t('mk_seal_' + e.state)} · ${e.reason} · ${e.cert_serial}`,
          ),
        );
      detail.append(el('h3', t('mk_history')), hist);

      const acts = el('div', null, 'actions', { id: 'seal-actions' });
      if (ctx.can('seal_make') && s.state === 'active' && !s.delivered_at) {
        const [toL, toI] = field('deliver-to', 'mk_deliver_to', { maxLength: 200 });
        const [pinL, pinI] = field('deliver-pin', 'mk_pin', { type: 'password' });
        acts.append(
          toL,
          toI,
          pinL,
          pinI,
          button(
            t('mk_deliver'),
            '',
            async () => {
              const yes = await confirmDialog({
                title: t('mk_deliver_title'),
                object: s.code,
                body: t('mk_deliver_body', { to: toI.value }),
                ok: t('mk_deliver'),
              });
              if (!yes) return;
              try {
                await api('POST', `/api/v1/seals/${enc(s.code)}/deliver`, {
                  to: toI.value,
                  pin: pinI.value,
                });
                showResult(result, t('mk_delivered_ok'));
                open(s.code);
              } catch (e) {
                ctx.fail(e, detailErr);
              }
            },
            { id: 'seal-deliver' },
          ),
        );
        acts.append(deliverUsbKey(s, toI));
        acts.addEventListener('delivered', () => open(s.code));
      }
      if (ctx.can('seal_apply') && s.state !== 'cancelled' && s.state !== 'lost') {
        const life = el('div', null, 'actions', { id: 'seal-lifecycle' });
        for (const k of LIFECYCLE)
          life.append(
            button(t('mk_kind_' + k), 'small secondary', async () => {
              const yes = await confirmDialog({
                title: t('mk_lifecycle_title', { kind: t('mk_kind_' + k) }),
                object: s.code,
                body: t('mk_lifecycle_body'),
                ok: t('mk_kind_' + k),
              });
              if (!yes) return;
              try {
                const r2 = await api('POST', '/api/v1/applications', {
                  kind: k,
                  seal_code: s.code,
                });
                showResult(
                  result,
                  t('mk_lifecycle_made', { id: r2.application.id, kind: t('mk_kind_' + k) }),
                );
              } catch (e) {
                ctx.fail(e, detailErr);
              }
            }, { id: 'seal-life-' + k }),
          );
        detail.append(el('h3', t('mk_lifecycle')), life);
      }
      detail.append(acts, detailErr, result);
    }

    root.append(search, listErr, table.node, detail);
    if (ctx.can('seal_make')) root.append(importPanel(ctx, () => table.reload()));
    table.reload();
    v.table = table;
  },

  unmount() {
    if (!view) return;
    if (view.table) view.table.destroy();
    view = null;
  },
};
