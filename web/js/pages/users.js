// Users (system administrators, permission "accounts"; audit administrators, "audit_accounts",
// for audit administrators' accounts: the server decides which): the list, a new user with roles and its
// one-time password shown once (with a copy button), roles changed, disable / enable and a
// password reset, each of the destructive ones after a confirmation naming the user.
import { api, enc, page } from '../core/api.js';
import { button, copyButton, el } from '../core/dom.js';
import { confirmDialog } from '../core/dialog.js';
import { checkboxes, checkedValues, errorBox, field, showError, showResult } from '../core/form.js';
import { named, t } from '../core/i18n.js';
import { pagedTable } from '../core/table.js';

let view = null;

function userState(u) {
  if (u.disabled) return t('state_disabled');
  if (u.locked) return t('state_locked');
  if (u.must_change_password) return t('state_must_change');
  return t('state_ok');
}

export default {
  id: 'users',
  permission: ['accounts', 'audit_accounts'],
  title: 'page_users',

  mount(root, ctx) {
    const v = { alive: true };
    view = v;
    const roleList = (roles) => (roles || []).map((r) => named('role_', r)).join(t('list_sep'));
    let roleNames = null;
    const allRoles = async () => {
      if (!roleNames)
        roleNames = ((await api('GET', '/api/v1/roles')).roles || []).map((r) => r.name);
      return roleNames;
    };

    // New user.
    const form = el('form', null, 'panel', { id: 'user-form', noValidate: true });
    const [nameL, nameI] = field('user-name', 'username', { maxLength: 32, 'data-field': 'name' });
    const [dispL, dispI] = field('user-display', 'display_name', {
      maxLength: 128,
      'data-field': 'display_name',
    });
    const roleSet = el('fieldset', null, null, { id: 'user-roles', 'data-field': 'roles' });
    roleSet.append(el('legend', t('roles')));
    const formErr = errorBox('user-error');
    const create = el('button', t('create'), null, { id: 'user-create', type: 'submit' });
    form.append(el('h2', t('user_new')), nameL, nameI, dispL, dispI, roleSet, formErr, create);

    // The one-time password, shown once.
    const otpBox = el('div', null, 'panel otp', { id: 'otp-box', role: 'status' });
    otpBox.hidden = true;
    const otpUser = el('strong', null, null, { id: 'otp-user' });
    const otpValue = el('code', null, null, { id: 'otp-value' });
    const otpStatus = el('span', null, 'note', { id: 'otp-status', role: 'status' });
    const otpLine = el('p');
    otpLine.append(el('span', t('otp_pre') + ' '), otpUser, el('span', ' ' + t('otp_post')));
    const otpActions = el('div', null, 'actions');
    otpActions.append(
      copyButton('otp-copy', () => otpValue.textContent, otpValue, otpStatus),
      button(
        t('otp_done'),
        'secondary',
        () => {
          otpValue.textContent = '';
          otpStatus.textContent = '';
          otpBox.hidden = true;
        },
        { id: 'otp-close' },
      ),
      otpStatus,
    );
    const otpP = el('p');
    otpP.append(otpValue);
    otpBox.append(otpLine, otpP, otpActions);
    const showOnce = (name, password) => {
      otpUser.textContent = name;
      otpValue.textContent = password;
      otpStatus.textContent = '';
      otpBox.hidden = false;
    };

    // Roles of one user.
    const rolesForm = el('form', null, 'panel', { id: 'roles-form', noValidate: true });
    rolesForm.hidden = true;
    const rolesUser = el('span', null, null, { id: 'roles-user' });
    const rolesTitle = el('h2', t('roles_edit_title'));
    rolesTitle.append(rolesUser);
    const rolesEdit = el('fieldset', null, null, { id: 'roles-edit', 'data-field': 'roles' });
    const rolesErr = errorBox('roles-error');
    const rolesActions = el('div', null, 'actions');
    rolesActions.append(
      el('button', t('save'), null, { id: 'roles-save', type: 'submit' }),
      button(
        t('cancel'),
        'secondary',
        () => {
          rolesForm.hidden = true;
          v.rolesTarget = null;
        },
        { id: 'roles-cancel' },
      ),
    );
    rolesForm.append(rolesTitle, rolesEdit, rolesErr, rolesActions);

    const result = el('p', null, 'result', { id: 'users-result', role: 'status' });
    result.hidden = true;
    const listErr = errorBox('users-error');

    const actions = (u) => {
      const td = el('span', null, 'row-actions');
      if (u.name === ctx.me().name) return td;
      td.append(button(t('act_roles'), 'small secondary act-roles', () => editRoles(u)));
      if (u.disabled)
        td.append(button(t('act_enable'), 'small secondary act-enable', () => act(u, 'enable')));
      else td.append(button(t('act_disable'), 'small danger act-disable', () => act(u, 'disable')));
      td.append(button(t('act_reset'), 'small danger act-reset', () => act(u, 'reset-password')));
      return td;
    };
    const table = pagedTable({
      id: 'users-table',
      rowKey: (u) => u.name,
      columns: [
        { title: 'col_user', cell: (u) => u.name },
        { title: 'col_display', cell: (u) => u.display_name },
        { title: 'col_roles', cell: (u) => roleList(u.roles) },
        { title: 'col_state', cell: (u) => userState(u), cls: 'state' },
        { title: 'col_actions', cell: actions, cls: 'actions-cell' },
      ],
      load: (cursor) => page('/api/v1/users', { limit: '50' }, cursor),
      onError: (e) => ctx.fail(e, listErr),
    });
    v.table = table;

    async function editRoles(u) {
      v.rolesTarget = u.name;
      rolesUser.textContent = u.name;
      showError(rolesErr, null, null, rolesForm);
      try {
        const all = await allRoles();
        rolesEdit.replaceChildren(el('legend', t('roles')));
        checkboxes(rolesEdit, 'edit-role', all, (r) => named('role_', r), u.roles);
        rolesForm.hidden = false;
      } catch (e) {
        ctx.fail(e, listErr);
      }
    }

    async function act(u, action) {
      showError(listErr, null);
      showResult(result, '');
      if (action !== 'enable') {
        const key = action === 'disable' ? 'user_disable' : 'user_reset';
        const ok = await confirmDialog({
          title: t(key + '_title'),
          object: t('user_object', { name: u.name }),
          body: t(key + '_body'),
          ok: t(key + '_ok'),
        });
        if (!ok || !v.alive) return;
      }
      try {
        const res = await api('POST', `/api/v1/users/${enc(u.name)}/${action}`);
        if (res && res.one_time_password) showOnce(u.name, res.one_time_password);
        const done = { enable: 'user_done_enable', disable: 'user_done_disable' }[action];
        showResult(result, t(done || 'user_done_reset', { name: u.name }));
        await table.reload();
      } catch (e) {
        ctx.fail(e, listErr);
      }
    }

    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const name = nameI.value.trim();
      if (!name) return showError(formErr, t('user_name_empty'), null, form);
      showError(formErr, null, null, form);
      create.disabled = true;
      try {
        const res = await api('POST', '/api/v1/users', {
          name,
          display_name: dispI.value.trim(),
          roles: checkedValues(roleSet),
        });
        nameI.value = '';
        dispI.value = '';
        for (const b of roleSet.querySelectorAll('input')) b.checked = false;
        showOnce(res.user.name, res.one_time_password);
        await table.reload();
      } catch (e) {
        ctx.fail(e, formErr, null, form);
      } finally {
        create.disabled = false;
      }
    });

    rolesForm.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        await api('PUT', `/api/v1/users/${enc(v.rolesTarget)}/roles`, {
          roles: checkedValues(rolesEdit),
        });
        rolesForm.hidden = true;
        await table.reload();
      } catch (e) {
        ctx.fail(e, rolesErr, null, rolesForm);
      }
    });

    root.append(form, otpBox, rolesForm, result, listErr, table.node);
    table.reload();
    allRoles().then(
      (all) => {
        if (v.alive) checkboxes(roleSet, 'new-role', all, (r) => named('role_', r), []);
      },
      (e) => ctx.fail(e, formErr),
    );
  },

  unmount() {
    if (!view) return;
    view.alive = false;
    view.table.destroy();
    view = null;
  },
};
