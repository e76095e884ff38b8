// 我的签名密钥 (docs/decisions.md; LD/T 01.1 §9.4): the signed-in person's own key for signing
// their decisions. Enrol one with a signing PIN (the key is held by the site, opened only by the
// PIN) or with a USBKey's certificate request; change the PIN; see and copy the certificate. The
// PIN is checked as typed (length, the repeat), sent once, and cleared from the form at once.
import { api } from '../core/api.js';
import { copyButton, dropDownload, el, offerDownload } from '../core/dom.js';
import { errorBox, field, showError, showResult } from '../core/form.js';
import { named, t } from '../core/i18n.js';
import { formatTimeZoned } from '../core/time.js';

const PIN_MIN = 6;
const PIN_MAX = 64;

let view = null;

// The local checks of a new PIN and its repeat: an i18n key, or '' when fine.
function pinProblem(pin, again) {
  if (pin.length < PIN_MIN || pin.length > PIN_MAX) return 'sk_pin_length';
  if (/^(.)\1*$/u.test(pin)) return 'sk_pin_repeat';
  if (again !== undefined && again !== pin) return 'sk_pin_mismatch';
  return '';
}

export default {
  id: 'signing',
  // Business roles take decisions (the system and audit administrators hold no key).
  permission: ['settings', 'seal_apply', 'seal_review', 'sign', 'sign_approve', 'seal_keep'],
  title: 'page_signing',

  mount(root, ctx) {
    const v = { alive: true, download: null };
    view = v;

    // --- the current key
    const facts = el('dl', null, 'facts', { id: 'sk-facts' });
    const dd = {};
    for (const [id, key] of [
      ['sk-kind', 'sk_kind'],
      ['sk-state', 'sk_state'],
      ['sk-serial', 'sk_serial'],
      ['sk-subject', 'sk_subject'],
      ['sk-valid', 'sk_valid'],
      ['sk-failures', 'sk_failures'],
    ]) {
      dd[id] = el('dd', null, null, { id });
      facts.append(el('dt', t(key)), dd[id]);
    }
    const none = el('p', t('sk_none'), 'note', { id: 'sk-none' });
    const certPem = el('textarea', null, null, {
      id: 'sk-cert',
      rows: 12,
      readOnly: true,
      spellcheck: false,
    });
    const certStatus = el('span', null, 'note', { id: 'sk-cert-status', role: 'status' });
    const download = el('a', t('sk_download'), 'button secondary', {
      id: 'sk-cert-download',
      href: '#',
    });
    v.download = download;
    const certActions = el('div', null, 'actions');
    certActions.append(copyButton('sk-cert-copy', () => certPem.value, certPem, certStatus), download, certStatus);
    const keyPanel = el('div', null, 'panel', { id: 'sk-key' });
    keyPanel.append(el('h2', t('sk_current')), none, facts, certPem, certActions);

    // --- enrolment
    const enrolErr = errorBox('sk-enrol-error');
    const enrolOk = el('p', null, 'result', { id: 'sk-enrol-result', role: 'status', hidden: true });
    const form = el('form', null, null, { id: 'sk-enrol-form', noValidate: true });
    const modes = el('fieldset', null, 'modes');
    modes.append(el('legend', t('sk_mode')));
    const radio = (value, key) => {
      const r = el('input', null, null, { type: 'radio', name: 'sk-mode', value, id: `sk-mode-${value}` });
      const l = el('label', null, null, { htmlFor: r.id });
      l.append(r, el('span', t(key)));
      modes.append(l);
      return r;
    };
    const modePin = radio('pin', 'sk_mode_pin');
    radio('csr', 'sk_mode_csr');
    modePin.checked = true;
    const [pinL, pinI] = field('sk-pin', 'sk_pin', {
      type: 'password',
      autocomplete: 'new-password',
      maxLength: PIN_MAX,
      'data-field': 'pin',
    });
    const [pin2L, pin2I] = field('sk-pin2', 'sk_pin2', {
      type: 'password',
      autocomplete: 'new-password',
      maxLength: PIN_MAX,
    });
    const pinHint = el('p', t('sk_pin_hint', { min: PIN_MIN, max: PIN_MAX }), 'note', {
      id: 'sk-pin-hint',
      'aria-live': 'polite',
    });
    const pinBox = el('div', null, 'group', { id: 'sk-pin-group' });
    pinBox.append(pinL, pinI, pin2L, pin2I, pinHint);
    const [csrL, csrI] = field(
      'sk-csr',
      'sk_csr',
      { rows: 8, spellcheck: false, 'data-field': 'csr' },
      'textarea',
    );
    const csrBox = el('div', null, 'group', { id: 'sk-csr-group', hidden: true });
    csrBox.append(csrL, csrI, el('p', t('sk_csr_note'), 'note'));
    const [oldL, oldI] = field('sk-old-pin', 'sk_old_pin', {
      type: 'password',
      autocomplete: 'current-password',
      maxLength: PIN_MAX,
      'data-field': 'old_pin',
    });
    const oldBox = el('div', null, 'group', { id: 'sk-old-group', hidden: true });
    oldBox.append(oldL, oldI, el('p', t('sk_old_note'), 'note'));
    const submit = el('button', t('sk_enrol'), null, { id: 'sk-enrol-submit', type: 'submit' });
    form.append(modes, pinBox, csrBox, oldBox, submit);
    const enrolPanel = el('div', null, 'panel', { id: 'sk-enrol' });
    enrolPanel.append(el('h2', t('sk_enrol_title')), el('p', t('sk_enrol_note'), 'note'), form, enrolOk, enrolErr);

    // As typed: the hint turns into the problem, and the field is marked.
    const checkPin = () => {
      const p = pinProblem(pinI.value, pin2I.value);
      const typed = pinI.value.length > 0;
      pinHint.textContent = typed && p ? t(p, { min: PIN_MIN, max: PIN_MAX }) : t('sk_pin_hint', { min: PIN_MIN, max: PIN_MAX });
      pinHint.className = typed && p ? 'note bad' : 'note';
      if (typed && p && p !== 'sk_pin_mismatch') pinI.setAttribute('aria-invalid', 'true');
      else pinI.removeAttribute('aria-invalid');
      return p;
    };
    pinI.addEventListener('input', checkPin);
    pin2I.addEventListener('input', checkPin);
    modes.addEventListener('change', () => {
      const pin = modePin.checked;
      pinBox.hidden = !pin;
      csrBox.hidden = pin;
    });

    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      showError(enrolErr, null, null, form);
      showResult(enrolOk, '');
      const body = {};
      if (modePin.checked) {
        const p = checkPin();
        if (p) {
          showError(enrolErr, t(p, { min: PIN_MIN, max: PIN_MAX }));
          pinI.setAttribute('aria-invalid', 'true');
          return;
        }
        body.pin = pinI.value;
      } else {
        body.csr = csrI.value.trim();
      }
      if (!oldBox.hidden && oldI.value) body.old_pin = oldI.value;
      submit.disabled = true;
      try {
        const k = await api('POST', '/api/v1/me/signing-key', body);
        if (!v.alive) return;
        showResult(enrolOk, t('sk_enrolled', { serial: k.serial }));
        render(k);
      } catch (e) {
        if (v.alive) ctx.fail(e, enrolErr, null, form);
      } finally {
        // The PIN leaves the page as soon as it was sent.
        pinI.value = '';
        pin2I.value = '';
        oldI.value = '';
        checkPin();
        submit.disabled = false;
      }
    });

    // --- PIN change
    const chErr = errorBox('sk-change-error');
    const chOk = el('p', null, 'result', { id: 'sk-change-result', role: 'status', hidden: true });
    const ch = el('form', null, null, { id: 'sk-change-form', noValidate: true });
    const [cOldL, cOldI] = field('sk-change-old', 'sk_old_pin', {
      type: 'password',
      autocomplete: 'current-password',
      maxLength: PIN_MAX,
      'data-field': 'old_pin',
    });
    const [cNewL, cNewI] = field('sk-change-new', 'sk_pin', {
      type: 'password',
      autocomplete: 'new-password',
      maxLength: PIN_MAX,
      'data-field': 'pin',
    });
    const [cNew2L, cNew2I] = field('sk-change-new2', 'sk_pin2', {
      type: 'password',
      autocomplete: 'new-password',
      maxLength: PIN_MAX,
    });
    const chSubmit = el('button', t('sk_change'), null, { id: 'sk-change-submit', type: 'submit' });
    ch.append(cOldL, cOldI, cNewL, cNewI, cNew2L, cNew2I, chSubmit);
    const chPanel = el('div', null, 'panel', { id: 'sk-change', hidden: true });
    chPanel.append(el('h2', t('sk_change_title')), ch, chOk, chErr);
    ch.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      showError(chErr, null, null, ch);
      showResult(chOk, '');
      const p = pinProblem(cNewI.value, cNew2I.value);
      if (p) {
        showError(chErr, t(p, { min: PIN_MIN, max: PIN_MAX }));
        cNewI.setAttribute('aria-invalid', 'true');
        return;
      }
      chSubmit.disabled = true;
      try {
        await api('PUT', '/api/v1/me/signing-key/pin', { old_pin: cOldI.value, pin: cNewI.value });
        if (!v.alive) return;
        showResult(chOk, t('sk_changed'));
        load();
      } catch (e) {
        if (v.alive) {
          ctx.fail(e, chErr, null, ch);
          load();
        }
      } finally {
        cOldI.value = '';
        cNewI.value = '';
        cNew2I.value = '';
        chSubmit.disabled = false;
      }
    });

    const err = errorBox('signing-error');
    root.append(keyPanel, enrolPanel, chPanel, err);

    function render(k) {
      const has = !!k;
      none.hidden = has;
      facts.hidden = !has;
      certPem.hidden = !has;
      certActions.hidden = !has;
      const active = has && k.state === 'active';
      // Replacing a PIN key needs its PIN; a locked key is unlocked by the system administrator.
      oldBox.hidden = !(active && k.kind === 'pin');
      chPanel.hidden = !(active && k.kind === 'pin');
      if (!has) return;
      dd['sk-kind'].textContent = named('sk_kind_', k.kind);
      dd['sk-state'].textContent = named('sk_state_', k.state);
      dd['sk-serial'].textContent = k.serial;
      dd['sk-subject'].textContent = k.subject;
      dd['sk-valid'].textContent = `${formatTimeZoned(k.not_before)} — ${formatTimeZoned(k.not_after)}`;
      dd['sk-failures'].textContent = k.locked
        ? t('sk_locked', { limit: k.pin_limit })
        : t('sk_failures_value', { n: k.failures, limit: k.pin_limit });
      dd['sk-failures'].className = k.locked ? 'bad' : '';
      certPem.value = k.certificate || '';
      offerDownload(download, certPem.value, `signing-${k.serial}.crt`);
    }

    function load() {
      api('GET', '/api/v1/me/signing-key').then(
        (k) => {
          if (v.alive) render(k);
        },
        (e) => {
          if (!v.alive) return;
          if (e && e.code === 'no_key') render(null);
          else ctx.fail(e, err);
        },
      );
    }
    render(null);
    load();
  },

  unmount() {
    if (!view) return;
    view.alive = false;
    dropDownload(view.download);
    view = null;
  },
};
