// Seal applications (制作系统, docs/making.md): the list, the form of a new application with its
// fields checked as one types (the rules of making-rules.js, the server's again on saving),
// materials uploaded and previewed, the seal picture, and the decisions — submit (seal issuer),
// review beside the materials (reviewer), execute (seal issuer, confirmed first: it issues a
// certificate and makes a seal) — each with the person's signing PIN.
import { ApiError, api, enc, page } from '../core/api.js';
import { button, el } from '../core/dom.js';
import { confirmDialog } from '../core/dialog.js';
import { errorBox, field, showError, showResult } from '../core/form.js';
import { getLang, named, t } from '../core/i18n.js';
import { formatTimeZoned } from '../core/time.js';
import { pagedTable } from '../core/table.js';
import { RULES } from './making-rules.js';

const KINDS = ['apply', 'change', 'loss', 'cancel', 'renew', 'replace', 'suspend', 'restore'];
const STATES = ['draft', 'submitted', 'approved', 'rejected', 'made', 'delivered'];
// The materials of each kind and the seal types come from the server's tables
// (GET /api/v1/making/tables, LD/T 01.1 Tables 1-6 as configured), never from this file.
const TEXT_FIELDS = [
  'uscc',
  'division',
  'unit_name',
  'agent_name',
  'agent_idno',
  'agent_mobile',
  'unit_address',
  'approver_name',
  'approver_division',
  'seal_name',
];

let view = null;

// A file's bytes sent as the body of a PUT (the API takes raw bytes for materials and pictures).
async function putBytes(path, file, type) {
  const res = await fetch(path, {
    method: 'PUT',
    credentials: 'same-origin',
    headers: { 'Content-Type': type || 'application/octet-stream', Accept: 'application/json' },
    body: file,
  });
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    throw new ApiError(data && data.error ? data.error : 'http_' + res.status, res.status, data);
  }
  return data;
}

