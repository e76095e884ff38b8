// Every string the console shows, in Chinese (the default) and English, and the language the
// viewer chose (remembered in localStorage). t(key, params) fills {name} placeholders; a key
// missing from English falls back to Chinese, one missing from both shows the key (a defect a
// test catches, never an exception).
import { zh } from './i18n-zh.js';
import { en } from './i18n-en.js';

const TABLES = { 'zh-CN': zh, en };
const KEY = 'eseal.lang';
export const LANGS = Object.keys(TABLES);

function stored() {
  try {
    const v = localStorage.getItem(KEY);
    return LANGS.includes(v) ? v : 'zh-CN';
  } catch (e) {
    return 'zh-CN';
  }
}

let lang = stored();
const listeners = new Set();

export const getLang = () => lang;

export function setLang(next) {
  if (!LANGS.includes(next) || next === lang) return;
  lang = next;
  try {
    localStorage.setItem(KEY, next);
  } catch (e) {
    // Private mode: the choice lasts for this page only.
  }
  document.documentElement.lang = next;
  for (const fn of listeners) fn(next);
}

// fn(lang) after every change; returns the function that stops it.
export function onLang(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export const has = (key) => key in TABLES[lang] || key in zh;

export function t(key, params) {
  let s = TABLES[lang][key];
  if (s === undefined) s = zh[key];
  if (s === undefined) return key;
  if (params) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
  return s;
}

// A name from one of the tables of names (role_, tier_, system_, action_ ...): in Chinese the
// name with the code after it ("系统管理员 (system_admin)"), in English the name alone; an
// unknown code shows as itself.
export function named(prefix, code, withCode = true) {
  const key = prefix + code;
  if (!has(key)) return code;
  return withCode && lang !== 'en' ? `${t(key)} (${code})` : t(key);
}

// Fills the data-i18n elements under root (static text of index.html).
export function applyStatic(root) {
  for (const e of root.querySelectorAll('[data-i18n]')) e.textContent = t(e.dataset.i18n);
  for (const e of root.querySelectorAll('[data-i18n-label]'))
    e.setAttribute('aria-label', t(e.dataset.i18nLabel));
  document.title = t('app_title');
  document.documentElement.lang = lang;
}
