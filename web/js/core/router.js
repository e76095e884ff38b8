// Which page is shown: one page module at a time in the outlet, chosen by the location's hash
// (#/users). A page is {id, permission, title, mount(root, ctx), unmount()}: mount builds the
// page under root and keeps its state in its own closure; unmount drops it (listeners, timers,
// blob URLs). The router owns nothing else.
import { el } from './dom.js';
import { t } from './i18n.js';

export class Router {
  // outlet: the element pages are mounted into; ctx: what every page is given.
  constructor(outlet, ctx) {
    this.outlet = outlet;
    this.ctx = ctx;
    this.pages = [];
    this.page = null;
    this.onChange = null;
    this.hashListener = () => this.fromHash();
  }

  // The pages this viewer may open (in menu order; the first is where one lands).
  setPages(pages) {
    this.pages = pages.slice();
  }

  find(id) {
    return this.pages.find((p) => p.id === id) || null;
  }

  // Starts following the hash; shows its page, else the first page.
  start() {
    window.addEventListener('hashchange', this.hashListener);
    this.fromHash();
  }

  stop() {
    window.removeEventListener('hashchange', this.hashListener);
    this.unmount();
  }

  fromHash() {
    const id = (location.hash || '').replace(/^#\/?/, '');
    const p = this.find(id) || this.pages[0] || null;
    if (p) this.show(p);
  }

  // Goes to a page of the menu by id (through the hash, so that Back works).
  go(id) {
    const target = `#/${id}`;
    if (location.hash === target) this.fromHash();
    else location.hash = target;
  }

  unmount() {
    if (this.page && typeof this.page.unmount === 'function') this.page.unmount();
    this.page = null;
    this.outlet.replaceChildren();
  }

  // Mounts page p (a menu page or one of the shell's own, such as sign-in).
  show(p) {
    this.unmount();
    this.page = p;
    const title = el('h1', t(p.title), 'page-title', { id: 'view-title' });
    const root = el('div', null, 'view', { id: `${p.id}-view` });
    // A page of its own (sign-in, password change) is a card in the middle.
    if (p.card) {
      const card = el('section', null, 'card', { id: p.id, 'aria-labelledby': 'view-title' });
      card.append(title, root);
      this.outlet.append(card);
    } else {
      this.outlet.append(title, root);
    }
    p.mount(root, this.ctx);
    if (this.onChange) this.onChange(p);
  }

  // Mounts the current page again (after the language or time zone changed).
  refresh() {
    if (this.page) this.show(this.page);
  }
}