export default {
  id: 'applications',
  permission: ['seal_apply', 'seal_review', 'seal_make'],
  title: 'page_applications',

  mount(root, ctx) {
    const v = { alive: true, urls: [] };
    view = v;
    const canApply = ctx.can('seal_apply');
    const zh = () => getLang() !== 'en';
    const tables = api('GET', '/api/v1/making/tables').catch(() => null);
    const materialsOf = async (kind) => {
      const tb = await tables;
      const k = tb && Array.isArray(tb.kinds) ? tb.kinds.find((x) => x.kind === kind) : null;
      return k && Array.isArray(k.materials) ? k.materials : [];
    };
    const titleOf = async (kind, name) => {
      const m = (await materialsOf(kind)).find((x) => x.name === name);
      return m ? (zh() ? m.title_zh : m.title_en) : name;
    };

    // ---- The form of a new application.
    const form = el('form', null, 'panel', { id: 'app-form', noValidate: true });
    const formErr = errorBox('app-error');
    const inputs = {};
    const hints = {};
    const kindSel = el('select', null, null, { id: 'app-kind', 'data-field': 'kind' });
    for (const k of KINDS) kindSel.append(el('option', named('mk_kind_', k), null, { value: k }));
    const scopeSel = el('select', null, null, { id: 'app-scope', 'data-field': 'scope' });
    for (const s of ['industry', 'national'])
      scopeSel.append(el('option', t('mk_scope_' + s), null, { value: s }));
    const carrierSel = el('select', null, null, { id: 'app-carrier', 'data-field': 'carrier' });
    for (const c of ['usbkey', 'server'])
      carrierSel.append(el('option', t('mk_carrier_' + c), null, { value: c }));
    const typeSel = el('select', null, null, { id: 'app-unit_type', 'data-field': 'unit_type' });
    for (const s of ['organ', 'institution'])
      typeSel.append(el('option', t('mk_unit_' + s), null, { value: s }));
    const sealType = el('select', null, null, { id: 'app-seal_type', 'data-field': 'seal_type' });
    tables.then((tb) => {
      for (const st of (tb && tb.seal_types) || [])
        sealType.append(
          el('option', `${st.code} ${zh() ? st.name_zh : st.name_en}`, null, { value: st.code }),
        );
    });
    const [codeL, codeI] = field('app-seal_code', 'mk_seal_code', { 'data-field': 'seal_code' });
    form.append(el('h2', t('mk_new')), el('p', t('mk_new_note'), 'note'));
    form.append(el('label', t('mk_kind'), null, { htmlFor: 'app-kind' }), kindSel, codeL, codeI);
    form.append(el('label', t('mk_scope'), null, { htmlFor: 'app-scope' }), scopeSel);
    form.append(el('label', t('mk_carrier'), null, { htmlFor: 'app-carrier' }), carrierSel);
    form.append(el('label', t('mk_unit_type'), null, { htmlFor: 'app-unit_type' }), typeSel);
    // Division codes (GB/T 2260) are chosen from GET /api/v1/divisions: typed digits look the
    // codes up by prefix, typed words search the names of the provinces and prefectures (and
    // of the counties already seen); a code that is no division is refused before sending.
    const divList = el('datalist', null, null, { id: 'division-list' });
    const divNames = new Map();
    const loadDivs = async (q) => {
      const r = await api('GET', `/api/v1/divisions?${q}`);
      for (const d of (r && r.items) || []) divNames.set(d.code, d.full_name || d.name);
    };
    const divsReady = Promise.all([loadDivs('level=1&limit=100'), loadDivs('level=2&limit=1000')]).catch(
      () => null,
    );
    const fillDivs = async (q) => {
      if (/^[0-9]{1,6}$/.test(q) && q.length >= 2) await loadDivs(`prefix=${enc(q)}&limit=200`).catch(() => null);
      else await divsReady;
      const hits = [];
      for (const [code, name] of divNames) {
        if (hits.length >= 50) break;
        if (/^[0-9]+$/.test(q) ? code.startsWith(q) : !q || name.includes(q)) hits.push([code, name]);
      }
      divList.replaceChildren(...hits.map(([code, name]) => el('option', name, null, { value: code })));
    };
    const divisionOk = async (code) => {
      if (!/^[0-9]{6}$/.test(code)) return false;
      if (!divNames.has(code)) await loadDivs(`prefix=${enc(code)}&limit=1`).catch(() => null);
      return divNames.has(code);
    };
    for (const f of TEXT_FIELDS) {
      const [l, i] = field('app-' + f, 'mk_f_' + f, { 'data-field': f, maxLength: 400 });
      const hint = el('span', null, 'hint', { id: 'app-' + f + '-hint', role: 'status' });
      inputs[f] = i;
      hints[f] = hint;
      if (f === 'division' || f === 'approver_division') {
        i.setAttribute('list', 'division-list');
        i.setAttribute('autocomplete', 'off');
        const name = el('span', null, 'hint ok', { id: 'app-' + f + '-name' });
        i.addEventListener('input', async () => {
          const q = i.value.trim();
          await fillDivs(q);
          name.textContent = divNames.get(q) || '';
        });
        i.addEventListener('focus', () => fillDivs(i.value.trim()));
        form.append(l, i, name, hint);
        continue;
      }
      if (RULES[f])
        i.addEventListener('input', () => {
          const p = i.value ? RULES[f](i.value.trim()) : '';
          hint.textContent = p ? t(p) : '';
          if (p) i.setAttribute('aria-invalid', 'true');
          else i.removeAttribute('aria-invalid');
        });
      form.append(l, i, hint);
    }
    form.append(divList);
    form.append(el('label', t('mk_f_seal_type'), null, { htmlFor: 'app-seal_type' }), sealType);
    const [csrL, csrI] = field(
      'app-csr',
      'mk_f_csr',
      { rows: 6, spellcheck: false, 'data-field': 'csr' },
      'textarea',
    );
    const [pkgL, pkgI] = field(
      'app-package_request',
      'mk_f_package_request',
      { rows: 4, spellcheck: false, 'data-field': 'package_request' },
      'textarea',
    );
    form.append(csrL, csrI, pkgL, pkgI, formErr);
    const carrierOnly = () => {
      const server = carrierSel.value === 'server';
      csrL.hidden = csrI.hidden = server;
      pkgL.hidden = pkgI.hidden = !server;
    };
    carrierSel.addEventListener('change', carrierOnly);
    carrierOnly();
    form.append(el('button', t('mk_create'), null, { id: 'app-create', type: 'submit' }));
    const lifecycleOnly = () => {
      const life = kindSel.value !== 'apply';
      codeL.hidden = codeI.hidden = !life;
    };
    kindSel.addEventListener('change', lifecycleOnly);
    lifecycleOnly();
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const body = { kind: kindSel.value };
      if (kindSel.value !== 'apply') body.seal_code = codeI.value.trim();
      else {
        body.scope = scopeSel.value;
        body.carrier = carrierSel.value;
        body.unit_type = typeSel.value;
        body.seal_type = Number(sealType.value) || 0;
      }
      for (const f of TEXT_FIELDS) if (inputs[f].value.trim()) body[f] = inputs[f].value.trim();
      // A division is one of the list, not free text.
      for (const f of ['division', 'approver_division']) {
        if (!body[f] || (await divisionOk(body[f]))) continue;
        showError(formErr, t('mk_division_unknown'), null, form);
        inputs[f].setAttribute('aria-invalid', 'true');
        hints[f].textContent = t('mk_division_unknown');
        inputs[f].focus();
        return;
      }
      if (carrierSel.value === 'server') {
        if (pkgI.value.trim()) body.package_request = pkgI.value.replace(/\s+/g, '');
      } else if (csrI.value.trim()) body.csr = csrI.value.trim();
      try {
        const r = await api('POST', '/api/v1/applications', body);
        showError(formErr, null, null, form);
        table.reload();
        open(r.application.id);
      } catch (e) {
        ctx.fail(e, formErr, null, form);
      }
    });

    // ---- The list.
    const listErr = errorBox('apps-error');
    const stateSel = el('select', null, null, { id: 'apps-state' });
    stateSel.append(el('option', t('mk_all'), null, { value: '' }));
    for (const s of STATES) stateSel.append(el('option', t('mk_state_' + s), null, { value: s }));
    stateSel.addEventListener('change', () => table.reload());
    const table = pagedTable({
      id: 'apps-table',
      rowKey: (a) => String(a.id),
      columns: [
        { title: 'mk_col_id', cell: (a) => a.id },
        { title: 'mk_kind', cell: (a) => t('mk_kind_' + a.kind) },
        { title: 'mk_f_unit_name', cell: (a) => a.unit_name },
        { title: 'mk_f_seal_name', cell: (a) => a.seal_name },
        { title: 'mk_col_state', cell: (a) => t('mk_state_' + a.state), cls: 'state' },
        {
          title: 'mk_col_open',
          cell: (a) => button(t('mk_open'), 'small secondary act-open', () => open(a.id)),
        },
      ],
      load: (cursor) =>
        page('/api/v1/applications', stateSel.value ? { state: stateSel.value } : {}, cursor),
      onError: (e) => ctx.fail(e, listErr),
    });

    // ---- One application: data beside materials, and the decisions.
    const detail = el('section', null, 'panel', { id: 'app-detail' });
    detail.hidden = true;
    const detailErr = errorBox('app-detail-error');
    const result = el('p', null, 'result', { id: 'app-result', role: 'status' });
    result.hidden = true;

    function dropUrls() {
      for (const u of v.urls) URL.revokeObjectURL(u);
      v.urls = [];
    }

    async function preview(id, m, box) {
      const res = await fetch(`/api/v1/applications/${id}/materials/${enc(m.name)}`, {
        credentials: 'same-origin',
      });
      if (!res.ok) return;
      const url = URL.createObjectURL(await res.blob());
      v.urls.push(url);
      box.replaceChildren();
      if (m.media_type.startsWith('image/'))
        box.append(el('img', null, 'material-preview', { src: url, alt: m.name }));
      else box.append(el('a', t('mk_view_file'), null, { href: url, target: '_blank' }));
    }

    async function decide(id, what, body, confirmFirst) {
      if (confirmFirst) {
        const yes = await confirmDialog({
          title: t('mk_execute_title'),
          object: t('mk_application_n', { id }),
          body: t('mk_execute_body'),
          ok: t('mk_execute'),
        });
        if (!yes) return;
      }
      try {
        await api('POST', `/api/v1/applications/${id}/${what}`, body);
        showResult(result, t('mk_done_' + what));
        table.reload();
        open(id);
      } catch (e) {
        ctx.fail(e, detailErr);
      }
    }

    // Signing with a USBKey (docs/making.md): the canonical bytes of the decision about to be
    // taken are fetched and saved, signed on the person's machine with `eseal decision sign`,
    // and the signature pasted or uploaded; it is sent with the bytes' time instead of a PIN.
    function usbKeyBox(id, step) {
      const box = el('details', null, 'panel usbkey', { id: 'usb-box' });
      box.append(el('summary', t('mk_usb_title')), el('p', t('mk_usb_note'), 'note'));
      const verdict = el('select', null, null, { id: 'usb-verdict' });
      for (const vd of ['approve', 'reject'])
        verdict.append(el('option', t('mk_verdict_' + vd), null, { value: vd }));
      if (step === 'review')
        box.append(el('label', t('mk_verdict'), null, { htmlFor: 'usb-verdict' }), verdict);
      const tbsOut = el('textarea', null, 'mono', {
        id: 'usb-tbs',
        rows: 3,
        readOnly: true,
        spellcheck: false,
      });
      const cmd = el('code', null, 'mono', { id: 'usb-command' });
      const dl = el('a', t('mk_usb_download'), null, { id: 'usb-download' });
      dl.hidden = true;
      tbsOut.hidden = true;
      let fetched = null;
      const fetchBtn = button(t('mk_usb_fetch'), 'secondary', async () => {
        const opinion = document.getElementById('app-opinion');
        const q = { step };
        if (step === 'review') {
          q.verdict = verdict.value;
          q.opinion = opinion ? opinion.value : '';
        }
        const qs = Object.entries(q)
          .map(([k, val]) => `${k}=${enc(val)}`)
          .join('&');
        try {
          const r = await api('GET', `/api/v1/applications/${id}/decision-tbs?${qs}`);
          fetched = { ...q, at: r.at };
          const raw = Uint8Array.from(atob(r.tbs), (c) => c.charCodeAt(0));
          const url = URL.createObjectURL(new Blob([raw], { type: 'application/octet-stream' }));
          v.urls.push(url);
          const file = `decision-${id}-${step}.tbs`;
          dl.href = url;
          dl.download = file;
          dl.hidden = false;
          tbsOut.value = r.tbs;
          tbsOut.hidden = false;
          cmd.textContent = `eseal decision sign --key 'skf:LIB#DEVICE/APPLICATION/CONTAINER' ${file}`;
          showError(detailErr, null);
        } catch (e) {
          ctx.fail(e, detailErr);
        }
      }, { id: 'usb-fetch' });
      const sigIn = el('textarea', null, 'mono', {
        id: 'usb-sig',
        rows: 3,
        spellcheck: false,
        placeholder: t('mk_usb_sig_hint'),
      });
      const sigFile = el('input', null, null, { id: 'usb-sig-file', type: 'file' });
      sigFile.addEventListener('change', async () => {
        if (!sigFile.files.length) return;
        const bytes = new Uint8Array(await sigFile.files[0].arrayBuffer());
        const text = new TextDecoder().decode(bytes).trim();
        // A base64 text file as `eseal decision sign` prints it, or the DER of -o.
        sigIn.value = /^[A-Za-z0-9+/=\s]+$/.test(text)
          ? text.replace(/\s+/g, '')
          : btoa(String.fromCharCode(...bytes));
      });
      const send = button(t('mk_usb_send'), '', async () => {
        if (!fetched || !sigIn.value.trim()) {
          showError(detailErr, t('mk_usb_missing'));
          return;
        }
        const body = { signature: sigIn.value.replace(/\s+/g, ''), at: fetched.at };
        if (step === 'review') {
          body.verdict = fetched.verdict;
          body.opinion = fetched.opinion;
        }
        await decide(id, step, body, step === 'execute');
      }, { id: 'usb-send' });
      box.append(
        fetchBtn,
        dl,
        tbsOut,
        el('p', t('mk_usb_sign'), 'note'),
        cmd,
        el('label', t('mk_usb_sig'), null, { htmlFor: 'usb-sig' }),
        sigIn,
        sigFile,
        send,
      );
      return box;
    }

    async function open(id) {
      dropUrls();
      showError(detailErr, null);
      let r;
      try {
        r = await api('GET', `/api/v1/applications/${id}`);
      } catch (e) {
        ctx.fail(e, listErr);
        return;
      }
      const a = r.application;
      detail.replaceChildren();
      detail.hidden = false;
      detail.dataset.id = String(a.id);
      detail.append(
        el('h2', t('mk_application_n', { id: a.id }) + ' · ' + t('mk_state_' + a.state), null, {
          id: 'app-detail-title',
        }),
      );
      const cols = el('div', null, 'two-col');
      const data = el('dl', null, 'fields', { id: 'app-data' });
      const show = (k, val) => {
        if (val === '' || val === undefined || val === null) return;
        data.append(el('dt', t(k)), el('dd', String(val)));
      };
      show('mk_kind', t('mk_kind_' + a.kind));
      show('mk_seal_code', a.seal_code);
      show('mk_made_code', a.made_code);
      show('mk_scope', t('mk_scope_' + a.scope));
      // National scope: the progress through the upstream link (docs/making.md).
      const up = r.upstream;
      if (up) {
        show('mk_upstream_step', t('mk_step_' + up.step));
        if (up.refusal) show('mk_upstream_refusal', up.refusal);
        const q = up.request;
        if (q && up.step !== 'made') {
          show('mk_upstream_request', `${q.kind} · ${q.state}`);
          show('mk_upstream_attempts', q.attempts);
          if (q.next_at) show('mk_upstream_next_at', formatTimeZoned(q.next_at));
          if (q.last_error) show('mk_upstream_error', q.last_error);
        }
      }
      for (const f of TEXT_FIELDS) show('mk_f_' + f, a[f]);
      show('mk_f_seal_type', a.seal_type);
      show('mk_created_by', a.created_by);
      show('mk_created_at', formatTimeZoned(a.created_at));
      if (a.verdict) show('mk_verdict', t('mk_verdict_' + a.verdict) + ' ' + (a.opinion || ''));
      const mats = el('div', null, 'materials', { id: 'app-materials' });
      mats.append(el('h3', t('mk_materials')));
      for (const m of r.materials) {
        const row = el('div', null, 'material', { 'data-name': m.name });
        const pv = el('div', null, 'material-box');
        row.append(
          el('p', `${await titleOf(a.kind, m.name)} · ${m.media_type} · ${m.size} B`),
          el('p', 'SM3 ' + m.sm3, 'mono note'),
          pv,
        );
        mats.append(row);
        preview(a.id, m, pv);
      }
      cols.append(data, mats);
      detail.append(cols);

      const acts = el('div', null, 'actions', { id: 'app-actions' });
      const [pinL, pinI] = field('app-pin', 'mk_pin', {
        type: 'password',
        autocomplete: 'off',
        'data-field': 'pin',
      });
      const proof = () => ({ pin: pinI.value });
      if (a.state === 'draft' && canApply) {
        const matSel = el('select', null, null, { id: 'mat-name' });
        for (const m of await materialsOf(a.kind))
          matSel.append(
            el('option', (zh() ? m.title_zh : m.title_en) + (m.required ? ' *' : ''), null, {
              value: m.name,
            }),
          );
        const matFile = el('input', null, null, {
          id: 'mat-file',
          type: 'file',
          accept: '.pdf,.ofd,.jpg,.jpeg,.png',
        });
        const up = button(t('mk_upload'), 'secondary', async () => {
          if (!matFile.files.length) return;
          try {
            await putBytes(
              `/api/v1/applications/${a.id}/materials/${enc(matSel.value)}`,
              matFile.files[0],
            );
            open(a.id);
          } catch (e) {
            ctx.fail(e, detailErr);
          }
        }, { id: 'mat-upload' });
        const picFile = el('input', null, null, { id: 'pic-file', type: 'file', accept: '.png' });
        const picW = el('input', null, null, { id: 'pic-w', type: 'number', value: '42' });
        const picH = el('input', null, null, { id: 'pic-h', type: 'number', value: '42' });
        const picUp = button(t('mk_picture_upload'), 'secondary', async () => {
          if (!picFile.files.length) return;
          try {
            await putBytes(
              `/api/v1/applications/${a.id}/picture?width_mm=${enc(picW.value)}&height_mm=${enc(picH.value)}`,
              picFile.files[0],
              'image/png',
            );
            open(a.id);
          } catch (e) {
            ctx.fail(e, detailErr);
          }
        }, { id: 'pic-upload' });
        detail.append(
          el('h3', t('mk_upload_title')),
          matSel,
          matFile,
          up,
          el('h3', t('mk_picture') + (a.has_picture ? ` ✓ ${a.width_mm}×${a.height_mm} mm` : '')),
          picFile,
          el('label', t('mk_width_mm'), null, { htmlFor: 'pic-w' }),
          picW,
          el('label', t('mk_height_mm'), null, { htmlFor: 'pic-h' }),
          picH,
          picUp,
        );
        acts.append(
          button(t('mk_submit'), '', () => decide(a.id, 'submit', proof()), { id: 'app-submit' }),
        );
      }
      if (a.state === 'submitted' && ctx.can('seal_review')) {
        const [opL, opI] = field('app-opinion', 'mk_opinion', { rows: 3 }, 'textarea');
        acts.append(
          opL,
          opI,
          button(
            t('mk_approve'),
            '',
            () => decide(a.id, 'review', { verdict: 'approve', opinion: opI.value, ...proof() }),
            { id: 'app-approve' },
          ),
          button(
            t('mk_reject'),
            'danger',
            () => decide(a.id, 'review', { verdict: 'reject', opinion: opI.value, ...proof() }),
            { id: 'app-reject' },
          ),
        );
      }
      if (a.state === 'approved' && ctx.can('seal_make'))
        acts.append(
          button(t('mk_execute'), 'danger', () => decide(a.id, 'execute', proof(), true), {
            id: 'app-execute',
          }),
        );
      if (acts.childNodes.length) detail.append(pinL, pinI, acts);
      const step =
        a.state === 'draft' && canApply
          ? 'submit'
          : a.state === 'submitted' && ctx.can('seal_review')
            ? 'review'
            : a.state === 'approved' && ctx.can('seal_make')
              ? 'execute'
              : '';
      if (step) detail.append(usbKeyBox(a.id, step));
      detail.append(detailErr, result);
    }
    v.open = open;

    const top = el('div', null, 'toolbar');
    top.append(el('label', t('mk_col_state'), null, { htmlFor: 'apps-state' }), stateSel);
    if (canApply) root.append(form);
    root.append(top, listErr, table.node, detail);
    table.reload();
    v.table = table;
  },

  unmount() {
    if (!view) return;
    view.alive = false;
    for (const u of view.urls) URL.revokeObjectURL(u);
    if (view.table) view.table.destroy();
    view = null;
  },
};
