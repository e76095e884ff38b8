// Forms: labelled fields, role check boxes, and the one way the console shows a failure. A
// server error shows its Chinese text (message_zh, else this console's text for its "error"
// name) or, in English, its message; what is more technical (the server's English message when
// no Chinese came with it, its "detail") shows under it, small; "problems" (the CA's reasons)
// as a list; the field at fault ("field") is marked.
import { ApiError } from './api.js';
import { el } from './dom.js';
import { getLang, has, t } from './i18n.js';

// <label for=id>text</label><input id=id ...attrs>: both returned, to append in order.
export function field(id, labelKey, attrs, tag = 'input') {
  const label = el('label', t(labelKey), null, { htmlFor: id });
  const input = el(tag, null, null, { id, autocomplete: 'off', ...(attrs || {}) });
  return [label, input];
}

// A fieldset of check boxes (id prefix-value), labelled by labelOf(value); checked: values.
export function checkboxes(fieldset, prefix, values, labelOf, checked) {
  for (const v of values) {
    const box = el('input', null, null, { type: 'checkbox', value: v, id: `${prefix}-${v}` });
    box.checked = !!(checked && checked.includes(v));
    const label = el('label', null, null, { htmlFor: box.id });
    label.append(box, el('span', labelOf(v)));
    fieldset.appendChild(label);
  }
}

export const checkedValues = (fieldset) =>
  Array.from(fieldset.querySelectorAll('input[type=checkbox]'))
    .filter((b) => b.checked)
    .map((b) => b.value);

// The texts of a failure: {main, secondary, problems, field}. e: an ApiError, a string (already
// a console text) or anything else. overrides: {error name: i18n key} where a page knows better
// (a refused sign-in is "wrong user name or password", not "not signed in").
export function errorTexts(e, overrides) {
  if (typeof e === 'string') return { main: e, secondary: '', problems: [], field: '' };
  if (!(e instanceof ApiError))
    return { main: t('err_unknown', { code: String(e) }), secondary: '', problems: [], field: '' };
  const mine = overrides && overrides[e.code];
  const own = mine ? t(mine) : has('err_' + e.code) ? t('err_' + e.code) : '';
  const known = e.message && e.message !== `HTTP ${e.status}` ? e.message : '';
  let main;
  const more = [];
  if (getLang() === 'en') {
    main = known || own || t('err_unknown', { code: e.code });
  } else if (e.message_zh) {
    main = e.message_zh;
  } else {
    main = own || t('err_unknown', { code: e.code });
    if (known && known !== main) more.push(known);
  }
  if (getLang() !== 'en' && e.detail_zh) more.push(e.detail_zh);
  if (e.detail) more.push(e.detail);
  return { main, secondary: more.join(' · '), problems: e.problems, field: e.field };
}

// An error box: <div class=error role=alert id=id><p class=msg/><p class=detail/><ul/></div>,
// hidden while empty.
export function errorBox(id) {
  const box = el('div', null, 'error', { id, role: 'alert' });
  box.hidden = true;
  return box;
}

// Shows e in box (nothing, or null/'' to clear); marks form's input named by the error's field.
export function showError(box, e, overrides, form) {
  box.replaceChildren();
  if (form)
    for (const i of form.querySelectorAll('[aria-invalid]')) i.removeAttribute('aria-invalid');
  if (!e) {
    box.hidden = true;
    return;
  }
  const x = errorTexts(e, overrides);
  box.appendChild(el('p', x.main, 'msg'));
  if (x.secondary) box.appendChild(el('p', x.secondary, 'detail', { lang: 'en' }));
  if (x.problems.length) {
    const ul = el('ul', null, 'problems');
    for (const p of x.problems) ul.appendChild(el('li', p));
    box.appendChild(ul);
  }
  if (form && x.field) {
    const input = form.querySelector(`[data-field="${CSS.escape(x.field)}"]`);
    if (input) input.setAttribute('aria-invalid', 'true');
  }
  box.hidden = false;
}

// A line of success (or, bad = true, of trouble) in a role=status box.
export function showResult(box, text, bad) {
  box.textContent = text || '';
  box.className = bad ? 'result bad' : 'result';
  box.hidden = !text;
}
