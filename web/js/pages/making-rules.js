// The checks of an application's fields as the making service makes them (src/svc/making,
// include/eseal/national.h), so the form can say what is wrong while one types. The server has
// the last word: it checks again and names the field it refuses.

const USCC_CHARS = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const USCC_W = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
const ORG_W = [3, 7, 9, 10, 5, 8, 4, 2];

// GB 32100: 18 characters, the organisation code's (GB 11714) and the whole code's check
// characters. '' when right, else the i18n key of the reason.
export function usccProblem(s) {
  if (!/^[0-9A-HJ-NPQRTUWXY]{18}$/.test(s)) return 'mk_bad_uscc';
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += USCC_CHARS.indexOf(s[i]) * USCC_W[i];
  const c = (31 - (sum % 31)) % 31;
  if (USCC_CHARS[c] !== s[17]) return 'mk_bad_uscc';
  // Positions 9-17: an organisation code, digits and upper-case letters with its own check.
  const org = s.slice(8, 17);
  if (/^[0-9A-Z]{8}[0-9X]$/.test(org)) {
    let osum = 0;
    for (let i = 0; i < 8; i++) {
      const ch = org[i];
      const v = ch >= '0' && ch <= '9' ? ch.charCodeAt(0) - 48 : ch.charCodeAt(0) - 55;
      osum += v * ORG_W[i];
    }
    const oc = 11 - (osum % 11);
    const want = oc === 10 ? 'X' : oc === 11 ? '0' : String(oc);
    if (want !== org[8]) return 'mk_bad_uscc';
  }
  return '';
}

// GB 11643: 17 digits and a check character, a birth date that exists and is not in the future.
export function idnoProblem(s) {
  if (!/^[0-9]{17}[0-9X]$/.test(s)) return 'mk_bad_idno';
  const y = +s.slice(6, 10);
  const m = +s.slice(10, 12);
  const d = +s.slice(12, 14);
  const born = new Date(Date.UTC(y, m - 1, d));
  if (y < 1900 || born.getUTCMonth() !== m - 1 || born.getUTCDate() !== d || born > new Date())
    return 'mk_bad_idno_date';
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += (s.charCodeAt(i) - 48) * w[i];
  return '10X98765432'[sum % 11] === s[17] ? '' : 'mk_bad_idno';
}

export const mobileProblem = (s) => (/^1[3-9][0-9]{9}$/.test(s) ? '' : 'mk_bad_mobile');
export const divisionProblem = (s) => (/^[0-9]{6}$/.test(s) ? '' : 'mk_bad_division');
export const textProblem = (s) => (s.trim() && new TextEncoder().encode(s).length <= 200 ? '' : 'mk_bad_text');

// field name -> check (only the fields that have one).
export const RULES = {
  uscc: usccProblem,
  agent_idno: idnoProblem,
  agent_mobile: mobileProblem,
  division: divisionProblem,
  approver_division: divisionProblem,
  unit_name: textProblem,
  agent_name: textProblem,
  approver_name: textProblem,
  seal_name: textProblem,
};
