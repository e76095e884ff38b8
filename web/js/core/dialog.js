// Confirmation of what cannot be taken back lightly: a modal dialog that names the object, says
// what will happen, and for an irreversible action asks the user to type the object's name.
// Nothing is sent before the user confirms; Cancel and Escape send nothing.
import { button, el } from './dom.js';
import { t } from './i18n.js';

// opts: {title, object (its name, shown), body, ok (button text), typeName (the text to type,
// for irreversible actions), extra (a node shown above the buttons, e.g. a reason to choose)}.
// Resolves true when confirmed, false otherwise. One dialog at a time (#confirm-dialog).
export function confirmDialog(opts) {
  const old = document.getElementById('confirm-dialog');
  if (old) old.remove();
  return new Promise((resolve) => {
    const d = el('dialog', null, 'confirm-dialog danger', {
      id: 'confirm-dialog',
      'aria-labelledby': 'confirm-title',
    });
    const form = el('form', null, null, { method: 'dialog' });
    form.append(el('h2', opts.title, null, { id: 'confirm-title' }));
    const obj = el('p', null, 'confirm-object');
    obj.append(
      el('span', t('confirm_object')),
      el('strong', opts.object, null, { id: 'confirm-name' }),
    );
    form.append(obj, el('p', opts.body, 'note', { id: 'confirm-body' }));
    if (opts.extra) form.append(opts.extra);
    let typed = null;
    if (opts.typeName) {
      form.append(el('p', t('confirm_irreversible'), 'warn'));
      form.append(
        el('label', t('confirm_type', { name: opts.typeName }), null, { htmlFor: 'confirm-type' }),
      );
      typed = el('input', null, null, {
        id: 'confirm-type',
        autocomplete: 'off',
        spellcheck: false,
      });
      form.append(typed);
    }
    let answered = false;
    const finish = (v) => {
      if (answered) return;
      answered = true;
      if (d.open) d.close();
      d.remove();
      resolve(v);
    };
    const ok = button(opts.ok, 'danger', null, { id: 'confirm-ok', type: 'submit' });
    const cancel = button(t('cancel'), 'secondary', () => finish(false), { id: 'confirm-cancel' });
    if (typed) {
      ok.disabled = true;
      typed.addEventListener('input', () => {
        ok.disabled = typed.value.trim() !== opts.typeName;
      });
    }
    const actions = el('div', null, 'actions');
    actions.append(ok, cancel);
    form.append(actions);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      if (typed && typed.value.trim() !== opts.typeName) return;
      finish(true);
    });
    d.addEventListener('cancel', (ev) => {
      ev.preventDefault();
      finish(false);
    });
    d.append(form);
    document.body.append(d);
    d.showModal();
    (typed || cancel).focus();
  });
}
