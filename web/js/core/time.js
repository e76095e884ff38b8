// Times: the server sends ISO 8601 UTC; the console shows them in the viewer's zone, Beijing time
// (Asia/Shanghai) unless the viewer chose UTC or this computer's zone (remembered in
// localStorage), always with the zone named. Dates typed in a form are read in the same zone.
import { t } from './i18n.js';

const KEY = 'eseal.zone';
export const ZONES = ['Asia/Shanghai', 'UTC', 'local'];
const listeners = new Set();

const localZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

function stored() {
  try {
    const v = localStorage.getItem(KEY);
    return ZONES.includes(v) ? v : 'Asia/Shanghai';
  } catch (e) {
    return 'Asia/Shanghai';
  }
}

let zone = stored();

export const getZone = () => zone;

export function setZone(next) {
  if (!ZONES.includes(next) || next === zone) return;
  zone = next;
  try {
    localStorage.setItem(KEY, next);
  } catch (e) {
    // The choice lasts for this page only.
  }
  for (const fn of listeners) fn(next);
}

export function onZone(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

// The IANA name behind a choice.
const iana = (z) => (z === 'local' ? localZone() : z);

// The zone's name in the current language: 北京时间, UTC, 本机时区 (Europe/Paris).
export function zoneName(z = zone) {
  if (z === 'local') return t('zone_local', { zone: localZone() });
  return t('zone_' + z.replace('/', '_'));
}

function parts(date, z) {
  const f = new Intl.DateTimeFormat('en-CA', {
    timeZone: iana(z),
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
  const o = {};
  for (const p of f.formatToParts(date)) o[p.type] = p.value;
  return o;
}

function parse(iso) {
  if (typeof iso !== 'string' || !iso) return null;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

// "2026-12-07 15:04:05" in the chosen zone ('' for a missing or unreadable time).
export function formatTime(iso) {
  const d = parse(iso);
  if (!d) return '';
  const p = parts(d, zone);
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
}

// "2026-12-07" in the chosen zone.
export function formatDay(iso) {
  const d = parse(iso);
  if (!d) return '';
  const p = parts(d, zone);
  return `${p.year}-${p.month}-${p.day}`;
}

// The time with the zone named, for a title or a lone value: "2026-12-07 15:04:05 北京时间".
export const formatTimeZoned = (iso) => (parse(iso) ? `${formatTime(iso)} ${zoneName()}` : '');

// A <input type=datetime-local> value ("2026-12-07T15:04") read in the chosen zone: ms since
// 1970, or NaN when unreadable.
export function localInputToMs(value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value || '');
  if (!m) return NaN;
  const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0));
  // The zone's offset at that wall time: guess with the offset at `wall` read as UTC, then
  // correct once (enough for every offset change, which are whole minutes and rare).
  const offsetAt = (ms) => {
    const p = parts(new Date(ms), zone);
    return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second) - ms;
  };
  let ms = wall - offsetAt(wall);
  ms = wall - offsetAt(ms);
  return ms;
}
