// The audit trail (audit administrators, permission "audit"): records filtered by actor, action
// and time (typed and shown in the viewer's zone, named), actions named in the viewer's
// language with their code beside, the chain verified, the selection exported as JSON Lines.
import { api, page } from '../core/api.js';
import { button, el } from '../core/dom.js';
import { errorBox, field, showError, showResult } from '../core/form.js';
import { has, named, t } from '../core/i18n.js';
import { formatTime, formatTimeZoned, localInputToMs, zoneName } from '../core/time.js';
import { pagedTable } from '../core/table.js';

// The action code's name ("新建用户") with the code under it; data-action holds the code.
function actionCell(code) {
  const key = 'action_' + String(code).replace(/\./g, '_');
  const s = el('span', null, 'action', { 'data-action': code });
  s.append(el('span', has(key) ? t(key) : code, 'action-name'));
  if (has(key)) s.append(el('small', code, 'code'));
  return s;
}

let view = null;

export default {
  id: 'audit',
  permission: 'audit',
  title: 'page_audit',

  mount(root, ctx) {
    const v = { alive: true };
    view = v;
    const form = el('form', null, 'panel filters', { id: 'audit-form', noValidate: true });
    const [actorL, actorI] = field('audit-actor', 'audit_actor', { maxLength: 64 });
    const [actionL, actionI] = field('audit-action', 'audit_action', {
      maxLength: 64,
      placeholder: t('audit_action_hint'),
    });
    const [fromL, fromI] = field('audit-from', 'audit_from', { type: 'datetime-local' });
    const [toL, toI] = field('audit-to', 'audit_to', { type: 'datetime-local' });
    const group = (l, i) => {
      const g = el('div', null, 'filter');
      g.append(l, i);
      return g;
    };
    const exportLink = el('a', t('audit_export'), 'button secondary', {
      id: 'audit-export',
      href: '#',
    });
    const buttons = el('div', null, 'actions');
    buttons.append(
      el('button', t('search'), null, { id: 'audit-search', type: 'submit' }),
      button(t('audit_verify'), 'secondary', verify, { id: 'audit-verify' }),
      exportLink,
    );
    form.append(
      group(actorL, actorI),
      group(actionL, actionI),
      group(fromL, fromI),
      group(toL, toI),
      buttons,
    );
    const zoneNote = el('p', t('audit_zone_note', { zone: zoneName() }), 'note', {
      id: 'audit-zone',
    });
    const result = el('p', null, 'result', { id: 'audit-result', role: 'status' });
    result.hidden = true;
    const err = errorBox('audit-error');

    // The filters as query parameters (times in ms since 1970, read in the viewer's zone).
    function query() {
      const q = {};
      const actor = actorI.value.trim();
      const action = actionI.value.trim();
      if (actor) q.actor = actor;
      if (action) q.action = action;
      for (const [input, key] of [
        [fromI, 'from'],
        [toI, 'to'],
      ]) {
        const ms = localInputToMs(input.value);
        if (!Number.isNaN(ms)) q[key] = String(ms);
      }
      return q;
    }
    const updateExport = () => {
      const s = new URLSearchParams(query()).toString();
      exportLink.href = '/api/v1/audit/export' + (s ? '?' + s : '');
      exportLink.download = 'audit.jsonl';
    };

    const timeCell = (r) => {
      const s = el('time', formatTime(r.time), null, { dateTime: r.time || '' });
      s.title = `${formatTimeZoned(r.time)} (${r.time})`;
      return s;
    };
    const table = pagedTable({
      id: 'audit-table',
      columns: [
        { title: 'col_seq', cell: (r) => r.seq },
        { title: () => t('col_time', { zone: zoneName() }), cell: timeCell, cls: 'time' },
        { title: 'col_actor', cell: (r) => r.actor },
        { title: 'col_role', cell: (r) => named('role_', r.role) },
        { title: 'col_action', cell: (r) => actionCell(r.action) },
        { title: 'col_object', cell: (r) => r.object },
        { title: 'col_detail', cell: (r) => r.detail, cls: 'detail' },
      ],
      load: (cursor) => page('/api/v1/audit', { ...query(), limit: '100' }, cursor),
      onError: (e) => ctx.fail(e, err),
    });
    v.table = table;

    async function verify(ev) {
      const b = ev.currentTarget;
      showResult(result, '');
      showError(err, null);
      b.disabled = true;
      try {
        const rep = await api('GET', '/api/v1/audit/verify');
        if (!v.alive) return;
        if (rep.intact) {
          showResult(result, t('audit_intact', { n: rep.records }));
        } else {
          const n = Array.isArray(rep.findings) ? rep.findings.length : 0;
          const first = n ? rep.findings[0].text || '' : '';
          showResult(result, t('audit_broken', { n, first }), true);
        }
      } catch (e) {
        ctx.fail(e, err);
      } finally {
        b.disabled = false;
      }
    }

    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      showError(err, null);
      updateExport();
      table.reload();
    });
    for (const i of [actorI, actionI, fromI, toI]) i.addEventListener('change', updateExport);
    updateExport();
    root.append(form, zoneNote, result, err, table.node);
    table.reload();
  },

  unmount() {
    if (!view) return;
    view.alive = false;
    view.table.destroy();
    view = null;
  },
};
