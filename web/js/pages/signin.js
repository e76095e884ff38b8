// Sign-in (the shell's own page, before any session): user name, password and, for an account
// with a token, its dynamic password; the server's refusal shown in the viewer's language.
import { api } from '../core/api.js';
import { el } from '../core/dom.js';
import { errorBox, field, showError } from '../core/form.js';
import { t } from '../core/i18n.js';

let view = null;

export default {
  id: 'signin',
  permission: null,
  title: 'signin_title',
  card: true,

  // ctx.signedIn(session) takes over after a successful sign-in; ctx.notice: a message to show
  // first (the session ended).
  mount(root, ctx) {
    const v = { alive: true };
    view = v;
    const form = el('form', null, null, { id: 'signin-form', noValidate: true });
    const [userL, userI] = field('username', 'username', {
      name: 'username',
      autocomplete: 'username',
      maxLength: 64,
      required: true,
      'data-field': 'username',
    });
    const [passL, passI] = field('password', 'password', {
      name: 'password',
      type: 'password',
      autocomplete: 'current-password',
      maxLength: 256,
      required: true,
      'data-field': 'password',
    });
    // The second factor: the code of a dynamic-password token, for accounts that have one.
    const [otpL, otpI] = field('signin-otp', 'signin_otp', {
      name: 'otp',
      inputMode: 'numeric',
      autocomplete: 'one-time-code',
      maxLength: 8,
      'data-field': 'otp',
    });
    const err = errorBox('signin-error');
    const submit = el('button', t('signin_submit'), null, { id: 'signin-submit', type: 'submit' });
    form.append(userL, userI, passL, passI, otpL, otpI, err, submit);
    root.append(form);
    // The holder of a seal has no account: the self-service renewal page (pages/renewal.js).
    if (ctx.showRenewal) {
      const link = el('a', t('rn_link'), null, { id: 'signin-renewal', href: '#renewal' });
      link.addEventListener('click', (ev) => {
        ev.preventDefault();
        ctx.showRenewal();
      });
      const p = el('p', null, 'note');
      p.append(link);
      root.append(p);
    }
    if (ctx.notice) showError(err, ctx.notice);

    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const username = userI.value.trim();
      const password = passI.value;
      if (!username || !password) return showError(err, t('signin_empty'));
      showError(err, null);
      submit.disabled = true;
      try {
        const body = { username, password };
        const otp = otpI.value.trim();
        if (otp) body.otp = otp;
        const session = await api('POST', '/api/v1/sessions', body);
        passI.value = '';
        otpI.value = '';
        if (v.alive) ctx.signedIn(session);
      } catch (e) {
        if (!v.alive) return;
        showError(err, e, { unauthorized: 'signin_refused' });
        passI.value = '';
        otpI.value = '';
        passI.focus();
      } finally {
        submit.disabled = false;
      }
    });
    userI.focus();
  },

  unmount() {
    if (view) view.alive = false;
    view = null;
  },
};
