// This site (every signed-in user; GET /api/v1/system is public): name, tier, division,
// systems, public address, the request-signing scheme, the seal root's certificate (copy,
// download) and its CRL.
import { api } from '../core/api.js';
import { copyButton, dropDownload, el, offerDownload } from '../core/dom.js';
import { errorBox, showError } from '../core/form.js';
import { named, t } from '../core/i18n.js';

let view = null;

export default {
  id: 'system',
  permission: null,
  title: 'page_system',

  mount(root, ctx) {
    const v = { alive: true };
    view = v;
    const facts = el('dl', null, 'facts', { id: 'sys-info' });
    const dd = {};
    for (const [id, key] of [
      ['sys-name', 'sys_name'],
      ['sys-tier', 'sys_tier'],
      ['sys-division', 'sys_division'],
      ['sys-systems', 'sys_systems'],
      ['sys-url', 'sys_url'],
      ['sys-auth', 'sys_auth'],
    ]) {
      dd[id] = el('dd', null, null, { id });
      facts.append(el('dt', t(key)), dd[id]);
    }
    const site = el('div', null, 'panel');
    site.append(el('h2', t('sys_site')), facts);

    const rootPem = el('textarea', null, null, {
      id: 'sys-root',
      rows: 15,
      readOnly: true,
      spellcheck: false,
    });
    const status = el('span', null, 'note', { id: 'sys-root-status', role: 'status' });
    const download = el('a', t('download_root'), 'button secondary', {
      id: 'sys-root-download',
      href: '#',
    });
    const crl = el('a', t('download_crl'), 'button secondary', {
      id: 'sys-crl-download',
      href: '/api/v1/ca/crl',
      download: 'root.crl',
    });
    v.download = download;
    const actions = el('div', null, 'actions');
    actions.append(
      copyButton('sys-root-copy', () => rootPem.value, rootPem, status),
      download,
      crl,
      status,
    );
    const rootPanel = el('div', null, 'panel');
    rootPanel.append(
      el('h2', t('sys_root')),
      el('p', t('sys_root_note'), 'note'),
      rootPem,
      actions,
    );
    const err = errorBox('system-error');
    root.append(site, rootPanel, err);

    api('GET', '/api/v1/system').then(
      (s) => {
        if (!v.alive) return;
        dd['sys-name'].textContent = s.name || '';
        dd['sys-tier'].textContent = s.tier ? named('tier_', s.tier) : '';
        dd['sys-division'].textContent = s.division || '';
        dd['sys-systems'].textContent = Array.isArray(s.systems)
          ? s.systems.map((x) => named('system_', x)).join(t('list_sep'))
          : '';
        dd['sys-url'].textContent = s.public_url || '';
        const auth = s.api_auth || {};
        dd['sys-auth'].textContent = auth.scheme
          ? t('sys_auth_value', {
              scheme: auth.scheme,
              id: auth.sm2_id,
              skew: auth.clock_skew_seconds,
            })
          : '';
        const pem = s.root_certificate || '';
        rootPem.value = pem;
        const file = `${(s.name || 'eseal').replace(/[^A-Za-z0-9_.-]+/g, '_')}-root.crt`;
        offerDownload(download, pem, file);
      },
      (e) => {
        if (v.alive) ctx.fail(e, err);
      },
    );
    showError(err, null);
  },

  unmount() {
    if (!view) return;
    view.alive = false;
    dropDownload(view.download);
    view = null;
  },
};
