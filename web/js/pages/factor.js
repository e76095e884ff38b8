// The enrolment of a second factor (issue 13, item 10; docs/accounts.md "Second factor"): an
// account whose roles need one and that has none may do nothing else. A dynamic-password token
// (GM/T 0021, SM3): the seed is made by the server and shown once, then a first code of the
// token activates it. A USBKey's SM2 key is enrolled with `eseal factor sign` (documented), not
// here: the browser cannot reach the token.
import { api } from '../core/api.js';
import { el } from '../core/dom.js';
import { errorBox, field, showError } from '../core/form.js';
import { t } from '../core/i18n.js';

let view = null;

export default {
  id: 'factor',
  permission: null,
  title: 'fa_title',
  card: true,

  // ctx.signedIn(session) once enrolled; ctx.fail(e, box) for a failed call.
  mount(root, ctx) {
    const v = { alive: true };
    view = v;
    const err = errorBox('fa-error');
    const begin = el('button', t('fa_begin'), null, { id: 'fa-begin', type: 'button' });
    const seedBox = el('div', null, 'fa-seed', { id: 'fa-seed' });
    seedBox.hidden = true;
    const form = el('form', null, null, { id: 'fa-form', noValidate: true });
    form.hidden = true;
    const [codeL, codeI] = field('fa-code', 'fa_code', {
      inputMode: 'numeric',
      autocomplete: 'one-time-code',
      maxLength: 8,
      'data-field': 'code',
    });
    const submit = el('button', t('fa_confirm'), null, { id: 'fa-submit', type: 'submit' });
    form.append(codeL, codeI, submit);
    root.append(el('p', t('fa_note'), 'note'), begin, seedBox, form, err);

    begin.addEventListener('click', async () => {
      showError(err, null);
      begin.disabled = true;
      try {
        const r = await api('POST', '/api/v1/users/me/factors/otp', { algorithm: 'sm3' });
        if (!v.alive) return;
        // textContent only: the seed is shown, never interpreted.
        seedBox.replaceChildren(
          el('p', t('fa_seed')),
          el('p', `${t('fa_seed_hex')}: `),
          el('code', r.seed_hex, null, { id: 'fa-seed-hex' }),
          el('p', `${t('fa_seed_b32')}: `),
          el('code', r.seed_base32, null, { id: 'fa-seed-b32' }),
          el('p', t('fa_params', { digits: r.digits, step: r.step_seconds }), 'note'),
        );
        seedBox.hidden = false;
        form.hidden = false;
        begin.hidden = true;
        codeI.focus();
      } catch (e) {
        if (v.alive) ctx.fail(e, err);
      } finally {
        begin.disabled = false;
      }
    });

    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const code = codeI.value.trim();
      if (!code) return showError(err, t('fa_code_empty'), null, form);
      showError(err, null, null, form);
      submit.disabled = true;
      try {
        await api('POST', '/api/v1/users/me/factors/otp/confirm', { code });
        codeI.value = '';
        seedBox.replaceChildren();
        const session = await api('GET', '/api/v1/sessions/current');
        if (v.alive) ctx.signedIn(session);
      } catch (e) {
        if (v.alive) ctx.fail(e, err, null, form);
      } finally {
        submit.disabled = false;
      }
    });
    begin.focus();
  },

  unmount() {
    if (view) view.alive = false;
    view = null;
  },
};
