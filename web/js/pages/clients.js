// Business systems (API clients; business administrators, permission "clients"): registration
// from a certificate request or a certificate issued here, the issued certificate to copy or
// download, disable / enable, and revocation (irreversible: the name typed to confirm, with a
// reason).
import { ApiError, api, enc, page } from '../core/api.js';
import { button, copyButton, dropDownload, el, offerDownload } from '../core/dom.js';
import { confirmDialog } from '../core/dialog.js';
import { checkboxes, checkedValues, errorBox, field, showError, showResult } from '../core/form.js';
import { named, t } from '../core/i18n.js';
import { formatDay, formatTimeZoned, zoneName } from '../core/time.js';
import { pagedTable } from '../core/table.js';

// Business duties on documents only (the server enforces it; administration and audit are
// people's).
const CLIENT_ROLES = ['operator', 'approver', 'reviewer', 'seal_issuer'];
const REASONS = [
  'cessationOfOperation',
  'keyCompromise',
  'superseded',
  'affiliationChanged',
  'privilegeWithdrawn',
  'unspecified',
];

// A PEM request or certificate: which of the two the server is given follows its label; no
// label goes as a request and the server says what is wrong.
const pemKind = (text) =>
  /-----BEGIN (X509 |TRUSTED )?CERTIFICATE-----/.test(text) ? 'certificate' : 'csr';

function clientState(c) {
  if (c.revoked) return t('state_revoked');
  if (c.disabled) return t('state_disabled');
  const now = Date.now();
  if (Date.parse(c.not_after) < now) return t('state_expired');
  if (Date.parse(c.not_before) > now) return t('state_not_yet');
  return t('state_ok');
}

let view = null;

