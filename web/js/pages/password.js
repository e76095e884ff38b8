// The forced password change (first sign-in, after a reset): nothing else is open until it is
// done.
import { api } from '../core/api.js';
import { el } from '../core/dom.js';
import { errorBox, field, showError } from '../core/form.js';
import { t } from '../core/i18n.js';

let view = null;

export default {
  id: 'pwchange',
  permission: null,
  title: 'pw_title',
  card: true,

  // ctx.signedIn(session) once the password is changed; ctx.fail(e, box) for a failed call.
  mount(root, ctx) {
    const v = { alive: true };
    view = v;
    const form = el('form', null, null, { id: 'pw-form', noValidate: true });
    const pw = (id, key, auto, f) =>
      field(id, key, { type: 'password', autocomplete: auto, maxLength: 128, 'data-field': f });
    const [oldL, oldI] = pw('pw-old', 'pw_old', 'current-password', 'old_password');
    const [newL, newI] = pw('pw-new', 'pw_new', 'new-password', 'new_password');
    const [againL, againI] = pw('pw-new2', 'pw_new2', 'new-password', '');
    const err = errorBox('pw-error');
    const submit = el('button', t('pw_submit'), null, { id: 'pw-submit', type: 'submit' });
    form.append(oldL, oldI, newL, newI, againL, againI, err, submit);
    root.append(el('p', t('pw_note'), 'note'), form);

    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (!oldI.value || !newI.value) return showError(err, t('pw_empty'), null, form);
      if (newI.value !== againI.value) return showError(err, t('pw_mismatch'), null, form);
      showError(err, null, null, form);
      submit.disabled = true;
      try {
        await api('POST', '/api/v1/users/me/password', {
          old_password: oldI.value,
          new_password: newI.value,
        });
        for (const i of [oldI, newI, againI]) i.value = '';
        const session = await api('GET', '/api/v1/sessions/current');
        if (v.alive) ctx.signedIn(session);
      } catch (e) {
        if (v.alive) ctx.fail(e, err, null, form);
      } finally {
        submit.disabled = false;
      }
    });
    oldI.focus();
  },

  unmount() {
    if (view) view.alive = false;
    view = null;
  },
};
