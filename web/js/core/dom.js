// Building the page from script: elements with text (always textContent, never HTML), buttons,
// copy to the clipboard and files to download made in the page itself (blob URLs).
import { t } from './i18n.js';

export const $ = (id) => document.getElementById(id);

// <tag class=cls>text</tag>; attrs sets properties (id, type, htmlFor, ...) or, for names with a
// dash (data-*, aria-*), attributes.
export function el(tag, text, cls, attrs) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.includes('-')) e.setAttribute(k, v);
    else e[k] = v;
  }
  return e;
}

// A button (type=button) running fn on click. kind: '' (main), 'secondary', 'danger'.
export function button(text, kind, fn, attrs) {
  const b = el('button', text, kind || '', { type: 'button', ...(attrs || {}) });
  if (fn) b.addEventListener('click', fn);
  return b;
}

export function show(node, on) {
  node.hidden = !on;
}

// Copies text; where the clipboard is out of reach (no secure context, no permission) selects
// the text in `select` (a textarea or an element) so that Ctrl+C does it. Returns true if copied.
export async function copyText(text, select) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch (e) {
    // Fall through to the selection.
  }
  if (select) {
    if (typeof select.select === 'function') {
      select.focus();
      select.select();
    } else {
      const range = document.createRange();
      range.selectNodeContents(select);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
    }
    try {
      return document.execCommand('copy');
    } catch (e) {
      return false;
    }
  }
  return false;
}

// A copy button for what text() gives, reporting in `status`.
export function copyButton(id, text, select, status) {
  return button(
    t('copy'),
    'secondary',
    async () => {
      const done = await copyText(text(), select);
      status.textContent = done ? t('copied') : t('copy_failed');
    },
    { id },
  );
}

const blobUrls = new WeakMap();

// Points the link a at a file of this text (made here: no data from elsewhere in the URL).
export function offerDownload(a, text, filename, type) {
  if (blobUrls.has(a)) URL.revokeObjectURL(blobUrls.get(a));
  const url = URL.createObjectURL(new Blob([text], { type: type || 'application/x-pem-file' }));
  blobUrls.set(a, url);
  a.href = url;
  a.download = filename;
}

// Releases the blob URL of a link made by offerDownload.
export function dropDownload(a) {
  if (blobUrls.has(a)) URL.revokeObjectURL(blobUrls.get(a));
  blobUrls.delete(a);
}
