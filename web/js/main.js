// The console's shell: the header (menu, language, time zone, who is signed in), the session
// (sign-in, forced password change, forced second-factor enrolment, sign-out, a session that
// ended), and the router that mounts
// one page at a time. Pages are in pages/index.js; every string is in core/i18n-*.js.
import { ApiError, api } from './core/api.js';
import { $, button, el } from './core/dom.js';
import { showError } from './core/form.js';
import { applyStatic, getLang, named, setLang, t } from './core/i18n.js';
import { Router } from './core/router.js';
import { ZONES, getZone, setZone, zoneName } from './core/time.js';
import { pages } from './pages/index.js';
import signinPage from './pages/signin.js';
import passwordPage from './pages/password.js';
import factorPage from './pages/factor.js';
import renewalPage from './pages/renewal.js';

// Only that someone signed in in this tab (the token itself is in the HttpOnly cookie, out of
// the script's reach): a reload asks the server whether the session still lives.
const SIGNED_IN = 'eseal.signed_in';

function createShell() {
  let me = null;
  // perm: one permission, or a list of which any will do.
  const can = (perm) =>
    perm === null ||
    !!(
      me &&
      Array.isArray(me.permissions) &&
      [].concat(perm).some((p) => me.permissions.includes(p))
    );

  const ctx = {
    me: () => me,
    can,
    notice: '',
    go: (id) => router.go(id),
    signedIn: (session) => showApp(session),
    // The seal holder's self-service renewal (no session), from the sign-in page and back.
    showRenewal: () => router.show(renewalPage),
    backToSignIn: () => signedOut(''),
    // A failed call: a session that ended goes back to the sign-in form, a password that must
    // change to its form; anything else is shown in box.
    fail(e, box, overrides, form) {
      if (e instanceof ApiError && e.status === 401 && me) return signedOut(t('session_ended'));
      if (e instanceof ApiError && e.code === 'password_change_required' && me) {
        me.must_change_password = true;
        return showPasswordChange();
      }
      if (e instanceof ApiError && e.code === 'factor_enrolment_required' && me) {
        me.factor_enrolment_required = true;
        return showFactorEnrol();
      }
      showError(box, e, overrides, form);
    },
  };
  const router = new Router($('outlet'), ctx);

  const nav = $('nav');
  const toggle = $('nav-toggle');
  const setMenu = (open) => {
    nav.classList.toggle('open', open);
    toggle.setAttribute('aria-expanded', String(open));
  };
  toggle.addEventListener('click', () => setMenu(!nav.classList.contains('open')));

  function buildNav() {
    nav.replaceChildren();
    for (const p of router.pages) {
      nav.append(
        button(
          t(p.title),
          'nav-item',
          () => {
            setMenu(false);
            router.go(p.id);
          },
          { id: `nav-${p.id}` },
        ),
      );
    }
    nav.append(button(t('sign_out'), 'nav-item', signOut, { id: 'nav-signout' }));
  }

  router.onChange = (p) => {
    for (const b of nav.querySelectorAll('button')) {
      if (b.id === `nav-${p.id}`) b.setAttribute('aria-current', 'page');
      else b.removeAttribute('aria-current');
    }
    document.title = `${t(p.title)} · ${t('app_title')}`;
  };

  function setSignedIn(on) {
    document.body.classList.toggle('signed-in', on);
    nav.hidden = !on;
    $('who').hidden = !on;
    setMenu(false);
  }

  function signedOut(message) {
    me = null;
    sessionStorage.removeItem(SIGNED_IN);
    router.stop();
    setSignedIn(false);
    ctx.notice = message || '';
    router.show(signinPage);
    ctx.notice = '';
    if (location.hash) history.replaceState(null, '', location.pathname);
  }

  function showPasswordChange() {
    router.stop();
    setSignedIn(false);
    router.show(passwordPage);
  }

  // A second factor required and none enrolled: nothing else is open until it is.
  function showFactorEnrol() {
    router.stop();
    setSignedIn(false);
    router.show(factorPage);
  }

  function showWho() {
    const who = $('who');
    if (!me) return;
    who.textContent = `${me.display_name || me.name} (${me.name})`;
    const roles = (me.roles || []).map((r) => named('role_', r)).join(t('list_sep'));
    who.title = t('roles_line', { roles: roles || t('none') });
  }

  function showApp(session) {
    me = session && session.user ? session.user : null;
    if (!me) return signedOut('');
    sessionStorage.setItem(SIGNED_IN, '1');
    if (me.must_change_password) return showPasswordChange();
    if (me.factor_enrolment_required) return showFactorEnrol();
    setSignedIn(true);
    showWho();
    router.setPages(pages.filter((p) => can(p.permission)));
    buildNav();
    router.start();
  }

  async function signOut() {
    try {
      await api('DELETE', '/api/v1/sessions/current');
    } catch (e) {
      // Already ended: nothing to do.
    }
    signedOut('');
  }

  // The language and the zone: the header's own strings, then the page again.
  const lang = $('lang-switch');
  const zone = $('zone-select');
  function fillTools() {
    lang.textContent = t('lang_other');
    lang.lang = getLang() === 'en' ? 'zh-CN' : 'en';
    lang.title = t('lang_switch_label');
    zone.replaceChildren(...ZONES.map((z) => el('option', zoneName(z), null, { value: z })));
    zone.value = getZone();
  }
  lang.addEventListener('click', () => {
    setLang(getLang() === 'en' ? 'zh-CN' : 'en');
    applyStatic(document);
    fillTools();
    if (me && !nav.hidden) {
      showWho();
      buildNav();
    }
    router.refresh();
  });
  zone.addEventListener('change', () => {
    setZone(zone.value);
    router.refresh();
  });

  applyStatic(document);
  fillTools();
  return {
    start() {
      if (sessionStorage.getItem(SIGNED_IN)) {
        api('GET', '/api/v1/sessions/current').then(showApp, () => signedOut(''));
      } else {
        signedOut('');
      }
    },
  };
}

createShell().start();