export default {
  id: 'clients',
  permission: 'clients',
  title: 'page_clients',

  mount(root, ctx) {
    const v = { alive: true };
    view = v;

    const form = el('form', null, 'panel', { id: 'client-form', noValidate: true });
    const [nameL, nameI] = field('client-name', 'client_name', {
      maxLength: 32,
      placeholder: 'erp',
      'data-field': 'name',
    });
    const roleSet = el('fieldset', null, null, { id: 'client-roles', 'data-field': 'roles' });
    roleSet.append(el('legend', t('roles')));
    checkboxes(roleSet, 'client-role', CLIENT_ROLES, (r) => named('role_', r), []);
    const [pemL, pemI] = field(
      'client-pem',
      'client_pem',
      {
        rows: 8,
        spellcheck: false,
        placeholder: '-----BEGIN CERTIFICATE REQUEST-----',
        'data-field': 'csr',
      },
      'textarea',
    );
    const [fileL, fileI] = field('client-file', 'client_file', {
      type: 'file',
      accept: '.pem,.csr,.crt,.cer,.req,.txt',
    });
    const [subjL, subjI] = field('client-subject', 'client_subject', {
      maxLength: 512,
      placeholder: '/C=CN/O=单位/CN=erp',
      'data-field': 'subject',
    });
    const [daysL, daysI] = field('client-days', 'client_days', {
      type: 'number',
      min: 1,
      max: 3650,
      'data-field': 'days',
    });
    const formErr = errorBox('client-error');
    const create = el('button', t('register'), null, { id: 'client-create', type: 'submit' });
    form.append(
      el('h2', t('client_new')),
      el('p', t('client_note'), 'note'),
      nameL,
      nameI,
      roleSet,
      pemL,
      pemI,
      fileL,
      fileI,
      subjL,
      subjI,
      daysL,
      daysI,
      formErr,
      create,
    );

    // The issued certificate.
    const certBox = el('div', null, 'panel', { id: 'cert-box' });
    certBox.hidden = true;
    const certClient = el('span', null, null, { id: 'cert-client' });
    const certSerial = el('code', null, 'mono', { id: 'cert-serial' });
    const certPem = el('textarea', null, null, {
      id: 'cert-pem',
      rows: 12,
      readOnly: true,
      spellcheck: false,
    });
    const certStatus = el('span', null, 'note', { id: 'cert-status', role: 'status' });
    const certDownload = el('a', t('download_cert'), 'button secondary', {
      id: 'cert-download',
      href: '#',
    });
    const h = el('h2');
    h.append(el('span', t('cert_pre') + ' '), certClient, el('span', ' ' + t('cert_post')));
    const serialLine = el('p', null, 'note');
    serialLine.append(el('span', t('cert_serial') + ' '), certSerial);
    const noteLine = el('p', t('cert_note'), 'note');
    const certActions = el('div', null, 'actions');
    certActions.append(
      copyButton('cert-copy', () => certPem.value, certPem, certStatus),
      certDownload,
      button(
        t('close'),
        'secondary',
        () => {
          certBox.hidden = true;
          certPem.value = '';
          dropDownload(certDownload);
        },
        { id: 'cert-close' },
      ),
      certStatus,
    );
    certBox.append(h, serialLine, noteLine, certPem, certActions);
    v.certDownload = certDownload;
    const showCert = (client, pem) => {
      certClient.textContent = client.name;
      certSerial.textContent = client.serial;
      certPem.value = pem;
      certStatus.textContent = '';
      offerDownload(certDownload, pem, `${client.name}.crt`);
      certBox.hidden = false;
    };

    const result = el('p', null, 'result', { id: 'clients-result', role: 'status' });
    result.hidden = true;
    const listErr = errorBox('clients-error');

    const actions = (c) => {
      const td = el('span', null, 'row-actions');
      td.append(button(t('act_cert'), 'small secondary act-cert', () => showClientCert(c.name)));
      if (!c.revoked) {
        if (c.disabled)
          td.append(button(t('act_enable'), 'small secondary act-enable', () => act(c, 'enable')));
        else
          td.append(button(t('act_disable'), 'small danger act-disable', () => act(c, 'disable')));
        td.append(button(t('act_revoke'), 'small danger strong act-revoke', () => revoke(c)));
      }
      return td;
    };
    const validity = (c) => {
      const s = el(
        'span',
        t('validity_to', { from: formatDay(c.not_before), to: formatDay(c.not_after) }),
      );
      s.title = t('validity_to', {
        from: formatTimeZoned(c.not_before),
        to: formatTimeZoned(c.not_after),
      });
      return s;
    };
    const nameCell = (c) => {
      const s = el('span', c.name);
      if (c.subject) s.title = c.subject;
      return s;
    };
    const table = pagedTable({
      id: 'clients-table',
      rowKey: (c) => c.name,
      columns: [
        { title: 'col_client', cell: nameCell },
        {
          title: 'col_roles',
          cell: (c) => (c.roles || []).map((r) => named('role_', r)).join(t('list_sep')),
        },
        { title: 'col_serial', cell: (c) => c.serial, cls: 'mono' },
        { title: () => t('col_validity', { zone: zoneName() }), cell: validity },
        {
          title: 'col_state',
          cell: (c) => clientState(c),
          cls: 'state',
        },
        { title: 'col_actions', cell: actions, cls: 'actions-cell' },
      ],
      load: (cursor) => page('/api/v1/clients', { limit: '50' }, cursor),
      onError: (e) => ctx.fail(e, listErr),
    });
    v.table = table;

    async function showClientCert(name) {
      showError(listErr, null);
      try {
        const res = await api('GET', `/api/v1/clients/${enc(name)}`);
        if (v.alive) showCert(res.client, res.certificate);
      } catch (e) {
        ctx.fail(e, listErr);
      }
    }

    async function act(c, action) {
      showError(listErr, null);
      showResult(result, '');
      if (action === 'disable') {
        const ok = await confirmDialog({
          title: t('client_disable_title'),
          object: t('client_object', { name: c.name }),
          body: t('client_disable_body'),
          ok: t('client_disable_ok'),
        });
        if (!ok || !v.alive) return;
      }
      try {
        await api('POST', `/api/v1/clients/${enc(c.name)}/${action}`);
        showResult(result, t(`client_done_${action}`, { name: c.name }));
        await table.reload();
      } catch (e) {
        ctx.fail(e, listErr);
      }
    }

    async function revoke(c) {
      showError(listErr, null);
      showResult(result, '');
      const reason = el('select', null, null, { id: 'revoke-reason' });
      for (const r of REASONS)
        reason.append(el('option', `${t('reason_' + r)} (${r})`, null, { value: r }));
      const extra = el('div', null, 'confirm-extra');
      extra.append(el('label', t('revoke_reason'), null, { htmlFor: 'revoke-reason' }), reason);
      const ok = await confirmDialog({
        title: t('revoke_title'),
        object: t('client_object', { name: c.name }),
        body: t('revoke_body'),
        ok: t('revoke_ok'),
        typeName: c.name,
        extra,
      });
      if (!ok || !v.alive) return;
      try {
        const res = await api('POST', `/api/v1/clients/${enc(c.name)}/revoke`, {
          reason: reason.value,
        });
        if (res.certificate_revoked) showResult(result, t('client_done_revoke', { name: c.name }));
        else showResult(result, t('client_done_revoke_ca', { name: c.name }), true);
        await table.reload();
      } catch (e) {
        ctx.fail(e, listErr);
      }
    }

    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const name = nameI.value.trim();
      const pem = pemI.value.trim();
      const subject = subjI.value.trim();
      const days = daysI.value.trim();
      const roles = checkedValues(roleSet);
      if (!name) return showError(formErr, t('client_name_empty'), null, form);
      if (!roles.length) return showError(formErr, t('client_roles_empty'), null, form);
      if (!pem) return showError(formErr, t('client_pem_empty'), null, form);
      showError(formErr, null, null, form);
      const body = { name, roles };
      body[pemKind(pem)] = pem + '\n';
      if (subject) body.subject = subject;
      if (days) body.days = Number(days);
      create.disabled = true;
      try {
        const res = await api('POST', '/api/v1/clients', body);
        for (const i of [nameI, pemI, subjI, daysI, fileI]) i.value = '';
        for (const b of roleSet.querySelectorAll('input')) b.checked = false;
        showCert(res.client, res.certificate);
        await table.reload();
      } catch (e) {
        if (e instanceof ApiError && e.field === '' && body.csr && e.problems.length)
          e.field = 'csr';
        ctx.fail(e, formErr, null, form);
      } finally {
        create.disabled = false;
      }
    });

    fileI.addEventListener('change', () => {
      const f = fileI.files[0];
      if (!f) return;
      if (f.size > 16384) return showError(formErr, t('file_too_big'));
      const reader = new FileReader();
      reader.onload = () => {
        pemI.value = String(reader.result);
        showError(formErr, null);
      };
      reader.onerror = () => showError(formErr, t('file_unreadable'));
      reader.readAsText(f);
    });

    root.append(form, certBox, result, listErr, table.node);
    table.reload();
  },

  unmount() {
    if (!view) return;
    view.alive = false;
    view.table.destroy();
    dropDownload(view.certDownload);
    view = null;
  },
};
