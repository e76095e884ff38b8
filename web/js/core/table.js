// A table of records loaded a page at a time ({items, next_cursor}) with a "more" button. Every
// cell carries its column's name (data-label) so that on a phone the rows stack as cards.
import { button, el } from './dom.js';
import { t } from './i18n.js';

// columns: [{title: i18n key or () => text, cell: (item) => text | Node, cls}]; rowKey(item):
// the row's data-name; load(cursor): a promise of {items, next_cursor}; onError(e): a failed
// load. Returns {node, reload(), more(), destroy()}: reload starts from the first page; a load
// that finishes after a newer one started is dropped.
export function pagedTable({ id, columns, rowKey, load, onError }) {
  const titleOf = (c) => (typeof c.title === 'function' ? c.title() : t(c.title));
  const table = el('table', null, 'grid', { id });
  const head = el('tr');
  for (const c of columns) head.appendChild(el('th', titleOf(c), null, { scope: 'col' }));
  table.createTHead().appendChild(head);
  const body = table.createTBody();
  const empty = el('p', t('empty'), 'note empty', { id: `${id}-empty` });
  empty.hidden = true;
  let cursor = null;
  let generation = 0;
  let destroyed = false;
  const moreButton = button(t('more'), 'secondary', () => fetchPage(false), {
    id: id.replace(/-table$/, '') + '-more',
  });
  moreButton.hidden = true;

  function row(item) {
    const tr = el('tr');
    if (rowKey) tr.dataset.name = rowKey(item);
    columns.forEach((c) => {
      const v = c.cell(item);
      const td = el('td', null, c.cls || null, { 'data-label': titleOf(c) });
      if (v instanceof Node) td.appendChild(v);
      else if (v !== undefined && v !== null) td.textContent = String(v);
      tr.appendChild(td);
    });
    return tr;
  }

  async function fetchPage(first) {
    const mine = ++generation;
    if (first) cursor = null;
    moreButton.disabled = true;
    try {
      const page = await load(first ? null : cursor);
      if (destroyed || mine !== generation) return;
      if (first) body.replaceChildren();
      for (const item of page.items) body.appendChild(row(item));
      cursor = page.next_cursor;
      moreButton.hidden = !cursor;
      empty.hidden = body.rows.length > 0;
    } catch (e) {
      if (!destroyed && mine === generation && onError) onError(e);
    } finally {
      moreButton.disabled = false;
    }
  }

  const wrap = el('div', null, 'table-wrap');
  wrap.append(table, empty, moreButton);
  return {
    node: wrap,
    reload: () => fetchPage(true),
    more: () => fetchPage(false),
    destroy: () => {
      destroyed = true;
      generation++;
    },
  };
}
